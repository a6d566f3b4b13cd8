// check() on a ClusterPool with named pools: injected leaks (stale nodes, stale owners, addresses
// without a known owner, corrupted counters) are reported with their pool, and nothing else is;
// a property test against a model of nodes, pools and owners.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { ClusterPool, type CheckReport, type CheckOptions } from "../../src/index.js";
import { MultiCore } from "../../src/pool/multi/state.js";
import { MultiPool } from "../../src/pool/multi/multi-pool.js";
import { resolveMultiOptions, type MultiPoolOptions } from "../../src/pool/multi/options.js";
import { checkOptions } from "../../src/pool/check.js";
import { expectCheck } from "../helpers.js";

// Two pools, no pre-allocation (a node takes a chunk at its first pod), a clock that stands still
// (an emptied chunk waits for its release delay forever). Chunks are /28 (IPv4: 14 usable, the
// first pod is .1 of the chunk) and /124 (IPv6). Table entries in order: 0 default 10.0.0.0/24,
// 1 blue 10.1.0.0/24, 2 blue fd00:1::/120.
const OPTIONS: MultiPoolOptions = {
  pools: {
    default: { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 28 }, preAllocate: 0 },
    blue: { ipv4: { cidrs: ["10.1.0.0/24"], maskSize: 28 }, ipv6: { cidrs: ["fd00:1::/120"], maskSize: 124 }, preAllocate: 0 },
  },
  clock: () => 0,
};

interface Checked {
  check(o?: CheckOptions): CheckReport;
  snapshot(): Uint8Array;
  dispose(): void;
}

/**
 * n1: ns/a 10.0.0.1, ns/b 10.0.0.2 (default chunk 10.0.0.0/28);
 * n2: ns/c 10.0.0.17 (default 10.0.0.16/28, next-fit), ns/d 10.1.0.1 + fd00:1::1 (blue 10.1.0.0/28, fd00:1::/124);
 * n3: no pod, so no chunk.
 */
function fill(p: { addNode(n: string): unknown; allocate(n: string, o: string, x?: { pool: string }): unknown }): void {
  for (const n of ["n1", "n2", "n3"]) p.addNode(n);
  p.allocate("n1", "ns/a");
  p.allocate("n1", "ns/b");
  p.allocate("n2", "ns/c");
  p.allocate("n2", "ns/d", { pool: "blue" });
}

/** Through ClusterPool (the facade routes check() to the named pools). */
function cluster(): ClusterPool {
  const p = new ClusterPool(OPTIONS);
  fill(p);
  return p;
}

/** The same pool with its state at hand, to inject what the API cannot make. */
function withCore(inject: (core: MultiCore) => void): Checked {
  const core = new MultiCore(resolveMultiOptions(OPTIONS));
  const m = new MultiPool(undefined, core);
  fill(m);
  inject(core);
  return { check: (o) => m.check(checkOptions(o)), snapshot: () => m.snapshot(), dispose: () => m.free() };
}

const u32 = (core: MultiCore): Uint32Array => new Uint32Array(core.engine.memory.buffer);

const ALL_NODES = ["n1", "n2", "n3"];
const ALL_OWNERS = ["ns/a", "ns/b", "ns/c", "ns/d"];
const clean = { nodes: [], owners: [], orphans: [], counters: [], problems: [], ok: true };

interface Row {
  name: string;
  make: () => Checked;
  options: CheckOptions | undefined;
  want: Partial<CheckReport>;
}

