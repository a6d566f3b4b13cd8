// One numeric verb set (src/alloc/): allocateNextIndex, allocateIndex, releaseIndex, hasIndex and a
// …Batch of each, on CidrSet, PodRange and PoolView; the IPv4 suffix only where the unit is an
// address. Each table runs its rows in order on one fresh object; `why` derives the expectation.
// The old names are deprecated aliases: each must give what its new name gives.
import { describe, it, expect } from "vitest";
import { CidrSet, PodRange, PoolView, ClusterPool, Engine } from "../src/index.js";
import { err } from "./helpers.js";

type Row<T> = readonly [call: string, run: (o: T) => unknown, want: unknown, why: string];
const u32 = (...v: number[]): Uint32Array => Uint32Array.from(v);

function runTable<T>(make: () => T, rows: readonly Row<T>[]): void {
  const o = make();
  for (const [call, run, want, why] of rows) expect(run(o), `${call}: ${why}`).toEqual(want);
}

const engine = Engine.create();

describe("CidrSet: subnet indices", () => {
  // 10.0.0.0/16 in /24s: 256 subnets, index i = 10.0.i.0/24; next-fit from a cursor that starts at 0
  const out = new Uint32Array(4);
  const flags = new Uint32Array(5);
  const rows: Row<CidrSet>[] = [
    ["allocateNextIndex()", (s) => s.allocateNextIndex(), 0, "empty set: next-fit starts at 0"],
    ["allocateNextIndex()", (s) => s.allocateNextIndex(), 1, "the cursor moved past 0"],
    ["allocateIndex(5)", (s) => s.allocateIndex(5), true, "5 was free"],
    ["allocateIndex(5)", (s) => s.allocateIndex(5), false, "5 is taken now"],
    ["hasIndex(5)", (s) => s.hasIndex(5), true, "taken above"],
    ["hasIndex(6)", (s) => s.hasIndex(6), false, "never taken"],
    ["allocateNextIndexBatch(out)", (s) => [s.allocateNextIndexBatch(out), [...out]], [4, [2, 3, 4, 6]], "next-fit from 2, skipping 5"],
    ["allocateIndexBatch([7, 7, 300, 8])", (s) => s.allocateIndexBatch(u32(7, 7, 300, 8)), 2, "7 and 8 were free; the second 7 is taken by then; 300 >= 256 is skipped"],
    ["hasIndexBatch([0, 5, 9, 300, 8])", (s) => [s.hasIndexBatch(u32(0, 5, 9, 300, 8), flags), [...flags]], [3, [1, 1, 0, 0, 1]], "0, 5 and 8 are taken; 9 is free; 300 is out of range"],
    ["releaseIndex(5)", (s) => s.releaseIndex(5), true, "5 was taken"],
    ["releaseIndex(5)", (s) => s.releaseIndex(5), false, "already free"],
    ["releaseIndexBatch([0, 1, 9, 300])", (s) => s.releaseIndexBatch(u32(0, 1, 9, 300)), 2, "0 and 1 were taken; 9 free; 300 skipped"],
    ["used", (s) => s.used, 6, "2, 3, 4, 6, 7, 8 are left"],
    ["releaseIndexBatch(in, 1)", (s) => s.releaseIndexBatch(u32(2, 3), 1), 1, "count 1: only 2"],
    ["hasIndex(3)", (s) => s.hasIndex(3), true, "beyond count, untouched"],
  ];
  it("derived results, in order", () => runTable(() => new CidrSet("10.0.0.0/16", 24, { engine }), rows));

  it("arguments: an index is an integer below the capacity, arrays are Uint32Arrays", () => {
    const s = new CidrSet("10.0.0.0/16", 24, { engine });
    expect(err(() => s.allocateIndex(256)).code).toBe("NOT_IN_RANGE");
    expect(err(() => s.hasIndex(1.5)).code).toBe("INVALID_ARGUMENT");
    expect(err(() => s.allocateIndexBatch([1] as never)).code).toBe("INVALID_ARGUMENT");
    expect(err(() => s.hasIndexBatch(u32(1, 2), new Uint32Array(2), 3)).code).toBe("NOT_IN_RANGE"); // count past the shorter array
    expect(err(() => s.allocateIndex(256)).message).toContain("allocateIndex(i)");
    expect(s.used).toBe(0);
  });
});

