// allocate(node, owner, { pool, ips }) with named pools (and the single
// pool's `wanted` form): a specific address in a chunk the node holds, or in
// a free chunk of the pool, which the node then takes; the single pool's
// errors otherwise. Table-driven; each expected value derived in its comment.
//
// Geometry: default 10.0.0.0/27 in /28 chunks (10.0.0.0/28: .1-.14 usable,
// 10.0.0.16/28: .17-.30), preAllocate 8; blue 10.1.0.0/27 in /29 chunks
// (10.1.0.0/29, .8/29, .16/29, .24/29; 6 usable each) and fd00:1::/120 in
// /124 chunks, preAllocate 0. n1 is added first (10.0.0.0/28), then n2
// (10.0.0.16/28): the default pool has no free chunk left.
import { describe, it, expect } from "vitest";
import { ClusterPool } from "../../src/index.js";
import { err } from "../helpers.js";

function fresh(): ClusterPool {
  const pool = new ClusterPool({
    pools: {
      default: { ipv4: { cidrs: ["10.0.0.0/27"], maskSize: 28 }, preAllocate: 8 },
      blue: { ipv4: { cidrs: ["10.1.0.0/27"], maskSize: 29 }, ipv6: { cidrs: ["fd00:1::/120"], maskSize: 124 }, preAllocate: 0 },
    },
    clock: () => 0,
  });
  pool.addNode("n1");
  pool.addNode("n2");
  return pool;
}

type Wanted = Parameters<ClusterPool["allocate"]>[2];

