// Several worker threads, each with its own WASM instance, allocate from
// one ATOMIC bitmap in a shared memory at the same time. No offset may be
// handed out twice, none may be lost, and the counter must match the bits.
import { describe, it, expect } from "vitest";
import { Worker } from "node:worker_threads";
import { Engine } from "../src/core/engine.js";

const N = 1 << 20; // 1,048,576 offsets, filled twice

function run(workers: number): Promise<{ held: Uint8Array; count: number; first: number }[]> {
  const engine = Engine.create();
  const w = engine.wasm;
  const h = engine.alloc(w.bmBytes(N));
  w.bmInit(h, N, 1, 1n, 0);
  const go = new SharedArrayBuffer(4 * (2 + workers)); // [0] go, [1] workers ready, [2 + k] worker k's progress in the first fill
  const url = new URL("./fixtures/bitmap-worker.mjs", import.meta.url);
  const done = Array.from({ length: workers }, (_, k) =>
    new Promise<{ held: Uint8Array; count: number; first: number }>((resolve, reject) => {
      const t = new Worker(url, { workerData: { memory: engine.memory, h, n: N, go, seed: 17 + k, k, workers } });
      t.once("message", resolve);
      t.once("error", reject);
    }),
  );
  // start only once every worker has loaded and waits: a slow start on a busy machine must not
  // let the others fill the bitmap alone
  const flag = new Int32Array(go);
  const release = (): void => {
    if (Atomics.load(flag, 1) < workers) return void setTimeout(release, 10);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  };
  release();
  return Promise.all(done).then((results) => {
    // the bitmap itself must agree with what the workers hold
    expect(w.bmUsed(h)).toBe(N);
    expect(w.bmRecount(h)).toBe(N);
    expect(w.bmAllocateNext(h, 0)).toBe(-1);
    return results;
  });
}

describe("concurrent allocation over one shared memory", () => {
  it.each([2, 3])("%i workers fill 2^20 offsets twice: none twice, none lost", async (workers) => {
    const results = await run(workers);
    const owners = new Uint8Array(N);
    for (const r of results) {
      for (let i = 0; i < N; i++) if (r.held[i]) owners[i]! += 1;
    }
    let twice = 0;
    let lost = 0;
    for (let i = 0; i < N; i++) {
      if (owners[i]! > 1) twice++;
      if (owners[i] === 0) lost++;
    }
    expect(twice).toBe(0);
    expect(lost).toBe(0);
    expect(results.reduce((s, r) => s + r.count, 0)).toBe(N);
    // the workers really raced: each got a real share in the first fill (the workers pace
    // themselves, so a thread descheduled on a busy machine does not find the bitmap filled)
    for (const r of results) expect(r.first).toBeGreaterThan(N / (workers * 20));
  });
});
