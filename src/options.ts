/**
 * ClusterPool options: validated once, at the boundary, with messages that
 * name the option; then filled into a fully-typed object.
 */
import { type Cidr, parseCidr } from "./ip.js";
import { IpamError, errors } from "./errors.js";
import { checkNodeMask } from "./cidr-set.js";
import { checkStrategy, checkSeed } from "./bitmap.js";
import type { Engine } from "./engine.js";
import type { Strategy } from "./wasm.js";
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

const KNOWN = new Set(["ipv4", "ipv6", "maxNodeSubnets", "overflow", "reuse", "clock", "reserveRouterIP", "podStrategy", "seed", "engine"]);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Runs fn; an IpamError it throws gets `path` in front of its message, same code. */
export function at<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof IpamError) throw new IpamError(e.code, `${path}: ${e.message.replace(/^ipcarve: /, "")}`, { cause: e });
    throw e;
  }
}

/** Parses a pool CIDR for `family`, naming `where` in errors. */
export function poolCidr(where: string, s: unknown, family: 4 | 6): Cidr {
  const c = at(where, () => parseCidr(s));
  if (c.family !== family) throw errors.familyMismatch(where, String(s), family);
  return c;
}

function resolveFamily(family: 4 | 6, raw: unknown, maxNodeSubnets: number | undefined, overflow: OverflowPolicy): ResolvedFamily {
  const path = `options.ipv${family}`;
  if (!isObject(raw)) throw errors.invalidOption(path, "must be an object with cidrs and maskSize");
  for (const k of Object.keys(raw)) {
    if (k !== "cidrs" && k !== "maskSize") throw errors.invalidOption(`${path}.${k}`, "is not a known option");
  }
  const list = raw.cidrs;
  if (!Array.isArray(list) || list.length === 0) throw errors.invalidOption(`${path}.cidrs`, "must be a non-empty array of CIDR strings");
  const cidrs: Cidr[] = [];
  list.forEach((s: unknown, i) => {
    const where = `${path}.cidrs[${i}]`;
    const c = poolCidr(where, s, family);
    const clash = cidrs.findIndex((o) => o.overlaps(c));
    if (clash >= 0) throw errors.collision(where, String(c), `${path}.cidrs[${clash}] ${String(cidrs[clash])}`);
    cidrs.push(c);
  });
  const first = cidrs[0] as Cidr;
  let maskRaw = raw.maskSize;
  if (maskRaw === undefined) {
    if (maxNodeSubnets === undefined) throw errors.invalidOption(`${path}.maskSize`, "is required (or give maxNodeSubnets to derive it)");
    maskRaw = first.prefix + Math.ceil(Math.log2(maxNodeSubnets)); // /20 with 16 gives /24
  }
  let maskSize = 0;
  cidrs.forEach((c, i) => {
    maskSize = at(`${path}.maskSize`, () => checkNodeMask(c, maskRaw, `node mask of ${path}.cidrs[${i}]`));
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
        throw errors.invalidOption(where, `must be a mask longer than the node mask /${maskSize} (got ${String(smaller)})`);
      }
      cidrs.forEach((c, i) => at(where, () => checkNodeMask(c, smaller, `smaller node mask of ${path}.cidrs[${i}]`)));
      slotMask = smaller;
      policy = "smaller";
    }
  }
  return { family, cidrs, maskSize, slotMask, maxBig: maxNodeSubnets ?? Infinity, overflow: policy };
}

function resolveOverflow(raw: unknown): OverflowPolicy {
  if (raw === undefined || raw === "reject" || raw === "share") return raw ?? "reject";
  if (isObject(raw) && typeof raw.smaller === "number") {
    for (const k of Object.keys(raw)) {
      if (k !== "smaller" && k !== "ipv6") throw errors.invalidOption(`options.overflow.${k}`, "is not a known option");
    }
    return raw as OverflowPolicy;
  }
  throw errors.invalidOption("options.overflow", `must be 'reject', 'share' or { smaller: maskSize } (got ${JSON.stringify(raw)})`);
}

function resolveReuse(raw: unknown): ReuseOptions | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) throw errors.invalidOption("options.reuse", "must be an object { cooldownMs?, minFreeBeforeReuse? }");
  for (const k of Object.keys(raw)) {
    if (k !== "cooldownMs" && k !== "minFreeBeforeReuse") throw errors.invalidOption(`options.reuse.${k}`, "is not a known option");
  }
  const { cooldownMs, minFreeBeforeReuse } = raw;
  if (cooldownMs !== undefined && (typeof cooldownMs !== "number" || !(cooldownMs >= 0))) {
    throw errors.invalidOption("options.reuse.cooldownMs", `must be a non-negative number (got ${String(cooldownMs)})`);
  }
  if (minFreeBeforeReuse !== undefined && (typeof minFreeBeforeReuse !== "number" || !Number.isInteger(minFreeBeforeReuse) || minFreeBeforeReuse < 0)) {
    throw errors.invalidOption("options.reuse.minFreeBeforeReuse", `must be a non-negative integer (got ${String(minFreeBeforeReuse)})`);
  }
  if (cooldownMs === undefined && minFreeBeforeReuse === undefined) return undefined;
  return raw as ReuseOptions;
}

/** Validates ClusterPool options; throws IpamError naming the option. */
export function resolveOptions(raw: unknown): ResolvedOptions {
  if (!isObject(raw)) throw errors.invalidOption("options", "must be an object");
  for (const k of Object.keys(raw)) {
    if (!KNOWN.has(k)) throw errors.invalidOption(`options.${k}`, "is not a known option");
  }
  const n = raw.maxNodeSubnets;
  if (n !== undefined && (typeof n !== "number" || !Number.isInteger(n) || n < 1)) {
    throw errors.invalidOption("options.maxNodeSubnets", `must be a positive integer (got ${String(n)})`);
  }
  const overflow = resolveOverflow(raw.overflow);
  const families: ResolvedFamily[] = [];
  if (raw.ipv4 !== undefined) families.push(resolveFamily(4, raw.ipv4, n, overflow));
  if (raw.ipv6 !== undefined) families.push(resolveFamily(6, raw.ipv6, n, overflow));
  if (families.length === 0) throw errors.invalidOption("options", "must configure ipv4, ipv6 or both");
  if (raw.clock !== undefined && typeof raw.clock !== "function") throw errors.invalidOption("options.clock", "must be a function returning milliseconds");
  const router = raw.reserveRouterIP ?? false;
  if (router !== false && router !== "first" && router !== "last") {
    throw errors.invalidOption("options.reserveRouterIP", `must be 'first', 'last' or false (got ${JSON.stringify(router)})`);
  }
  return {
    families,
    maxNodeSubnets: n,
    overflowOption: overflow,
    reuse: resolveReuse(raw.reuse),
    clock: (raw.clock as (() => number) | undefined) ?? Date.now,
    reserveRouterIP: router,
    podStrategy: checkStrategy("options.podStrategy", raw.podStrategy),
    seed: checkSeed("options.seed", raw.seed),
    engine: raw.engine as Engine | undefined,
  };
}
