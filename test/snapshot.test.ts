/**
 * Snapshots (src/state/snapshot.ts, ClusterPool.snapshot/restore):
 * round trips of varied pools are byte-identical and behave the same
 * afterwards; damaged bytes are CORRUPT_STATE and build nothing.
 */
import { describe, it, expect } from "vitest";
import { err, crc } from "./helpers.js";
import fc from "fast-check";
import { ClusterPool, IpamError } from "../src/index.js";
import type { ClusterPoolOptions } from "../src/index.js";

const attempt = (fn: () => unknown): unknown => {
  try {
    return fn();
  } catch (e) {
    if (e instanceof IpamError) return e.code;
    throw e;
  }
};

/** A virtual clock shared by a pool and its restored copy. */
function virtualClock(): { clock: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { clock: () => t, advance: (ms) => (t += ms) };
}

/** What a caller sees: stats, CiliumNode export, per-node details without handles, sampled lookups. */
function observe(pool: ClusterPool, sample: readonly string[]): unknown {
  return {
    stats: pool.stats(),
    export: pool.exportCiliumNodes(),
    nodes: pool.nodeNames().map((n) => {
      const { handle: _h, ...d } = pool.node(n)!;
      return d;
    }),
    pending: pool.pendingNodes(),
    pools: pool.poolCidrs(),
    lookups: sample.map((ip) => [ip, pool.lookup(ip)]),
    verify: pool.verify(),
  };
}

/** The same next operations on both pools give the same answers. */
function future(pool: ClusterPool, advance: (ms: number) => void): unknown[] {
  const out: unknown[] = [];
  for (const n of pool.nodeNames()) {
    for (let i = 0; i < 3; i++) out.push(attempt(() => pool.allocate(n, `future/${n}-${i}`)));
  }
  out.push(attempt(() => pool.addNode("fresh-1")));
  out.push(attempt(() => pool.allocate("fresh-1", "future/f1")));
  advance(10_000); // past every cooldown and grace period below
  out.push(attempt(() => pool.addNode("fresh-2")));
  for (const n of pool.nodeNames()) out.push(attempt(() => pool.allocate(n, `future/${n}-late`)));
  out.push(pool.verify());
  return out;
}

/** Sampled addresses: the first 6 of each IPv4 pod CIDR, and every address the owners ns/p0..p49 hold (both families). */
function sampleIps(pool: ClusterPool): string[] {
  const ips = new Set<string>();
  for (const n of pool.nodeNames()) {
    for (const c of pool.node(n)!.podCIDRs) {
      if (c.includes(":")) continue;
      const p = c.split("/")[0]!.split(".").map(Number);
      for (let i = 0; i < 6; i++) ips.add(`${p[0]}.${p[1]}.${p[2]}.${p[3]! + i}`);
    }
  }
  for (let i = 0; i < 50; i++) for (const ip of pool.addressesOf(`ns/p${i}`)) ips.add(ip);
  return [...ips];
}

interface Scenario {
  readonly name: string;
  readonly build: (clock: () => number, advance: (ms: number) => void) => ClusterPool;
}