const rows: Row[] = [
  { name: "everything live: a clean report", make: cluster, options: { nodes: ALL_NODES, owners: ALL_OWNERS }, want: clean },
  {
    name: "n2 is gone: its chunks in both pools (blue first: pools in name order, IPv4 before IPv6), 3 addresses",
    make: cluster,
    options: { nodes: ["n1", "n3"], owners: ALL_OWNERS },
    want: {
      ...clean,
      ok: false,
      nodes: [{
        name: "n2", status: "ready", podCIDRs: ["10.1.0.0/28", "10.0.0.16/28", "fd00:1::/124"], pods: 3,
        pools: [{ pool: "blue", cidrs: ["10.1.0.0/28", "fd00:1::/124"] }, { pool: "default", cidrs: ["10.0.0.16/28"] }],
      }],
    },
  },
  {
    name: "n3 is gone but holds no chunk (no pod, pre-allocation 0): nothing to report",
    make: cluster,
    options: { nodes: ["n1", "n2"], owners: ALL_OWNERS },
    want: clean,
  },
  {
    name: "ns/d is gone: its two addresses in pool blue, IPv4 first (entry 1 before entry 2)",
    make: cluster,
    options: { nodes: ALL_NODES, owners: ["ns/a", "ns/b", "ns/c"] },
    want: { ...clean, ok: false, owners: [{ owner: "ns/d", addresses: ["10.1.0.1", "fd00:1::1"], pools: ["blue"] }] },
  },
  {
    name: "an owner with addresses in two pools names both",
    make: () => {
      const p = cluster();
      p.allocate("n1", "ns/x"); // 10.0.0.3
      p.allocate("n1", "ns/x", { pool: "blue" }); // n1's first blue chunk, next-fit after n2's: 10.1.0.17, fd00:1::11
      return p;
    },
    options: { nodes: ALL_NODES, owners: ALL_OWNERS },
    want: { ...clean, ok: false, owners: [{ owner: "ns/x", addresses: ["10.0.0.3", "10.1.0.17", "fd00:1::11"], pools: ["blue", "default"] }] },
  },
  {
    name: "an address taken without an owner in n1's chunk: 10.0.0.5 (rel 5 of entry 0)",
    make: () => withCore((core) => expect(core.entries[0]!.allocate(5, 0)).toBe(1)),
    options: { nodes: ALL_NODES, owners: ALL_OWNERS },
    want: { ...clean, ok: false, orphans: [{ ip: "10.0.0.5", node: "n1", podCIDR: "10.0.0.0/28", pool: "default", reason: "no owner" }] },
  },
  {
    name: "10.1.0.1's owner slot says id 77: an orphan, ns/d lists 2 addresses but holds 1, and verify() sees the key",
    make: () => withCore((core) => {
      const e = core.entries[1]!;
      const owners = e.owners(e.range(0))!; // n2 holds slot 0 of 10.1.0.0/24; offset 0 is 10.1.0.1
      owners[0] = 77;
    }),
    options: { nodes: ALL_NODES, owners: ALL_OWNERS },
    want: {
      ...clean,
      ok: false,
      orphans: [{ ip: "10.1.0.1", node: "n2", podCIDR: "10.1.0.0/28", pool: "blue", reason: "unknown owner id 77" }],
      counters: [{ counter: 'addresses of owner "ns/d"', value: 2, recount: 1 }],
      // key = entry 1 * 2^32 + rel 1
      problems: ["10.1.0.1 is held by owner id 77, who does not list it", `owner ns/d lists an address it does not hold (key ${2 ** 32 + 1})`],
    },
  },
  {
    name: "the chunk-slot counter of 10.0.0.0/24 says 3, its bitmap holds 2 chunks",
    make: () => withCore((core) => { u32(core)[(core.entries[0]!.set.region >>> 2) + 1]! += 1; }),
    options: { nodes: ALL_NODES, owners: ALL_OWNERS },
    want: { ...clean, ok: false, counters: [{ counter: "slots of 10.0.0.0/24", value: 3, recount: 2, pool: "default" }] },
  },
  {
    name: "n1's pod counter in 10.0.0.0/28 says 3, its bitmap holds 2 (ns/a, ns/b)",
    make: () => withCore((core) => { u32(core)[(core.entries[0]!.range(0) >>> 2) + 1]! += 1; }),
    options: { nodes: ALL_NODES, owners: ALL_OWNERS },
    want: { ...clean, ok: false, counters: [{ counter: 'pods of node "n1" (10.0.0.0/28)', value: 3, recount: 2, pool: "default" }] },
  },
  {
    name: "no lists: nodes and owners are not compared, orphans still are",
    make: () => withCore((core) => expect(core.entries[2]!.allocate(2, 0)).toBe(1)), // fd00:1::2 in n2's /124
    options: undefined,
    want: { ...clean, ok: false, orphans: [{ ip: "fd00:1::2", node: "n2", podCIDR: "fd00:1::/124", pool: "blue", reason: "no owner" }] },
  },
];

