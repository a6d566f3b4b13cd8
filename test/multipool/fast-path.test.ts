// The numeric fast path with named pools: allocateIPv4 / allocateIPv4Batch
// with node handles and pool handles (poolHandle), chunks on demand and the
// watermark exactly as allocate() takes them. Table-driven; each expected
// value derived in its comment.
//
// Geometry: default 10.0.0.0/26 in /28 chunks (4 chunks, 14 usable each:
// 10.0.0.1-14, .17-30, .33-46, .49-62), preAllocate 8; blue 10.1.0.0/27 in
// /29 chunks (4 chunks, 6 usable each: 10.1.0.1-6, .9-14, ...), preAllocate 0.
import { describe, it, expect } from "vitest";
import { ClusterPool } from "../../src/index.js";
import { formatIPv4 } from "../../src/net/ip.js";
import { err } from "../helpers.js";

const options = (clock: () => number, extra: Record<string, unknown> = {}) => ({
  pools: {
    default: { ipv4: { cidrs: ["10.0.0.0/26"], maskSize: 28 }, preAllocate: 8, releaseDelayMs: 100 },
    blue: { ipv4: { cidrs: ["10.1.0.0/27"], maskSize: 29 }, preAllocate: 0, releaseDelayMs: 0 },
    v6only: { ipv6: { cidrs: ["fd00::/120"], maskSize: 124 } },
    red: { ipv4: { cidrs: ["10.2.0.0/28"], maskSize: 30 }, nodeSelector: { matchLabels: { tier: "red" } } },
    ...extra,
  },
  clock,
});

