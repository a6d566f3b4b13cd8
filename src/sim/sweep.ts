/**
 * Sweeps: many simulations (seeds or scenarios) in parallel on a piscina
 * pool, one simulation per task, each single-threaded.
 */
import { Piscina } from "piscina";
import { compiledWorker } from "./worker-url.js";
import type { SweepTask, SweepResult } from "./sweep-worker.js";

function sweepWorkerUrl(): URL {
  return compiledWorker("sweep-worker.js", "run sweeps");
}

/** Runs every task; results in task order. `onDone` is called as each finishes. */
export async function sweep(tasks: readonly SweepTask[], threads: number, onDone?: (done: number, total: number) => void): Promise<SweepResult[]> {
  const pool = new Piscina<SweepTask, SweepResult>({
    filename: sweepWorkerUrl().href,
    minThreads: Math.min(threads, tasks.length),
    maxThreads: Math.max(1, Math.min(threads, tasks.length)),
    idleTimeout: 1000,
  });
  let done = 0;
  try {
    return await Promise.all(tasks.map(async (t) => {
      const r = await pool.run(t);
      onDone?.(++done, tasks.length);
      return r;
    }));
  } finally {
    await pool.destroy();
  }
}

export type { SweepTask, SweepResult };
