/**
 * Multi-pool options (Cilium's multi-pool IPAM): named IP pools, each with
 * IPv4 and/or IPv6 CIDRs carved into per-node chunks of `maskSize`, a
 * pre-allocation watermark, a release delay and a node selector. Validated
 * once, at the boundary, with messages that name the option; the result is
 * a frozen copy.
 */
import { type Cidr } from "../../net/ip.js";
import { errors, show } from "../../errors.js";
import { optionsObject } from "../../args.js";
import { checkNodeMask } from "../../alloc/cidr-set.js";
import { checkStrategy, checkSeed } from "../../alloc/strategy.js";
import { Engine } from "../../core/engine.js";
import type { Strategy } from "../../core/layout.js";
import { at, poolCidr, MAX_POOL_CIDRS, resolveReuse, resolveRouterIP } from "../options.js";
import type { ReuseOptions } from "../quarantine.js";

/** Cilium's default pre-allocation (`ipam-multi-pool-pre-allocation: default=8`): 8 for the pool named `default`, 0 for the others. */
export const DEFAULT_PRE_ALLOCATE = 8;
/** How long a chunk stays completely free beyond the watermark before it goes back to its pool: about Cilium's two minutes. */
export const DEFAULT_RELEASE_DELAY_MS = 120_000;
/** The pool allocate() draws from when none is named (Cilium's `default`). */
export const DEFAULT_POOL = "default";

/** One family of an IP pool, as in a CiliumPodIPPool's spec.ipv4 / spec.ipv6. */
export interface IpPoolFamily {
  /** Pool CIDRs; chunks come from the first one that has a free chunk. */
  readonly cidrs: readonly string[];
  /** Prefix length of one per-node chunk, e.g. 24 or 27 (IPv4), 120 (IPv6). */
  readonly maskSize: number;
}

/** A Kubernetes label selector (matchLabels and matchExpressions). */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly { readonly key: string; readonly operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; readonly values?: readonly string[] }[];
}

/** One named IP pool. */
export interface IpPoolSpec {
  readonly ipv4?: IpPoolFamily;
  readonly ipv6?: IpPoolFamily;
  /**
   * Free addresses each node keeps per family of this pool: when fewer are
   * free, the node takes another chunk. 0: chunks are taken only when an
   * allocation needs one. @default 8 for `default`, 0 for other pools (Cilium)
   */
  readonly preAllocate?: number;
  /** Milliseconds a chunk must stay completely free beyond the watermark before it goes back. @default options.releaseDelayMs */
  readonly releaseDelayMs?: number;
  /** Only nodes whose labels match may draw from the pool. @default every node */
  readonly nodeSelector?: LabelSelector;
}

/** ClusterPool options with named pools (multi-pool mode). */
export interface MultiPoolOptions {
  readonly pools: Readonly<Record<string, IpPoolSpec>>;
  /** Shorthand: the IPv4 family of pool `default` (not with pools.default). */
  readonly ipv4?: IpPoolFamily;
  /** Shorthand: the IPv6 family of pool `default` (not with pools.default). */
  readonly ipv6?: IpPoolFamily;
  /** Default release delay of the pools. @default 120000 */
  readonly releaseDelayMs?: number;
  /** Milliseconds since some epoch; a virtual clock in simulations and tests. @default Date.now */
  readonly clock?: () => number;
  /** How a chunk's pod addresses are picked. @default 'next-fit' */
  readonly podStrategy?: Strategy;
  readonly seed?: number | bigint;
  /** Engine (shared memory) to build the pools in. @default a new engine */
  readonly engine?: Engine;
  /** Released addresses wait this long (or behind this many later releases) before reuse, as with a single pool; a chunk with addresses in cooldown is not free. @default none */
  readonly reuse?: ReuseOptions;
  /**
   * Reserve a router address (cilium_host) per node and family: the first or
   * last usable address of the node's first chunk of pool `default`. One per
   * node, not per chunk, as Cilium's agent takes its router IP from the
   * default pool. @default false
   */
  readonly reserveRouterIP?: "first" | "last" | false;
}

