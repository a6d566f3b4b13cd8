// Differential tests: random operation sequences against tiny reference
// models that implement Cilium's semantics the slow, obvious way.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { CidrSet, PodRange, Engine, IpamError } from "../src/index.js";

/** Cilium cidrset, bit by bit: next-fit from nextCandidate, wrapping. */
class CidrSetModel {
  readonly used = new Set<number>();
  next = 0;
  constructor(readonly capacity: number) {}
  allocateNext(): number | "FULL" {
    if (this.used.size === this.capacity) return "FULL";
    let c = this.next;
    while (this.used.has(c)) c = (c + 1) % this.capacity;
    this.used.add(c);
    this.next = (c + 1) % this.capacity;
    return c;
  }
}

const PLACES = ["10.0.0.0", "10.0.1.0", "10.0.2.128", "10.0.3.7", "10.0.0.64", "10.1.0.0", "9.0.0.0"];

describe("CidrSet vs model", () => {
  it("random allocateNext / occupy / release / isAllocated", () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant("next" as const) }),
      fc.record({ k: fc.constantFrom("occupy" as const, "release" as const, "is" as const), at: fc.constantFrom(...PLACES), len: fc.integer({ min: 14, max: 32 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 18, max: 26 }), fc.array(op, { maxLength: 200 }), (nodeMask, ops) => {
        const set = new CidrSet("10.0.0.0/18", nodeMask);
        const model = new CidrSetModel(2 ** (nodeMask - 18));
        const span = (at: string, len: number): [number, number] | "NOT_IN_RANGE" => {
          // indices by Cilium's rule, computed with plain numbers
          const ip = at.split(".").reduce((a, o) => a * 256 + Number(o), 0);
          const net = Math.floor(ip / 2 ** (32 - len)) * 2 ** (32 - len);
          const last = net + 2 ** (32 - len) - 1;
          const lo = 0x0a000000, hi = 0x0a000000 + 2 ** 14 - 1; // 10.0.0.0/18
          if (last < lo || net > hi) return "NOT_IN_RANGE";
          if (len <= 18) return [0, model.capacity - 1];
          const step = 2 ** (32 - nodeMask);
          return [Math.floor((net - lo) / step), Math.floor((last - lo) / step)];
        };
        for (const o of ops) {
          if (o.k === "next") {
            const want = model.allocateNext();
            let got: number | "FULL";
            try {
              got = set.indexOf(set.allocateNext());
            } catch (e) {
              got = (e as IpamError).code as "FULL";
            }
            expect(got).toBe(want);
            continue;
          }
          const cidr = `${o.at}/${o.len}`;
          const s = span(o.at, o.len);
          if (s === "NOT_IN_RANGE") {
            expect(() => (o.k === "occupy" ? set.occupy(cidr) : o.k === "release" ? set.release(cidr) : set.isAllocated(cidr))).toThrow(/not in the range/);
            continue;
          }
          const [a, b] = s;
          if (o.k === "occupy") {
            set.occupy(cidr);
            for (let i = a; i <= b; i++) model.used.add(i);
          } else if (o.k === "release") {
            set.release(cidr);
            for (let i = a; i <= b; i++) model.used.delete(i);
          } else {
            let all = true;
            for (let i = a; i <= b; i++) all &&= model.used.has(i);
            expect(set.isAllocated(cidr)).toBe(all);
          }
          expect(set.used).toBe(model.used.size);
        }
        expect(set.used).toBe(model.used.size);
        expect(set.isFull()).toBe(model.used.size === model.capacity);
      }),
      { numRuns: 300 },
    );
  });
});

