// The multi-pool simulation: scenarios whose answers are known by construction,
// and the default two-pool scenario's invariants.
import { describe, it, expect } from "vitest";
import { simulateMultiPool, defaultMultiPoolScenario, nodesAt, formatMultiPoolSummary, multiPoolRows, type MultiPoolScenario } from "../../src/sim/multi-pool.js";

/** 2 nodes for 600 s then none; 10 pods each that outlive the run; /28 chunks (14 usable) with watermark 8. */
const known = (delayMs: number): MultiPoolScenario => ({
  name: "known", seed: 7, duration: 1200, epoch: 60, sample: 60,
  pools: { a: { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 28 }, preAllocate: 8, releaseDelayMs: delayMs } },
  groups: [{ name: "g", labels: {}, phases: [{ at: 0, nodes: 2 }, { at: 599, nodes: 2 }, { at: 600, nodes: 0 }], pods: [{ pool: "a", min: 10, max: 10, lifetime: { kind: "fixed", value: 10_000 } }] }],
});

describe("multi-pool simulation", () => {
  it("nodesAt interpolates between phases", () => {
    const phases = [{ at: 0, nodes: 0 }, { at: 100, nodes: 10 }, { at: 200, nodes: 10 }, { at: 300, nodes: 4 }];
    expect([-5, 0, 50, 100, 150, 250, 300, 999].map((t) => nodesAt(phases, t))).toEqual([0, 0, 5, 10, 10, 7, 4, 4]);
  });

  it("a scenario with a known answer: chunks taken, used and moved back", () => {
    const res = simulateMultiPool(known(120_000));
    // each node: addNode takes 1 chunk (14 free >= 8); 10 pods leave 4 free < 8: a second chunk -> 2 nodes x 2 = 4 taken
    // at t=600 both nodes go: their 4 chunks go back with them
    expect(res.totals).toEqual({ nodesAdded: 2, nodesRemoved: 2, allocations: 20, failures: { a: 0 }, chunksTaken: 4, chunksReleased: 4 });
    expect(res.peak).toEqual({ "a/IPv4": { chunks: 4, addresses: 20 } });
    const at = (t: number) => res.samples.find((x) => x.t === t)?.pools[0];
    expect(at(0)?.chunks.used).toBe(4);
    expect(at(0)?.addresses).toEqual({ used: 20, free: 36, capacity: 16 * 14 }); // 4 x 14 - 20 free; /24 = 16 chunks
    expect(at(600)?.chunks.used).toBe(0);
    expect(formatMultiPoolSummary(res)).toContain("CIDRs moved: 4 chunks taken by nodes, 4 given back to their pools");
    // the one pool moved them all: per pool 4 taken, 4 given back, in the last sample, the result and the table
    expect(res.final.map((p) => [p.pool, p.chunksTaken, p.chunksReleased])).toEqual([["a", 4, 4]]);
    expect(at(0)?.chunksTaken).toBe(4);
    expect(at(0)?.chunksReleased).toBe(0);
    expect(multiPoolRows(res)[1]?.slice(7, 9)).toEqual(["4", "4"]);
    expect(multiPoolRows(res)[0]?.slice(7, 9)).toEqual(["chunks taken", "given back"]);
  });

  it("the release delay keeps a chunk through pod churn; without it the chunk moves every epoch", () => {
    // one node, 3 pods of 60 s replaced each epoch (t = 0, 60, ..., 600: 11 rounds), watermark 0
    const s = (delayMs: number): MultiPoolScenario => ({
      name: "delay", seed: 1, duration: 600, epoch: 60, sample: 60,
      pools: { b: { ipv4: { cidrs: ["10.1.0.0/24"], maskSize: 28 }, preAllocate: 0, releaseDelayMs: delayMs } },
      groups: [{ name: "g", labels: {}, phases: [{ at: 0, nodes: 1 }], pods: [{ pool: "b", min: 3, max: 3, lifetime: { kind: "fixed", value: 60 } }] }],
    });
    // delay 180 s: the chunk empties for an instant each round and is reused at once: 1 taken, none back
    expect(simulateMultiPool(s(180_000)).totals).toMatchObject({ allocations: 33, chunksTaken: 1, chunksReleased: 0 });
    // delay 0: the emptied chunk goes back at once and the next pod takes the next one (next-fit): 11 taken, 10 back
    expect(simulateMultiPool(s(0)).totals).toMatchObject({ allocations: 33, chunksTaken: 11, chunksReleased: 10 });
  });

  it("the default scenario: two pools, one per group, with watermarks, deterministic", () => {
    const s = defaultMultiPoolScenario(20);
    const a = simulateMultiPool(s);
    const b = simulateMultiPool(s);
    expect(b).toEqual(a);
    const gpu = a.final.find((p) => p.pool === "gpu");
    expect(gpu?.chunks.used).toBe(0); // every GPU node is gone at 1.75 h; its chunks went back with it
    expect(a.totals.failures).toEqual({ default: 0, gpu: 0 });
    expect(a.totals.chunksTaken).toBeGreaterThan(a.totals.nodesAdded); // pods filled chunks past the watermark
    expect(a.totals.chunksReleased).toBeGreaterThan(0);
    // what stays: the chunks the 40% general nodes hold, and no more than they took
    const def = a.final.find((p) => p.pool === "default");
    expect(def?.chunks.used).toBe(a.totals.chunksTaken - a.totals.chunksReleased);
    // per pool: the totals split between default and gpu, and each pool holds what it took and did not give back
    expect((def?.chunksTaken ?? 0) + (gpu?.chunksTaken ?? 0)).toBe(a.totals.chunksTaken);
    expect((def?.chunksReleased ?? 0) + (gpu?.chunksReleased ?? 0)).toBe(a.totals.chunksReleased);
    expect(gpu?.chunksTaken).toBe(gpu?.chunksReleased);
    expect(gpu?.chunksTaken).toBeGreaterThan(0);
    expect(def?.nodes).toBe(Math.round(15 * 0.4)); // 20 nodes: 15 general, 40% at the end
  });
});

describe("ipcarve simulate-pools", () => {
  it("prints per-pool use and the CIDRs moved; --json gives the same result", async () => {
    const { run } = await import("../cli/helpers.js");
    const text = await run(["simulate-pools", "--nodes", "8", "--duration", "1h", "--seed", "3"]);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^Capacity answer\n  (No pool ran out|Pool )/);
    expect(text.out).toMatch(/\nmulti-pool: 6 general nodes on 'default', 2 GPU nodes on 'gpu'\n/);
    expect(text.out).toMatch(/\ndefault +IPv4 +10\.10\.0\.0\/18 +\/26 /);
    expect(text.out).toMatch(/\ngpu +IPv4 +10\.20\.0\.0\/22 +\/28 /);
    const json = await run(["simulate-pools", "--nodes", "8", "--duration", "1h", "--seed", "3", "--json"]);
    const res = JSON.parse(json.out) as { totals: { chunksTaken: number; chunksReleased: number } };
    expect(text.out).toContain(`CIDRs moved: ${res.totals.chunksTaken} chunks taken by nodes, ${res.totals.chunksReleased} given back to their pools`);
    expect((await run(["simulate-pools", "--nodes", "0"])).code).toBe(2);
  });
});
