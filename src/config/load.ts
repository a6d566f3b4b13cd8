/**
 * The three config formats ipcarve reads, validated with errors that name
 * the file, line and YAML path:
 *   1. Cilium's ClusterPoolConfig as the seed writes it (numBigHoleIPAMs);
 *   2. Cilium Helm values (ipam.mode: cluster-pool, ipam.operator.*);
 *   3. ipcarve's own YAML: `pool:` options and a `scenario:` for simulate.
 */
import { parseCidr } from "../net/ip.js";
import { STRATEGIES } from "../alloc/strategy.js";
import type { Strategy } from "../alloc/strategy.js";
import { Source, ConfigError, type Path } from "./source.js";
import type { Scenario, NodePhase, PoolGrowth, Lifetime, SimPool } from "../sim/scenario.js";
import { defaultScenario } from "../sim/scenario.js";

export type ConfigFormat = "ClusterPoolConfig" | "helm-values" | "ipcarve";

export interface FamilyConfig {
  readonly cidrs: readonly string[];
  readonly maskSize: number;
}

/** Pool settings from any format; lifecycle fields are passed to ClusterPool as given. */
export interface PoolConfig extends SimPool {
  readonly ipv4?: FamilyConfig;
  readonly ipv6?: FamilyConfig;
  readonly maxNodeSubnets?: number;
  readonly podStrategy?: Strategy;
  readonly overflow?: "reject" | "share" | { readonly smaller: number };
  readonly reuse?: { readonly cooldownMs?: number; readonly minFreeBeforeReuse?: number };
  readonly reserveRouterIP?: "first" | "last" | false;
}

export interface LoadedConfig {
  readonly file: string;
  readonly format: ConfigFormat;
  readonly pool: PoolConfig;
  /** The `scenario:` section (ipcarve format), resolved over the default scenario. */
  readonly scenario?: Scenario;
  /** How values were derived, for display ("node mask /24 derived from numBigHoleIPAMs 16"). */
  readonly notes: readonly string[];
}

/** Cilium's Helm defaults. */
export const HELM_DEFAULTS = {
  ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 },
  ipv6: { cidrs: ["fd00::/104"], maskSize: 120 },
} as const;

/** Reads and validates a config file of any of the three formats. Throws ConfigError. */
export function loadConfig(file: string): LoadedConfig {
  return fromSource(Source.read(file));
}

/** Validates already-read text (tests, stdin). */
export function parseConfig(file: string, text: string): LoadedConfig {
  return fromSource(Source.parse(file, text));
}

function fromSource(src: Source): LoadedConfig {
  const d = src.data;
  if (d === null || d === undefined) throw src.error([], "is empty; expected a ClusterPoolConfig, Cilium Helm values or an ipcarve config");
  if (typeof d !== "object" || Array.isArray(d)) throw src.error([], "must be a YAML mapping at the top level");
  const top = d as Record<string, unknown>;
  if (top.kind === "ClusterPoolConfig" || (typeof top.apiVersion === "string" && top.apiVersion.startsWith("cilium.io/"))) {
    return clusterPoolConfig(src);
  }
  if ("pool" in top || "scenario" in top) return ipcarveConfig(src);
  if ("ipam" in top || "ipv4" in top || "ipv6" in top) return helmValues(src);
  throw src.error([], "cannot tell the format: expected `kind: ClusterPoolConfig`, Cilium Helm values with an `ipam:` section, or an ipcarve config with `pool:`/`scenario:`");
}

/** Node mask from a subnet count: clusterMask + ceil(log2 N). */
export function deriveMask(prefix: number, n: number): number {
  return prefix + Math.ceil(Math.log2(n));
}

// ------------------------------------------------------------ 1. ClusterPoolConfig

const NUM_BIG_HOLES: readonly Path[] = [
  ["spec", "numBigHoleIPAMs"],
  ["spec", "clusterPoolIPAM", "numBigHoleIPAMs"],
  ["spec", "allocator", "numBigHoleIPAMs"],
  ["spec", "allocator", "clusterPoolIPAM", "numBigHoleIPAMs"],
];