export interface ResolvedPoolFamily {
  readonly family: 4 | 6;
  readonly cidrs: readonly Cidr[];
  readonly maskSize: number;
}

export interface ResolvedSelector {
  readonly matchLabels: readonly (readonly [string, string])[];
  readonly matchExpressions: readonly { readonly key: string; readonly operator: string; readonly values: readonly string[] }[];
}

export interface ResolvedPool {
  readonly name: string;
  readonly families: readonly ResolvedPoolFamily[];
  readonly preAllocate: number;
  readonly releaseDelayMs: number;
  readonly nodeSelector: ResolvedSelector | undefined;
}

export interface ResolvedMultiOptions {
  readonly pools: readonly ResolvedPool[];
  readonly releaseDelayMs: number;
  readonly clock: () => number;
  readonly podStrategy: Strategy;
  readonly seed: bigint;
  readonly engine: Engine | undefined;
  readonly reuse: ReuseOptions | undefined;
  readonly reserveRouterIP: "first" | "last" | false;
}

/**
 * Single-pool options that have no meaning with named pools, and what to use
 * instead. Cilium's multi-pool has no overflow: a node that needs more
 * addresses takes another chunk of its pool's maskSize (preAllocate keeps
 * them ready); every chunk has the same size, so there are no big subnets
 * to count or cap.
 */
const NO_MULTI_FORM: readonly (readonly [string, string])[] = [
  ["overflow", "has no meaning with options.pools: a node never overflows, it takes another chunk of its pool (Cilium multi-pool); keep addresses ready with the pool's preAllocate and grow a pool with addPoolCidr"],
  ["maxNodeSubnets", "has no meaning with options.pools: every chunk has its pool's maskSize and a node takes as many as its pods need (Cilium multi-pool); bound a pool by its CIDRs, or give nodes a pool of their own with nodeSelector"],
];

const KNOWN = ["pools", "ipv4", "ipv6", "releaseDelayMs", "clock", "podStrategy", "seed", "engine", "reuse", "reserveRouterIP"] as const;
const POOL_KEYS = ["ipv4", "ipv6", "preAllocate", "releaseDelayMs", "nodeSelector"] as const;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
/** A Kubernetes object name (DNS subdomain), as CiliumPodIPPool names are. */
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** True if `options` asks for multi-pool mode (an own `pools` property). */
export function isMultiPoolOptions(options: unknown): options is MultiPoolOptions {
  return isObject(options) && Object.prototype.hasOwnProperty.call(options, "pools") && options.pools !== undefined;
}

/** Throws INVALID_OPTION unless `name` is a pool name (a DNS subdomain of at most 253 characters). */
export function checkPoolName(path: string, name: unknown): string {
  if (typeof name !== "string" || name.length > 253 || !NAME.test(name)) {
    throw errors.invalidOption(path, `must be a pool name: lowercase letters, digits, '-' and '.', at most 253 (got ${show(name)})`);
  }
  return name;
}

function nonNegative(path: string, v: unknown, integer: boolean): number {
  if (typeof v !== "number" || !(v >= 0) || (integer && !Number.isInteger(v))) {
    throw errors.invalidOption(path, `must be a non-negative ${integer ? "integer" : "number"} (got ${show(v)})`);
  }
  return v;
}