describe("PodRange: offsets and IPv4 addresses", () => {
  // 10.0.0.0/28: network and broadcast excluded, 14 offsets; offset i = 10.0.0.(i + 1) = 0x0a000001 + i
  const ip = (i: number): number => 0x0a000001 + i;
  const out = new Uint32Array(3);
  const flags = new Uint32Array(3);
  const rows: Row<PodRange>[] = [
    ["allocateNextIndex()", (r) => r.allocateNextIndex(), 0, "next-fit from 0"],
    ["allocateIndex(3)", (r) => r.allocateIndex(3), true, "free"],
    ["allocateIndex(3)", (r) => r.allocateIndex(3), false, "taken"],
    ["hasIndex(3)", (r) => r.hasIndex(3), true, "taken above"],
    ["has('10.0.0.4')", (r) => r.has("10.0.0.4"), true, "offset 3 is 10.0.0.4"],
    ["allocateNextIndexBatch(out)", (r) => [r.allocateNextIndexBatch(out), [...out]], [3, [1, 2, 4]], "next-fit from 1, skipping 3"],
    ["allocateNextIPv4Batch(out, 2)", (r) => [r.allocateNextIPv4Batch(out, 2), [...out.subarray(0, 2)]], [2, [ip(5), ip(6)]], "offsets 5 and 6 as u32 addresses"],
    ["allocateIndexBatch([7, 14, 7])", (r) => r.allocateIndexBatch(u32(7, 14, 7)), 1, "7 taken; 14 >= 14 skipped; 7 again already taken"],
    ["hasIndexBatch([0, 8, 14])", (r) => [r.hasIndexBatch(u32(0, 8, 14), flags), [...flags]], [1, [1, 0, 0]], "0 taken, 8 free, 14 out of range"],
    ["releaseIndex(3)", (r) => r.releaseIndex(3), true, "was taken"],
    ["releaseIndexBatch([0, 3, 99])", (r) => r.releaseIndexBatch(u32(0, 3, 99)), 1, "0 was taken, 3 freed above, 99 skipped"],
    ["releaseIPv4Batch([ip(5), ip(6), 10.0.0.0])", (r) => r.releaseIPv4Batch(u32(ip(5), ip(6), 0x0a000000)), 2, "5 and 6 were taken; the network address is no offset"],
    ["used", (r) => r.used, 4, "1, 2, 4, 7 are left"],
  ];
  it("derived results, in order", () => runTable(() => new PodRange("10.0.0.0/28", { engine }), rows));

  it("IPv4 batches refuse an IPv6 range (FAMILY_MISMATCH) and take nothing", () => {
    const r = new PodRange("fd00::/124", { engine });
    expect(err(() => r.allocateNextIPv4Batch(new Uint32Array(2))).code).toBe("FAMILY_MISMATCH");
    expect(r.allocateNextIndexBatch(new Uint32Array(2))).toBe(2); // offsets work for any family
    expect(err(() => r.releaseIPv4Batch(new Uint32Array(2))).code).toBe("FAMILY_MISMATCH");
    expect(r.used).toBe(2);
  });
});