function clusterPoolConfig(src: Source): LoadedConfig {
  const notes: string[] = [];
  const api = src.get(["apiVersion"]);
  if (api !== "cilium.io/v2alpha1") throw src.error(["apiVersion"], `must be cilium.io/v2alpha1 (got ${JSON.stringify(api ?? null)})`);
  const kind = src.get(["kind"]);
  if (kind !== "ClusterPoolConfig") throw src.error(["kind"], `must be ClusterPoolConfig (got ${JSON.stringify(kind ?? null)})`);
  const spec = src.get(["spec"]);
  if ((spec === null || spec === undefined) && src.has(["clusterPoolIPv4PodCIDR"])) {
    throw src.error(["clusterPoolIPv4PodCIDR"], "is at the top level: spec is empty. Indent clusterPoolIPv4PodCIDR, allocator and clusterPoolIPAM under spec:");
  }
  src.map(["spec"], true);
  const allocType = src.string(["spec", "allocator", "type"]);
  if (allocType !== undefined && allocType !== "ipam") throw src.error(["spec", "allocator", "type"], `must be ipam (got ${JSON.stringify(allocType)})`);

  let holes: number | undefined;
  let holesAt: Path | undefined;
  for (const p of NUM_BIG_HOLES) {
    if (p.length > 2) src.map(p.slice(0, -1));
    const n = src.number(p, { min: 1 });
    if (n === undefined) continue;
    if (holes !== undefined && n !== holes) {
      throw src.error(p, `is ${n} but ${holesAt!.join(".")} is ${holes}; give numBigHoleIPAMs once`);
    }
    holes = n;
    holesAt = p;
  }

  const family = (fam: 4 | 6): FamilyConfig | undefined => {
    const key = `clusterPoolIPv${fam}PodCIDR`;
    const keyList = `${key}List`;
    const at: Path | undefined = src.get(["spec", key]) !== undefined ? ["spec", key] : src.get(["spec", keyList]) !== undefined ? ["spec", keyList] : undefined;
    if (at === undefined) return undefined;
    const cidrs = src.cidrList(at, fam);
    const maskPath: Path = ["spec", `clusterPoolIPv${fam}MaskSize`];
    let mask = src.number(maskPath, { min: 0, max: fam === 4 ? 32 : 128 });
    const first = parseCidr(cidrs[0]);
    if (mask === undefined) {
      if (holes === undefined) throw src.error(maskPath, `or numBigHoleIPAMs is required to size the node subnets of ${cidrs[0]}`);
      mask = deriveMask(first.prefix, holes);
      if (mask > first.bits) throw src.error(holesAt!, `${holes} subnets do not fit in ${cidrs[0]}: they would need a /${mask} node mask`);
      notes.push(`IPv${fam} node mask /${mask} derived from numBigHoleIPAMs ${holes} and ${cidrs[0]} (/${first.prefix} + ceil(log2 ${holes}))`);
      src.mask(holesAt!, cidrs, mask);
    } else src.mask(maskPath, cidrs, mask);
    if (holes !== undefined) {
      const capacity = cidrs.reduce((n, c) => n + 2 ** (mask! - parseCidr(c).prefix), 0);
      if (holes > capacity) {
        throw src.error(holesAt!, `numBigHoleIPAMs ${holes} is more than the ${capacity} /${mask} subnets ${cidrs.join(", ")} holds`);
      }
    }
    return { cidrs, maskSize: mask };
  };
  const ipv4 = family(4);
  const ipv6 = family(6);
  if (!ipv4 && !ipv6) throw src.error(["spec", "clusterPoolIPv4PodCIDR"], "is required (or spec.clusterPoolIPv6PodCIDR)");
  return {
    file: src.file,
    format: "ClusterPoolConfig",
    pool: { ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}), ...(holes !== undefined ? { maxNodeSubnets: holes } : {}) },
    notes,
  };
}

// ------------------------------------------------------------ 2. Helm values

