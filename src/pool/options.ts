/**
 * ClusterPool options: validated once, at the boundary, with messages that
 * name the option; then filled into a fully-typed, frozen copy. Only the
 * options object's own enumerable properties are read (inherited ones are
 * not options), and changing the caller's object afterwards changes nothing.
 */
import { type Cidr, parseCidr } from "../net/ip.js";
import { IpamError, errors, show } from "../errors.js";
import { optionsObject } from "../args.js";
import { checkNodeMask } from "../alloc/cidr-set.js";
import { checkStrategy, checkSeed } from "../alloc/strategy.js";
import { Engine } from "../core/engine.js";
import type { Strategy } from "../core/layout.js";
import type { ReuseOptions } from "./quarantine.js";

export interface FamilyOptions {
  /** Pool CIDRs, used in order: a node takes a subnet from the first one that is not full. */
  readonly cidrs: readonly string[];
  /**
   * Prefix length of a node subnet, e.g. 24 for IPv4 or 120 for IPv6.
   * May be left out with `maxNodeSubnets`: then clusterMask + ceil(log2 N).
   */
  readonly maskSize?: number;
}

/** What a node beyond `maxNodeSubnets` (or beyond the pool) gets. */
export type OverflowPolicy =
  /** addNode fails with FULL; the node waits as pending and gets a subnet once one is free (Cilium). */
  | "reject"
  /** No subnet of its own: its pods borrow from the subnet with the most free addresses. */
  | "share"
  /** A smaller subnet (IPv4 mask `smaller`, IPv6 mask `ipv6`) carved from space the big holes leave. */
  | { readonly smaller: number; readonly ipv6?: number };

export interface ClusterPoolOptions {
  readonly ipv4?: FamilyOptions;
  readonly ipv6?: FamilyOptions;
  /** At most this many node subnets of the node mask per family (the seed's numBigHoleIPAMs). */
  readonly maxNodeSubnets?: number;
  /** @default 'reject' */
  readonly overflow?: OverflowPolicy;
  /** Quarantine released pod addresses before reuse. @default none: immediate reuse, as Cilium */
  readonly reuse?: ReuseOptions;
  /** Milliseconds since some epoch; a virtual clock in simulations and tests. @default Date.now */
  readonly clock?: () => number;
  /** Reserve each node's first or last usable address for its router (cilium_host). @default false */
  readonly reserveRouterIP?: "first" | "last" | false;
  /** How a node's pod IPs are picked. Cilium's agent uses 'random'. @default 'next-fit' */
  readonly podStrategy?: Strategy;
  /** Seed for the 'random' pod strategy. @default a fixed seed */
  readonly seed?: number | bigint;
  /** Engine (shared memory) to build the pool in. @default a new engine */
  readonly engine?: Engine;
}

export interface ResolvedFamily {
  readonly family: 4 | 6;
  readonly cidrs: readonly Cidr[];
  /** Mask of a (big) node subnet. */
  readonly maskSize: number;
  /** Mask of one bitmap slot: maskSize, or the smaller overflow mask. */
  readonly slotMask: number;
  /** Big node subnets allowed (Infinity: no limit). */
  readonly maxBig: number;
  /** Overflow for this family. */
  readonly overflow: "reject" | "share" | "smaller";
}

/** The validated options: a frozen copy, whatever the caller does with its object later. */
export interface ResolvedOptions {
  readonly families: readonly ResolvedFamily[];
  readonly maxNodeSubnets: number | undefined;
  readonly overflowOption: OverflowPolicy;
  readonly reuse: ReuseOptions | undefined;
  readonly clock: () => number;
  readonly reserveRouterIP: "first" | "last" | false;
  readonly podStrategy: Strategy;
  readonly seed: bigint;
  readonly engine: Engine | undefined;
}

/** Pool table capacity: pool CIDRs ever added to a pool, removed ones included, all families together. */
export const MAX_POOL_CIDRS = 256;

const KNOWN = ["ipv4", "ipv6", "maxNodeSubnets", "overflow", "reuse", "clock", "reserveRouterIP", "podStrategy", "seed", "engine"] as const;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Runs fn; an IpamError it throws becomes one about `path` (errors.within: same code, `path` set). */
export function at<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof IpamError) throw errors.within(path, e);
    throw e;
  }
}

