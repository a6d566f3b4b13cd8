/**
 * Named pools (Cilium multi-pool IPAM) in the config formats:
 *   - Cilium Helm values with `ipam.mode: multi-pool`: the pools of
 *     `ipam.operator.autoCreateCiliumPodIPPools` ({ <name>: { ipv4: { cidrs,
 *     maskSize }, ipv6: ... } }) and the agent's `ipam.multiPoolPreAllocation`
 *     ("default=8,blue=4", or a mapping);
 *   - ipcarve's own `pools:` section, and a `scenario:` with node `groups:`;
 *   - CiliumPodIPPool objects from another file (`--pools FILE`), merged in.
 */
import type { IpPoolSpec, LabelSelector, MultiPoolOptions } from "../pool/multi/options.js";
import type { Strategy } from "../alloc/strategy.js";
import type { NodePhase, Lifetime } from "../sim/scenario.js";
import type { NodeGroup, GroupPods } from "../sim/multi-pool.js";
import { describe, type Path, type Source } from "./source.js";
import { readFamily, unknownKeys, checkPools, applyPreAllocation, type PoolAt } from "./pools.js";
import { parsePreAllocation, loadPodIPPools } from "./pod-ip-pool.js";
import { rowsOf } from "./table.js";
import { IpamError } from "../errors.js";

/** What a config says about named pools. */
export interface NamedPools {
  readonly pools: Readonly<Record<string, IpPoolSpec>>;
  /** Where each pool was given, to locate errors. */
  readonly at: ReadonlyMap<string, PoolAt>;
  /** Pre-allocation per pool from the agent's setting, applied to pools of --pools files too; undefined: Cilium's default=8. */
  readonly preAllocation?: Readonly<Record<string, number>>;
  readonly podStrategy?: Strategy;
  readonly seed?: number | bigint;
  readonly notes: readonly string[];
  readonly warnings: readonly string[];
}

/** The ClusterPool options of named pools (new ClusterPool(options) builds them). */
export function multiOptions(n: NamedPools): MultiPoolOptions {
  return {
    pools: n.pools,
    ...(n.podStrategy !== undefined ? { podStrategy: n.podStrategy } : {}),
    ...(n.seed !== undefined ? { seed: n.seed } : {}),
  };
}

const POOLS_KEY: Path = ["ipam", "operator", "autoCreateCiliumPodIPPools"];
const PRE_KEY: Path = ["ipam", "multiPoolPreAllocation"];

