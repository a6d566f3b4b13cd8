/**
 * The three config formats ipcarve reads, with errors that name the file,
 * line and YAML path:
 *   1. Cilium's ClusterPoolConfig as the seed writes it (numBigHoleIPAMs);
 *   2. Cilium Helm values (ipam.mode: cluster-pool, ipam.operator.*);
 *   3. ipcarve's own YAML: `pool:` options and a `scenario:` for simulate.
 * Named pools (Cilium multi-pool) come from Helm values with
 * `ipam.mode: multi-pool`, from ipcarve's `pools:` section, and from
 * CiliumPodIPPool objects (`how.pools`, the CLI's --pools FILE): multi.ts.
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
import type { MultiPoolOptions, IpPoolSpec } from "../pool/multi/options.js";
import type { MultiPoolScenario } from "../sim/multi-pool.js";
import { helmMultiPool, ipcarvePools, withPodIPPools, multiOptions, readGroups, type NamedPools, type ScenarioReaders } from "./multi.js";

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
  /** "CiliumPodIPPool": only --pools objects were given (no config file). */
  readonly format: ConfigFormat | "CiliumPodIPPool";
  readonly pool: PoolConfig;
  /** The ClusterPool options the file gives, as resolveOptions accepted them (new ClusterPool(options) builds the pool). */
  readonly options: ClusterPoolOptions;
  /** The `scenario:` section (ipcarve format), resolved over the default scenario. */
  readonly scenario?: Scenario;
  /**
   * Named pools (Cilium multi-pool), as ClusterPool options.pools: with
   * them, `multi` holds the options to build the pool, and `pool`/`options`
   * are empty (they describe a single cluster pool).
   */
  readonly pools?: Readonly<Record<string, IpPoolSpec>>;
  readonly multi?: MultiPoolOptions;
  /** The `scenario:` of an ipcarve config with pools: node groups drawing from the named pools. */
  readonly multiScenario?: MultiPoolScenario;
  /** How values were derived, for display ("node mask /24 derived from numBigHoleIPAMs 16"). */
  readonly notes: readonly string[];
  /**
   * What the file gives that is probably not what its author meant, each naming
   * the file, line and key: a deprecated key (read anyway), an unknown key under
   * `ipam` (ignored). The CLI prints them on stderr; a library caller decides.
   */
  readonly warnings: readonly string[];
}

export interface LoadOptions {
  /** A file of CiliumPodIPPool objects (one, a List, or several YAML documents) to add as named pools (the CLI's --pools). */
  readonly pools?: string;
}

/** Reads and validates a config file of any of the three formats. Throws ConfigError. */
export function loadConfig(file: string, how: LoadOptions = {}): LoadedConfig {
  return withPools(fromSource(Source.read(file)), how);
}

/** Validates already-read text (tests, stdin). */
export function parseConfig(file: string, text: string, how: LoadOptions = {}): LoadedConfig {
  return withPools(fromSource(Source.parse(file, text)), how);
}

/** A config of only CiliumPodIPPool objects (`--pools FILE` without `--config`). */
export function loadPodIPPoolConfig(file: string): LoadedConfig {
  return named({ file, format: "CiliumPodIPPool", pool: {}, options: {}, notes: [], warnings: [] }, withPodIPPools(undefined, file));
}

/** A loaded config with named pools. */
function named(base: LoadedConfig, n: NamedPools): LoadedConfig {
  return { ...base, pool: {}, options: {}, pools: n.pools, multi: multiOptions(n), notes: [...base.notes, ...n.notes], warnings: [...base.warnings, ...n.warnings], [NAMED]: n } as LoadedConfig;
}

const NAMED = Symbol("named pools");
const namedOf = (c: LoadedConfig): NamedPools | undefined => (c as { [NAMED]?: NamedPools })[NAMED];