function resolvePoolFamily(path: string, family: 4 | 6, raw: unknown, emptyOk = false): ResolvedPoolFamily {
  if (!isObject(raw)) throw errors.invalidOption(path, "must be an object with cidrs and maskSize");
  const f = optionsObject(path, raw, ["cidrs", "maskSize"]);
  const list = f.cidrs;
  if (emptyOk && Array.isArray(list) && list.length === 0) {
    // a snapshot's family whose last pool CIDR was removed (removePoolCidr): its chunk mask alone
    const bits = family === 4 ? 32 : 128;
    if (!Number.isInteger(f.maskSize) || (f.maskSize as number) < 1 || (f.maskSize as number) > bits) throw errors.invalidOption(`${path}.maskSize`, `must be an integer from 1 to ${bits}`);
    return Object.freeze({ family, cidrs: Object.freeze([]), maskSize: f.maskSize as number });
  }
  if (!Array.isArray(list) || list.length === 0) throw errors.invalidOption(`${path}.cidrs`, "must be a non-empty array of CIDR strings");
  const cidrs = Array.from(list, (s: unknown, i) => poolCidr(`${path}.cidrs[${i}]`, s, family));
  if (f.maskSize === undefined) throw errors.invalidOption(`${path}.maskSize`, "is required (the prefix length of a node's chunk)");
  let maskSize = 0;
  cidrs.forEach((c, i) => {
    maskSize = at(`${path}.maskSize`, () => checkNodeMask(c, f.maskSize, `chunk mask of cidrs[${i}]`));
  });
  for (const c of cidrs) Object.freeze(c);
  return Object.freeze({ family, cidrs: Object.freeze(cidrs), maskSize });
}

function resolveSelector(path: string, raw: unknown): ResolvedSelector | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) throw errors.invalidOption(path, "must be a label selector { matchLabels?, matchExpressions? }");
  const s = optionsObject(path, raw, ["matchLabels", "matchExpressions"]);
  const labels: [string, string][] = [];
  if (s.matchLabels !== undefined) {
    if (!isObject(s.matchLabels)) throw errors.invalidOption(`${path}.matchLabels`, "must be an object of label: value strings");
    for (const [k, v] of Object.entries(s.matchLabels)) {
      if (typeof v !== "string") throw errors.invalidOption(`${path}.matchLabels.${k}`, `must be a string (got ${show(v)})`);
      labels.push([k, v]);
    }
  }
  const exprs: { key: string; operator: string; values: string[] }[] = [];
  if (s.matchExpressions !== undefined) {
    if (!Array.isArray(s.matchExpressions)) throw errors.invalidOption(`${path}.matchExpressions`, "must be an array");
    s.matchExpressions.forEach((e: unknown, i) => {
      const p = `${path}.matchExpressions[${i}]`;
      if (!isObject(e)) throw errors.invalidOption(p, "must be { key, operator, values? }");
      const x = optionsObject(p, e, ["key", "operator", "values"]);
      if (typeof x.key !== "string" || x.key === "") throw errors.invalidOption(`${p}.key`, `must be a label key (got ${show(x.key)})`);
      const op = x.operator;
      if (op !== "In" && op !== "NotIn" && op !== "Exists" && op !== "DoesNotExist") {
        throw errors.invalidOption(`${p}.operator`, `must be In, NotIn, Exists or DoesNotExist (got ${show(op)})`);
      }
      const values = x.values ?? [];
      if (!Array.isArray(values) || values.some((v) => typeof v !== "string")) throw errors.invalidOption(`${p}.values`, "must be an array of strings");
      if ((op === "In" || op === "NotIn") && values.length === 0) throw errors.invalidOption(`${p}.values`, `must not be empty for ${op}`);
      if ((op === "Exists" || op === "DoesNotExist") && values.length > 0) throw errors.invalidOption(`${p}.values`, `must be empty for ${op}`);
      exprs.push({ key: x.key, operator: op, values: [...(values as string[])] });
    });
  }
  return Object.freeze({ matchLabels: Object.freeze(labels), matchExpressions: Object.freeze(exprs) });
}

const hasLabel = (labels: Readonly<Record<string, string>>, k: string): boolean => Object.prototype.hasOwnProperty.call(labels, k);

/** True if a node with `labels` matches the selector (no selector: every node). */
export function selects(sel: ResolvedSelector | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (sel === undefined) return true;
  for (const [k, v] of sel.matchLabels) if (!hasLabel(labels, k) || labels[k] !== v) return false;
  for (const e of sel.matchExpressions) {
    const v = hasLabel(labels, e.key) ? labels[e.key] : undefined;
    if (e.operator === "In" && (v === undefined || !e.values.includes(v))) return false;
    if (e.operator === "NotIn" && v !== undefined && e.values.includes(v)) return false;
    if (e.operator === "Exists" && v === undefined) return false;
    if (e.operator === "DoesNotExist" && v !== undefined) return false;
  }
  return true;
}