const scenarios: Scenario[] = [
  {
    name: "dual stack, owners with several addresses",
    build: (clock) => {
      const p = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 26 }, ipv6: { cidrs: ["fd00::/120"], maskSize: 122 }, clock });
      for (const n of ["a", "b", "c"]) p.addNode(n);
      for (let i = 0; i < 20; i++) p.allocate(["a", "b", "c"][i % 3]!, `ns/p${i % 7}`); // 7 owners, up to 3 pods each
      p.releaseOwner("ns/p3");
      p.release(p.addressesOf("ns/p1")[0]!);
      return p;
    },
  },
  {
    name: "maxNodeSubnets 16 with overflow { smaller: 26 } on 192.168.0.0/16 /24",
    build: (clock) => {
      const p = new ClusterPool({ ipv4: { cidrs: ["192.168.0.0/16"], maskSize: 24 }, maxNodeSubnets: 16, overflow: { smaller: 26 }, clock });
      // 16 big /24s, then /26s from the rest: nodes 17..20 get /26s
      for (let i = 0; i < 20; i++) p.addNode(`n${i}`);
      expect(p.node("n0")!.podCIDRs[0]).toMatch(/\/24$/);
      expect(p.node("n19")!.podCIDRs[0]).toMatch(/\/26$/);
      for (let i = 0; i < 40; i++) p.allocate(`n${i % 20}`, `ns/p${i}`);
      p.removeNode("n3"); // a big hole frees: the next node gets a /24 again
      p.addNode("n20");
      return p;
    },
  },
  {
    name: "overflow 'share': nodes beyond the cap borrow",
    build: (clock) => {
      const p = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 26 }, maxNodeSubnets: 2, overflow: "share", clock });
      for (const n of ["a", "b", "c", "d"]) p.addNode(n); // c and d share
      for (let i = 0; i < 12; i++) p.allocate(["a", "b", "c", "d"][i % 4]!, `ns/p${i}`);
      return p;
    },
  },
  {
    name: "reserved subnets and IPs, reserveRouterIP 'last'",
    build: (clock) => {
      const p = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 27 }, reserveRouterIP: "last", clock }); // 2^(27-24) = 8 subnets
      p.reserve("10.0.0.32/27");
      p.reserve("10.0.0.192/26"); // two more slots
      p.reserve("10.0.0.5/32");
      p.reserve("10.0.0.68/30");
      for (const n of ["a", "b", "c"]) p.addNode(n);
      for (let i = 0; i < 10; i++) p.allocate(["a", "b", "c"][i % 3]!, `ns/p${i}`);
      p.unreserve("10.0.0.68/30");
      return p;
    },
  },
  {
    name: "pending and draining nodes (virtual clock)",
    build: (clock) => {
      const p = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 26 }, clock }); // 4 subnets
      for (const n of ["a", "b", "c", "d"]) p.addNode(n);
      expect(() => p.addNode("e")).toThrow(/full/);
      expect(() => p.addNode("f")).toThrow(/full/);
      for (let i = 0; i < 8; i++) p.allocate(["a", "b", "c", "d"][i % 4]!, `ns/p${i}`);
      p.removeNode("b", { graceMs: 5000 }); // drains until t + 5000
      return p;
    },
  },
  {
    name: "reuse cooldown with addresses waiting",
    build: (clock, advance) => {
      const p = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 26 }, ipv6: { cidrs: ["fd00::/120"], maskSize: 122 }, reuse: { cooldownMs: 1000 }, clock });
      p.addNode("a");
      p.addNode("b");
      for (let i = 0; i < 10; i++) p.allocate(i % 2 ? "a" : "b", `ns/p${i}`);
      p.releaseOwner("ns/p0");
      advance(600);
      p.releaseOwner("ns/p1");
      p.release(p.addressesOf("ns/p2")[0]!);
      advance(500); // ns/p0's addresses are due, the others wait
      return p;
    },
  },
  {
    name: "addPoolCidr and removePoolCidr",
    build: (clock) => {
      const p = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/25"], maskSize: 26 }, clock }); // 2 subnets
      p.addNode("a");
      p.addNode("b");
      expect(() => p.addNode("c")).toThrow(/full/);
      p.addPoolCidr("10.1.0.0/24"); // c is served from it
      p.addPoolCidr("10.2.0.0/24");
      p.removePoolCidr("10.2.0.0/24"); // empty: removed, its table index stays taken
      p.allocate("c", "ns/p0");
      return p;
    },
  },
  {
    name: "numeric allocateIPv4Batch (no owners) mixed with owners",
    build: (clock) => {
      const p = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/22"], maskSize: 24 }, clock });
      p.addNode("a");
      p.addNode("b");
      const out = new Uint32Array(100);
      expect(p.allocateIPv4Batch(p.handle("a"), out, 100)).toBe(100);
      p.releaseIPv4Batch(out.subarray(10, 20));
      p.allocate("a", "ns/p0");
      p.allocateIPv4(p.handle("b"));
      return p;
    },
  },
];

