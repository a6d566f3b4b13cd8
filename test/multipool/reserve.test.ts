// reserve(cidr) / unreserve(cidr) with named pools: a reserved range is never
// handed out as a chunk (prefix up to the pool's chunk mask) or as an address
// (longer prefix). Table-driven; each expected value derived in its comment.
//
// Geometry: default 10.0.0.0/26 in /28 chunks (10.0.0.0/28, .16/28, .32/28,
// .48/28; 14 usable each), preAllocate 8: each node takes one chunk at addNode.
import { describe, it, expect } from "vitest";
import { ClusterPool } from "../../src/index.js";
import { err } from "../helpers.js";

function make() {
  return new ClusterPool({
    pools: {
      default: { ipv4: { cidrs: ["10.0.0.0/26"], maskSize: 28 }, preAllocate: 8, releaseDelayMs: 0 },
      blue: { ipv4: { cidrs: ["10.1.0.0/28"], maskSize: 29 }, preAllocate: 0 },
    },
    clock: () => 0,
  });
}

describe("reserve with named pools", () => {
  const chunkRows: { name: string; reserve: string[]; nodes: string[] }[] = [
    // .16/28 reserved: n1 takes .0/28, n2 skips .16/28 and takes .32/28
    { name: "a chunk", reserve: ["10.0.0.16/28"], nodes: ["10.0.0.0/28", "10.0.0.32/28"] },
    // .0/27 covers .0/28 and .16/28: the nodes take .32/28 and .48/28
    { name: "two chunks at once", reserve: ["10.0.0.0/27"], nodes: ["10.0.0.32/28", "10.0.0.48/28"] },
    // the whole pool: nothing left, the nodes take nothing (short, never an error)
    { name: "the whole pool CIDR", reserve: ["10.0.0.0/26"], nodes: [] },
  ];
  for (const row of chunkRows) {
    it(`chunk slots: ${row.name}`, () => {
      const pool = make();
      for (const r of row.reserve) pool.reserve(r);
      pool.addNode("n1");
      pool.addNode("n2");
      expect([...(pool.node("n1")?.podCIDRs ?? []), ...(pool.node("n2")?.podCIDRs ?? [])]).toEqual(row.nodes);
      expect(pool.verify()).toEqual([]);
      // unreserving gives the slots back: a short node tops up from them
      for (const r of row.reserve) pool.unreserve(r);
      expect(pool.stats().pools[0]?.subnets.reserved).toBe(0);
      expect(pool.node("n2")?.podCIDRs.length).toBe(1);
    });
  }

  it("addresses inside a chunk: taken now or when a node takes the chunk, never handed out", () => {
    const pool = make();
    pool.addNode("n1"); // 10.0.0.0/28
    pool.reserve("10.0.0.0/30"); // .0-.3: usable .1-.3 reserved in n1's chunk
    pool.reserve("10.0.0.16/31"); // .16-.17 of the free .16/28: only .17 is usable
    expect(pool.allocate("n1", "ns/a")).toEqual({ ipv4: "10.0.0.4" });
    expect(pool.node("n1")?.ranges[0]).toMatchObject({ reserved: 3, used: 1, free: 10 }); // 14 - 3 - 1
    expect(pool.release("10.0.0.2")).toBe(false); // reserved, not a pod's
    expect(err(() => pool.allocate("n1", "ns/b", "10.0.0.2")).code).toBe("ALREADY_ALLOCATED");
    pool.addNode("n2"); // takes .16/28, whose .17 is reserved: its first pod gets .18
    expect(pool.allocate("n2", "ns/c")).toEqual({ ipv4: "10.0.0.18" });
    pool.unreserve("10.0.0.0/30");
    expect(pool.allocate("n1", "ns/d", "10.0.0.2")).toEqual({ ipv4: "10.0.0.2" });
    expect(pool.verify()).toEqual([]);
  });

  const bad: [string, string, string, string][] = [
    // n1 holds 10.0.0.0/28
    ["a chunk a node holds", "10.0.0.0/28", "IN_USE", 'ipcarve: chunk 10.0.0.0/28 of pool "default" is in use by node "n1"'],
    // ns/a holds 10.0.0.1
    ["an address a pod holds", "10.0.0.0/30", "ALREADY_ALLOCATED", 'ipcarve: "10.0.0.1" is already allocated'],
    ["outside every pool CIDR", "10.9.0.0/24", "NOT_IN_RANGE", 'ipcarve: "10.9.0.0/24" is not in the range of the IPv4 pool CIDRs'],
    ["not a CIDR", "10.0.0.0/33", "INVALID_CIDR", ""],
  ];
  for (const [name, cidr, code, message] of bad) {
    it(`refused: ${name}`, () => {
      const pool = make();
      pool.addNode("n1");
      pool.allocate("n1", "ns/a");
      const before = pool.snapshot();
      const e = err(() => pool.reserve(cidr));
      expect(e.code).toBe(code);
      if (message) expect(e.message).toBe(message);
      expect(pool.snapshot()).toEqual(before);
    });
  }

  it("the watermark counts a new chunk's reserved addresses as taken", () => {
    const pool = new ClusterPool({ pools: { default: { ipv4: { cidrs: ["10.0.0.0/26"], maskSize: 28 }, preAllocate: 20 } }, clock: () => 0 });
    pool.reserve("10.0.0.16/29"); // .16-.23: usable .17-.23 of 10.0.0.16/28
    pool.reserve("10.0.0.24/30"); // .24-.27
    // 10.0.0.0/28 gives 14 < 20; 10.0.0.16/28 only 3 more (14 - 11 reserved): 17 < 20; 10.0.0.32/28: 31 >= 20
    expect(pool.addNode("n1").podCIDRs).toEqual(["10.0.0.0/28", "10.0.0.16/28", "10.0.0.32/28"]);
  });

  it("reservations survive a snapshot; unreserving what is not reserved is a no-op", () => {
    const pool = make();
    pool.reserve("10.0.0.16/28");
    pool.addNode("n1");
    pool.reserve("10.0.0.4/31"); // .4, .5 in n1's 10.0.0.0/28
    pool.unreserve("10.0.0.32/28");
    const copy = ClusterPool.restore(pool.snapshot());
    expect(copy.snapshot()).toEqual(pool.snapshot());
    expect(copy.release("10.0.0.4")).toBe(false);
    copy.addNode("n2"); // skips the reserved .16/28
    expect(copy.node("n2")?.podCIDRs).toEqual(["10.0.0.32/28"]);
    copy.unreserve("10.0.0.4/31");
    expect(copy.allocate("n1", "ns/x", "10.0.0.4")).toEqual({ ipv4: "10.0.0.4" });
    expect(copy.verify()).toEqual([]);
  });
});