/** Validates one pool spec at `path` (e.g. "options.pools.blue"); `delay` is the default release delay. */
export function resolvePool(path: string, name: string, raw: unknown, delay: number, emptyOk = false): ResolvedPool {
  if (!isObject(raw)) throw errors.invalidOption(path, "must be an object { ipv4?, ipv6?, preAllocate?, releaseDelayMs?, nodeSelector? }");
  const p = optionsObject(path, raw, POOL_KEYS);
  const families: ResolvedPoolFamily[] = [];
  if (p.ipv4 !== undefined) families.push(resolvePoolFamily(`${path}.ipv4`, 4, p.ipv4, emptyOk));
  if (p.ipv6 !== undefined) families.push(resolvePoolFamily(`${path}.ipv6`, 6, p.ipv6, emptyOk));
  if (families.length === 0) throw errors.invalidOption(path, "must configure ipv4, ipv6 or both");
  const pre = p.preAllocate === undefined ? (name === DEFAULT_POOL ? DEFAULT_PRE_ALLOCATE : 0) : nonNegative(`${path}.preAllocate`, p.preAllocate, true);
  const releaseDelayMs = p.releaseDelayMs === undefined ? delay : nonNegative(`${path}.releaseDelayMs`, p.releaseDelayMs, false);
  return Object.freeze({ name, families: Object.freeze(families), preAllocate: pre, releaseDelayMs, nodeSelector: resolveSelector(`${path}.nodeSelector`, p.nodeSelector) });
}

/**
 * Throws CIDR_COLLISION if two CIDRs of `list` overlap, naming the later
 * one's path and the earlier one with its path (the pool names are in them).
 */
export function checkPoolOverlaps(list: readonly { path: string; cidr: Cidr }[]): void {
  const order = [...list.keys()].sort((a, b) => {
    const x = (list[a] as { cidr: Cidr }).cidr;
    const y = (list[b] as { cidr: Cidr }).cidr;
    return x.family !== y.family ? x.family - y.family : x.network < y.network ? -1 : x.network > y.network ? 1 : x.prefix - y.prefix;
  });
  let last = -1;
  for (const i of order) {
    const c = list[i] as { path: string; cidr: Cidr };
    const l = list[last];
    if (l !== undefined && l.cidr.family === c.cidr.family && c.cidr.network <= l.cidr.last) {
      const [later, earlier] = i > last ? [c, l] : [l, c];
      throw errors.collisionAt(later.path, String(later.cidr), `${earlier.path} ${String(earlier.cidr)}`);
    }
    if (l === undefined || l.cidr.family !== c.cidr.family || c.cidr.last > l.cidr.last) last = i;
  }
}

/**
 * Validates multi-pool options; throws IpamError naming the option. Returns
 * a frozen copy. `how` is for snapshots: no pools at all, or a pool family
 * with no CIDRs (all removed at runtime).
 */
