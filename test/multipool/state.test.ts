// Multi-pool state in and out: CiliumNode spec.ipam.pools export/import,
// snapshot/restore, what ClusterPool.open refuses, and the single-pool
// shorthand as pool `default`.
import { describe, it, expect } from "vitest";
import { ClusterPool } from "../../src/index.js";
import { err } from "../helpers.js";

const options = (clock: () => number) => ({
  pools: {
    default: { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 28 }, preAllocate: 8, releaseDelayMs: 100 },
    blue: { ipv4: { cidrs: ["10.1.0.0/24"], maskSize: 28 }, ipv6: { cidrs: ["fd00:1::/120"], maskSize: 124 }, preAllocate: 0, releaseDelayMs: 100 },
    gpu: { ipv4: { cidrs: ["10.2.0.0/24"], maskSize: 27 }, preAllocate: 2, nodeSelector: { matchLabels: { gpu: "true" } } },
  },
  clock,
});

/** A pool with some history: chunks taken and released, owners with addresses in several pools. */
function busy(): { pool: ClusterPool; clock: { now: number } } {
  const clock = { now: 0 };
  const pool = new ClusterPool(options(() => clock.now));
  pool.addNode("n1");
  pool.addNode("g1", { labels: { gpu: "true" } });
  for (let i = 0; i < 10; i++) pool.allocate("n1", `ns/a${i}`);
  pool.allocate("n1", "ns/b", { pool: "blue" });
  pool.allocate("g1", "ns/c", { pool: "gpu" });
  pool.allocate("g1", "ns/c", { pool: "blue" });
  clock.now = 50;
  pool.releaseOwner("ns/a9"); // 10.0.0.10; 5 + 14 free
  return { pool, clock };
}

describe("CiliumNode spec.ipam.pools", () => {
  it("exports allocated (pools by name, IPv4 first) and requested (used + pre-allocation)", () => {
    const { pool } = busy();
    const list = pool.exportCiliumNodes();
    expect(list.items.map((i) => [i.metadata, i.spec])).toEqual([
      [{ name: "n1" }, {
        ipam: {
          pools: {
            // default: 9 used + 8; blue: 1 used (both families) + 0
            requested: [{ pool: "blue", needed: { "ipv4-addrs": 1, "ipv6-addrs": 1 } }, { pool: "default", needed: { "ipv4-addrs": 17 } }],
            // default: 10 pods in 10.0.0.0/28 left 4 free < 8: one more, next-fit after g1's 10.0.0.16/28
            allocated: [{ pool: "blue", cidrs: ["10.1.0.0/28", "fd00:1::/124"] }, { pool: "default", cidrs: ["10.0.0.0/28", "10.0.0.32/28"] }],
          },
        },
      }],
      [{ name: "g1", labels: { gpu: "true" } }, {
        ipam: {
          pools: {
            requested: [{ pool: "blue", needed: { "ipv4-addrs": 1, "ipv6-addrs": 1 } }, { pool: "default", needed: { "ipv4-addrs": 8 } }, { pool: "gpu", needed: { "ipv4-addrs": 3 } }],
            allocated: [
              { pool: "blue", cidrs: ["10.1.0.16/28", "fd00:1::10/124"] },
              { pool: "default", cidrs: ["10.0.0.16/28"] }, // g1 came second
              { pool: "gpu", cidrs: ["10.2.0.0/27"] },
            ],
          },
        },
      }],
    ]);
  });

  it("import restores every node's chunks before any node tops up; conflicts fail with Cilium's words", () => {
    const { pool } = busy();
    const list = pool.exportCiliumNodes();
    const copy = new ClusterPool(options(() => 0));
    copy.addNode("early"); // takes 10.0.0.0/28 first: n1's is then taken
    const results = copy.importCiliumNodes(list);
    expect(results[0]).toEqual({ name: "n1", podCIDRs: [], outcome: "failed", error: "requested CIDR (10.0.0.0/28) is already allocated" });
    // podCIDRs: IPv4 of the pools in name order (blue, default, gpu), then IPv6
    expect(results[1]).toEqual({ name: "g1", podCIDRs: ["10.1.0.16/28", "10.0.0.16/28", "10.2.0.0/27", "fd00:1::10/124"], outcome: "restored" });
    expect(copy.node("n1")).toBeUndefined();
    expect(copy.verify()).toEqual([]);
    const fresh = new ClusterPool(options(() => 0));
    expect(fresh.importCiliumNodes(list).map((r) => r.outcome)).toEqual(["restored", "restored"]);
    expect(fresh.exportCiliumNodes().items.map((i) => i.spec?.ipam?.pools)).toEqual(
      list.items.map((i) => ({ ...(i.spec?.ipam?.pools as object), requested: (fresh.exportCiliumNodes().items.find((x) => x.metadata.name === i.metadata.name)?.spec?.ipam?.pools as { requested: unknown }).requested })),
    );
    expect(fresh.node("g1")?.labels).toEqual({ gpu: "true" });
    // one CiliumNode object (kubectl get cn X -o yaml) is a list of one
    const single = new ClusterPool(options(() => 0));
    expect(single.importCiliumNodes(list.items[1]).map((r) => [r.name, r.outcome])).toEqual([["g1", "restored"]]);
    expect(err(() => single.importCiliumNodes("NAME   CILIUMINTERNALIP\ng1  10.0.0.1\n")).code).toBe("INVALID_ARGUMENT");
    const bad = fresh.importCiliumNodes({ items: [
      { metadata: { name: "x" }, spec: { ipam: { pools: { allocated: [{ pool: "nope", cidrs: ["10.9.0.0/28"] }] } } } },
      { metadata: { name: "y" }, spec: { ipam: { pools: { allocated: [{ pool: "default", cidrs: ["10.0.0.64/27"] }] } } } },
      { metadata: { name: "z" }, spec: { ipam: { pools: { allocated: [{ pool: "gpu", cidrs: ["10.2.0.32/27"] }] } } } },
    ] });
    expect(bad.map((r) => r.error)).toEqual([
      'unknown IP pool "nope" for CIDR 10.9.0.0/28',
      "allocator not configured for the requested CIDR 10.0.0.64/27", // a /27 in a pool of /28 chunks
      'IP pool "gpu" does not select node "z" (CIDR 10.2.0.32/27)',
    ]);
  });
});