/** Parses a pool CIDR for `family`, naming `where` in errors. */
export function poolCidr(where: string, s: unknown, family: 4 | 6): Cidr {
  if (typeof s !== "string") throw errors.invalidOption(where, `must be a CIDR string (got ${show(s)})`);
  const c = at(where, () => parseCidr(s));
  if (c.family !== family) throw errors.familyMismatchAt(where, s, family);
  return c;
}

/**
 * Throws CIDR_COLLISION if two of the CIDRs share an address, naming the later
 * one in list order first. Sorted by network (shorter prefix first on a tie),
 * a CIDR overlaps an earlier one exactly when its network lies inside the one
 * reaching furthest so far (CIDRs nest or are disjoint): n log n, not n^2.
 */
export function checkOverlaps(path: string, cidrs: readonly Cidr[]): void {
  const c = (i: number): Cidr => cidrs[i] as Cidr;
  const order = cidrs.map((_, i) => i).sort((a, b) => {
    const x = c(a);
    const y = c(b);
    return x.network < y.network ? -1 : x.network > y.network ? 1 : x.prefix - y.prefix;
  });
  let last = -1; // the previous CIDR in address order: disjoint from all before it, so it reaches furthest
  for (const i of order) {
    if (last >= 0 && c(i).network <= c(last).last) {
      const [later, earlier] = i > last ? [i, last] : [last, i];
      throw errors.collisionAt(`${path}[${later}]`, String(c(later)), `${path}[${earlier}] ${String(c(earlier))}`);
    }
    last = i;
  }
}

function resolveFamily(family: 4 | 6, raw: unknown, maxNodeSubnets: number | undefined, overflow: OverflowPolicy): ResolvedFamily {
  const path = `options.ipv${family}`;
  if (!isObject(raw)) throw errors.invalidOption(path, "must be an object with cidrs and maskSize");
  const f = optionsObject(path, raw, ["cidrs", "maskSize"]);
  const list = f.cidrs;
  if (!Array.isArray(list) || list.length === 0) throw errors.invalidOption(`${path}.cidrs`, "must be a non-empty array of CIDR strings");
  if (list.length > MAX_POOL_CIDRS) {
    throw errors.invalidOption(`${path}.cidrs`, `has ${list.length} CIDRs; a pool holds at most ${MAX_POOL_CIDRS} pool CIDRs (MAX_POOL_CIDRS)`);
  }
  const cidrs: Cidr[] = Array.from(list, (s: unknown, i) => poolCidr(`${path}.cidrs[${i}]`, s, family));
  checkOverlaps(`${path}.cidrs`, cidrs);
  const first = cidrs[0] as Cidr;
  let maskRaw = f.maskSize;
  if (maskRaw === undefined) {
    if (maxNodeSubnets === undefined) throw errors.invalidOption(`${path}.maskSize`, "is required (or give maxNodeSubnets to derive it)");
    maskRaw = first.prefix + Math.ceil(Math.log2(maxNodeSubnets)); // /20 with 16 gives /24
  }
  let maskSize = 0;
  // "node mask of cidrs[1] of 11.0.0.0/25": the CIDR and its place in the list, not the options path (a config file has its own)
  cidrs.forEach((c, i) => {
    maskSize = at(`${path}.maskSize`, () => checkNodeMask(c, maskRaw, `node mask of cidrs[${i}]`));
  });
  const capacity = cidrs.reduce((n, c) => n + 2 ** (maskSize - c.prefix), 0);
  if (maxNodeSubnets !== undefined && maxNodeSubnets > capacity) {
    throw errors.invalidOption(
      "options.maxNodeSubnets",
      `${maxNodeSubnets} is more than the ${capacity} /${maskSize} node subnets of the IPv${family} pool (${cidrs.map(String).join(", ")})`,
    );
  }
  let slotMask = maskSize;
  let policy: ResolvedFamily["overflow"] = overflow === "share" ? "share" : "reject";
  if (typeof overflow === "object") {
    const smaller = family === 4 ? overflow.smaller : overflow.ipv6;
    const where = family === 4 ? "options.overflow.smaller" : "options.overflow.ipv6";
    if (smaller !== undefined) {
      if (typeof smaller !== "number" || !Number.isInteger(smaller) || smaller <= maskSize) {
        throw errors.invalidOption(where, `must be a mask longer than the node mask /${maskSize} (got ${show(smaller)})`);
      }
      cidrs.forEach((c, i) => at(where, () => checkNodeMask(c, smaller, `smaller node mask of cidrs[${i}]`)));
      slotMask = smaller;
      policy = "smaller";
    }
  }
  for (const c of cidrs) Object.freeze(c);
  return Object.freeze({ family, cidrs: Object.freeze(cidrs), maskSize, slotMask, maxBig: maxNodeSubnets ?? Infinity, overflow: policy });
}