export function resolveMultiOptions(raw: unknown, how: { allowNoPools?: boolean; allowEmptyFamilies?: boolean } = {}): ResolvedMultiOptions {
  if (!isObject(raw)) throw errors.invalidOption("options", "must be an object");
  for (const [key, why] of NO_MULTI_FORM) if (raw[key] !== undefined) throw errors.invalidOption(`options.${key}`, why);
  const o = optionsObject("options", raw, KNOWN);
  if (!isObject(o.pools)) throw errors.invalidOption("options.pools", `must be an object of pool name: { ipv4?, ipv6?, ... } (got ${show(o.pools)})`);
  const delay = o.releaseDelayMs === undefined ? DEFAULT_RELEASE_DELAY_MS : nonNegative("options.releaseDelayMs", o.releaseDelayMs, false);
  const specs: [string, string, unknown][] = Object.keys(o.pools).map((k) => [k, `options.pools.${k}`, (o.pools as Record<string, unknown>)[k]]);
  if (o.ipv4 !== undefined || o.ipv6 !== undefined) {
    if (specs.some(([k]) => k === DEFAULT_POOL)) {
      throw errors.invalidOption(o.ipv4 !== undefined ? "options.ipv4" : "options.ipv6", "is the shorthand for pool 'default', which options.pools also defines: give one of them");
    }
    specs.unshift([DEFAULT_POOL, "options", { ...(o.ipv4 !== undefined ? { ipv4: o.ipv4 } : {}), ...(o.ipv6 !== undefined ? { ipv6: o.ipv6 } : {}) }]);
  }
  if (specs.length === 0 && !how.allowNoPools) throw errors.invalidOption("options.pools", "must name at least one pool");
  const pools = specs.map(([name, path, spec]) => resolvePool(path, checkPoolName(`${path === "options" ? "options.pools" : path}`, name), spec, delay, how.allowEmptyFamilies === true));
  const all: { path: string; cidr: Cidr }[] = [];
  for (let k = 0; k < pools.length; k++) {
    const p = pools[k] as ResolvedPool;
    const base = (specs[k] as [string, string, unknown])[1];
    for (const f of p.families) f.cidrs.forEach((cidr, i) => all.push({ path: `${base}.ipv${f.family}.cidrs[${i}]`, cidr }));
  }
  if (all.length > MAX_POOL_CIDRS) throw errors.invalidOption("options.pools", `has ${all.length} pool CIDRs; a ClusterPool holds at most ${MAX_POOL_CIDRS} (MAX_POOL_CIDRS)`);
  checkPoolOverlaps(all);
  if (o.clock !== undefined && typeof o.clock !== "function") throw errors.invalidOption("options.clock", "must be a function returning milliseconds");
  if (o.engine !== undefined && !(o.engine instanceof Engine)) throw errors.invalidOption("options.engine", `must be an Engine made by Engine.create() (got ${show(o.engine)})`);
  return Object.freeze({
    pools: Object.freeze(pools),
    releaseDelayMs: delay,
    clock: (o.clock as (() => number) | undefined) ?? Date.now,
    podStrategy: checkStrategy("options.podStrategy", o.podStrategy),
    seed: checkSeed("options.seed", o.seed),
    engine: o.engine as Engine | undefined,
    reuse: resolveReuse(o.reuse),
    reserveRouterIP: resolveRouterIP(o.reserveRouterIP),
  });
}

/** The options as JSON (no engine, no clock), for snapshots: pools as they are now. */
export function multiOptionsJson(o: ResolvedMultiOptions, pools: readonly ResolvedPool[]): Record<string, unknown> {
  return {
    releaseDelayMs: o.releaseDelayMs,
    podStrategy: o.podStrategy,
    seed: String(o.seed),
    ...(o.reuse !== undefined ? { reuse: o.reuse } : {}),
    ...(o.reserveRouterIP !== false ? { reserveRouterIP: o.reserveRouterIP } : {}),
    pools: Object.fromEntries(pools.map((p) => [p.name, poolJson(p)])),
  };
}

/** One resolved pool as an IpPoolSpec. */
export function poolJson(p: ResolvedPool): IpPoolSpec {
  const fam = (f: ResolvedPoolFamily): IpPoolFamily => ({ cidrs: f.cidrs.map(String), maskSize: f.maskSize });
  const v4 = p.families.find((f) => f.family === 4);
  const v6 = p.families.find((f) => f.family === 6);
  const sel = p.nodeSelector;
  return {
    ...(v4 ? { ipv4: fam(v4) } : {}),
    ...(v6 ? { ipv6: fam(v6) } : {}),
    preAllocate: p.preAllocate,
    releaseDelayMs: p.releaseDelayMs,
    ...(sel ? {
      nodeSelector: {
        ...(sel.matchLabels.length ? { matchLabels: Object.fromEntries(sel.matchLabels) } : {}),
        ...(sel.matchExpressions.length ? { matchExpressions: sel.matchExpressions.map((e) => ({ key: e.key, operator: e.operator as "In", ...(e.values.length ? { values: [...e.values] } : {}) })) } : {}),
      },
    } : {}),
  };
}
