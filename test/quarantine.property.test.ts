// The reuse-cooldown queue (src/pool/quarantine.ts) against a reference model: a plain
// array kept in release-time order (equal times in arrival order). SharedPool's cache
// pushes releases learnt late (older than the newest) and removes entries whose cooldown
// another process ended; one process's own releases only ever append.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Quarantine } from "../src/pool/quarantine.js";

type Entry = { key: number; epoch: number; time: number };
type Op = { op: "push"; key: number; epoch: number; time: number } | { op: "remove"; key: number } | { op: "expire"; now: number };

/** The model: entries sorted by time, stable; latest entry per key. */
class Model {
  entries: Entry[] = [];
  latest = new Map<number, { epoch: number; time: number }>();
  constructor(readonly cooldownMs: number, readonly depth: number) {}
  push(e: Entry): void {
    let i = this.entries.length;
    while (i > 0 && (this.entries[i - 1] as Entry).time > e.time) i--;
    this.entries.splice(i, 0, e);
    this.latest.set(e.key, { epoch: e.epoch, time: e.time });
  }
  remove(key: number): number | undefined {
    const l = this.latest.get(key);
    if (l === undefined) return undefined;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i] as Entry;
      if (e.key === key && e.epoch === l.epoch) {
        this.entries.splice(i, 1);
        break;
      }
    }
    this.latest.delete(key);
    return l.epoch;
  }
  expire(now: number): Entry[] {
    const out: Entry[] = [];
    while (this.entries.length > 0 && (this.entries.length > this.depth || (this.entries[0] as Entry).time + this.cooldownMs <= now)) {
      const e = this.entries.shift() as Entry;
      if (this.latest.get(e.key)?.epoch === e.epoch) this.latest.delete(e.key);
      out.push(e);
    }
    return out;
  }
}

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant("push" as const), key: fc.integer({ min: 0, max: 20 }), epoch: fc.integer({ min: 1, max: 3 }), time: fc.integer({ min: 0, max: 1000 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("remove" as const), key: fc.integer({ min: 0, max: 20 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("expire" as const), now: fc.integer({ min: 0, max: 1500 }) }) },
);

describe("Quarantine: release-time order, remove, expiry", () => {
  // warm: in-order releases, all expired, leave the ring's head near the end of its first 1024 slots,
  // so the ops after them wrap around it (and, past 1024 entries, grow it)
  it.each([[0, 300, 40], [1020, 100, 40], [1000, 40, 1500]])("agrees with a sorted-array model (pushes out of order, removes, expiry by time and by depth): warm %i, %i runs", (warm, numRuns, maxDepth) => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: maxDepth > 100 ? 2500 : 300 }), fc.integer({ min: 0, max: 400 }), fc.integer({ min: 1, max: maxDepth }), fc.integer({ min: 0, max: 30 }), (ops, cooldownMs, depth, extra) => {
        const q = new Quarantine({ cooldownMs, minFreeBeforeReuse: depth });
        const m = new Model(cooldownMs, depth);
        const warmOps: Op[] = warm === 0 ? [] : [...Array.from({ length: warm + extra }, (_, i): Op => ({ op: "push", key: i % 21, epoch: 1, time: -1 })), { op: "expire", now: Infinity }];
        for (const o of [...warmOps, ...ops]) {
          if (o.op === "push") {
            q.push(o.key, o.epoch, o.time);
            m.push({ key: o.key, epoch: o.epoch, time: o.time });
          } else if (o.op === "remove") {
            expect(q.remove(o.key)).toBe(m.remove(o.key));
          } else {
            const got: Entry[] = [];
            q.expire(o.now, (key, epoch) => got.push({ key, epoch, time: NaN }));
            expect(got.map((e) => [e.key, e.epoch])).toEqual(m.expire(o.now).map((e) => [e.key, e.epoch]));
          }
          expect(q.size).toBe(m.entries.length);
        }
        expect(q.entries()).toEqual(m.entries);
        for (let k = 0; k <= 20; k++) {
          expect(q.epochOf(k)).toBe(m.latest.get(k)?.epoch);
          expect(q.timeOf(k)).toBe(m.latest.get(k)?.time);
        }
      }),
      { numRuns },
    );
  });

  it("one clock's releases only append (the order ClusterPool has always had)", () => {
    // 1500 releases at non-decreasing times grow the ring past its first 1024 slots
    const q = new Quarantine({ cooldownMs: 10 });
    for (let i = 0; i < 1500; i++) q.push(i, 1, Math.floor(i / 3));
    expect(q.entries().map((e) => e.key)).toEqual(Array.from({ length: 1500 }, (_, i) => i));
  });
});
