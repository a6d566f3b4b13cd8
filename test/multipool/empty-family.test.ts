// A pool family whose last CIDR was removed (removePoolCidr): it has no
// CIDRs, allocations from it are FULL, and the state still goes through a
// snapshot (it was CORRUPT_STATE: the snapshot's options named a family
// with an empty cidrs list, which options validation refuses) and through a
// FileStore reopen; adding a CIDR to it afterwards serves again. Found by
// the multi-pool differential test with removePoolCidr.
import { describe, it, expect } from "vitest";
import { ClusterPool } from "../../src/index.js";
import { err, tmpStores } from "../helpers.js";

const tmp = tmpStores("empty-family");

const POOLS = {
  default: { ipv4: { cidrs: ["10.0.0.0/26"], maskSize: 28 }, preAllocate: 0 },
  blue: { ipv4: { cidrs: ["10.1.0.0/28"], maskSize: 28 }, ipv6: { cidrs: ["fd01::/120"], maskSize: 124 }, preAllocate: 0 },
};

const rows: { name: string; remove: [string, string][]; family: 4 | 6; pool: string; after: string; first: { ipv4?: string; ipv6?: string } }[] = [
  // blue's only IPv4 CIDR goes: blue is IPv6 only until 10.1.1.0/28 comes; then a dual-stack pod gets .1 of each family's first chunk
  { name: "IPv4 of a dual-stack pool", remove: [["blue", "10.1.0.0/28"]], family: 4, pool: "blue", after: "10.1.1.0/28", first: { ipv4: "10.1.1.1", ipv6: "fd01::1" } },
  // blue's only IPv6 CIDR goes; fd01::100/124 is one chunk of 14
  { name: "IPv6 of a dual-stack pool", remove: [["blue", "fd01::/120"]], family: 6, pool: "blue", after: "fd01::100/124", first: { ipv4: "10.1.0.1", ipv6: "fd01::101" } },
  // default's only CIDR goes: the pool has no CIDR at all
  { name: "the only family of a pool", remove: [["default", "10.0.0.0/26"]], family: 4, pool: "default", after: "10.0.2.0/28", first: { ipv4: "10.0.2.1" } },
];

describe("a pool family with no CIDRs left", () => {
  it.each(rows.map((r) => [r.name, r] as const))("%s: FULL, through a snapshot, then served again", (_n, row) => {
    const pool = new ClusterPool({ pools: POOLS });
    pool.addNode("n1");
    for (const [p, c] of row.remove) pool.removePoolCidr(c, { pool: p });
    expect(err(() => pool.allocate("n1", "ns/x", { pool: row.pool })).code).toBe("FULL");
    const copy = ClusterPool.restore(pool.snapshot());
    expect(copy.ipPools()).toEqual(pool.ipPools());
    expect(copy.ipPools().find((p) => p.name === row.pool)?.families.find((f) => f.family === row.family)?.cidrs).toEqual([]);
    expect(err(() => copy.allocate("n1", "ns/x", { pool: row.pool })).code).toBe("FULL");
    for (const p of [pool, copy]) {
      p.addPoolCidr(row.after, { pool: row.pool });
      expect(p.allocate("n1", "ns/x", { pool: row.pool })).toEqual(row.first);
      expect(p.verify()).toEqual([]);
    }
    expect(copy.snapshot()).toEqual(pool.snapshot());
    pool.dispose();
    copy.dispose();
  });

  it("a FileStore reopens after its last CIDR of a family went (compaction writes the snapshot)", () => {
    const path = tmp();
    const live = ClusterPool.open(path, { pools: POOLS });
    live.addNode("n1");
    live.removePoolCidr("10.1.0.0/28", { pool: "blue" });
    live.compact();
    live.close();
    const again = ClusterPool.open(path, { pools: POOLS });
    expect(again.ipPools().find((p) => p.name === "blue")?.families.map((f) => [f.family, f.cidrs])).toEqual([[4, []], [6, ["fd01::/120"]]]);
    again.close();
  });
});