function helmValues(src: Source): LoadedConfig {
  const notes: string[] = [];
  src.map(["ipam"]);
  const mode = src.string(["ipam", "mode"]);
  if (mode !== undefined && mode !== "cluster-pool") {
    throw src.error(["ipam", "mode"], `is ${JSON.stringify(mode)}; ipcarve models cluster-pool IPAM (ipam.mode: cluster-pool)`);
  }
  src.map(["ipam", "operator"]);
  const v4on = src.boolean(["ipv4", "enabled"]) ?? true;
  const v6on = src.boolean(["ipv6", "enabled"]) ?? false;
  const family = (fam: 4 | 6): FamilyConfig => {
    const listPath: Path = ["ipam", "operator", `clusterPoolIPv${fam}PodCIDRList`];
    const maskPath: Path = ["ipam", "operator", `clusterPoolIPv${fam}MaskSize`];
    const def = fam === 4 ? HELM_DEFAULTS.ipv4 : HELM_DEFAULTS.ipv6;
    const cidrs = src.get(listPath) === undefined ? [...def.cidrs] : src.cidrList(listPath, fam);
    if (src.get(listPath) === undefined) notes.push(`${listPath.join(".")} not set: Cilium's default ${def.cidrs.join(", ")}`);
    let mask = src.number(maskPath, { min: 0, max: fam === 4 ? 32 : 128 });
    if (mask === undefined) {
      mask = def.maskSize;
      notes.push(`${maskPath.join(".")} not set: Cilium's default /${mask}`);
    }
    src.mask(maskPath, cidrs, mask);
    return { cidrs, maskSize: mask };
  };
  if (!v4on && !v6on) throw src.error(["ipv4", "enabled"], "and ipv6.enabled are both false: no pod addresses to manage");
  const ipv4 = v4on ? family(4) : undefined;
  const ipv6 = v6on ? family(6) : undefined;
  return { file: src.file, format: "helm-values", pool: { ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) }, notes };
}

// ------------------------------------------------------------ 3. ipcarve's own YAML

const POOL_KEYS = ["ipv4", "ipv6", "maxNodeSubnets", "podStrategy", "overflow", "reuse", "reserveRouterIP"];
const SCENARIO_KEYS = ["name", "seed", "duration", "epoch", "sample", "nodes", "pods", "cooldown", "growth"];

function ipcarveConfig(src: Source): LoadedConfig {
  const notes: string[] = [];
  src.onlyKeys([], ["apiVersion", "kind", "pool", "scenario"]);
  const kind = src.get(["kind"]);
  if (kind !== undefined && kind !== "IpcarveConfig") throw src.error(["kind"], `must be IpcarveConfig (got ${JSON.stringify(kind)})`);
  src.onlyKeys(["pool"], POOL_KEYS);
  const pool = ipcarvePool(src, notes);
  const scenario = src.get(["scenario"]) === undefined ? undefined : ipcarveScenario(src, pool);
  return { file: src.file, format: "ipcarve", pool, ...(scenario ? { scenario } : {}), notes };
}

function ipcarvePool(src: Source, notes: string[]): PoolConfig {
  const maxNodeSubnets = src.number(["pool", "maxNodeSubnets"], { min: 1 });
  const family = (fam: 4 | 6): FamilyConfig | undefined => {
    const base: Path = ["pool", `ipv${fam}`];
    if (src.get(base) === undefined) return undefined;
    src.map(base, true);
    src.onlyKeys(base, ["cidrs", "maskSize"]);
    const cidrs = src.cidrList([...base, "cidrs"], fam);
    let mask = src.number([...base, "maskSize"], { min: 0, max: fam === 4 ? 32 : 128 });
    if (mask === undefined) {
      if (maxNodeSubnets === undefined) throw src.error([...base, "maskSize"], "is required (or pool.maxNodeSubnets to derive it)");
      mask = deriveMask(parseCidr(cidrs[0]).prefix, maxNodeSubnets);
      notes.push(`IPv${fam} node mask /${mask} derived from maxNodeSubnets ${maxNodeSubnets}`);
      src.mask(["pool", "maxNodeSubnets"], cidrs, mask);
    } else src.mask([...base, "maskSize"], cidrs, mask);
    return { cidrs, maskSize: mask };
  };
  const ipv4 = family(4);
  const ipv6 = family(6);
  if (!ipv4 && !ipv6) {
    if (src.get(["pool"]) === undefined) {
      notes.push("no pool: section: Cilium's default 10.0.0.0/8 with /24 node subnets");
      return { ipv4: { cidrs: [...HELM_DEFAULTS.ipv4.cidrs], maskSize: HELM_DEFAULTS.ipv4.maskSize } };
    }
    throw src.error(["pool", "ipv4"], "is required (or pool.ipv6)");
  }
  const ps = src.string(["pool", "podStrategy"]);
  if (ps !== undefined && !(STRATEGIES as readonly string[]).includes(ps)) {
    throw src.error(["pool", "podStrategy"], `must be one of ${STRATEGIES.join(", ")} (got ${JSON.stringify(ps)})`);
  }
  let overflow: PoolConfig["overflow"];
  const ov = src.get(["pool", "overflow"]);
  if (ov === "reject" || ov === "share") overflow = ov;
  else if (ov !== undefined && ov !== null) {
    src.onlyKeys(["pool", "overflow"], ["smaller"]);
    const smaller = src.number(["pool", "overflow", "smaller"], { min: 0, max: 128 });
    if (smaller === undefined) throw src.error(["pool", "overflow"], "must be reject, share or { smaller: <mask size> }");
    overflow = { smaller };
  }
  let reuse: PoolConfig["reuse"];
  if (src.get(["pool", "reuse"]) !== undefined) {
    src.onlyKeys(["pool", "reuse"], ["cooldown", "minFreeBeforeReuse"]);
    const cd = src.duration(["pool", "reuse", "cooldown"]);
    const mf = src.number(["pool", "reuse", "minFreeBeforeReuse"], { min: 0 });
    reuse = { ...(cd !== undefined ? { cooldownMs: cd * 1000 } : {}), ...(mf !== undefined ? { minFreeBeforeReuse: mf } : {}) };
  }
  const rr = src.get(["pool", "reserveRouterIP"]);
  if (rr !== undefined && rr !== "first" && rr !== "last" && rr !== false) {
    throw src.error(["pool", "reserveRouterIP"], `must be first, last or false (got ${JSON.stringify(rr)})`);
  }
  return {
    ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}),
    ...(maxNodeSubnets !== undefined ? { maxNodeSubnets } : {}),
    ...(ps !== undefined ? { podStrategy: ps as Strategy } : {}),
    ...(overflow !== undefined ? { overflow } : {}),
    ...(reuse !== undefined ? { reuse } : {}),
    ...(rr !== undefined ? { reserveRouterIP: rr as "first" | "last" | false } : {}),
  };
}