/** Helm values with ipam.mode: multi-pool. */
export function helmMultiPool(src: Source, v4on: boolean, v6on: boolean): NamedPools {
  const notes: string[] = [];
  const warnings: string[] = [];
  // cluster-pool keys mean nothing in multi-pool mode (Cilium's operator does not read them)
  for (const r of rowsOf("helm-values")) {
    if (r.convert !== undefined && src.has(r.key) && src.get(r.key) !== null) {
      warnings.push(src.warning(r.key, "is a cluster-pool key: ipam.mode is multi-pool, so it is ignored (pools come from ipam.operator.autoCreateCiliumPodIPPools and CiliumPodIPPool objects)"));
    }
  }
  let preAllocation: Record<string, number> | undefined;
  const rawPre = src.get(PRE_KEY);
  if (typeof rawPre === "string" && rawPre.trim() !== "") {
    try {
      preAllocation = parsePreAllocation(rawPre);
    } catch (e) {
      if (!(e instanceof IpamError)) throw e;
      throw src.error(PRE_KEY, e.reason, e);
    }
  } else if (rawPre !== null && typeof rawPre === "object" && !Array.isArray(rawPre)) {
    preAllocation = {};
    for (const k of Object.keys(rawPre)) preAllocation[k] = src.number([...PRE_KEY, k], { min: 0, max: 1_000_000 }) as number;
  } else if (rawPre !== undefined && rawPre !== null && rawPre !== "") {
    throw src.error(PRE_KEY, `must be a string like "default=8,blue=4" or a mapping of pool: addresses (got ${describe(rawPre)})`);
  }
  const pools: Record<string, IpPoolSpec> = {};
  const at = new Map<string, PoolAt>();
  for (const name of Object.keys(src.map(POOLS_KEY))) {
    const p: Path = [...POOLS_KEY, name];
    src.map(p, true);
    warnings.push(...unknownKeys(src, p, ["ipv4", "ipv6"], "an auto-created pool (ipv4, ipv6)"));
    const ipv4 = readFamily(src, [...p, "ipv4"], 4, warnings);
    const ipv6 = readFamily(src, [...p, "ipv6"], 6, warnings);
    if (ipv4 && !v4on) notes.push(`pool ${JSON.stringify(name)}: its ipv4 is not used (ipv4.enabled is false)`);
    if (ipv6 && !v6on) notes.push(`pool ${JSON.stringify(name)}: its ipv6 is not used (ipv6.enabled is false)`);
    const spec: IpPoolSpec = { ...(ipv4 && v4on ? { ipv4 } : {}), ...(ipv6 && v6on ? { ipv6 } : {}) };
    if (spec.ipv4 === undefined && spec.ipv6 === undefined) {
      if (ipv4 === undefined && ipv6 === undefined) throw src.error(p, "must give ipv4 or ipv6 { cidrs, maskSize }");
      warnings.push(src.warning(p, "has no family that is enabled (ipv4.enabled / ipv6.enabled): the pool is left out"));
      continue;
    }
    pools[name] = applyPreAllocation(spec, name, preAllocation);
    at.set(name, { src, path: p });
  }
  if (preAllocation !== undefined) {
    for (const name of Object.keys(preAllocation)) if (!(name in pools)) notes.push(unknownPreAllocated(name));
    if ("default" in pools && preAllocation.default === undefined) notes.push(`${PRE_KEY.join(".")} does not name pool "default": it pre-allocates 0 (the setting replaces Cilium's default=8)`);
  }
  if (Object.keys(pools).length > 0) checkPools(pools, at);
  else notes.push("ipam.operator.autoCreateCiliumPodIPPools is empty: the pools are CiliumPodIPPool objects (--pools FILE)");
  return { pools, at, ...(preAllocation ? { preAllocation } : {}), notes, warnings };
}

/** The note for a pool that ipam.multiPoolPreAllocation names but no auto-created pool is (a --pools file may still give it). */
const unknownPreAllocated = (name: string): string =>
  `${PRE_KEY.join(".")} names pool ${JSON.stringify(name)}, which neither ipam.operator.autoCreateCiliumPodIPPools nor a --pools file defines`;

const POOL_KEYS = ["ipv4", "ipv6", "preAllocate", "releaseDelay", "nodeSelector"];

/** ipcarve's `pools:` section; `pool:` may then hold only podStrategy and seed. */
export function ipcarvePools(src: Source): NamedPools {
  src.map(["pools"], true);
  for (const f of ["ipv4", "ipv6"]) {
    if (src.has(["pool", f])) throw src.error(["pool", f], "is the single pool's; with pools:, give it as pools.default." + f);
  }
  src.onlyKeys(["pool"], ["podStrategy", "seed"]);
  const pools: Record<string, IpPoolSpec> = {};
  const at = new Map<string, PoolAt>();
  for (const name of Object.keys(src.map(["pools"]))) {
    const p: Path = ["pools", name];
    src.map(p, true);
    src.onlyKeys(p, POOL_KEYS);
    const ipv4 = readFamily(src, [...p, "ipv4"], 4);
    const ipv6 = readFamily(src, [...p, "ipv6"], 6);
    const preAllocate = src.number([...p, "preAllocate"], { min: 0, max: 1_000_000 });
    const delay = src.duration([...p, "releaseDelay"]);
    const sel = src.get([...p, "nodeSelector"]);
    pools[name] = {
      ...(ipv4 ? { ipv4 } : {}),
      ...(ipv6 ? { ipv6 } : {}),
      ...(preAllocate !== undefined ? { preAllocate } : {}),
      ...(delay !== undefined ? { releaseDelayMs: delay * 1000 } : {}),
      ...(sel !== undefined ? { nodeSelector: sel as LabelSelector } : {}),
    };
    at.set(name, { src, path: p, keys: { releaseDelayMs: "releaseDelay" } });
  }
  checkPools(pools, at);
  const strategy = src.string(["pool", "podStrategy"]);
  const seed = src.get(["pool", "seed"]);
  return {
    pools, at, notes: [], warnings: [],
    ...(strategy !== undefined ? { podStrategy: strategy as Strategy } : {}),
    ...(typeof seed === "number" || typeof seed === "bigint" ? { seed } : typeof seed === "string" && /^[0-9]{1,20}$/.test(seed) ? { seed: BigInt(seed) } : {}),
  };
}

