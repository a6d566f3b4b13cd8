/**
 * Simulation scenarios: the resolved, fully-typed shape the simulator runs,
 * the embedded default (what `npm start` runs), and the overrides the CLI
 * flags apply. Times are virtual seconds.
 */
import type { ClusterPoolOptions } from "../pool/options.js";

/** Target node count at a virtual time; the count moves linearly between points. */
export interface NodePhase {
  readonly at: number;
  readonly nodes: number;
}

/** A pool CIDR appended at a virtual time (pool growth). */
export interface PoolGrowth {
  readonly at: number;
  readonly cidr: string;
}

export type Lifetime =
  | { readonly kind: "exponential"; readonly mean: number }
  | { readonly kind: "fixed"; readonly value: number }
  | { readonly kind: "uniform"; readonly min: number; readonly max: number };

export interface Scenario {
  readonly name: string;
  readonly seed: number;
  /** Virtual duration in seconds. */
  readonly duration: number;
  /** Virtual seconds per epoch: node changes happen between epochs, pods within them. */
  readonly epoch: number;
  /** Virtual seconds between two samples of the time series. */
  readonly sample: number;
  readonly nodes: {
    readonly phases: readonly NodePhase[];
    /** Fraction of nodes that fail per virtual hour (they leave abruptly and are replaced). */
    readonly failureRate: number;
    /**
     * Virtual seconds a scaled-down node drains (removeNode's graceMs): its
     * pods stop at once, its subnets go back after the grace. Failed nodes
     * leave at once. @default 0
     */
    readonly drainGrace?: number;
  };
  readonly pods: {
    /** Each node wants a number of pods drawn uniformly from [minPerNode, maxPerNode]. */
    readonly minPerNode: number;
    readonly maxPerNode: number;
    /** Kubernetes maxPods: the scheduler never puts more pods on a node. */
    readonly maxPods: number;
    readonly lifetime: Lifetime;
  };
  /** Virtual seconds a released pod IP stays quarantined before reuse (0 = immediate reuse). */
  readonly cooldown: number;
  readonly growth: readonly PoolGrowth[];
}

/**
 * The pool a simulation runs on: every ClusterPool option but the two the
 * simulator sets itself, `clock` (virtual time) and `engine` (its own).
 * `seed` defaults to the scenario's seed.
 */
export type SimPool = Omit<ClusterPoolOptions, "clock" | "engine">;

/** Cilium's defaults: 10.0.0.0/8 with a /24 per node. */
export const CILIUM_DEFAULT_POOL: SimPool = { ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 } };

/**
 * The embedded default scenario, for a first-wave peak of `peak` nodes:
 * scale up to the peak, hold with churn and failures, scale down to 40%,
 * a second wave to 136% (more than 10.0.0.0/8 with /24 holds at 50,000),
 * then pool growth by 172.16.0.0/12 serves the nodes left without a subnet.
 */
export function defaultScenario(peak = 50_000): Scenario {
  const h = 3600;
  const duration = 4 * h;
  const at = (f: number): number => Math.round(f * duration);
  return {
    name: "default: Cilium 10.0.0.0/8 /24, two waves",
    seed: 1,
    duration,
    epoch: 30,
    sample: 60,
    nodes: {
      phases: [
        { at: 0, nodes: 0 },
        { at: at(0.2), nodes: peak },
        { at: at(0.45), nodes: peak },
        { at: at(0.55), nodes: Math.round(peak * 0.4) },
        { at: at(0.75), nodes: Math.round(peak * 1.36) },
        { at: duration, nodes: Math.round(peak * 1.36) },
      ],
      failureRate: 0.01,
    },
    pods: { minPerNode: 40, maxPerNode: 110, maxPods: 110, lifetime: { kind: "exponential", mean: 60 * 60 } },
    cooldown: 60,
    growth: [{ at: at(0.85), cidr: "172.16.0.0/12" }],
  };
}

