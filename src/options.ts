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

export interface FamilyOptions {
  /** Pool CIDRs, used in order: a node takes a subnet from the first one that is not full. */
  readonly cidrs: readonly string[];
  /** Prefix length of a node subnet, e.g. 24 for IPv4 or 120 for IPv6. */
  readonly maskSize: number;
}

export interface ClusterPoolOptions {
  readonly ipv4?: FamilyOptions;
  readonly ipv6?: FamilyOptions;
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
  readonly maskSize: number;
}

export interface ResolvedOptions {
  readonly families: readonly ResolvedFamily[];
  readonly podStrategy: Strategy;
  readonly seed: bigint;
  readonly engine: Engine | undefined;
}

const KNOWN = new Set(["ipv4", "ipv6", "podStrategy", "seed", "engine"]);
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

function resolveFamily(family: 4 | 6, raw: unknown): ResolvedFamily {
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
    const c = at(where, () => parseCidr(s));
    if (c.family !== family) throw errors.familyMismatch(where, String(s), family);
    const clash = cidrs.findIndex((o) => o.overlaps(c));
    if (clash >= 0) throw errors.collision(where, String(c), `${path}.cidrs[${clash}] ${String(cidrs[clash])}`);
    cidrs.push(c);
  });
  if (raw.maskSize === undefined) throw errors.invalidOption(`${path}.maskSize`, "is required");
  let maskSize = 0;
  cidrs.forEach((c, i) => {
    maskSize = at(`${path}.maskSize`, () => checkNodeMask(c, raw.maskSize, `node mask of ${path}.cidrs[${i}]`));
  });
  return { family, cidrs, maskSize };
}

/** Validates ClusterPool options; throws IpamError naming the option. */
export function resolveOptions(raw: unknown): ResolvedOptions {
  if (!isObject(raw)) throw errors.invalidOption("options", "must be an object");
  for (const k of Object.keys(raw)) {
    if (!KNOWN.has(k)) throw errors.invalidOption(`options.${k}`, "is not a known option");
  }
  const families: ResolvedFamily[] = [];
  if (raw.ipv4 !== undefined) families.push(resolveFamily(4, raw.ipv4));
  if (raw.ipv6 !== undefined) families.push(resolveFamily(6, raw.ipv6));
  if (families.length === 0) throw errors.invalidOption("options", "must configure ipv4, ipv6 or both");
  return {
    families,
    podStrategy: checkStrategy("options.podStrategy", raw.podStrategy),
    seed: checkSeed("options.seed", raw.seed),
    engine: raw.engine as Engine | undefined,
  };
}