describe("snapshot -> restore round trips", () => {
  for (const s of scenarios) {
    it(s.name, () => {
      const { clock, advance } = virtualClock();
      const original = s.build(clock, advance);
      const bytes = original.snapshot();
      const restored = ClusterPool.restore(bytes, { clock });
      expect(Buffer.from(restored.snapshot()).equals(Buffer.from(bytes))).toBe(true);
      const sample = sampleIps(original);
      expect(sample.length).toBeGreaterThan(0);
      expect(observe(restored, sample)).toEqual(observe(original, sample));
      // the same next operations give the same answers; the clock moves for the original, then goes back for the copy
      let t = 0;
      const a = future(original, (ms) => {
        advance(ms);
        t += ms;
      });
      advance(-t);
      const b = future(restored, advance);
      expect(b).toEqual(a);
      expect(observe(restored, sample)).toEqual(observe(original, sample));
    });
  }

  it("restore takes runtime options only: the pool options come from the snapshot", () => {
    const p = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 26 } });
    p.addNode("a");
    const r = ClusterPool.restore(p.snapshot());
    expect(r.poolCidrs()).toEqual([{ family: 4, cidrs: ["10.0.0.0/24"] }]);
    expect(r.node("a")!.podCIDRs).toEqual(["10.0.0.0/26"]);
  });

  it("the 'random' pod strategy continues the same after a restore (seeded per node incarnation)", () => {
    // the pod range rng of a node added after restore is seeded from a per-pool epoch counter
    // that the snapshot does not keep: a restored pool gives a new node other addresses
    const { clock } = virtualClock();
    const p = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/22"], maskSize: 24 }, podStrategy: "random", seed: 7, clock });
    p.addNode("a");
    p.addNode("b");
    p.removeNode("a"); // the epoch counter is now 2; a restore renumbers the one node left as 1
    const r = ClusterPool.restore(p.snapshot(), { clock });
    p.addNode("c");
    r.addNode("c");
    const a = Array.from({ length: 5 }, (_, i) => p.allocate("c", `x${i}`).ipv4);
    const b = Array.from({ length: 5 }, (_, i) => r.allocate("c", `x${i}`).ipv4);
    expect(b).toEqual(a);
  });
});

describe("property: random operation sequences round-trip", () => {
  type Op =
    | { k: "add"; n: number }
    | { k: "remove"; n: number; grace: boolean }
    | { k: "alloc"; n: number; o: number }
    | { k: "release"; o: number }
    | { k: "releaseOwner"; o: number }
    | { k: "reserve"; i: number }
    | { k: "time"; ms: number }
    | { k: "batch"; n: number; count: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ k: fc.constant("add" as const), n: fc.nat(9) }),
    fc.record({ k: fc.constant("remove" as const), n: fc.nat(9), grace: fc.boolean() }),
    fc.record({ k: fc.constant("alloc" as const), n: fc.nat(9), o: fc.nat(30) }),
    fc.record({ k: fc.constant("alloc" as const), n: fc.nat(9), o: fc.nat(30) }),
    fc.record({ k: fc.constant("release" as const), o: fc.nat(30) }),
    fc.record({ k: fc.constant("releaseOwner" as const), o: fc.nat(30) }),
    fc.record({ k: fc.constant("reserve" as const), i: fc.nat(255) }),
    fc.record({ k: fc.constant("time" as const), ms: fc.nat(400) }),
    fc.record({ k: fc.constant("batch" as const), n: fc.nat(9), count: fc.integer({ min: 1, max: 20 }) }),
  );
  const configs: ClusterPoolOptions[] = [
    { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 27 }, reuse: { cooldownMs: 300 } }, // 8 subnets for 10 names: some wait
    { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 26 }, ipv6: { cidrs: ["fd00::/120"], maskSize: 122 }, reserveRouterIP: "first" },
    { ipv4: { cidrs: ["10.0.0.0/23"], maskSize: 25 }, maxNodeSubnets: 2, overflow: { smaller: 27 }, reuse: { minFreeBeforeReuse: 3 } },
    { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 26 }, maxNodeSubnets: 2, overflow: "share" },
  ];
  it("snapshot -> restore -> snapshot is byte-identical, and the pools agree afterwards", () => {
    fc.assert(
      fc.property(fc.nat(configs.length - 1), fc.array(op, { maxLength: 80 }), (ci, ops) => {
        const { clock, advance } = virtualClock();
        const pool = new ClusterPool({ ...configs[ci]!, clock });
        for (const o of ops) {
          attempt(() => {
            switch (o.k) {
              case "add": return pool.addNode(`n${o.n}`);
              case "remove": return pool.removeNode(`n${o.n}`, o.grace ? { graceMs: 500 } : {});
              case "alloc": return pool.allocate(`n${o.n}`, `o${o.o}`);
              case "release": { const ip = pool.addressesOf(`o${o.o}`)[0]; return ip && pool.release(ip); }
              case "releaseOwner": return pool.releaseOwner(`o${o.o}`);
              case "reserve": return pool.reserve(`10.0.0.${o.i}/32`);
              case "time": return advance(o.ms);
              case "batch": return pool.allocateIPv4Batch(pool.handle(`n${o.n}`), new Uint32Array(o.count));
            }
          });
        }
        const bytes = pool.snapshot();
        const restored = ClusterPool.restore(bytes, { clock });
        expect(Buffer.from(restored.snapshot()).equals(Buffer.from(bytes))).toBe(true);
        const sample = Array.from({ length: 64 }, (_, i) => `10.0.0.${i * 4 + 1}`);
        expect(observe(restored, sample)).toEqual(observe(pool, sample));
        let t = 0;
        const a = future(pool, (ms) => {
          advance(ms);
          t += ms;
        });
        advance(-t);
        expect(future(restored, advance)).toEqual(a);
      }),
      { numRuns: 150, seed: 42 },
    );
  });
});