describe("PodRange vs model", () => {
  it("random allocateNext / allocate / release / has, all strategies", () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant("next" as const) }),
      fc.record({ k: fc.constantFrom("alloc" as const, "release" as const, "has" as const), host: fc.integer({ min: 0, max: 80 }) }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 26, max: 32 }),
        fc.constantFrom("next-fit" as const, "first-free" as const, "random" as const),
        fc.integer({ min: 0, max: 1000 }),
        fc.array(op, { maxLength: 300 }),
        (prefix, strategy, seed, ops) => {
          const r = new PodRange(`10.0.0.0/${prefix}`, { strategy, seed });
          const total = 2 ** (32 - prefix);
          const first = total <= 2 ? 0 : 1; // /31 and /32 keep every address
          const size = total <= 2 ? total : total - 2;
          const used = new Set<number>(); // host offsets
          let cursor = first;
          const usable = (h: number): boolean => h >= first && h < first + size;
          for (const o of ops) {
            if (o.k === "next") {
              if (used.size === size) {
                expect(() => r.allocateNext()).toThrow(/is full/);
                continue;
              }
              const ip = r.allocateNext();
              const h = Number(ip.split(".")[3]);
              expect(usable(h)).toBe(true);
              expect(used.has(h)).toBe(false);
              if (strategy === "first-free") {
                let want = first;
                while (used.has(want)) want++;
                expect(h).toBe(want);
              } else if (strategy === "next-fit") {
                let want = cursor;
                while (used.has(want)) want = want + 1 < first + size ? want + 1 : first;
                expect(h).toBe(want);
              }
              used.add(h);
              cursor = h + 1 < first + size ? h + 1 : first;
              continue;
            }
            const ip = `10.0.0.${o.host}`;
            const inRange = o.host < total && usable(o.host);
            if (o.k === "alloc") {
              if (!inRange) expect(() => r.allocate(ip)).toThrow(/not in the range/);
              else if (used.has(o.host)) expect(() => r.allocate(ip)).toThrow(/already allocated/);
              else {
                r.allocate(ip);
                used.add(o.host);
              }
            } else if (o.k === "release") {
              r.release(ip);
              used.delete(o.host);
            } else {
              expect(r.has(ip)).toBe(inRange && used.has(o.host));
            }
            expect(r.used).toBe(used.size);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("hierarchical bitmap vs model", () => {
  it("summary levels stay exact and the counter matches a recount", () => {
    const engine = Engine.create();
    const w = engine.wasm;
    const op = fc.oneof(
      fc.record({ k: fc.constantFrom("next" as const, "first" as const) }),
      fc.record({ k: fc.constantFrom("occupy" as const, "clear" as const), a: fc.nat(), len: fc.integer({ min: 1, max: 70000 }) }),
      fc.record({ k: fc.constantFrom("set" as const, "drop" as const), a: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.constantFrom(1, 63, 64, 65, 4095, 4096, 4097, 262_143, 262_145), fc.boolean(), fc.array(op, { maxLength: 60 }), (n, atomic, ops) => {
        const h = engine.alloc(w.bmBytes(n));
        w.bmInit(h, n, atomic ? 1 : 0, 1n, 0);
        const model = new Uint8Array(n);
        let used = 0;
        let cursor = 0;
        for (const o of ops) {
          if (o.k === "next" || o.k === "first") {
            const got = w.bmAllocateNext(h, o.k === "next" ? 0 : 1);
            if (used === n) {
              expect(got).toBe(-1);
              continue;
            }
            let want = o.k === "next" ? cursor : 0;
            while (model[want]) want = (want + 1) % n;
            expect(got).toBe(want);
            model[want] = 1;
            used++;
            cursor = (want + 1) % n;
          } else if (o.k === "occupy" || o.k === "clear") {
            const a = o.a % n;
            const b = Math.min(n - 1, a + o.len - 1);
            let changed = 0;
            for (let i = a; i <= b; i++) if ((model[i] === 1) === (o.k === "clear")) changed++;
            expect(o.k === "occupy" ? w.bmOccupyRange(h, a, b) : w.bmReleaseRange(h, a, b)).toBe(changed);
            model.fill(o.k === "occupy" ? 1 : 0, a, b + 1);
            used += o.k === "occupy" ? changed : -changed;
          } else if (o.k === "set" || o.k === "drop") {
            const i = o.a % n;
            const r = o.k === "set" ? w.bmAllocate(h, i) : w.bmRelease(h, i);
            expect(r).toBe(o.k === "set" ? 1 - (model[i] as number) : (model[i] as number));
            if (model[i] !== (o.k === "set" ? 1 : 0)) used += o.k === "set" ? 1 : -1;
            model[i] = o.k === "set" ? 1 : 0;
          }
          expect(w.bmUsed(h)).toBe(used);
        }
        expect(w.bmRecount(h)).toBe(used);
        expect(w.bmCheckSummaries(h)).toBe(1);
        engine.free(h, w.bmBytes(n));
      }),
      { numRuns: 200 },
    );
  });
});
