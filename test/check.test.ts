// pool.check(): injected leaks (stale nodes, stale owners, addresses without a known owner,
// a corrupted counter) are reported, and nothing else is; a property test against a model.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { ClusterPool, type CheckReport, type CheckOptions } from "../src/index.js";
import { err, expectCheck } from "./helpers.js";

// 10.0.0.0/16 with /24 nodes: next-fit gives n1 10.0.0.0/24, n2 10.0.1.0/24, n3 10.0.2.0/24;
// pods get 10.0.x.1, 10.0.x.2, ... in order (offset 0 is the network address).
const V4 = { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } };

/** n1: ns/a (10.0.0.1), ns/b (10.0.0.2); n2: ns/c (10.0.1.1); n3: nothing. */
function cluster(extra: object = {}): ClusterPool {
  const pool = new ClusterPool({ ...V4, ...extra });
  for (const n of ["n1", "n2", "n3"]) pool.addNode(n);
  pool.allocate("n1", "ns/a");
  pool.allocate("n1", "ns/b");
  pool.allocate("n2", "ns/c");
  return pool;
}

const ALL_NODES = ["n1", "n2", "n3"];
const ALL_OWNERS = ["ns/a", "ns/b", "ns/c"];
const clean = { nodes: [], owners: [], orphans: [], counters: [], problems: [], ok: true };

/** Adds 1 to the slot counter of the pool's first CIDR (bitmap header word +4: `used`). */
function corruptSlotCounter(pool: ClusterPool): void {
  const region = pool.describe().pools[0]!.nodeBitmap;
  new Uint32Array(pool.engine.memory.buffer)[(region >>> 2) + 1]! += 1;
}

/** Adds 1 to the pod counter of the range at `slot` of the first pool CIDR (its bitmap header word +4). */
function corruptPodCounter(pool: ClusterPool, slot: number): void {
  const e = pool.describe().pools[0]!.entry;
  const range = pool.engine.wasm.poolRegion(e, slot) >>> 0;
  new Uint32Array(pool.engine.memory.buffer)[(range >>> 2) + 1]! += 1;
}

interface Row {
  name: string;
  make: () => ClusterPool;
  options: CheckOptions | undefined;
  want: Partial<CheckReport>;
}