describe("PoolView: slots, rels and IPv4 addresses", () => {
  // 10.0.0.0/22 in /24s: 4 slots; rel = slot * 256 + host; pod offset 0 is host 1; IPv4 address = 0x0a000000 + rel
  const pool = (): PoolView => new PoolView(new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/22"], maskSize: 24 } }).describe());
  const out = new Uint32Array(3);
  const flags = new Uint32Array(4);
  const rows: Row<PoolView>[] = [
    ["allocateNextSlot(0)", (v) => v.allocateNextSlot(0), 0, "next-fit from slot 0"],
    ["allocateNextSlotBatch(0, out, 2)", (v) => [v.allocateNextSlotBatch(0, out, 2), [...out.subarray(0, 2)]], [2, [1, 2]], "then 1 and 2"],
    ["hasSlot(0, 2)", (v) => v.hasSlot(0, 2), true, "carved above"],
    ["releaseSlot(0, 2)", (v) => v.releaseSlot(0, 2), true, "carved, no node: freed"],
    ["releaseSlot(0, 2)", (v) => v.releaseSlot(0, 2), false, "already free"],
    ["hasSlot(0, 2)", (v) => v.hasSlot(0, 2), false, "freed"],
    ["allocateNextSlot(0)", (v) => v.allocateNextSlot(0), 3, "next-fit goes on from 3, not back to 2"],
    ["attach(0, 1, 7)", (v) => v.attach(0, 1, 7), true, "slot 1 carved above"],
    ["releaseSlot(0, 1)", (v) => err(() => v.releaseSlot(0, 1)).code, "IN_USE", "node 7 holds slot 1: detach() frees it"],
    ["allocateNextIndex(0, 1)", (v) => v.allocateNextIndex(0, 1), 257, "slot 1, host 1 (offset 0)"],
    ["allocateNextIndexBatch(0, 1, out)", (v) => [v.allocateNextIndexBatch(0, 1, out), [...out]], [3, [258, 259, 260]], "rels, not addresses"],
    ["allocateNextIPv4Batch(0, 1, out, 1)", (v) => [v.allocateNextIPv4Batch(0, 1, out, 1), out[0]], [1, 0x0a000000 + 261], "10.0.1.5 as u32"],
    ["allocateIndex(0, 300)", (v) => v.allocateIndex(0, 300), true, "10.0.1.44 was free"],
    ["allocateIndex(0, 300)", (v) => v.allocateIndex(0, 300), false, "taken now"],
    ["allocateIndex(0, 256)", (v) => v.allocateIndex(0, 256), false, "host 0 is the network address: no offset"],
    ["allocateIndex(0, 800)", (v) => v.allocateIndex(0, 800), false, "slot 3 is carved but holds no pod range"],
    ["hasIndex(0, 257)", (v) => v.hasIndex(0, 257), true, "allocated first"],
    ["allocateIndexBatch(0, [301, 301, 5000])", (v) => v.allocateIndexBatch(0, u32(301, 301, 5000)), 1, "301 once; 5000 >= 4 * 256 is skipped"],
    ["hasIndexBatch(0, [257, 262, 301, 5000])", (v) => [v.hasIndexBatch(0, u32(257, 262, 301, 5000), flags), [...flags]], [2, [1, 0, 1, 0]], "262 free; 5000 out of range"],
    ["releaseIndex(0, 257)", (v) => v.releaseIndex(0, 257), true, "was allocated"],
    ["releaseIndexBatch(0, [257, 258, 300, 5000])", (v) => v.releaseIndexBatch(0, u32(257, 258, 300, 5000)), 2, "258 and 300; 257 freed above; 5000 skipped"],
    ["used(0, 1)", (v) => v.used(0, 1), 4, "259, 260, 261, 301 are left"],
  ];
  it("derived results, in order", () => runTable(pool, rows));

  it("rels are checked (NOT_IN_RANGE past slots * 2^hostBits); IPv4 batches refuse IPv6 pools", () => {
    const v = pool();
    expect(err(() => v.releaseIndex(0, 1024)).code).toBe("NOT_IN_RANGE");
    expect(err(() => v.hasIndex(0, -1)).code).toBe("NOT_IN_RANGE");
    expect(err(() => v.allocateIndex(0, 0.5)).code).toBe("INVALID_ARGUMENT");
    const v6 = new PoolView(new ClusterPool({ ipv6: { cidrs: ["fd00::/118"], maskSize: 120 } }).describe());
    const s = v6.allocateNextSlot(0);
    v6.attach(0, s, 1);
    expect(err(() => v6.allocateNextIPv4Batch(0, s, new Uint32Array(2))).code).toBe("FAMILY_MISMATCH");
    expect(v6.used(0, s)).toBe(0);
  });
});

// ------------------------------------------------------------------ deprecated aliases

/** Runs `ops` on two fresh objects, one through the alias, one through the new name: the results and the state after must agree. */
function sameAs<T>(make: () => T, state: (o: T) => unknown, ops: ((o: T, alias: boolean) => unknown)[]): void {
  const a = make();
  const b = make();
  for (const op of ops) expect(op(a, true)).toEqual(op(b, false));
  expect(state(a)).toEqual(state(b));
}

describe("each deprecated alias gives what its new name gives", () => {
  const setState = (s: CidrSet): boolean[] => Array.from({ length: s.capacity }, (_, i) => s.hasIndex(i));
  it.each([
    ["CidrSet.allocateNextBatch", (s: CidrSet, alias: boolean) => { const o = new Uint32Array(5); return [alias ? s.allocateNextBatch(o, 4) : s.allocateNextIndexBatch(o, 4), [...o]]; }],
    ["CidrSet.releaseBatch", (s: CidrSet, alias: boolean) => (alias ? s.releaseBatch(u32(1, 3, 9, 300)) : s.releaseIndexBatch(u32(1, 3, 9, 300)))],
  ] as const)("%s", (_name, op) => {
    sameAs(() => { const s = new CidrSet("10.0.0.0/20", 24, { engine }); s.allocateNextIndex(); s.allocateIndex(3); return s; }, setState, [op, op]);
  });

  const rangeState = (r: PodRange): unknown => [r.used, Array.from({ length: r.size }, (_, i) => r.hasIndex(i))];
  it.each([
    ["PodRange.allocateNextOffset", (r: PodRange, alias: boolean) => (alias ? r.allocateNextOffset() : r.allocateNextIndex())],
    ["PodRange.releaseOffset", (r: PodRange, alias: boolean) => (alias ? r.releaseOffset(2) : r.releaseIndex(2))],
    ["PodRange.hasOffset", (r: PodRange, alias: boolean) => [alias ? r.hasOffset(2) : r.hasIndex(2), alias ? r.hasOffset(9) : r.hasIndex(9)]],
    ["PodRange.allocateNextBatchIPv4", (r: PodRange, alias: boolean) => { const o = new Uint32Array(4); return [alias ? r.allocateNextBatchIPv4(o, 3) : r.allocateNextIPv4Batch(o, 3), [...o]]; }],
    ["PodRange.releaseBatchIPv4", (r: PodRange, alias: boolean) => (alias ? r.releaseBatchIPv4(u32(0x0a000003, 0x0a000004, 1)) : r.releaseIPv4Batch(u32(0x0a000003, 0x0a000004, 1)))],
  ] as const)("%s", (_name, op) => {
    // 'random' with a fixed seed: both objects draw the same offsets
    sameAs(() => { const r = new PodRange("10.0.0.0/28", { engine, strategy: "random", seed: 11 }); r.allocateIndex(2); r.allocateIndex(3); return r; }, rangeState, [op, op]);
  });

  it("PodRange aliases name themselves in errors", () => {
    const r = new PodRange("10.0.0.0/28", { engine });
    expect(err(() => r.releaseOffset(99)).message).toContain("releaseOffset(i)");
    expect(err(() => r.releaseIndex(99)).message).toContain("releaseIndex(i)");
  });

  const views = (family: 4 | 6) => (): { v: PoolView; p: ClusterPool } => {
    const p = new ClusterPool(family === 4 ? { ipv4: { cidrs: ["10.0.0.0/22"], maskSize: 24 } } : { ipv6: { cidrs: ["fd00::/118"], maskSize: 120 } });
    const v = new PoolView(p.describe());
    v.attach(0, v.allocateNextSlot(0), 5);
    return { v, p };
  };
  const viewState = ({ p }: { p: ClusterPool }): unknown => [p.stats().pools, p.verify(), Buffer.from(p.snapshot()).toString("base64")];
  it.each([
    ["PoolView.carveSlot", (x: { v: PoolView }, alias: boolean) => (alias ? x.v.carveSlot(0) : x.v.allocateNextSlot(0))],
    ["PoolView.carveSlots", (x: { v: PoolView }, alias: boolean) => { const o = new Uint32Array(4); return [alias ? x.v.carveSlots(0, o) : x.v.allocateNextSlotBatch(0, o), [...o]]; }],
    ["PoolView.allocate", (x: { v: PoolView }, alias: boolean) => (alias ? x.v.allocate(0, 0) : x.v.allocateNextIndex(0, 0))],
    ["PoolView.release", (x: { v: PoolView }, alias: boolean) => (alias ? x.v.release(0, 1) : x.v.releaseIndex(0, 1))],
  ] as const)("%s (IPv4 and IPv6)", (_name, op) => {
    for (const f of [4, 6] as const) sameAs(views(f), viewState, [op, op, op]);
  });

  it("PoolView.allocateBatch: allocateNextIPv4Batch on IPv4 pools, allocateNextIndexBatch (rels) on IPv6 pools", () => {
    for (const f of [4, 6] as const) {
      sameAs(views(f), viewState, [(x, alias) => {
        const o = new Uint32Array(3);
        return [alias ? x.v.allocateBatch(0, 0, o) : f === 4 ? x.v.allocateNextIPv4Batch(0, 0, o) : x.v.allocateNextIndexBatch(0, 0, o), [...o]];
      }]);
    }
  });
});
