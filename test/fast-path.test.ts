// The numeric IPv4 fast path against a Set of addresses: batches with
// duplicates, strays, several nodes and owned addresses mixed in.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { ClusterPool } from "../src/index.js";

describe("numeric IPv4 batches vs a model", () => {
  it("allocate / release / lookup batches agree with a Set", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ k: fc.constant("alloc" as const), node: fc.nat(3), n: fc.integer({ min: 1, max: 300 }) }),
            fc.record({ k: fc.constant("owned" as const), node: fc.nat(3), o: fc.nat(20) }),
            fc.record({ k: fc.constant("release" as const), picks: fc.array(fc.nat(2000), { maxLength: 400 }), strays: fc.array(fc.nat(0x0400), { maxLength: 20 }) }),
          ),
          { maxLength: 40 },
        ),
        (ops) => {
          const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/22"], maskSize: 24 } }); // 4 nodes x 254
          const handles = ["a", "b", "c", "d"].map((n) => {
            pool.addNode(n);
            return pool.handle(n);
          });
          const held = new Map<number, number>(); // ip -> handle
          for (const op of ops) {
            if (op.k === "alloc") {
              const h = handles[op.node] as number;
              const out = new Uint32Array(op.n);
              const got = pool.allocateIPv4Batch(h, out);
              const free = 254 - [...held.values()].filter((x) => x === h).length;
              expect(got).toBe(Math.min(op.n, free));
              for (const ip of out.subarray(0, got)) {
                expect(held.has(ip)).toBe(false);
                held.set(ip, h);
              }
            } else if (op.k === "owned") {
              const name = ["a", "b", "c", "d"][op.node] as string;
              try {
                const ip = pool.allocate(name, `ns/p${op.o}`).ipv4 as string;
                const v = ip.split(".").reduce((a, x) => a * 256 + Number(x), 0);
                held.set(v, handles[op.node] as number);
              } catch {
                // full
              }
            } else {
              const all = [...held.keys()];
              const ips = [
                ...op.picks.map((i) => all[i % Math.max(1, all.length)] ?? 0x0a000001), // duplicates on purpose
                ...op.strays.map((x) => 0x0a000000 + x), // network, broadcast, free and foreign addresses
              ];
              const want = new Set(ips.filter((ip) => held.has(ip))).size;
              expect(pool.releaseIPv4Batch(Uint32Array.from(ips))).toBe(want);
              for (const ip of ips) held.delete(ip);
            }
            const probe = Uint32Array.from({ length: 1024 }, (_, i) => 0x0a000000 + i);
            const nodes = new Uint32Array(1024);
            pool.lookupIPv4Batch(probe, nodes);
            for (let i = 0; i < 1024; i++) expect(nodes[i]).toBe(handles[i >> 8]); // every address of a /24 names its node
            expect(pool.stats().pods).toBe(held.size);
          }
          expect(pool.verify()).toEqual([]);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("the numeric path takes no new pods on a draining node, as allocate() does", () => {
  it("allocateIPv4 and allocateIPv4Batch are UNKNOWN_NODE (being removed) while the node drains; releases still work", () => {
    let t = 0;
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 }, clock: () => t });
    pool.addNode("a");
    const h = pool.handle("a");
    const ip = pool.allocateIPv4(h); // 10.0.0.1
    pool.removeNode("a", { graceMs: 1000 });
    const before = pool.snapshot();
    for (const call of [() => pool.allocateIPv4(h), () => pool.allocateIPv4Batch(h, new Uint32Array(4))]) {
      try {
        call();
        expect.unreachable("a draining node took a pod");
      } catch (e) {
        expect((e as { code?: string }).code).toBe("UNKNOWN_NODE");
        expect((e as Error).message).toBe('ipcarve: unknown node "a" (being removed)');
      }
    }
    expect(Buffer.from(pool.snapshot()).equals(Buffer.from(before))).toBe(true);
    expect(pool.releaseIPv4(ip)).toBe(true); // a draining node's pods may still go
    t = 1000;
    pool.tick();
    expect(pool.nodeNames()).toEqual([]);
  });
});