/** The first local maximum of the node curve (the first wave's peak). */
export function firstPeak(phases: readonly NodePhase[]): number {
  let peak = 0;
  for (const p of phases) {
    if (p.nodes < peak) break;
    peak = p.nodes;
  }
  return peak;
}

export interface ScenarioOverrides {
  /** First-wave peak: the node curve is scaled to it. */
  readonly nodes?: number;
  /** Max pods per node (Kubernetes maxPods). */
  readonly podsPerNode?: number;
  /** Fraction of running pods replaced per virtual hour: mean pod lifetime 1/churn hours. */
  readonly churn?: number;
  /** Virtual duration in seconds: all times are scaled to it. */
  readonly duration?: number;
  readonly seed?: number;
}

/** The scenario with CLI overrides applied. */
export function applyOverrides(s: Scenario, o: ScenarioOverrides): Scenario {
  let out: Scenario = s;
  if (o.nodes !== undefined) {
    const peak = firstPeak(out.nodes.phases) || 1;
    const k = o.nodes / peak;
    out = { ...out, nodes: { ...out.nodes, phases: out.nodes.phases.map((p) => ({ at: p.at, nodes: Math.round(p.nodes * k) })) } };
  }
  if (o.podsPerNode !== undefined) {
    const max = o.podsPerNode;
    out = { ...out, pods: { ...out.pods, maxPods: max, maxPerNode: max, minPerNode: Math.min(out.pods.minPerNode, max) } };
  }
  if (o.churn !== undefined) {
    out = { ...out, pods: { ...out.pods, lifetime: { kind: "exponential", mean: 3600 / o.churn } } };
  }
  if (o.duration !== undefined) {
    const k = o.duration / out.duration;
    out = {
      ...out,
      duration: o.duration,
      nodes: { ...out.nodes, phases: out.nodes.phases.map((p) => ({ at: p.at * k, nodes: p.nodes })) },
      growth: out.growth.map((g) => ({ at: g.at * k, cidr: g.cidr })),
      epoch: Math.min(out.epoch, o.duration),
      sample: Math.min(out.sample, o.duration),
    };
  }
  if (o.seed !== undefined) out = { ...out, seed: o.seed };
  return out;
}

/** Target node count at virtual time t (linear between phase points, held after the last). */
export function targetNodes(phases: readonly NodePhase[], t: number): number {
  const first = phases[0];
  if (first === undefined) return 0;
  if (t <= first.at) return first.nodes;
  for (let i = 1; i < phases.length; i++) {
    const b = phases[i] as NodePhase;
    if (t <= b.at) {
      const a = phases[i - 1] as NodePhase;
      const f = b.at === a.at ? 1 : (t - a.at) / (b.at - a.at);
      return Math.round(a.nodes + (b.nodes - a.nodes) * f);
    }
  }
  return (phases[phases.length - 1] as NodePhase).nodes;
}

/** Mean pod lifetime in seconds. */
export function meanLifetime(l: Lifetime): number {
  switch (l.kind) {
    case "exponential": return l.mean;
    case "fixed": return l.value;
    case "uniform": return (l.min + l.max) / 2;
  }
}

const UNITS: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/** Parses "90s", "30m", "2h", "1.5d", "250ms" or a bare number of seconds; NaN if malformed. */
export function parseDuration(v: unknown): number {
  if (typeof v === "number") return Number.isFinite(v) && v >= 0 ? v : NaN;
  if (typeof v !== "string") return NaN;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(v);
  if (!m) return NaN;
  return Number(m[1]) * (UNITS[m[2] ?? "s"] as number);
}

/** "1h30m"-style text of seconds. */
export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec)) return "never";
  if (sec < 60) return `${+sec.toFixed(1)}s`;
  if (sec < 3600) return `${+(sec / 60).toFixed(1)}m`;
  if (sec < 86400 * 2) return `${+(sec / 3600).toFixed(2)}h`;
  return `${+(sec / 86400).toFixed(1)}d`;
}
