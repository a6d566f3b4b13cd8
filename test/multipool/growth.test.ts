// Multi-pool growth and release on a virtual clock: table-driven, each
// expected value derived in its comment.
//
// Geometry used throughout: a /28 chunk has 16 addresses, 14 usable (network
// and broadcast excluded, as Cilium's ipallocator does): 10.0.0.0/28 hands
// out 10.0.0.1 .. 10.0.0.14, next-fit.
import { describe, it, expect } from "vitest";
import { ClusterPool } from "../../src/index.js";
import { err } from "../helpers.js";

type Step =
  | { at: number; op: "add"; node: string; labels?: Record<string, string> }
  | { at: number; op: "alloc"; node: string; owner: string; pool?: string; want?: string }
  | { at: number; op: "release"; ip: string }
  | { at: number; op: "releaseOwner"; owner: string }
  | { at: number; op: "tick" }
  | { at: number; op: "remove"; node: string };

interface Row { name: string; pools: Record<string, unknown>; steps: (Step & { cidrs?: Record<string, string[]>; error?: string })[] }

function run(row: Row): void {
  let now = 0;
  const pool = new ClusterPool({ pools: row.pools as never, clock: () => now });
  row.steps.forEach((s, i) => {
    now = s.at;
    const where = `${row.name} step ${i} (${s.op})`;
    const act = (): unknown => {
      switch (s.op) {
        case "add": return pool.addNode(s.node, s.labels ? { labels: s.labels } : undefined);
        case "alloc": return pool.allocate(s.node, s.owner, s.pool ? { pool: s.pool } : undefined);
        case "release": return pool.release(s.ip);
        case "releaseOwner": return pool.releaseOwner(s.owner);
        case "tick": return pool.tick();
        case "remove": return pool.removeNode(s.node);
      }
    };
    if (s.error !== undefined) {
      expect(err(act).code, where).toBe(s.error);
    } else {
      const out = act();
      if (s.op === "alloc" && s.want !== undefined) expect((out as { ipv4?: string }).ipv4, where).toBe(s.want);
    }
    for (const [node, cidrs] of Object.entries(s.cidrs ?? {})) expect(pool.node(node)?.podCIDRs ?? [], `${where}: ${node}`).toEqual(cidrs);
    expect(pool.verify(), where).toEqual([]);
  });
}

const A = "10.0.0.0/28";
const B = "10.0.0.16/28";
const C = "10.0.0.32/28";
const def = (extra: Record<string, unknown> = {}) => ({ default: { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 28 }, preAllocate: 8, releaseDelayMs: 120_000, ...extra } });

