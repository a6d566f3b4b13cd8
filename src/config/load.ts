/**
 * The three config formats ipcarve reads, with errors that name the file,
 * line and YAML path:
 *   1. Cilium's ClusterPoolConfig as the seed writes it (numBigHoleIPAMs);
 *   2. Cilium Helm values (ipam.mode: cluster-pool, ipam.operator.*);
 *   3. ipcarve's own YAML: `pool:` options and a `scenario:` for simulate.
 * Pool options go through one table (table.ts) and resolveOptions, once:
 * this file checks only what belongs to a format (apiVersion, kind,
 * ipam.mode, which keys a mapping may hold) and the scenario.
 */
import { parseCidr } from "../net/ip.js";
import type { Strategy } from "../alloc/strategy.js";
import type { OverflowPolicy, ResolvedOptions, ClusterPoolOptions } from "../pool/options.js";
import { Source, ConfigError, type Path } from "./source.js";
import { HELM_DEFAULTS, HELM_IPAM_OTHER_KEYS, mapOptions, rowsOf, type ConfigFormat } from "./table.js";
import type { Scenario, NodePhase, PoolGrowth, Lifetime, SimPool } from "../sim/scenario.js";
import { defaultScenario } from "../sim/scenario.js";

export { HELM_DEFAULTS, KEY_TABLE, type ConfigFormat, type KeyRow } from "./table.js";

export interface FamilyConfig {
  readonly cidrs: readonly string[];
  readonly maskSize: number;
}

/** Pool settings from any format, as resolveOptions resolved them; only the options the file gave (or defaulted). */
export interface PoolConfig extends SimPool {
  readonly ipv4?: FamilyConfig;
  readonly ipv6?: FamilyConfig;
  readonly maxNodeSubnets?: number;
  readonly podStrategy?: Strategy;
  readonly overflow?: OverflowPolicy;
  readonly reuse?: { readonly cooldownMs?: number; readonly minFreeBeforeReuse?: number };
  readonly reserveRouterIP?: "first" | "last" | false;
  /** Seed of the 'random' pod strategy. */
  readonly seed?: bigint;
}

export interface LoadedConfig {
  readonly file: string;
  readonly format: ConfigFormat;
  readonly pool: PoolConfig;
  /** The ClusterPool options the file gives, as resolveOptions accepted them (new ClusterPool(options) builds the pool). */
  readonly options: ClusterPoolOptions;
  /** The `scenario:` section (ipcarve format), resolved over the default scenario. */
  readonly scenario?: Scenario;
  /** How values were derived, for display ("node mask /24 derived from numBigHoleIPAMs 16"). */
  readonly notes: readonly string[];
  /**
   * What the file gives that is probably not what its author meant, each naming
   * the file, line and key: a deprecated key (read anyway), an unknown key under
   * `ipam` (ignored). The CLI prints them on stderr; a library caller decides.
   */
  readonly warnings: readonly string[];
}

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
  const items = Array.isArray(top.items) ? (top.items as unknown[]) : [];
  if (top.kind === "CiliumNode" || (top.kind === "List" && items.some((i) => (i as { kind?: unknown } | null)?.kind === "CiliumNode"))) {
    throw src.error(["kind"], `is ${String(top.kind)}: CiliumNode objects are a cluster's node allocations, not a pool config; import them with \`ipcarve import FILE --state S --config POOL\` (ClusterPool.importCiliumNodes)`);
  }
  if (top.kind === "ClusterPoolConfig" || (typeof top.apiVersion === "string" && top.apiVersion.startsWith("cilium.io/"))) {
    return clusterPoolConfig(src);
  }
  if ("pool" in top || "scenario" in top) return ipcarveConfig(src);
  if ("ipam" in top || "ipv4" in top || "ipv6" in top) return helmValues(src);
  // An umbrella chart's values: Cilium's under its dependency key.
  const sub = top.cilium;
  if (sub !== null && typeof sub === "object" && !Array.isArray(sub) && ("ipam" in sub || "ipv4" in sub || "ipv6" in sub)) {
    const c = helmValues(src.at(["cilium"]));
    return { ...c, notes: ["Cilium values nested under cilium: (an umbrella chart)", ...c.notes] };
  }
  throw src.error([], "cannot tell the format: expected `kind: ClusterPoolConfig`, Cilium Helm values with an `ipam:` section, or an ipcarve config with `pool:`/`scenario:`");
}

/** Node mask from a subnet count: clusterMask + ceil(log2 N) (what resolveOptions derives without a maskSize). */
export function deriveMask(prefix: number, n: number): number {
  return prefix + Math.ceil(Math.log2(n));
}

