// describe() / PoolView with named pools: a worker's view over the shared
// memory finds the node (handle) and owner of an address of any pool, and
// each pool CIDR's pool by name.
import { describe, it, expect } from "vitest";
import { ClusterPool, PoolView, parseIPv4 } from "../../src/index.js";

describe("PoolView over named pools", () => {
  it("looks addresses of every pool up to node handles and owners, as the pool does", () => {
    const pool = new ClusterPool({
      pools: {
        default: { ipv4: { cidrs: ["10.0.0.0/26"], maskSize: 28 }, preAllocate: 8 },
        blue: { ipv4: { cidrs: ["10.1.0.0/27", "10.1.1.0/28"], maskSize: 29 }, preAllocate: 0 },
      },
      clock: () => 0,
    });
    pool.addNode("n1"); // 10.0.0.0/28
    pool.addNode("n2"); // 10.0.0.16/28
    const a = pool.allocate("n1", "ns/a").ipv4!; // 10.0.0.1
    const b = pool.allocate("n2", "ns/b", { pool: "blue" }).ipv4!; // n2 takes 10.1.0.0/29: 10.1.0.1
    const c = pool.allocateIPv4(pool.handle("n2"), pool.poolHandle("blue")); // 10.1.0.2, no owner
    const view = new PoolView(pool.describe());
    // one entry per pool CIDR, with its pool and chunk mask
    expect(view.pools.map((p) => [p.pool, p.cidr, p.nodeMask])).toEqual([
      ["default", "10.0.0.0/26", 28], ["blue", "10.1.0.0/27", 29], ["blue", "10.1.1.0/28", 29],
    ]);
    const rows: [string, number, number, string | undefined][] = [
      [a, parseIPv4(a), pool.handle("n1"), "ns/a"],
      [b, parseIPv4(b), pool.handle("n2"), "ns/b"],
      ["10.1.0.2", c, pool.handle("n2"), ""], // numeric: no owner
      ["10.0.0.2", parseIPv4("10.0.0.2"), pool.handle("n1"), undefined], // n1's chunk, free
      ["10.1.1.1", parseIPv4("10.1.1.1"), 0, undefined], // a chunk no node holds
    ];
    for (const [what, ip, node, owner] of rows) {
      expect(view.lookupIPv4(ip), what).toBe(node);
      expect(view.lookupIPv4(ip), what).toBe(pool.lookupIPv4(ip));
      expect(view.ownerOfIPv4(ip), what).toBe(owner);
    }
    // chunks taken after describe() are seen: the table entries are the same
    pool.allocate("n1", "ns/late", { pool: "blue" }); // n1 takes 10.1.0.8/29: 10.1.0.9
    expect(view.lookupIPv4(parseIPv4("10.1.0.9"))).toBe(pool.handle("n1"));
    expect(view.ownerOfIPv4(parseIPv4("10.1.0.9"))).toBe("ns/late");
    // the descriptor is structured-cloneable (what postMessage sends to a worker)
    const copy = structuredClone(pool.describe());
    expect(copy.pools.map((p) => p.pool)).toEqual(["default", "blue", "blue"]);
    view.dispose();
    pool.dispose();
  });
});