const rows: Row[] = [
  { name: "everything live: a clean report", make: () => cluster(), options: { nodes: ALL_NODES, owners: ALL_OWNERS }, want: clean },
  {
    name: "n3 is gone: it holds 10.0.2.0/24 (third /24 by next-fit) and no pods",
    make: () => cluster(),
    options: { nodes: ["n1", "n2"], owners: ALL_OWNERS },
    want: { ...clean, ok: false, nodes: [{ name: "n3", status: "ready", podCIDRs: ["10.0.2.0/24"], pods: 0, pools: [{ pool: "default", cidrs: ["10.0.2.0/24"] }] }] },
  },
  {
    name: "n1 is gone: its two pods count, its owners are still live pods (not reported as owners)",
    make: () => cluster(),
    options: { nodes: ["n2", "n3"], owners: ALL_OWNERS },
    want: { ...clean, ok: false, nodes: [{ name: "n1", status: "ready", podCIDRs: ["10.0.0.0/24"], pods: 2, pools: [{ pool: "default", cidrs: ["10.0.0.0/24"] }] }] },
  },
  {
    name: "ns/b is gone: it holds 10.0.0.2 (second pod on n1)",
    make: () => cluster(),
    options: { nodes: ALL_NODES, owners: ["ns/a", "ns/c"] },
    want: { ...clean, ok: false, owners: [{ owner: "ns/b", addresses: ["10.0.0.2"], pools: ["default"] }] },
  },
  {
    name: "an address taken without owner (numeric path) on n2: 10.0.1.2, after ns/c's 10.0.1.1",
    make: () => {
      const p = cluster();
      expect(p.allocateIPv4(p.handle("n2"))).toBe(0x0a000102);
      return p;
    },
    options: { nodes: ALL_NODES, owners: ALL_OWNERS },
    want: { ...clean, ok: false, orphans: [{ ip: "10.0.1.2", node: "n2", podCIDR: "10.0.1.0/24", pool: "default", reason: "no owner" }] },
  },
  {
    name: "router addresses (reserveRouterIP) and addresses in reuse cooldown are not orphans",
    make: () => {
      const p = cluster({ reserveRouterIP: "first", reuse: { cooldownMs: 60_000 }, clock: () => 0 });
      p.release("10.0.0.2"); // ns/a got .2, ns/b .3 (.1 is n1's router); .2 now cools down
      return p;
    },
    options: { nodes: ALL_NODES, owners: ALL_OWNERS },
    want: clean,
  },
  {
    // the taken count of n1's subnet (2) equals what its owner array names (2 ids): only the unknown id tells
    name: "10.0.0.1's owner slot says id 77: an orphan, ns/a lists 1 address but holds 0, and verify() sees the key",
    make: () => {
      const p = cluster();
      const e = p.describe().pools[0]!.entry;
      const aux = p.engine.wasm.bmAux(p.engine.wasm.poolRegion(e, 0) >>> 0) >>> 0; // n1 holds slot 0; its owner array
      new Uint32Array(p.engine.memory.buffer)[aux >>> 2] = 77; // offset 0 of 10.0.0.0/24 is 10.0.0.1 (ns/a)
      return p;
    },
    options: { nodes: ALL_NODES, owners: ALL_OWNERS },
    want: {
      ...clean,
      ok: false,
      orphans: [{ ip: "10.0.0.1", node: "n1", podCIDR: "10.0.0.0/24", pool: "default", reason: "unknown owner id 77" }],
      counters: [{ counter: 'addresses of owner "ns/a"', value: 1, recount: 0 }],
      problems: ["owner ns/a does not hold 10.0.0.1"],
    },
  },
  {
    name: "slot counter says 4, the bitmap holds 3 node subnets",
    make: () => {
      const p = cluster();
      corruptSlotCounter(p);
      return p;
    },
    options: { nodes: ALL_NODES, owners: ALL_OWNERS },
    want: { ...clean, ok: false, counters: [{ counter: "slots of 10.0.0.0/16", value: 4, recount: 3, pool: "default" }] },
  },
  {
    name: "n1's pod counter says 3, its bitmap holds 2 (ns/a, ns/b)",
    make: () => {
      const p = cluster();
      corruptPodCounter(p, 0); // n1 holds slot 0
      return p;
    },
    options: { nodes: ALL_NODES, owners: ALL_OWNERS },
    want: { ...clean, ok: false, counters: [{ counter: 'pods of node "n1" (10.0.0.0/24)', value: 3, recount: 2, pool: "default" }] },
  },
  {
    name: "no lists: nodes and owners are not compared, orphans still are",
    make: () => {
      const p = cluster();
      p.allocateIPv4(p.handle("n3")); // 10.0.2.1
      return p;
    },
    options: undefined,
    want: { ...clean, ok: false, orphans: [{ ip: "10.0.2.1", node: "n3", podCIDR: "10.0.2.0/24", pool: "default", reason: "no owner" }] },
  },
  {
    name: "a pending node that is gone is reported: it would take the next free subnet",
    make: () => {
      // 10.0.0.0/23 holds two /24s: n3 waits
      const p = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/23"], maskSize: 24 } });
      p.addNode("n1");
      p.addNode("n2");
      expect(() => p.addNode("n3")).toThrow(/full/);
      return p;
    },
    options: { nodes: ["n1", "n2"] },
    want: { ...clean, ok: false, nodes: [{ name: "n3", status: "pending", podCIDRs: [], pods: 0, pools: [] }] },
  },
  {
    name: "every leak at once, dual stack: owners hold one address per family",
    make: () => {
      const p = new ClusterPool({ ...V4, ipv6: { cidrs: ["fd00::/104"], maskSize: 120 } });
      p.addNode("n1"); // 10.0.0.0/24 and fd00::/120
      p.addNode("gone"); // 10.0.1.0/24 and fd00::100/120
      p.allocate("n1", "ns/live"); // 10.0.0.1, fd00::1
      p.allocate("n1", "ns/dead"); // 10.0.0.2, fd00::2
      p.allocate("gone", "ns/live-on-gone"); // 10.0.1.1, fd00::101
      return p;
    },
    options: { nodes: new Set(["n1"]), owners: new Set(["ns/live", "ns/live-on-gone"]) },
    want: {
      ...clean,
      ok: false,
      nodes: [{ name: "gone", status: "ready", podCIDRs: ["10.0.1.0/24", "fd00::100/120"], pods: 2, pools: [{ pool: "default", cidrs: ["10.0.1.0/24", "fd00::100/120"] }] }],
      owners: [{ owner: "ns/dead", addresses: ["10.0.0.2", "fd00::2"], pools: ["default"] }],
    },
  },
];

describe("check() reports injected leaks and nothing else", () => {
  it.each(rows)("$name", ({ make, options, want }) => expectCheck(make, options, want));
});