/** The pool config of resolved options: the options the raw object gave, typed and with derived values filled in. */
function poolConfig(raw: ClusterPoolOptions, r: ResolvedOptions): PoolConfig {
  const out: { -readonly [K in keyof PoolConfig]: PoolConfig[K] } = {};
  for (const f of r.families) out[`ipv${f.family}`] = { cidrs: f.cidrs.map(String), maskSize: f.maskSize };
  if (r.maxNodeSubnets !== undefined) out.maxNodeSubnets = r.maxNodeSubnets;
  if (raw.podStrategy !== undefined) out.podStrategy = r.podStrategy;
  if (raw.overflow !== undefined) out.overflow = r.overflowOption;
  if (r.reuse !== undefined) out.reuse = r.reuse;
  if (raw.reserveRouterIP !== undefined) out.reserveRouterIP = r.reserveRouterIP;
  if (raw.seed !== undefined) out.seed = r.seed;
  return out;
}

// ------------------------------------------------------------ 1. ClusterPoolConfig

function clusterPoolConfig(src: Source): LoadedConfig {
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
  const m = mapOptions(src, "ClusterPoolConfig");
  return { file: src.file, format: "ClusterPoolConfig", pool: poolConfig(m.options, m.resolved), options: m.options, notes: m.notes, warnings: m.warnings };
}

// ------------------------------------------------------------ 2. Helm values

function helmValues(src: Source): LoadedConfig {
  src.map(["ipam"]);
  const mode = src.string(["ipam", "mode"]);
  if (mode !== undefined && mode !== "cluster-pool") {
    throw src.error(["ipam", "mode"], `is ${JSON.stringify(mode)}; ipcarve models cluster-pool IPAM (ipam.mode: cluster-pool)`);
  }
  const v4on = src.boolean(["ipv4", "enabled"]) ?? true;
  const v6on = src.boolean(["ipv6", "enabled"]) ?? false;
  if (!v4on && !v6on) throw src.error(["ipv4", "enabled"], "and ipv6.enabled are both false: no pod addresses to manage");
  const m = mapOptions(src, "helm-values");
  return {
    file: src.file, format: "helm-values", pool: poolConfig(m.options, m.resolved), options: m.options, notes: m.notes,
    warnings: [...m.warnings, ...unknownIpamKeys(src)],
  };
}

/** A warning for each key under `ipam` and `ipam.operator` that neither the table nor Cilium's chart has. */
function unknownIpamKeys(src: Source): string[] {
  const out: string[] = [];
  const rows = rowsOf("helm-values");
  for (const [at, others] of Object.entries(HELM_IPAM_OTHER_KEYS)) {
    const path = at.split(".");
    const known = [...others, ...rows.filter((r) => r.key.length === path.length + 1 && r.key.slice(0, -1).join(".") === at).map((r) => String(r.key[path.length]))];
    for (const k of Object.keys(src.map(path))) {
      if (known.includes(k)) continue;
      const near = known.find((x) => x.toLowerCase() === k.toLowerCase());
      out.push(src.warning([...path, k], `is not a key of Cilium's ${at} values and is ignored${near !== undefined ? ` (did you mean ${near}?)` : ""}`));
    }
  }
  return out;
}

// ------------------------------------------------------------ 3. ipcarve's own YAML

const SCENARIO_KEYS = ["name", "seed", "duration", "epoch", "sample", "nodes", "pods", "cooldown", "growth"];

function ipcarveConfig(src: Source): LoadedConfig {
  const notes: string[] = [];
  src.onlyKeys([], ["apiVersion", "kind", "pool", "scenario"]);
  const kind = src.get(["kind"]);
  if (kind !== undefined && kind !== "IpcarveConfig") throw src.error(["kind"], `must be IpcarveConfig (got ${JSON.stringify(kind)})`);
  let base = {};
  if (src.get(["pool"]) === undefined) {
    notes.push("no pool: section: Cilium's default 10.0.0.0/8 with /24 node subnets");
    base = { ipv4: { cidrs: [...HELM_DEFAULTS.ipv4.cidrs], maskSize: HELM_DEFAULTS.ipv4.maskSize } };
  }
  const m = mapOptions(src, "ipcarve", base);
  notes.push(...m.notes);
  const warnings = m.warnings;
  const pool = poolConfig(m.options, m.resolved);
  const scenario = src.get(["scenario"]) === undefined ? undefined : ipcarveScenario(src, pool);
  return { file: src.file, format: "ipcarve", pool, options: m.options, ...(scenario ? { scenario } : {}), notes, warnings };
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

  src.onlyKeys(S("nodes"), ["phases", "failureRate", "drainGrace"]);
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
  const drainGrace = src.duration(S("nodes", "drainGrace")) ?? def.nodes.drainGrace ?? 0; // removeNode's grace for scaled-down nodes

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
    nodes: { phases, failureRate, drainGrace },
    pods: { minPerNode, maxPerNode, maxPods, lifetime },
    cooldown,
    growth,
  };
}

export { ConfigError };
