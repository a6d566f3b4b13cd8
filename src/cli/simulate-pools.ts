// `ipcarve simulate-pools`: the multi-pool scenario (two pools, one per node
// group, with watermarks and a release delay) over virtual time; prints
// per-pool use and how many CIDRs moved, or the whole result as JSON.
import type { Io } from "./io.js";
import { EXIT_OK } from "./io.js";
import { defaultMultiPoolScenario, simulateMultiPool, type MultiPoolScenario } from "../sim/multi-pool.js";
import { applyMultiOverrides } from "../sim/multi-scenario.js";
import { poolsSummary } from "./simulate.js";

export interface SimulatePoolsFlags {
  readonly nodes?: number;
  readonly seed?: number;
  /** Virtual seconds: the scenario's times scale to it. */
  readonly duration?: number;
  readonly json?: boolean;
}

/** The default multi-pool scenario with the flags applied. */
export function poolsScenario(f: SimulatePoolsFlags): MultiPoolScenario {
  return applyMultiOverrides(defaultMultiPoolScenario(f.nodes ?? 40), { ...(f.duration !== undefined ? { duration: f.duration } : {}), ...(f.seed !== undefined ? { seed: f.seed } : {}) });
}

export function simulatePoolsCommand(io: Io, f: SimulatePoolsFlags): number {
  const res = simulateMultiPool(poolsScenario(f));
  io.out(f.json ? `${JSON.stringify(res, null, 2)}\n` : poolsSummary(res));
  return EXIT_OK;
}