function ipcarveScenario(src: Source, pool: PoolConfig): Scenario {
  const S = (...p: (string | number)[]): Path => ["scenario", ...p];
  src.map(S(), true);
  src.onlyKeys(S(), SCENARIO_KEYS);
  const def = defaultScenario();
  const duration = src.duration(S("duration")) ?? def.duration;
  if (duration <= 0) throw src.error(S("duration"), "must be positive");
  /** A time: a duration, or "NN%" of the scenario's duration. */
  const time = (p: Path): number | undefined => {
    const v = src.get(p);
    if (typeof v === "string" && /^\s*\d+(\.\d+)?\s*%\s*$/.test(v)) return (parseFloat(v) / 100) * duration;
    const t = src.duration(p);
    if (t !== undefined && t > duration) throw src.error(p, `is after the end of the scenario (duration ${duration}s)`);
    return t;
  };
  const epoch = src.duration(S("epoch")) ?? def.epoch;
  if (epoch <= 0) throw src.error(S("epoch"), "must be positive");
  if (duration / epoch > 1_000_000) throw src.error(S("epoch"), `is too short for duration ${duration}s (more than 1,000,000 epochs)`);
  const sample = src.duration(S("sample")) ?? Math.max(epoch, def.sample);

  src.onlyKeys(S("nodes"), ["phases", "failureRate"]);
  let phases: NodePhase[] = [...def.nodes.phases];
  if (src.get(S("nodes", "phases")) !== undefined) {
    const list = src.get(S("nodes", "phases"));
    if (!Array.isArray(list) || list.length === 0) throw src.error(S("nodes", "phases"), "must be a non-empty list of { at, nodes }");
    phases = list.map((_, i) => {
      src.map(S("nodes", "phases", i), true);
      src.onlyKeys(S("nodes", "phases", i), ["at", "nodes"]);
      const at = time(S("nodes", "phases", i, "at"));
      const nodes = src.number(S("nodes", "phases", i, "nodes"), { min: 0, max: 10_000_000 });
      if (at === undefined) throw src.error(S("nodes", "phases", i, "at"), "is required");
      if (nodes === undefined) throw src.error(S("nodes", "phases", i, "nodes"), "is required");
      return { at, nodes };
    });
    phases.forEach((p, i) => {
      const prev = phases[i - 1];
      if (prev && p.at < prev.at) throw src.error(S("nodes", "phases", i, "at"), "must not be before the previous phase");
    });
  } else if (src.get(S("duration")) !== undefined) {
    phases = phases.map((p) => ({ at: (p.at / def.duration) * duration, nodes: p.nodes }));
  }
  const failureRate = src.number(S("nodes", "failureRate"), { min: 0, max: 1000, real: true }) ?? def.nodes.failureRate;

  src.onlyKeys(S("pods"), ["perNode", "maxPods", "lifetime"]);
  let minPerNode = def.pods.minPerNode;
  let maxPerNode = def.pods.maxPerNode;
  const per = src.get(S("pods", "perNode"));
  if (typeof per === "number") {
    minPerNode = maxPerNode = src.number(S("pods", "perNode"), { min: 0, max: 100_000 }) as number;
  } else if (per !== undefined) {
    src.onlyKeys(S("pods", "perNode"), ["min", "max"]);
    minPerNode = src.number(S("pods", "perNode", "min"), { min: 0, max: 100_000 }) ?? minPerNode;
    maxPerNode = src.number(S("pods", "perNode", "max"), { min: 0, max: 100_000 }) ?? maxPerNode;
    if (minPerNode > maxPerNode) throw src.error(S("pods", "perNode", "min"), `must not exceed max (${minPerNode} > ${maxPerNode})`);
  }
  const maxPods = src.number(S("pods", "maxPods"), { min: 1, max: 100_000 }) ?? Math.max(maxPerNode, 1);
  let lifetime: Lifetime = def.pods.lifetime;
  if (src.get(S("pods", "lifetime")) !== undefined) {
    const L = S("pods", "lifetime");
    src.map(L, true);
    const dist = src.string([...L, "distribution"]) ?? "exponential";
    const pos = (p: Path): number => {
      const v = src.duration(p);
      if (v === undefined) throw src.error(p, "is required");
      if (v <= 0) throw src.error(p, "must be positive");
      return v;
    };
    if (dist === "exponential") {
      src.onlyKeys(L, ["distribution", "mean"]);
      lifetime = { kind: "exponential", mean: pos([...L, "mean"]) };
    } else if (dist === "fixed") {
      src.onlyKeys(L, ["distribution", "value"]);
      lifetime = { kind: "fixed", value: pos([...L, "value"]) };
    } else if (dist === "uniform") {
      src.onlyKeys(L, ["distribution", "min", "max"]);
      const min = pos([...L, "min"]);
      const max = pos([...L, "max"]);
      if (min > max) throw src.error([...L, "min"], "must not exceed max");
      lifetime = { kind: "uniform", min, max };
    } else throw src.error([...L, "distribution"], `must be exponential, fixed or uniform (got ${JSON.stringify(dist)})`);
  }
  const cooldown = src.duration(S("cooldown")) ?? (pool.reuse?.cooldownMs !== undefined ? pool.reuse.cooldownMs / 1000 : def.cooldown);

  const growth: PoolGrowth[] = [];
  const g = src.get(S("growth"));
  if (g !== undefined && g !== null) {
    if (!Array.isArray(g)) throw src.error(S("growth"), "must be a list of { at, cidr }");
    g.forEach((_, i) => {
      src.map(S("growth", i), true);
      src.onlyKeys(S("growth", i), ["at", "cidr"]);
      const at = time(S("growth", i, "at"));
      if (at === undefined) throw src.error(S("growth", i, "at"), "is required");
      const c = src.cidr(S("growth", i, "cidr"));
      const fam = c.family === 4 ? pool.ipv4 : pool.ipv6;
      if (!fam) throw src.error(S("growth", i, "cidr"), `is IPv${c.family} but the pool has no IPv${c.family} family`);
      for (const other of [...fam.cidrs, ...growth.map((x) => x.cidr)]) {
        if (parseCidr(other).overlaps(c)) throw src.error(S("growth", i, "cidr"), `${String(c)} overlaps pool CIDR ${other}`);
      }
      src.mask(S("growth", i, "cidr"), [String(c)], fam.maskSize);
      growth.push({ at, cidr: String(c) });
    });
  }
  return {
    name: src.string(S("name")) ?? src.file,
    seed: src.number(S("seed"), { min: 0, max: 2 ** 32 - 1 }) ?? def.seed,
    duration, epoch, sample,
    nodes: { phases, failureRate },
    pods: { minPerNode, maxPerNode, maxPods, lifetime },
    cooldown,
    growth,
  };
}

export { ConfigError };