describe("check() arguments", () => {
  const bad: [string, unknown, string][] = [
    ["a number", 5, "check(options)"],
    ["an array", [], "check(options)"],
    ["null", null, "check(options)"],
    ["nodes as a string (iterable, but one name)", { nodes: "n1" }, "check(options.nodes)"],
    ["nodes null", { nodes: null }, "check(options.nodes)"],
    ["a number among the nodes", { nodes: ["n1", 7] }, "check(options.nodes[1])"],
    ["an empty owner", { owners: [""] }, "check(options.owners[0])"],
    ["an unknown key", { pods: [] }, "check(options.pods)"],
  ];
  it.each(bad)("%s is INVALID_ARGUMENT naming %s", (_what, options, path) => {
    const pool = cluster();
    const before = pool.snapshot();
    const e = err(() => pool.check(options as CheckOptions));
    expect(e.code).toBe("INVALID_ARGUMENT");
    expect(e.path).toBe(path);
    expect(e.message).toMatch(/^ipcarve: /);
    expect(pool.snapshot()).toEqual(before);
    pool.dispose();
  });

  it("a ClusterPool with named pools takes the same options, checked the same way (test/multipool/check.test.ts has its leaks)", () => {
    const pool = new ClusterPool({ pools: { blue: { ipv4: { cidrs: ["10.9.0.0/24"], maskSize: 28 } } } });
    expect(pool.check({ nodes: [], owners: new Set<string>() })).toEqual(clean);
    const e = err(() => pool.check({ nodes: ["n1", 7] } as never));
    expect([e.code, e.path]).toEqual(["INVALID_ARGUMENT", "check(options.nodes[1])"]);
    pool.dispose();
  });

  it("a disposed pool is INVALID_ARGUMENT", () => {
    const pool = cluster();
    pool.dispose();
    expect(err(() => pool.check()).message).toBe("ipcarve: ClusterPool.check: the pool is disposed");
  });
});

describe("check() against a model (property)", () => {
  type Op =
    | { op: "node"; n: number }
    | { op: "drop"; n: number }
    | { op: "pod"; n: number; o: number }
    | { op: "anon"; n: number }
    | { op: "releaseOwner"; o: number };
  const op = fc.oneof(
    fc.integer({ min: 0, max: 4 }).map((n): Op => ({ op: "node", n })),
    fc.integer({ min: 0, max: 4 }).map((n): Op => ({ op: "drop", n })),
    fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 9 })).map(([n, o]): Op => ({ op: "pod", n, o })),
    fc.integer({ min: 0, max: 4 }).map((n): Op => ({ op: "anon", n })),
    fc.integer({ min: 0, max: 9 }).map((o): Op => ({ op: "releaseOwner", o })),
  );

  it("stale nodes, stale owners and orphans are the model's; counters agree", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.uniqueArray(fc.integer({ min: 0, max: 4 })), fc.uniqueArray(fc.integer({ min: 0, max: 9 })), (ops, liveN, liveO) => {
        // 10.0.0.0/22: four /24s, so a fifth node waits (pending)
        const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/22"], maskSize: 24 } });
        // the model: node -> owner -> addresses, and anonymous addresses per node
        const nodes = new Map<string, { owned: Map<string, string[]>; anon: string[] }>();
        const pending = new Set<string>();
        for (const o of ops) {
          const node = `n${"n" in o ? o.n : 0}`;
          if (o.op === "node") {
            try {
              pool.addNode(node);
              pending.delete(node);
              if (!nodes.has(node)) nodes.set(node, { owned: new Map(), anon: [] });
            } catch {
              pending.add(node);
            }
          } else if (o.op === "drop") {
            pool.removeNode(node);
            nodes.delete(node);
            pending.delete(node);
            // removal serves a pending node (first come, first served): follow the pool
            for (const p of [...pending]) if (pool.node(p)?.status === "ready") { pending.delete(p); nodes.set(p, { owned: new Map(), anon: [] }); }
          } else if (o.op === "pod" && nodes.has(node)) {
            const ip = pool.allocate(node, `ns/p${o.o}`).ipv4 as string;
            const m = nodes.get(node)!.owned;
            m.set(`ns/p${o.o}`, [...(m.get(`ns/p${o.o}`) ?? []), ip]);
          } else if (o.op === "anon" && nodes.has(node)) {
            const ip = pool.allocateIPv4(pool.handle(node));
            const a = ip >>> 0;
            nodes.get(node)!.anon.push(`${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`);
          } else if (o.op === "releaseOwner") {
            pool.releaseOwner(`ns/p${o.o}`);
            for (const v of nodes.values()) v.owned.delete(`ns/p${o.o}`);
          }
        }
        const liveNodes = liveN.map((n) => `n${n}`);
        const liveOwners = liveO.map((o) => `ns/p${o}`);
        const r = pool.check({ nodes: liveNodes, owners: liveOwners });
        const staleNodes = [...nodes.keys(), ...pending].filter((n) => !liveNodes.includes(n)).sort();
        const held = new Map<string, string[]>();
        for (const v of nodes.values()) for (const [o, ips] of v.owned) held.set(o, [...(held.get(o) ?? []), ...ips]);
        const staleOwners = [...held.keys()].filter((o) => !liveOwners.includes(o)).sort();
        const orphans = [...nodes.values()].flatMap((v) => v.anon).sort();
        expect(r.nodes.map((n) => n.name).sort()).toEqual(staleNodes);
        expect(r.owners.map((o) => o.owner).sort()).toEqual(staleOwners);
        for (const o of r.owners) expect([...o.addresses].sort()).toEqual([...(held.get(o.owner) ?? [])].sort());
        expect(r.orphans.map((o) => o.ip).sort()).toEqual(orphans);
        expect(r.counters).toEqual([]);
        expect(r.problems).toEqual([]);
        pool.dispose();
      }),
      { numRuns: 60 },
    );
  });
});
