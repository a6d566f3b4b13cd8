// CIDRs (chunks) moved per pool family on a virtual clock: stats().ipPools[]
// chunksTaken/chunksReleased next to the totals, what a failed call leaves,
// a removed pool, and the counts through snapshots (new and older ones).
//
// Pools used throughout:
// - a: IPv4 10.0.0.0/26 of /28 chunks (4 chunks, 14 usable addresses each: network
//   and broadcast excluded), preAllocate 8, releaseDelayMs 100; every node.
// - b: dual stack, IPv4 10.1.0.0/27 of /28 (2 chunks) and IPv6 fd00::/120 of /124
//   (16 chunks of 2^4 - 2 = 14), preAllocate 0, releaseDelayMs 0; nodes tier=b only.
import { describe, it, expect } from "vitest";
import { ClusterPool, type IpPoolStats } from "../../src/index.js";
import { decodeSnapshot, encodeSnapshot } from "../../src/state/snapshot.js";

const POOLS = {
  a: { ipv4: { cidrs: ["10.0.0.0/26"], maskSize: 28 }, preAllocate: 8, releaseDelayMs: 100 },
  b: { ipv4: { cidrs: ["10.1.0.0/27"], maskSize: 28 }, ipv6: { cidrs: ["fd00::/120"], maskSize: 124 }, preAllocate: 0, releaseDelayMs: 0, nodeSelector: { matchLabels: { tier: "b" } } },
};

/** [taken, given back] per "pool/family" in stats().ipPools order, and the totals. */
type Moved = Record<string, [number, number]>;
interface Step { at: number; what: string; run: (p: ClusterPool) => unknown; moved: Moved; totals: [number, number] }

const moved = (s: readonly IpPoolStats[]): Moved => Object.fromEntries(s.map((p) => [`${p.pool}/${p.family}`, [p.chunksTaken, p.chunksReleased]]));

const steps: Step[] = [
  // a: 14 free >= 8 with one chunk; b selects tier=b only
  { at: 0, what: "addNode n1", run: (p) => p.addNode("n1"), moved: { "a/4": [1, 0], "b/4": [0, 0], "b/6": [0, 0] }, totals: [1, 0] },
  // n2 (tier=b) takes a's watermark chunk; b has no pre-allocation: nothing yet
  { at: 0, what: "addNode n2 (tier=b)", run: (p) => p.addNode("n2", { labels: { tier: "b" } }), moved: { "a/4": [2, 0], "b/4": [0, 0], "b/6": [0, 0] }, totals: [2, 0] },
  // 6 pods leave 8 free (>= 8); the 7th leaves 7 < 8: a second chunk
  { at: 10, what: "7 pods of a on n1", run: (p) => { for (let i = 0; i < 7; i++) p.allocate("n1", "ns/web", { pool: "a" }); }, moved: { "a/4": [3, 0], "b/4": [0, 0], "b/6": [0, 0] }, totals: [3, 0] },
  // one dual-stack pod: a chunk of each family of b
  { at: 20, what: "a pod of b on n2", run: (p) => p.allocate("n2", "ns/db", { pool: "b" }), moved: { "a/4": [3, 0], "b/4": [1, 0], "b/6": [1, 0] }, totals: [5, 0] },
  // both chunks of b empty beyond watermark 0, delay 0: back at once
  { at: 30, what: "releaseOwner ns/db", run: (p) => p.releaseOwner("ns/db"), moved: { "a/4": [3, 0], "b/4": [1, 1], "b/6": [1, 1] }, totals: [5, 2] },
  // n1: 28 free; its later chunk is free beyond 8 (28 - 14 = 14 >= 8) from t = 30; the first is not (14 - 14 = 0 < 8)
  { at: 30, what: "releaseOwner ns/web", run: (p) => p.releaseOwner("ns/web"), moved: { "a/4": [3, 0], "b/4": [1, 1], "b/6": [1, 1] }, totals: [5, 2] },
  { at: 129, what: "tick (99 ms of 100)", run: (p) => p.tick(), moved: { "a/4": [3, 0], "b/4": [1, 1], "b/6": [1, 1] }, totals: [5, 2] },
  { at: 130, what: "tick (100 ms)", run: (p) => p.tick(), moved: { "a/4": [3, 1], "b/4": [1, 1], "b/6": [1, 1] }, totals: [5, 3] },
  // n3 claims 10.0.0.48/28 (free), then 10.0.0.0/28 (n1's): the node fails, its first claim is given back uncounted
  {
    at: 140, what: "a failed import",
    run: (p) => {
      const r = p.importCiliumNodes({ kind: "CiliumNode", metadata: { name: "n3" }, spec: { ipam: { pools: { allocated: [{ pool: "a", cidrs: ["10.0.0.48/28", "10.0.0.0/28"] }] } } } });
      expect(r[0]?.outcome).toBe("failed");
    },
    moved: { "a/4": [3, 1], "b/4": [1, 1], "b/6": [1, 1] }, totals: [5, 3],
  },
  // n2's chunk of a goes with it
  { at: 150, what: "removeNode n2", run: (p) => p.removeNode("n2"), moved: { "a/4": [3, 2], "b/4": [1, 1], "b/6": [1, 1] }, totals: [5, 4] },
  // b's counts leave stats().ipPools with it; the totals keep them
  { at: 160, what: "removePool b", run: (p) => p.removePool("b"), moved: { "a/4": [3, 2] }, totals: [5, 4] },
  // a pool added again under the name starts from 0
  { at: 170, what: "addPool b again", run: (p) => p.addPool("b", POOLS.b), moved: { "a/4": [3, 2], "b/4": [0, 0], "b/6": [0, 0] }, totals: [5, 4] },
];