describe("snapshot and restore", () => {
  it("restores pools, chunks, owners, watermarks and pending releases; both continue alike", () => {
    const { pool, clock } = busy();
    pool.addPool("late", { ipv4: { cidrs: ["10.5.0.0/24"], maskSize: 28 } });
    pool.addPoolCidr("10.0.1.0/28");
    pool.addPoolCidr("10.1.1.0/28", { pool: "blue" });
    pool.removePoolCidr("10.1.1.0/28", { pool: "blue" }); // never held: the entry goes, its table index stays
    const bytes = pool.snapshot();
    const copy = ClusterPool.restore(bytes, { clock: () => clock.now });
    expect(copy.snapshot()).toEqual(bytes);
    expect(copy.exportCiliumNodes()).toEqual(pool.exportCiliumNodes());
    expect(copy.ipPools()).toEqual(pool.ipPools());
    for (const ip of ["10.0.0.1", "10.0.0.10", "10.1.0.1", "fd00:1::1", "10.2.0.1", "10.1.0.17"]) expect(copy.lookup(ip)).toEqual(pool.lookup(ip));
    // pool CIDR order (default, blue v4, blue v6, gpu), then address
    expect(copy.addressesOf("ns/c")).toEqual(["10.1.0.17", "fd00:1::11", "10.2.0.1"]);
    // the same calls give the same answers from here on, release delays included
    clock.now = 60;
    for (const p of [pool, copy]) {
      p.releaseOwner("ns/b"); // blue's chunks on n1 are empty from t=60
      p.allocate("g1", "ns/d", { pool: "gpu" });
    }
    clock.now = 159;
    pool.tick();
    copy.tick();
    expect(copy.node("n1")?.pools).toEqual(pool.node("n1")?.pools);
    expect(pool.node("n1")?.pools?.map((p) => p.pool)).toEqual(["blue", "default"]); // 99 ms: not yet
    clock.now = 160;
    pool.tick();
    copy.tick();
    expect(pool.node("n1")?.pools?.map((p) => p.pool)).toEqual(["default"]);
    expect(copy.snapshot()).toEqual(pool.snapshot());
    expect(copy.verify()).toEqual([]);
  });

  it("a corrupted multi-pool snapshot is CORRUPT_STATE", () => {
    const { pool } = busy();
    const bytes = pool.snapshot();
    bytes[40] = (bytes[40] as number) ^ 1;
    expect(err(() => ClusterPool.restore(bytes)).code).toBe("CORRUPT_STATE");
  });
});