function resolveOverflow(raw: unknown): OverflowPolicy {
  if (raw === undefined || raw === "reject" || raw === "share") return raw ?? "reject";
  if (isObject(raw) && typeof raw.smaller === "number") {
    const o = optionsObject("options.overflow", raw, ["smaller", "ipv6"]);
    return Object.freeze({ smaller: o.smaller as number, ...(o.ipv6 !== undefined ? { ipv6: o.ipv6 as number } : {}) });
  }
  throw errors.invalidOption("options.overflow", `must be 'reject', 'share' or { smaller: maskSize } (got ${show(raw)})`);
}

/** options.reserveRouterIP: 'first', 'last' or false (left out: false). */
export function resolveRouterIP(raw: unknown): "first" | "last" | false {
  const router = raw ?? false;
  if (router !== false && router !== "first" && router !== "last") {
    throw errors.invalidOption("options.reserveRouterIP", `must be 'first', 'last' or false (got ${show(router)})`);
  }
  return router;
}

/** options.reuse: { cooldownMs?, minFreeBeforeReuse? }, or undefined (none). */
export function resolveReuse(raw: unknown): ReuseOptions | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) throw errors.invalidOption("options.reuse", "must be an object { cooldownMs?, minFreeBeforeReuse? }");
  const { cooldownMs, minFreeBeforeReuse } = optionsObject("options.reuse", raw, ["cooldownMs", "minFreeBeforeReuse"]);
  if (cooldownMs !== undefined && (typeof cooldownMs !== "number" || !(cooldownMs >= 0))) {
    throw errors.invalidOption("options.reuse.cooldownMs", `must be a non-negative number (got ${show(cooldownMs)})`);
  }
  if (minFreeBeforeReuse !== undefined && (typeof minFreeBeforeReuse !== "number" || !Number.isInteger(minFreeBeforeReuse) || minFreeBeforeReuse < 0)) {
    throw errors.invalidOption("options.reuse.minFreeBeforeReuse", `must be a non-negative integer (got ${show(minFreeBeforeReuse)})`);
  }
  if (cooldownMs === undefined && minFreeBeforeReuse === undefined) return undefined;
  return Object.freeze({
    ...(cooldownMs !== undefined ? { cooldownMs: cooldownMs as number } : {}),
    ...(minFreeBeforeReuse !== undefined ? { minFreeBeforeReuse: minFreeBeforeReuse as number } : {}),
  });
}

/** Validates an options.clock; throws INVALID_OPTION. */
function resolveClock(raw: unknown): (() => number) | undefined {
  if (raw !== undefined && typeof raw !== "function") throw errors.invalidOption("options.clock", "must be a function returning milliseconds");
  return raw as (() => number) | undefined;
}

/** Validates an options.engine: an Engine (Engine.create() or Engine.attach()); throws INVALID_OPTION. */
function resolveEngine(raw: unknown): Engine | undefined {
  if (raw !== undefined && !(raw instanceof Engine)) throw errors.invalidOption("options.engine", `must be an Engine made by Engine.create() (got ${show(raw)})`);
  return raw;
}