/** Adds --pools objects: to a multi-pool config, or to an ipcarve config that gives no single pool. */
function withPools(cfg: LoadedConfig, how: LoadOptions): LoadedConfig {
  if (how.pools === undefined) {
    if (cfg.pools !== undefined && Object.keys(cfg.pools).length === 0) {
      throw new ConfigError(cfg.file, undefined, undefined, "", "gives no pool: ipam.operator.autoCreateCiliumPodIPPools is empty; give the CiliumPodIPPool objects with --pools FILE");
    }
    return cfg;
  }
  const n = namedOf(cfg);
  if (n === undefined && !(cfg.format === "ipcarve" && cfg.notes.some((x) => x.startsWith(NO_POOL)))) {
    throw new ConfigError(cfg.file, undefined, undefined, "", `is a ${cfg.format} config of one cluster pool: CiliumPodIPPool objects (${how.pools}) need Helm values with ipam.mode: multi-pool, an ipcarve config with pools: (or without pool:), or no --config`);
  }
  const merged = withPodIPPools(n, how.pools);
  const base = n === undefined ? { ...cfg, notes: cfg.notes.filter((x) => !x.startsWith(NO_POOL)) } : cfg;
  const out = named({
    ...base,
    // the scenario's groups run on the merged pools (an object replaces an auto-created pool of its name)
    ...(cfg.multiScenario ? { multiScenario: { ...cfg.multiScenario, pools: merged.pools } } : {}),
    notes: base.notes.filter((x) => !(n?.notes ?? []).includes(x)),
    warnings: base.warnings.filter((x) => !(n?.warnings ?? []).includes(x)),
  }, merged);
  if (cfg.scenario !== undefined && n === undefined) {
    throw new ConfigError(cfg.file, undefined, undefined, "", "has a single-pool scenario (nodes:, pods:); with named pools give scenario.groups");
  }
  return out;
}

const NO_POOL = "no pool: section";

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
  if ("pool" in top || "pools" in top || "scenario" in top) return ipcarveConfig(src);
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
  if (mode !== undefined && mode !== "cluster-pool" && mode !== "multi-pool") {
    throw src.error(["ipam", "mode"], `is ${JSON.stringify(mode)}; ipcarve models cluster-pool and multi-pool IPAM (ipam.mode: cluster-pool or multi-pool)`);
  }
  const v4on = src.boolean(["ipv4", "enabled"]) ?? true;
  const v6on = src.boolean(["ipv6", "enabled"]) ?? false;
  if (!v4on && !v6on) throw src.error(["ipv4", "enabled"], "and ipv6.enabled are both false: no pod addresses to manage");
  if (mode === "multi-pool") {
    const n = helmMultiPool(src, v4on, v6on);
    return named({ file: src.file, format: "helm-values", pool: {}, options: {}, notes: [], warnings: unknownIpamKeys(src) }, n);
  }
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
  src.onlyKeys([], ["apiVersion", "kind", "pool", "pools", "scenario"]);
  const kind = src.get(["kind"]);
  if (kind !== undefined && kind !== "IpcarveConfig") throw src.error(["kind"], `must be IpcarveConfig (got ${JSON.stringify(kind)})`);
  if (src.has(["pools"])) {
    const n = ipcarvePools(src);
    const multiScenario = src.get(["scenario"]) === undefined ? undefined : ipcarveMultiScenario(src, n.pools);
    return named({ file: src.file, format: "ipcarve", pool: {}, options: {}, ...(multiScenario ? { multiScenario } : {}), notes: [], warnings: [] }, n);
  }
  let base = {};
  if (src.get(["pool"]) === undefined) {
    notes.push(`${NO_POOL}: Cilium's default 10.0.0.0/8 with /24 node subnets`);
    base = { ipv4: { cidrs: [...HELM_DEFAULTS.ipv4.cidrs], maskSize: HELM_DEFAULTS.ipv4.maskSize } };
  }
  const m = mapOptions(src, "ipcarve", base);
  notes.push(...m.notes);
  const warnings = m.warnings;
  const pool = poolConfig(m.options, m.resolved);
  const scenario = src.get(["scenario"]) === undefined ? undefined : ipcarveScenario(src, pool);
  return { file: src.file, format: "ipcarve", pool, options: m.options, ...(scenario ? { scenario } : {}), notes, warnings };
}

/** The times of a scenario: duration, epoch, sample, and a reader of times ("30m", or "NN%" of the duration). */
function scenarioTimes(src: Source, S: (...p: (string | number)[]) => Path, def: { duration: number; epoch: number; sample: number }) {
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
  return { duration, epoch, sample, time };
}