function play(upTo = steps.length): { pool: ClusterPool; clock: { now: number } } {
  const clock = { now: 0 };
  const pool = new ClusterPool({ pools: POOLS, clock: () => clock.now });
  for (const s of steps.slice(0, upTo)) {
    clock.now = s.at;
    s.run(pool);
  }
  return { pool, clock };
}

describe("chunks moved per pool family", () => {
  it.each(steps.map((s, i) => [i, s.what, s] as const))("step %i: %s", (i, _what, s) => {
    const { pool } = play(i + 1);
    const st = pool.stats();
    expect(moved(st.ipPools ?? [])).toEqual(s.moved);
    expect([st.chunksTaken, st.chunksReleased]).toEqual(s.totals);
    // taken - given back = held, per family
    for (const p of st.ipPools ?? []) expect(p.chunksTaken - p.chunksReleased, `${p.pool}/${p.family}`).toBe(p.chunks.used);
    pool.dispose();
  });

  it("a snapshot keeps the counts (round trip)", () => {
    const { pool, clock } = play();
    const bytes = pool.snapshot();
    const copy = ClusterPool.restore(bytes, { clock: () => clock.now });
    expect(copy.stats().ipPools).toEqual(pool.stats().ipPools);
    expect([copy.stats().chunksTaken, copy.stats().chunksReleased]).toEqual([5, 4]);
    expect(copy.snapshot()).toEqual(bytes);
    pool.dispose();
    copy.dispose();
  });

  it("an older snapshot (no per-pool counts) restores the chunks held as taken, none given back; the totals as saved", () => {
    const { pool, clock } = play(4); // a: 3 taken (n1 holds 2, n2 1), b: 1 + 1 held
    const { meta, data } = decodeSnapshot(pool.snapshot());
    const old = { ...(meta as Record<string, unknown>) };
    delete old.moved;
    const copy = ClusterPool.restore(encodeSnapshot(old, data), { clock: () => clock.now });
    expect(moved(copy.stats().ipPools ?? [])).toEqual({ "a/4": [3, 0], "b/4": [1, 0], "b/6": [1, 0] });
    expect([copy.stats().chunksTaken, copy.stats().chunksReleased]).toEqual([5, 0]);
    // after step 8 (n1's second chunk went back): a holds 2 chunks, so 2 taken, 0 back, not the 3 and 1 it moved
    const later = play(8);
    const m8 = { ...(decodeSnapshot(later.pool.snapshot()).meta as Record<string, unknown>) };
    delete m8.moved;
    const copy8 = ClusterPool.restore(encodeSnapshot(m8, decodeSnapshot(later.pool.snapshot()).data), { clock: () => later.clock.now });
    expect(moved(copy8.stats().ipPools ?? [])).toEqual({ "a/4": [2, 0], "b/4": [0, 0], "b/6": [0, 0] });
    expect([copy8.stats().chunksTaken, copy8.stats().chunksReleased]).toEqual([5, 3]);
    for (const p of [pool, copy, later.pool, copy8]) p.dispose();
  });

  it("a snapshot naming counts of an unknown pool is CORRUPT_STATE", () => {
    const { pool } = play(1);
    const { meta, data } = decodeSnapshot(pool.snapshot());
    const bad = { ...(meta as Record<string, unknown>), moved: [["nope", 4, 1, 0]] };
    expect(() => ClusterPool.restore(encodeSnapshot(bad, data))).toThrow(/chunks moved of unknown pool "nope" IPv4/);
    pool.dispose();
  });
});
