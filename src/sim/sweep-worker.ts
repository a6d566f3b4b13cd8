/**
 * Piscina task of a sweep: one whole simulation on this worker thread.
 * Returns the result without its time series (the sweep table needs the totals).
 */
import { simulate, type SimResult } from "./simulate.js";
import type { Scenario, SimPool } from "./scenario.js";

export interface SweepTask {
  readonly pool: SimPool;
  readonly scenario: Scenario;
}

export type SweepResult = Omit<SimResult, "series">;

export default async function run(task: SweepTask): Promise<SweepResult> {
  const { series: _series, ...rest } = await simulate({ pool: task.pool, scenario: task.scenario, threads: 1 });
  return rest;
}