describe("allocate with wanted addresses, named pools", () => {
  const ok: { name: string; wanted: Wanted; got: Record<string, string>; cidrs: string[] }[] = [
    // in n1's own chunk 10.0.0.0/28
    { name: "an address of a chunk the node holds (string form)", wanted: "10.0.0.5", got: { ipv4: "10.0.0.5" }, cidrs: ["10.0.0.0/28"] },
    { name: "the same as { ips }", wanted: { ips: "10.0.0.14" }, got: { ipv4: "10.0.0.14" }, cidrs: ["10.0.0.0/28"] },
    // 10.1.0.12 lies in blue's free 10.1.0.8/29: n1 takes that chunk; IPv6 has no address asked: the next chunk
    // (fd00:1::/124, next-fit from the start) and its first usable address, fd00:1::1
    { name: "an address of a free chunk: the node takes that chunk", wanted: { pool: "blue", ips: "10.1.0.12" }, got: { ipv4: "10.1.0.12", ipv6: "fd00:1::1" }, cidrs: ["10.1.0.8/29", "10.0.0.0/28", "fd00:1::/124"] }, // podCIDRs: IPv4 first, pools by name
    // both families asked: 10.1.0.8/29 and fd00:1::20/124 (the third /124: 0x20 = 2 x 16)
    { name: "one address per family", wanted: { pool: "blue", ips: ["fd00:1::25", "10.1.0.12"] }, got: { ipv4: "10.1.0.12", ipv6: "fd00:1::25" }, cidrs: ["10.1.0.8/29", "10.0.0.0/28", "fd00:1::20/124"] },
  ];
  for (const row of ok) {
    it(row.name, () => {
      const pool = fresh();
      expect(pool.allocate("n1", "ns/a", row.wanted)).toEqual(row.got);
      expect(pool.node("n1")?.podCIDRs).toEqual(row.cidrs);
      expect(pool.lookup(row.got.ipv4 as string)).toMatchObject({ node: "n1", owner: "ns/a", allocated: true });
      expect(pool.verify()).toEqual([]);
    });
  }

  const bad: { name: string; wanted: Wanted; code: string; message: string }[] = [
    { name: "taken", wanted: "10.0.0.1", code: "ALREADY_ALLOCATED", message: 'ipcarve: "10.0.0.1" is already allocated' },
    // 10.0.0.17 is in n2's chunk
    { name: "another node's chunk", wanted: "10.0.0.17", code: "NOT_IN_RANGE", message: 'ipcarve: "10.0.0.17" is not in the range of node "n1"\'s chunks of pool "default" (10.0.0.16/28 is node "n2"\'s)' },
    // .0 and .15 of 10.0.0.0/28: network and broadcast
    { name: "the chunk's network address", wanted: "10.0.0.0", code: "NOT_IN_RANGE", message: 'ipcarve: "10.0.0.0" is not in the range of pod range 10.0.0.0/28 of node "n1"' },
    { name: "the chunk's broadcast address", wanted: "10.0.0.15", code: "NOT_IN_RANGE", message: 'ipcarve: "10.0.0.15" is not in the range of pod range 10.0.0.0/28 of node "n1"' },
    // 10.1.0.16 is the network address of blue's free 10.1.0.16/29
    { name: "the network address of a free chunk", wanted: { pool: "blue", ips: "10.1.0.16" }, code: "NOT_IN_RANGE", message: 'ipcarve: "10.1.0.16" is not in the range of pod range 10.1.0.16/29 (a free chunk of pool "blue")' },
    { name: "outside the pool", wanted: { ips: "10.1.0.3" }, code: "NOT_IN_RANGE", message: 'ipcarve: "10.1.0.3" is not in the range of pool "default" (IPv4 10.0.0.0/27)' },
    { name: "a family the pool lacks", wanted: "fd00:1::5", code: "NOT_IN_RANGE", message: 'ipcarve: "fd00:1::5" is not in the range of pool "default" (it has no IPv6 CIDRs)' },
    { name: "two of a family", wanted: { pool: "blue", ips: ["10.1.0.1", "10.1.0.2"] }, code: "INVALID_ARGUMENT", message: "" },
    { name: "not an address", wanted: "10.0.0", code: "INVALID_IP", message: "" },
    { name: "ips not a string", wanted: { ips: 5 } as never, code: "INVALID_ARGUMENT", message: "" },
    { name: "an unknown option", wanted: { pool: "blue", ip: "10.1.0.1" } as never, code: "INVALID_OPTION", message: "" },
  ];
  for (const row of bad) {
    it(`refused: ${row.name}`, () => {
      const pool = fresh();
      pool.allocate("n1", "ns/first"); // 10.0.0.1
      const before = pool.snapshot();
      const e = err(() => pool.allocate("n1", "ns/a", row.wanted));
      expect(e.code).toBe(row.code);
      if (row.message) expect(e.message).toBe(row.message);
      expect(pool.snapshot()).toEqual(before); // a failed call takes nothing (no chunk either)
    });
  }

  it("a chunk taken for a wanted address leaves the next-fit cursor where it was", () => {
    const pool = fresh();
    pool.allocate("n1", "ns/a", { pool: "blue", ips: "10.1.0.12" }); // takes 10.1.0.8/29 (and fd00:1::/124)
    // n2 asks blue for any address: next-fit from the start finds 10.1.0.0/29 free
    expect(pool.allocate("n2", "ns/b", { pool: "blue" }).ipv4).toBe("10.1.0.1");
    // the next after that skips n1's 10.1.0.8/29: 10.1.0.16/29 for n2's second chunk once its first is full
    for (let i = 0; i < 5; i++) pool.allocate("n2", `ns/b${i}`, { pool: "blue" });
    expect(pool.allocate("n2", "ns/c", { pool: "blue" }).ipv4).toBe("10.1.0.17");
  });

  it("the single pool takes { pool: 'default', ips } as its wanted", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 28 } });
    pool.addNode("n1");
    expect(pool.allocate("n1", "ns/a", { pool: "default", ips: "10.0.0.9" })).toEqual({ ipv4: "10.0.0.9" });
    expect(err(() => pool.allocate("n1", "ns/b", { ips: "10.0.0.9" })).code).toBe("ALREADY_ALLOCATED");
  });
});