const rows: Row[] = [
  {
    name: "a chunk waiting for release stops waiting once allocations elsewhere take the free addresses it was spare against",
    pools: def(),
    steps: [
      { at: 0, op: "add", node: "n1", cidrs: { n1: [A] } },
      ...[1, 2, 3, 4, 5, 6, 7].map((k) => ({ at: 0, op: "alloc" as const, node: "n1", owner: `p${k}`, want: `10.0.0.${k}` })), // the 7th leaves 7 free < 8: B taken
      { at: 1000, op: "release", ip: "10.0.0.1", cidrs: { n1: [A, B] } }, // 8 free in A + 14 in B = 22: B is spare (22 - 14 = 8 >= 8), it waits from 1000
      { at: 1000, op: "release", ip: "10.0.0.2" }, // 23: B still waits (and from 1000)
      { at: 1000, op: "release", ip: "10.0.0.3" }, // 24
      { at: 1000, op: "alloc", node: "n1", owner: "q1", want: "10.0.0.8" }, // 23: 23 - 14 = 9 >= 8, B waits
      { at: 1000, op: "alloc", node: "n1", owner: "q2", want: "10.0.0.9" }, // 22: 8 >= 8, B waits
      { at: 1000, op: "alloc", node: "n1", owner: "q3", want: "10.0.0.10" }, // 21: 7 < 8: B is needed for the watermark, it stops waiting
      { at: 121_000, op: "tick", cidrs: { n1: [A, B] } }, // B's delay would have run out at 1000 + 120,000: it is still held
    ],
  },
  {
    name: "watermark 8: a second chunk when free falls below 8",
    pools: def(),
    steps: [
      { at: 0, op: "add", node: "n1", cidrs: { n1: [A] } }, // 14 free >= 8: one chunk
      ...[1, 2, 3, 4, 5, 6].map((k) => ({ at: 0, op: "alloc" as const, node: "n1", owner: `p${k}`, want: `10.0.0.${k}`, cidrs: { n1: [A] } })), // 14-6 = 8 free: still >= 8
      { at: 0, op: "alloc", node: "n1", owner: "p7", want: "10.0.0.7", cidrs: { n1: [A, B] } }, // 7 free < 8: B taken (next-fit after A)
      ...[8, 9, 10, 11, 12, 13, 14].map((k) => ({ at: 0, op: "alloc" as const, node: "n1", owner: `p${k}`, want: `10.0.0.${k}`, cidrs: { n1: [A, B] } })), // A fills first; 0 + 14 free
      { at: 0, op: "alloc", node: "n1", owner: "p15", want: "10.0.0.17", cidrs: { n1: [A, B] } }, // B's first usable; 13 free >= 8
      ...[16, 17, 18, 19, 20].map((k) => ({ at: 0, op: "alloc" as const, node: "n1", owner: `p${k}`, want: `10.0.0.${k + 2}`, cidrs: { n1: [A, B] } })), // B .18...22: 8 free
      { at: 0, op: "alloc", node: "n1", owner: "p21", want: "10.0.0.23", cidrs: { n1: [A, B, C] } }, // 7 free < 8: C
    ],
  },
  {
    name: "release delay: a chunk free beyond the watermark goes back after exactly releaseDelayMs",
    pools: def(),
    steps: [
      { at: 0, op: "add", node: "n1" },
      ...[1, 2, 3, 4, 5, 6, 7].map((k) => ({ at: 0, op: "alloc" as const, node: "n1", owner: `p${k}`, want: `10.0.0.${k}` })),
      { at: 0, op: "tick", cidrs: { n1: [A, B] } }, // 7 + 14 free; without B 7 < 8: B is needed
      { at: 1_000, op: "release", ip: "10.0.0.7", cidrs: { n1: [A, B] } }, // 8 + 14: without B 8 >= 8, B is excess from t=1000
      { at: 120_999, op: "tick", cidrs: { n1: [A, B] } }, // 119,999 ms: not yet
      { at: 121_000, op: "tick", cidrs: { n1: [A] } }, // 120,000 ms: B goes back
      { at: 121_000, op: "add", node: "n2", cidrs: { n2: [C] } }, // next-fit (Cilium's cidrset): the cursor is past B, so C; B comes back after a wrap
    ],
  },
  {
    // each pool has its own delay: a chunk of the quick pool that became free later still goes back first
    name: "release delays per pool: the later, shorter wait ends first",
    pools: {
      slow: { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 28 }, preAllocate: 0, releaseDelayMs: 100_000 },
      quick: { ipv4: { cidrs: ["10.1.0.0/24"], maskSize: 28 }, preAllocate: 0, releaseDelayMs: 10_000 },
    },
    steps: [
      { at: 0, op: "add", node: "n1", cidrs: { n1: [] } }, // preAllocate 0: nothing ahead
      { at: 0, op: "alloc", node: "n1", owner: "p1", pool: "slow", want: "10.0.0.1", cidrs: { n1: ["10.0.0.0/28"] } }, // a chunk on demand
      { at: 0, op: "release", ip: "10.0.0.1" }, // completely free, watermark 0: waits from t=0, due at 100,000
      { at: 50_000, op: "alloc", node: "n1", owner: "q1", pool: "quick", want: "10.1.0.1" },
      // pools in name order (quick < slow): 10.1.0.0/28 first
      { at: 50_000, op: "release", ip: "10.1.0.1", cidrs: { n1: ["10.1.0.0/28", "10.0.0.0/28"] } }, // waits from 50,000, due at 60,000
      { at: 59_999, op: "tick", cidrs: { n1: ["10.1.0.0/28", "10.0.0.0/28"] } }, // neither is due
      { at: 60_000, op: "tick", cidrs: { n1: ["10.0.0.0/28"] } }, // 50,000 + 10,000: quick's chunk goes back
      { at: 99_999, op: "tick", cidrs: { n1: ["10.0.0.0/28"] } },
      { at: 100_000, op: "tick", cidrs: { n1: [] } }, // 0 + 100,000: slow's chunk goes back
    ],
  },
  {
    name: "release delay restarts when the chunk is needed again",
    pools: def(),
    steps: [
      { at: 0, op: "add", node: "n1" },
      ...[1, 2, 3, 4, 5, 6, 7].map((k) => ({ at: 0, op: "alloc" as const, node: "n1", owner: `p${k}` })),
      { at: 1_000, op: "release", ip: "10.0.0.7" }, // B excess from 1000
      { at: 60_000, op: "alloc", node: "n1", owner: "q", want: "10.0.0.8", cidrs: { n1: [A, B] } }, // 7 free again: B needed, timer stops (next-fit: .8)
      { at: 200_000, op: "tick", cidrs: { n1: [A, B] } }, // 199 s after the first release, but B has not been excess since 60 s
      { at: 200_000, op: "release", ip: "10.0.0.8" }, // excess again from 200,000
      { at: 319_999, op: "tick", cidrs: { n1: [A, B] } },
      { at: 320_000, op: "tick", cidrs: { n1: [A] } }, // 200,000 + 120,000
    ],
  },
  {
    name: "later chunks go back first; the watermark keeps one",
    pools: def({ releaseDelayMs: 0 }),
    steps: [
      { at: 0, op: "add", node: "n1" },
      ...Array.from({ length: 21 }, (_, k) => ({ at: 0, op: "alloc" as const, node: "n1", owner: `p${k + 1}` })), // A full, B 7 used: 7 free < 8 -> C
      { at: 0, op: "tick", cidrs: { n1: [A, B, C] } },
      { at: 0, op: "releaseOwner", owner: "p21", cidrs: { n1: [A, B] } }, // B 6 used: 8 + 14 free; without C 8 >= 8: C excess, delay 0: back in the same call
      { at: 0, op: "tick", cidrs: { n1: [A, B] } }, // 8 free left
      ...Array.from({ length: 6 }, (_, k) => ({ at: 0, op: "releaseOwner" as const, owner: `p${k + 15}` })), // B empty: 14 free, A full
      { at: 0, op: "tick", cidrs: { n1: [A, B] } }, // without B: 0 free < 8: B stays although empty
      ...Array.from({ length: 14 }, (_, k) => ({ at: 0, op: "releaseOwner" as const, owner: `p${k + 1}` })), // A empty too: 28 free
      { at: 0, op: "tick", cidrs: { n1: [A] } }, // reverse order: B goes (28-14 = 14 >= 8), then A would leave 0 < 8: A stays
    ],
  },
  {
    name: "preAllocate 0 (Cilium #46867): nothing at addNode, nothing waits, a chunk on demand",
    pools: { blue: { ipv4: { cidrs: ["10.1.0.0/24"], maskSize: 28 }, preAllocate: 0, releaseDelayMs: 30_000 } },
    steps: [
      { at: 0, op: "add", node: "n1", cidrs: { n1: [] } }, // returns at once, no chunk
      { at: 0, op: "alloc", node: "n1", owner: "router", pool: "blue", want: "10.1.0.1", cidrs: { n1: ["10.1.0.0/28"] } }, // Cilium #47379: the router IP of a 0-pool
      { at: 5_000, op: "release", ip: "10.1.0.1", cidrs: { n1: ["10.1.0.0/28"] } }, // empty and excess (watermark 0) from 5000
      { at: 34_999, op: "tick", cidrs: { n1: ["10.1.0.0/28"] } },
      { at: 35_000, op: "tick", cidrs: { n1: [] } }, // 5000 + 30000
      { at: 35_000, op: "alloc", node: "n1", owner: "x", pool: "blue", want: "10.1.0.17", cidrs: { n1: ["10.1.0.16/28"] } }, // next-fit: the set's cursor is past /28 #0
    ],
  },
  {
    name: "pool without the default: allocate names the pool; unknown and unselected pools",
    pools: {
      blue: { ipv4: { cidrs: ["10.1.0.0/24"], maskSize: 28 }, preAllocate: 0 },
      gpu: { ipv4: { cidrs: ["10.2.0.0/24"], maskSize: 28 }, preAllocate: 4, nodeSelector: { matchLabels: { gpu: "true" } } },
    },
    steps: [
      { at: 0, op: "add", node: "cpu-1", cidrs: { "cpu-1": [] } }, // gpu does not select it; blue pre-allocates nothing
      { at: 0, op: "add", node: "gpu-1", labels: { gpu: "true" }, cidrs: { "gpu-1": ["10.2.0.0/28"] } }, // 14 free >= 4
      { at: 0, op: "alloc", node: "cpu-1", owner: "a", error: "UNKNOWN_POOL" }, // no pool 'default'
      { at: 0, op: "alloc", node: "cpu-1", owner: "a", pool: "gpu", error: "UNKNOWN_POOL" }, // selector
      { at: 0, op: "alloc", node: "gpu-1", owner: "a", pool: "gpu", want: "10.2.0.1" },
      { at: 0, op: "alloc", node: "gpu-1", owner: "b", pool: "blue", want: "10.1.0.1", cidrs: { "gpu-1": ["10.1.0.0/28", "10.2.0.0/28"] } }, // pools in name order
      { at: 0, op: "alloc", node: "nope", owner: "a", pool: "blue", error: "UNKNOWN_NODE" },
    ],
  },
  {
    name: "a full pool fails the allocation and leaves the node short, never waiting",
    pools: { tiny: { ipv4: { cidrs: ["10.3.0.0/27"], maskSize: 28 }, preAllocate: 2 } }, // 2 chunks in all
    steps: [
      { at: 0, op: "add", node: "n1", cidrs: { n1: ["10.3.0.0/28"] } },
      { at: 0, op: "add", node: "n2", cidrs: { n2: ["10.3.0.16/28"] } },
      { at: 0, op: "add", node: "n3", cidrs: { n3: [] } }, // short: no chunk left, addNode still returns
      { at: 0, op: "alloc", node: "n3", owner: "x", pool: "tiny", error: "FULL" },
      { at: 0, op: "remove", node: "n1", cidrs: { n3: ["10.3.0.0/28"] } }, // n1's chunk frees: n3 is topped up at once
      { at: 0, op: "alloc", node: "n3", owner: "x", pool: "tiny", want: "10.3.0.1" },
    ],
  },
];