/** Readers of a scenario's node phases, pod lifetimes and pods per node, at any path. */
function scenarioReaders(src: Source, time: (p: Path) => number | undefined): ScenarioReaders {
  const phases = (P: Path): NodePhase[] => {
    const list = src.get(P);
    if (!Array.isArray(list) || list.length === 0) throw src.error(P, "must be a non-empty list of { at, nodes }");
    const out = list.map((_, i) => {
      src.map([...P, i], true);
      src.onlyKeys([...P, i], ["at", "nodes"]);
      const at = time([...P, i, "at"]);
      const nodes = src.number([...P, i, "nodes"], { min: 0, max: 10_000_000 });
      if (at === undefined) throw src.error([...P, i, "at"], "is required");
      if (nodes === undefined) throw src.error([...P, i, "nodes"], "is required");
      return { at, nodes };
    });
    out.forEach((p, i) => {
      const prev = out[i - 1];
      if (prev && p.at < prev.at) throw src.error([...P, i, "at"], "must not be before the previous phase");
    });
    return out;
  };
  const perNode = (P: Path, def: { min: number; max: number }): { min: number; max: number } => {
    const per = src.get(P);
    if (typeof per === "number") {
      const n = src.number(P, { min: 0, max: 100_000 }) as number;
      return { min: n, max: n };
    }
    if (per === undefined) return def;
    src.onlyKeys(P, ["min", "max"]);
    const min = src.number([...P, "min"], { min: 0, max: 100_000 }) ?? def.min;
    const max = src.number([...P, "max"], { min: 0, max: 100_000 }) ?? def.max;
    if (min > max) throw src.error([...P, "min"], `must not exceed max (${min} > ${max})`);
    return { min, max };
  };
  const lifetime = (L: Path, def: Lifetime): Lifetime => {
    if (src.get(L) === undefined) return def;
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
      return { kind: "exponential", mean: pos([...L, "mean"]) };
    } else if (dist === "fixed") {
      src.onlyKeys(L, ["distribution", "value"]);
      return { kind: "fixed", value: pos([...L, "value"]) };
    } else if (dist === "uniform") {
      src.onlyKeys(L, ["distribution", "min", "max"]);
      const min = pos([...L, "min"]);
      const max = pos([...L, "max"]);
      if (min > max) throw src.error([...L, "min"], "must not exceed max");
      return { kind: "uniform", min, max };
    }
    throw src.error([...L, "distribution"], `must be exponential, fixed or uniform (got ${JSON.stringify(dist)})`);
  };
  return { phases, perNode, lifetime };
}

const MULTI_SCENARIO_KEYS = ["name", "seed", "duration", "epoch", "sample", "groups"];

/** The scenario of an ipcarve config with pools: node groups over the named pools. */
function ipcarveMultiScenario(src: Source, pools: Readonly<Record<string, IpPoolSpec>>): MultiPoolScenario {
  const S = (...p: (string | number)[]): Path => ["scenario", ...p];
  src.map(S(), true);
  for (const k of ["nodes", "pods", "growth", "cooldown"]) {
    if (src.has(S(k))) throw src.error(S(k), "is a single-pool scenario key; with pools:, give node groups (scenario.groups: name, labels, phases, pods)");
  }
  src.onlyKeys(S(), MULTI_SCENARIO_KEYS);
  const t = scenarioTimes(src, S, { duration: 2 * 3600, epoch: 30, sample: 300 });
  const groups = readGroups(src, S, pools, scenarioReaders(src, t.time));
  return {
    name: src.string(S("name")) ?? src.file,
    seed: src.number(S("seed"), { min: 0, max: 2 ** 32 - 1 }) ?? 1,
    duration: t.duration, epoch: t.epoch, sample: t.sample, pools, groups,
  };
}

function ipcarveScenario(src: Source, pool: PoolConfig): Scenario {
  const S = (...p: (string | number)[]): Path => ["scenario", ...p];
  src.map(S(), true);
  if (src.has(S("groups"))) throw src.error(S("groups"), "needs named pools: give a pools: section for node groups");
  src.onlyKeys(S(), SCENARIO_KEYS);
  const def = defaultScenario();
  const { duration, epoch, sample, time } = scenarioTimes(src, S, def);
  const read = scenarioReaders(src, time);

  src.onlyKeys(S("nodes"), ["phases", "failureRate", "drainGrace"]);
  let phases: NodePhase[] = [...def.nodes.phases];
  if (src.get(S("nodes", "phases")) !== undefined) {
    phases = read.phases(S("nodes", "phases"));
  } else if (src.get(S("duration")) !== undefined) {
    phases = phases.map((p) => ({ at: (p.at / def.duration) * duration, nodes: p.nodes }));
  }
  const failureRate = src.number(S("nodes", "failureRate"), { min: 0, max: 1000, real: true }) ?? def.nodes.failureRate;
  const drainGrace = src.duration(S("nodes", "drainGrace")) ?? def.nodes.drainGrace ?? 0; // removeNode's grace for scaled-down nodes

  src.onlyKeys(S("pods"), ["perNode", "maxPods", "lifetime"]);
  const per = read.perNode(S("pods", "perNode"), { min: def.pods.minPerNode, max: def.pods.maxPerNode });
  const minPerNode = per.min;
  const maxPerNode = per.max;
  const maxPods = src.number(S("pods", "maxPods"), { min: 1, max: 100_000 }) ?? Math.max(maxPerNode, 1);
  const lifetime: Lifetime = read.lifetime(S("pods", "lifetime"), def.pods.lifetime);
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
