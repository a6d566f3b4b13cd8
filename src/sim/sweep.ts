/**
 * Sweeps: many simulations (seeds or scenarios) in parallel on a piscina
 * pool, one simulation per task, each single-threaded.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";
import type { SweepTask, SweepResult } from "./sweep-worker.js";

function sweepWorkerUrl(): URL {
  const here = new URL("./sweep-worker.js", import.meta.url);
  if (import.meta.url.endsWith(".js") && existsSync(fileURLToPath(here))) return here;
  const built = new URL("../../dist/src/sim/sweep-worker.js", import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new Error("ipcarve: dist/src/sim/sweep-worker.js not found; run `npm run build` to run sweeps");
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