describe("check() with named pools reports injected leaks with their pool, and nothing else", () => {
  it.each(rows)("$name", ({ make, options, want }) => expectCheck(make, options, want));

  it("a chunk whose release delay ran out is still held by check() (it changes nothing) and is no leak", () => {
    let now = 0;
    const p = new ClusterPool({ ...OPTIONS, releaseDelayMs: 10, clock: () => now });
    fill(p);
    p.releaseOwner("ns/c"); // n2's default chunk is empty beyond the watermark (0): it waits 10 ms
    now = 100;
    expect(p.check({ nodes: ALL_NODES, owners: ["ns/a", "ns/b", "ns/d"] })).toEqual(clean);
    expect(p.node("n2")!.podCIDRs).toContain("10.0.0.16/28"); // still held until the next call that changes the pool
    p.dispose();
  });
});

describe("check() with named pools against a model (property)", () => {
  type Op = { op: "node"; n: number } | { op: "drop"; n: number } | { op: "pod"; n: number; o: number; pool: "default" | "blue" } | { op: "releaseOwner"; o: number };
  const op = fc.oneof(
    fc.integer({ min: 0, max: 4 }).map((n): Op => ({ op: "node", n })),
    fc.integer({ min: 0, max: 4 }).map((n): Op => ({ op: "drop", n })),
    fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 9 }), fc.constantFrom("default" as const, "blue" as const)).map(([n, o, pool]): Op => ({ op: "pod", n, o, pool })),
    fc.integer({ min: 0, max: 9 }).map((o): Op => ({ op: "releaseOwner", o })),
  );

  it("stale nodes (holding chunks), stale owners with their pools are the model's; counters agree", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.uniqueArray(fc.integer({ min: 0, max: 4 })), fc.uniqueArray(fc.integer({ min: 0, max: 9 })), (ops, liveN, liveO) => {
        let now = 0;
        // release delay 5 ms, 1 ms per operation: emptied chunks go back during the run
        const pool = new ClusterPool({ ...OPTIONS, releaseDelayMs: 5, clock: () => now });
        // the model: owner -> [node, pool, addresses]; nodes known
        const nodes = new Set<string>();
        const held = new Map<string, { node: string; pool: string; ips: string[] }[]>();
        for (const o of ops) {
          now++;
          const node = `n${"n" in o ? o.n : 0}`;
          if (o.op === "node") {
            pool.addNode(node);
            nodes.add(node);
          } else if (o.op === "drop") {
            pool.removeNode(node);
            nodes.delete(node);
            for (const [owner, list] of held) held.set(owner, list.filter((h) => h.node !== node));
          } else if (o.op === "pod" && nodes.has(node)) {
            const a = pool.allocate(node, `ns/p${o.o}`, { pool: o.pool });
            const ips = [a.ipv4, a.ipv6].filter((x): x is string => x !== undefined);
            held.set(`ns/p${o.o}`, [...(held.get(`ns/p${o.o}`) ?? []), { node, pool: o.pool, ips }]);
          } else if (o.op === "releaseOwner") {
            pool.releaseOwner(`ns/p${o.o}`);
            held.delete(`ns/p${o.o}`);
          }
        }
        const liveNodes = liveN.map((n) => `n${n}`);
        const liveOwners = liveO.map((o) => `ns/p${o}`);
        const r = pool.check({ nodes: liveNodes, owners: liveOwners });
        // a node is stale if it is not live and holds a chunk (node() lists its chunks)
        const staleNodes = [...nodes].filter((n) => !liveNodes.includes(n) && pool.node(n)!.podCIDRs.length > 0).sort();
        const owning = [...held].filter(([, l]) => l.length > 0);
        const staleOwners = owning.filter(([o]) => !liveOwners.includes(o)).map(([o]) => o).sort();
        expect(r.nodes.map((n) => n.name).sort()).toEqual(staleNodes);
        for (const n of r.nodes) {
          const pods = [...held.values()].flat().filter((h) => h.node === n.name).reduce((k, h) => k + h.ips.length, 0);
          expect(n.pods).toBe(pods);
          expect(n.pools).toEqual(pool.node(n.name)!.pools);
        }
        expect(r.owners.map((o) => o.owner).sort()).toEqual(staleOwners);
        for (const o of r.owners) {
          const list = held.get(o.owner)!;
          expect([...o.addresses].sort()).toEqual(list.flatMap((h) => h.ips).sort());
          expect(o.pools).toEqual([...new Set(list.map((h) => h.pool))].sort());
        }
        expect(r.orphans).toEqual([]);
        expect(r.counters).toEqual([]);
        expect(r.problems).toEqual([]);
        pool.dispose();
      }),
      { numRuns: 60 },
    );
  });
});