describe("allocateIPv4 with named pools", () => {
  const rows: { name: string; pool?: string; calls: number; last: string; cidrs: string[] }[] = [
    // addNode took 10.0.0.0/28 (14 free >= 8); 6 calls take .1-.6, 8 free: no second chunk yet
    { name: "default, 6 calls: one chunk", calls: 6, last: "10.0.0.6", cidrs: ["10.0.0.0/28"] },
    // the 7th call leaves 7 free < 8: the watermark takes 10.0.0.16/28 right after it, as allocate() does
    { name: "default, 7 calls: the watermark takes a second chunk", calls: 7, last: "10.0.0.7", cidrs: ["10.0.0.0/28", "10.0.0.16/28"] },
    // 14 fill the first chunk; the 15th comes from the second chunk, whose first usable is .17
    { name: "default, 15 calls: the second chunk", calls: 15, last: "10.0.0.17", cidrs: ["10.0.0.0/28", "10.0.0.16/28"] },
    // blue has preAllocate 0: the first call takes 10.1.0.0/29 on demand and gets .1
    { name: "blue by handle, 1 call: a chunk on demand", pool: "blue", calls: 1, last: "10.1.0.1", cidrs: ["10.1.0.0/29", "10.0.0.0/28"] }, // podCIDRs: pools in name order (blue, default)
    // 6 fill 10.1.0.0/29 (.1-.6); the 7th takes 10.1.0.8/29 on demand and gets .9
    { name: "blue by handle, 7 calls: a second chunk on demand", pool: "blue", calls: 7, last: "10.1.0.9", cidrs: ["10.1.0.0/29", "10.1.0.8/29", "10.0.0.0/28"] },
    // 4 chunks x 6 = 24 addresses; the 25th finds no free chunk: -1 (no throw, as a full single pool)
    { name: "blue, 25 calls: the pool has no free chunk", pool: "blue", calls: 25, last: "-1", cidrs: ["10.1.0.0/29", "10.1.0.8/29", "10.1.0.16/29", "10.1.0.24/29", "10.0.0.0/28"] },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const pool = new ClusterPool(options(() => 0));
      pool.addNode("n1");
      const h = pool.handle("n1");
      const p = row.pool === undefined ? undefined : pool.poolHandle(row.pool);
      let last = 0;
      for (let i = 0; i < row.calls; i++) last = pool.allocateIPv4(h, p);
      expect(last === -1 ? "-1" : formatIPv4(last)).toBe(row.last);
      expect(pool.node("n1")?.podCIDRs).toEqual(row.cidrs);
      expect(pool.verify()).toEqual([]);
    });
  }

  it("takes the same chunks and addresses as allocate() (snapshots equal, owners aside)", () => {
    // two pools, the same calls: one by string (with owners), one by handle: address by address and chunk by chunk the same
    const a = new ClusterPool(options(() => 0));
    const b = new ClusterPool(options(() => 0));
    for (const p of [a, b]) p.addNode("n1");
    for (let i = 0; i < 30; i++) {
      const pool = i % 3 === 0 ? "blue" : "default";
      const s = a.allocate("n1", `o${i}`, { pool }).ipv4 as string;
      const u = b.allocateIPv4(b.handle("n1"), b.poolHandle(pool));
      expect(formatIPv4(u)).toBe(s);
      expect(b.node("n1")?.podCIDRs).toEqual(a.node("n1")?.podCIDRs);
    }
  });

  it("a batch takes what that many single calls take (snapshots equal)", () => {
    // counts across chunk borders and past the end of blue (24): 5, then 13 (crosses 2 chunks), then 10 (6 left: 6)
    const one = new ClusterPool(options(() => 0));
    const many = new ClusterPool(options(() => 0));
    for (const p of [one, many]) p.addNode("n1");
    const out = new Uint32Array(16);
    for (const [count, got] of [[5, 5], [13, 13], [10, 6]] as const) {
      expect(many.allocateIPv4Batch(many.handle("n1"), out, count, many.poolHandle("blue"))).toBe(got);
      for (let i = 0; i < got; i++) expect(one.allocateIPv4(one.handle("n1"), one.poolHandle("blue"))).toBe(out[i]);
      expect(many.snapshot()).toEqual(one.snapshot());
    }
    // the default pool, 16 at once: past the watermark (a second chunk after the 7th) and into that chunk (the 15th, 16th)
    expect(many.allocateIPv4Batch(many.handle("n1"), out, 16)).toBe(16);
    for (let i = 0; i < 16; i++) expect(one.allocateIPv4(one.handle("n1"))).toBe(out[i]);
    expect(many.snapshot()).toEqual(one.snapshot());
    expect(many.verify()).toEqual([]);
  });

  it("a released chunk goes back after the pool's delay, as with release(string)", () => {
    // blue: delay 0, preAllocate 0: releasing the only address frees the chunk at once
    const pool = new ClusterPool(options(() => 0));
    pool.addNode("n1");
    const ip = pool.allocateIPv4(pool.handle("n1"), pool.poolHandle("blue"));
    expect(pool.node("n1")?.podCIDRs).toEqual(["10.1.0.0/29", "10.0.0.0/28"]);
    expect(pool.releaseIPv4(ip)).toBe(true);
    expect(pool.node("n1")?.podCIDRs).toEqual(["10.0.0.0/28"]);
  });

  it("bad arguments: typed errors, nothing changes", () => {
    const pool = new ClusterPool(options(() => 0, { nodef: { ipv4: { cidrs: ["10.3.0.0/28"], maskSize: 30 } } }));
    pool.addNode("n1");
    pool.addNode("gone");
    pool.removeNode("gone", { graceMs: 1000 }); // draining: no new allocations
    const h = pool.handle("n1");
    const rows: [string, () => unknown, string][] = [
      ["handle 1.5", () => pool.allocateIPv4(1.5), "INVALID_ARGUMENT"],
      ["handle 99 (no node)", () => pool.allocateIPv4(99), "UNKNOWN_NODE"],
      ["a draining node", () => pool.allocateIPv4(pool.handle("gone")), "UNKNOWN_NODE"],
      ["pool handle 99", () => pool.allocateIPv4(h, 99), "UNKNOWN_POOL"],
      ["pool handle -1", () => pool.allocateIPv4(h, -1), "UNKNOWN_POOL"],
      ["pool handle '1'", () => pool.allocateIPv4(h, "1" as never), "INVALID_ARGUMENT"],
      ["red's selector leaves n1 out", () => pool.allocateIPv4(h, pool.poolHandle("red")), "UNKNOWN_POOL"],
      ["a pool without IPv4", () => pool.allocateIPv4(h, pool.poolHandle("v6only")), "FAMILY_MISMATCH"],
      ["poolHandle of no pool", () => pool.poolHandle("nope"), "UNKNOWN_POOL"],
      ["batch into a plain array", () => pool.allocateIPv4Batch(h, [] as never), "INVALID_ARGUMENT"],
      ["batch count past the array", () => pool.allocateIPv4Batch(h, new Uint32Array(2), 3), "NOT_IN_RANGE"],
    ];
    const before = pool.snapshot();
    for (const [what, fn, code] of rows) expect(err(fn).code, what).toBe(code);
    expect(pool.snapshot()).toEqual(before);
  });

  it("without a pool named default, the pool must be named", () => {
    const pool = new ClusterPool({ pools: { blue: { ipv4: { cidrs: ["10.1.0.0/27"], maskSize: 29 } } } });
    pool.addNode("n1");
    expect(err(() => pool.allocateIPv4(pool.handle("n1"))).code).toBe("UNKNOWN_POOL");
    expect(formatIPv4(pool.allocateIPv4(pool.handle("n1"), pool.poolHandle("blue")))).toBe("10.1.0.1");
  });

  it("a single-pool ClusterPool has pool handle 0, 'default'", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 28 } });
    pool.addNode("n1");
    expect(pool.poolHandle("default")).toBe(0);
    expect(formatIPv4(pool.allocateIPv4(pool.handle("n1"), 0))).toBe("10.0.0.1");
    expect(pool.allocateIPv4Batch(pool.handle("n1"), new Uint32Array(2), 2, 0)).toBe(2);
    expect(err(() => pool.poolHandle("blue")).code).toBe("UNKNOWN_POOL");
    expect(err(() => pool.allocateIPv4(pool.handle("n1"), 1)).code).toBe("UNKNOWN_POOL");
  });

  it("pool and node handles survive a snapshot; a removed pool's handle is not reused", () => {
    const pool = new ClusterPool(options(() => 0));
    for (const n of ["n1", "n2", "n3"]) pool.addNode(n);
    pool.removeNode("n2"); // its handle (2) is free
    const red2 = { ipv4: { cidrs: ["10.5.0.0/28"], maskSize: 30 } };
    pool.addPool("green", red2);
    const green = pool.poolHandle("green");
    expect(green).toBe(4); // default 0, blue 1, v6only 2, red 3 (options order), then green
    pool.removePool("blue");
    const copy = ClusterPool.restore(pool.snapshot());
    for (const p of [pool, copy]) {
      expect(p.poolHandle("green")).toBe(green);
      expect(p.handle("n3")).toBe(pool.handle("n3"));
      expect(err(() => p.allocateIPv4(p.handle("n1"), 1)).code).toBe("UNKNOWN_POOL"); // blue's handle: gone
      p.addNode("n4");
      expect(p.handle("n4")).toBe(2); // n2's handle, the free one
    }
    expect(copy.snapshot()).toEqual(pool.snapshot());
  });
});