describe("damaged snapshots are CORRUPT_STATE and build nothing", () => {
  const base = (): Uint8Array => {
    const p = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 26 }, ipv6: { cidrs: ["fd00::/120"], maskSize: 122 }, reuse: { cooldownMs: 100 } });
    p.addNode("a");
    p.addNode("b");
    for (let i = 0; i < 10; i++) p.allocate(i % 2 ? "a" : "b", `ns/p${i}`);
    p.releaseOwner("ns/p4");
    return p.snapshot();
  };
  const bytes = base();
  const corrupt = (b: Uint8Array): IpamError => {
    let pool: ClusterPool | undefined;
    const e = err(() => (pool = ClusterPool.restore(b)));
    expect(pool).toBeUndefined();
    return e;
  };

  it("every truncation from 0 to 400 bytes, and cuts in the middle and one short of the end", () => {
    expect(bytes.length).toBeGreaterThan(400);
    const cuts = [...Array.from({ length: 401 }, (_, i) => i), bytes.length >> 1, (bytes.length >> 1) + 1, bytes.length - 4, bytes.length - 1];
    for (const n of cuts) expect(corrupt(bytes.slice(0, n)).code, `cut at ${n}`).toBe("CORRUPT_STATE");
  });

  it("a byte flipped anywhere", () => {
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const b = bytes.slice();
        b[at]! ^= x;
        expect(corrupt(b).code).toBe("CORRUPT_STATE");
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it("padding after the end", () => {
    const b = new Uint8Array(bytes.length + 4);
    b.set(bytes);
    expect(corrupt(b).code).toBe("CORRUPT_STATE");
  });

  const header: { name: string; at: number; value: number; why: RegExp }[] = [
    { name: "wrong version (2)", at: 8, value: 2, why: /version 2/ },
    { name: "wrong version (0)", at: 8, value: 0, why: /version 0/ },
    { name: "wrong magic", at: 0, value: 0x52415049, why: /magic/ }, // "IPAR"
  ];
  for (const h of header) {
    it(h.name, () => {
      const b = bytes.slice();
      new DataView(b.buffer).setUint32(h.at, h.value, true);
      const e = corrupt(b);
      expect(e.code).toBe("CORRUPT_STATE");
      expect(e.message).toMatch(h.why);
    });
  }

  it("a well-formed snapshot whose description does not fit its data is CORRUPT_STATE (checksum recomputed)", () => {
    // rewrite the JSON (same length) and fix the CRC: only the semantic checks can catch it
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const jsonLen = dv.getUint32(16, true);
    const json = new TextDecoder().decode(bytes.subarray(24, 24 + jsonLen));
    const evil = json.replace('"10.0.0.0/24"', '"10.0.9.0/24"'); // a pool CIDR that the options do not have
    expect(evil).not.toBe(json);
    const b = bytes.slice();
    b.set(new TextEncoder().encode(evil), 24);
    const v = new DataView(b.buffer);
    v.setUint32(b.length - 4, crc(b.subarray(0, b.length - 4)), true);
    expect(corrupt(b).code).toBe("CORRUPT_STATE");
  });

  it("not a Uint8Array is INVALID_ARGUMENT (a wrong type, not damaged bytes)", () => {
    expect(corrupt("IPCARVE" as never).code).toBe("INVALID_ARGUMENT");
  });
});