describe("multi-pool growth and release on a virtual clock", () => {
  for (const row of rows) it(row.name, () => run(row));
});

describe("runtime pool changes", () => {
  it("a pool extended at runtime serves at once (Cilium #41986)", () => {
    const pool = new ClusterPool({ pools: { small: { ipv4: { cidrs: ["10.1.0.0/28"], maskSize: 28 }, preAllocate: 8 } } });
    pool.addNode("n1");
    expect(pool.node("n1")?.podCIDRs).toEqual(["10.1.0.0/28"]);
    pool.addNode("n2");
    expect(pool.node("n2")?.podCIDRs).toEqual([]); // the only chunk is n1's
    expect(err(() => pool.allocate("n2", "a", { pool: "small" })).code).toBe("FULL");
    pool.addPoolCidr("10.1.0.16/28", { pool: "small" });
    expect(pool.node("n2")?.podCIDRs).toEqual(["10.1.0.16/28"]); // topped up by the growth itself
    expect(pool.allocate("n2", "a", { pool: "small" })).toEqual({ ipv4: "10.1.0.17" });
    expect(pool.verify()).toEqual([]);
  });

  it("removing a CIDR or a pool in use is IN_USE naming nodes and owners (Cilium #26966); empty ones go", () => {
    const pool = new ClusterPool({
      pools: {
        default: { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 28 } },
        blue: { ipv4: { cidrs: ["10.1.0.0/28", "10.1.0.16/28"], maskSize: 28 }, preAllocate: 0, releaseDelayMs: 0 },
      },
    });
    pool.addNode("n1");
    pool.allocate("n1", "ns/web-0", { pool: "blue" });
    let e = err(() => pool.removePoolCidr("10.1.0.0/28", { pool: "blue" }));
    expect(e.code).toBe("IN_USE");
    expect(e.message).toContain('"n1"');
    expect(e.message).toContain('"ns/web-0"');
    e = err(() => pool.removePool("blue"));
    expect(e.code).toBe("IN_USE");
    pool.removePoolCidr("10.1.0.16/28", { pool: "blue" }); // held by nobody
    expect(pool.ipPools().find((p) => p.name === "blue")?.families[0]?.cidrs).toEqual(["10.1.0.0/28"]);
    pool.releaseOwner("ns/web-0"); // delay 0: the chunk goes back at once
    expect(pool.node("n1")?.pools).toEqual([{ pool: "default", cidrs: ["10.0.0.0/28"] }]);
    pool.removePool("blue");
    expect(pool.ipPools().map((p) => p.name)).toEqual(["default"]);
    expect(err(() => pool.allocate("n1", "x", { pool: "blue" })).code).toBe("UNKNOWN_POOL");
    expect(pool.lookup("10.1.0.1")).toBeUndefined();
    expect(pool.verify()).toEqual([]);
  });

  it("default's pre-allocated chunks do not block removing its CIDR while no pod holds an address", () => {
    const pool = new ClusterPool({ pools: { default: { ipv4: { cidrs: ["10.0.0.0/28", "10.0.1.0/28"], maskSize: 28 } } } });
    pool.addNode("n1"); // 10.0.0.0/28, pre-allocated, empty
    pool.removePoolCidr("10.0.0.0/28");
    expect(pool.node("n1")?.podCIDRs).toEqual(["10.0.1.0/28"]); // topped up from the other CIDR
  });

  it("overlap across pools is CIDR_COLLISION naming both", () => {
    let e = err(() => new ClusterPool({ pools: { a: { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } }, b: { ipv4: { cidrs: ["10.0.128.0/17"], maskSize: 24 } } } }));
    expect(e.code).toBe("CIDR_COLLISION");
    expect(e.path).toBe("options.pools.b.ipv4.cidrs[0]");
    expect(e.message).toContain("options.pools.a.ipv4.cidrs[0] 10.0.0.0/16");
    const pool = new ClusterPool({ pools: { a: { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } } } });
    e = err(() => pool.addPool("b", { ipv4: { cidrs: ["10.0.3.0/24"], maskSize: 26 } }));
    expect(e.code).toBe("CIDR_COLLISION");
    expect(e.message).toContain('pool "a" 10.0.0.0/16');
    e = err(() => pool.addPoolCidr("10.0.0.0/8", { pool: "a" }));
    expect(e.code).toBe("CIDR_COLLISION");
    pool.addPool("b", { ipv4: { cidrs: ["10.1.0.0/24"], maskSize: 26 } });
    expect(pool.ipPools().map((p) => p.name)).toEqual(["a", "b"]);
  });

  it("a dual-stack pool allocates both families or nothing", () => {
    const pool = new ClusterPool({
      pools: { ds: { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 28 }, ipv6: { cidrs: ["fd00::/124"], maskSize: 124 }, preAllocate: 0 } },
    });
    pool.addNode("n1");
    pool.addNode("n2");
    // fd00::/124 is one chunk of 14 usable: fd00::1 .. fd00::e
    expect(pool.allocate("n1", "p", { pool: "ds" })).toEqual({ ipv4: "10.0.0.1", ipv6: "fd00::1" });
    const before = pool.node("n2");
    expect(err(() => pool.allocate("n2", "q", { pool: "ds" })).code).toBe("FULL"); // the IPv6 chunk is n1's
    expect(pool.node("n2")).toEqual(before); // no IPv4 chunk taken either
    expect(pool.lookup("fd00::1")).toEqual({ node: "n1", pool: "ds", podCIDR: "fd00::/124", owner: "p", allocated: true });
    expect(pool.releaseOwner("p")).toEqual(["10.0.0.1", "fd00::1"]);
  });
});