/** Validates ClusterPool options; throws IpamError naming the option. Returns a frozen copy. */
export function resolveOptions(raw: unknown): ResolvedOptions {
  if (!isObject(raw)) throw errors.invalidOption("options", "must be an object");
  const o = optionsObject("options", raw, KNOWN);
  const n = o.maxNodeSubnets;
  if (n !== undefined && (typeof n !== "number" || !Number.isInteger(n) || n < 1)) {
    throw errors.invalidOption("options.maxNodeSubnets", `must be a positive integer (got ${show(n)})`);
  }
  const overflow = resolveOverflow(o.overflow);
  const families: ResolvedFamily[] = [];
  if (o.ipv4 !== undefined) families.push(resolveFamily(4, o.ipv4, n, overflow));
  if (o.ipv6 !== undefined) families.push(resolveFamily(6, o.ipv6, n, overflow));
  if (families.length === 0) throw errors.invalidOption("options", "must configure ipv4, ipv6 or both");
  const total = families.reduce((k, f) => k + f.cidrs.length, 0);
  if (total > MAX_POOL_CIDRS) {
    throw errors.invalidOption("options", `has ${total} pool CIDRs (ipv4 and ipv6 together); a pool holds at most ${MAX_POOL_CIDRS} (MAX_POOL_CIDRS)`);
  }
  const clock = resolveClock(o.clock);
  const router = resolveRouterIP(o.reserveRouterIP);
  return Object.freeze({
    families: Object.freeze(families),
    maxNodeSubnets: n,
    overflowOption: overflow,
    reuse: resolveReuse(o.reuse),
    clock: clock ?? Date.now,
    reserveRouterIP: router,
    podStrategy: checkStrategy("options.podStrategy", o.podStrategy),
    seed: checkSeed("options.seed", o.seed),
    engine: resolveEngine(o.engine),
  });
}

/** The runtime options of ClusterPool.restore (clock, engine): INVALID_OPTION for anything else. */
export function resolveRuntime(raw: unknown): Pick<ClusterPoolOptions, "clock" | "engine"> {
  const o = optionsObject("options", raw, ["clock", "engine"]);
  const clock = resolveClock(o.clock);
  const engine = resolveEngine(o.engine);
  return { ...(clock !== undefined ? { clock } : {}), ...(engine !== undefined ? { engine } : {}) };
}

/**
 * Milliseconds in snapshot and journal JSON, where JSON would write Infinity
 * (a cooldown or a grace period that never ends) as null: Infinity is written
 * as the string "Infinity". readMs also reads null as Infinity, which is what
 * stores written before this encoding hold.
 */
export function writeMs(ms: number): number | "Infinity" {
  return ms === Infinity ? "Infinity" : ms;
}

export function readMs(v: unknown): number {
  if (v === "Infinity" || v === null) return Infinity;
  if (typeof v !== "number") throw new Error(`${show(v)} is not a number of milliseconds`);
  return v;
}

/**
 * The pool options as snapshot JSON: what the resolved copy says (no engine,
 * no clock), the seed as a decimal string (a u64 does not fit a JSON number),
 * Infinity as writeMs writes it. optionsFromJson reads it back.
 */
export function optionsJson(o: ResolvedOptions): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  for (const f of o.families) json[`ipv${f.family}`] = { cidrs: f.cidrs.map(String), maskSize: f.maskSize };
  if (o.maxNodeSubnets !== undefined) json.maxNodeSubnets = o.maxNodeSubnets;
  if (o.overflowOption !== "reject") json.overflow = o.overflowOption;
  if (o.reuse !== undefined) {
    json.reuse = {
      ...(o.reuse.cooldownMs !== undefined ? { cooldownMs: writeMs(o.reuse.cooldownMs) } : {}),
      ...(o.reuse.minFreeBeforeReuse !== undefined ? { minFreeBeforeReuse: o.reuse.minFreeBeforeReuse } : {}),
    };
  }
  if (o.reserveRouterIP !== false) json.reserveRouterIP = o.reserveRouterIP;
  if (o.podStrategy !== "next-fit") json.podStrategy = o.podStrategy;
  if (o.seed !== 0n) json.seed = String(o.seed);
  return json;
}

/** ClusterPool options from snapshot JSON (optionsJson, or the options as earlier versions wrote them). */
export function optionsFromJson(raw: unknown): ClusterPoolOptions {
  if (!isObject(raw)) throw new Error("the options are not an object");
  const { seed, reuse, ...rest } = raw;
  const out: Record<string, unknown> = { ...rest };
  if (seed !== undefined) out.seed = typeof seed === "string" && /^[0-9]{1,20}$/.test(seed) ? BigInt(seed) : seed;
  if (isObject(reuse) && "cooldownMs" in reuse) out.reuse = { ...reuse, cooldownMs: readMs(reuse.cooldownMs) };
  else if (reuse !== undefined) out.reuse = reuse;
  return out as ClusterPoolOptions;
}
