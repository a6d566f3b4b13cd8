// `ipcarve simulate-pools`: the multi-pool scenario (two pools, one per node
// group, with watermarks and a release delay) over virtual time; prints
// per-pool use and how many CIDRs moved, or the whole result as JSON.
import type { Io } from "./io.js";
import { EXIT_OK } from "./io.js";
import { defaultMultiPoolScenario, simulateMultiPool, formatMultiPoolSummary, type MultiPoolScenario } from "../sim/multi-pool.js";

export interface SimulatePoolsFlags {
  readonly nodes?: number;
  readonly seed?: number;
  /** Virtual seconds: the scenario's times scale to it. */
  readonly duration?: number;
  readonly json?: boolean;
}

/** The default multi-pool scenario with the flags applied. */
export function poolsScenario(f: SimulatePoolsFlags): MultiPoolScenario {
  const base = defaultMultiPoolScenario(f.nodes ?? 40);
  const k = f.duration === undefined ? 1 : f.duration / base.duration;
  return {
    ...base,
    seed: f.seed ?? base.seed,
    duration: Math.round(base.duration * k),
    groups: base.groups.map((g) => ({ ...g, phases: g.phases.map((p) => ({ ...p, at: Math.round(p.at * k) })) })),
  };
}

export function simulatePoolsCommand(io: Io, f: SimulatePoolsFlags): number {
  const res = simulateMultiPool(poolsScenario(f));
  io.out(f.json ? `${JSON.stringify(res, null, 2)}\n` : `${formatMultiPoolSummary(res)}\n`);
  return EXIT_OK;
}