/**
 * Adds the CiliumPodIPPool objects of `file` to the config's pools. As
 * Cilium's operator, which does not overwrite an existing CiliumPodIPPool
 * when it auto-creates one, an object wins over an auto-created pool of
 * the same name (with a note). Overlaps across both are CIDR_COLLISION.
 */
export function withPodIPPools(base: NamedPools | undefined, file: string): NamedPools {
  const loaded = loadPodIPPools(file);
  const pools: Record<string, IpPoolSpec> = { ...(base?.pools ?? {}) };
  const at = new Map(base?.at ?? []);
  // a pool the pre-allocation names may come from the file: no note about it then
  const fromFile = new Set(Object.keys(loaded.pools).map(unknownPreAllocated));
  const notes = [...(base?.notes ?? []).filter((x) => !fromFile.has(x)), ...loaded.notes];
  for (const [name, spec] of Object.entries(loaded.pools)) {
    if (name in pools) notes.push(`pool ${JSON.stringify(name)}: the CiliumPodIPPool in ${file} is used, not the auto-created one (Cilium does not overwrite an existing pool)`);
    // the agent's pre-allocation setting replaces default=8 for every pool
    pools[name] = base?.preAllocation !== undefined ? applyPreAllocation(spec, name, base.preAllocation) : spec;
    at.set(name, loaded.at.get(name) as PoolAt);
  }
  checkPools(pools, at);
  return { ...(base ?? { warnings: [] }), pools, at, notes };
}

// ------------------------------------------------------------ scenario: node groups

const GROUP_KEYS = ["name", "labels", "phases", "pods"];
const PODS_KEYS = ["pool", "perNode", "lifetime"];

/** The shared readers of ipcarveScenario (phases, lifetime) that groups reuse. */
export interface ScenarioReaders {
  readonly phases: (p: Path) => NodePhase[];
  readonly lifetime: (p: Path, def: Lifetime) => Lifetime;
  readonly perNode: (p: Path, def: { min: number; max: number }) => { min: number; max: number };
}

/** scenario.groups of an ipcarve config with pools: node groups with labels, each running pods of named pools. */
export function readGroups(src: Source, S: (...p: (string | number)[]) => Path, pools: Readonly<Record<string, IpPoolSpec>>, r: ScenarioReaders): NodeGroup[] {
  const list = src.get(S("groups"));
  if (!Array.isArray(list) || list.length === 0) throw src.error(S("groups"), "must be a non-empty list of { name, labels, phases, pods }");
  const names = new Set<string>();
  return list.map((_, i): NodeGroup => {
    const G = (...p: (string | number)[]): Path => S("groups", i, ...p);
    src.map(G(), true);
    src.onlyKeys(G(), GROUP_KEYS);
    const name = src.string(G("name")) ?? `group-${i + 1}`;
    if (names.has(name)) throw src.error(G("name"), `names group ${JSON.stringify(name)} a second time`);
    names.add(name);
    const labels: Record<string, string> = {};
    for (const k of Object.keys(src.map(G("labels")))) labels[k] = String(src.string(G("labels", k)) ?? "");
    const pods = src.get(G("pods"));
    if (!Array.isArray(pods) || pods.length === 0) throw src.error(G("pods"), "must be a non-empty list of { pool, perNode, lifetime }");
    return {
      name, labels,
      phases: r.phases(G("phases")),
      pods: pods.map((__, k): GroupPods => {
        const P = G("pods", k);
        src.map(P, true);
        src.onlyKeys(P, PODS_KEYS);
        const pool = src.string([...P, "pool"]) ?? "default";
        if (!(pool in pools)) throw src.error([...P, "pool"], `names pool ${JSON.stringify(pool)}, which the config does not define (pools: ${Object.keys(pools).join(", ")})`);
        const per = r.perNode([...P, "perNode"], { min: 10, max: 30 });
        return { pool, min: per.min, max: per.max, lifetime: r.lifetime([...P, "lifetime"], { kind: "exponential", mean: 1800 }) };
      }),
    };
  });
}