describe("multi-pool options and the single-pool shorthand", () => {
  it("options of a pool with named pools: no single-pool families, the pools in multiOptions", () => {
    const pool = new ClusterPool({ pools: { default: { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 28 } } } });
    pool.addNode("n");
    expect(pool.options.families).toEqual([]);
    expect(pool.multiOptions?.pools.map((p) => p.name)).toEqual(["default"]);
  });

  it("the single-pool options are pool 'default'", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 28 } });
    pool.addNode("n", { labels: { any: "thing" } });
    expect(pool.allocate("n", "a", { pool: "default" })).toEqual({ ipv4: "10.0.0.1" });
    expect(err(() => pool.allocate("n", "b", { pool: "blue" })).code).toBe("UNKNOWN_POOL");
    expect(pool.ipPools()).toEqual([{ name: "default", preAllocate: 0, families: [{ family: 4, cidrs: ["10.0.0.0/24"], maskSize: 28 }] }]);
    pool.addPoolCidr("10.0.1.0/24", { pool: "default" });
    expect(pool.poolCidrs()).toEqual([{ family: 4, cidrs: ["10.0.0.0/24", "10.0.1.0/24"] }]);
    expect(err(() => pool.addPool("x", { ipv4: { cidrs: ["10.9.0.0/24"], maskSize: 28 } })).path).toBe("options.pools");
    expect(pool.multiPool).toBe(false);
  });

  it("the shorthand with pools: options.ipv4 is pool default", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 28 }, pools: { blue: { ipv4: { cidrs: ["10.1.0.0/24"], maskSize: 28 } } } });
    expect(pool.multiPool).toBe(true);
    expect(pool.ipPools().map((p) => [p.name, p.preAllocate])).toEqual([["default", 8], ["blue", 0]]);
    expect(err(() => new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 28 }, pools: { default: { ipv4: { cidrs: ["10.1.0.0/24"], maskSize: 28 } } } })).path).toBe("options.ipv4");
  });

  it("dispose gives the memory back and later calls are refused", () => {
    const pool = new ClusterPool({ pools: { default: { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 28 } } } });
    pool.addNode("n");
    pool.dispose();
    pool.dispose();
    expect(err(() => pool.addNode("m")).code).toBe("INVALID_ARGUMENT");
    expect(err(() => pool.allocate("n", "o")).code).toBe("INVALID_ARGUMENT");
  });
});

describe("the README's multi-pool example", () => {
  it("answers what the README says", () => {
    const pool = new ClusterPool({
      pools: {
        default: { ipv4: { cidrs: ["10.10.0.0/16"], maskSize: 24 } },
        "green-pool": {
          ipv4: { cidrs: ["10.20.0.0/16", "10.30.0.0/16"], maskSize: 27 },
          ipv6: { cidrs: ["fd00::/104"], maskSize: 120 },
          preAllocate: 16, releaseDelayMs: 120_000, nodeSelector: { matchLabels: { pool: "green" } },
        },
      },
      clock: () => 0,
    });
    expect(pool.addNode("n1", { labels: { pool: "green" } })).toEqual({
      name: "n1", podCIDRs: ["10.10.0.0/24", "10.20.0.0/27", "fd00::/120"],
      pools: [{ pool: "default", cidrs: ["10.10.0.0/24"] }, { pool: "green-pool", cidrs: ["10.20.0.0/27", "fd00::/120"] }],
    });
    expect(pool.allocate("n1", "ns/web-0", { pool: "green-pool" })).toEqual({ ipv4: "10.20.0.1", ipv6: "fd00::1" });
    expect(pool.allocate("n1", "ns/db-0")).toEqual({ ipv4: "10.10.0.1" });
    expect(pool.lookup("10.20.0.1")).toEqual({ node: "n1", pool: "green-pool", podCIDR: "10.20.0.0/27", owner: "ns/web-0", allocated: true });
    pool.addPoolCidr("10.40.0.0/16", { pool: "green-pool" });
    pool.removePoolCidr("10.30.0.0/16", { pool: "green-pool" });
    pool.addPool("blue", { ipv4: { cidrs: ["10.50.0.0/16"], maskSize: 28 }, preAllocate: 0 });
    pool.removePool("blue");
    expect(pool.ipPools().map((p) => [p.name, p.families.map((f) => f.cidrs)])).toEqual([
      ["default", [["10.10.0.0/16"]]], ["green-pool", [["10.20.0.0/16", "10.40.0.0/16"], ["fd00::/104"]]],
    ]);
    const s = pool.stats();
    // green-pool IPv4: one /27 (30 usable), 1 used; default: one /24 (254 usable), 1 used
    expect(s.ipPools?.map((p) => [p.pool, p.family, p.chunks.used, p.addresses.used, p.addresses.free])).toEqual([
      ["default", 4, 1, 1, 253], ["green-pool", 4, 1, 1, 29], ["green-pool", 6, 1, 1, 253],
    ]);
  });
});
