// CidrSet._freeRuns(k), what the fragmentation and remaining-address metrics read: the largest
// free aligned run and the number of free aligned runs of 2^k, against a brute-force reference.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { CidrSet } from "../src/alloc/cidr-set.js";

/** Reference: every aligned block of every size, checked bit by bit. */
function reference(taken: readonly boolean[], k: number): { largest: number; runs: number } {
  const n = taken.length;
  const free = (a: number, size: number): boolean => taken.slice(a, a + size).every((t) => !t);
  let largest = 0;
  for (let size = 1; size <= n; size *= 2) for (let a = 0; a < n; a += size) if (free(a, size)) largest = Math.max(largest, size);
  let runs = 0;
  const want = 2 ** k;
  if (want <= n) for (let a = 0; a < n; a += want) if (free(a, want)) runs++;
  return { largest, runs };
}

function set(bits: number, taken: readonly number[]): CidrSet {
  // 10.0.0.0/16 with /(16 + bits) subnets: 2^bits slots
  const s = new CidrSet("10.0.0.0/16", 16 + bits);
  for (const i of taken) s.allocateIndex(i);
  return s;
}

describe("CidrSet._freeRuns", () => {
  const rows: [string, number, number[], number, { largest: number; runs: number }][] = [
    // [name, log2 slots, taken, k, want]
    ["empty, 8 slots, k 0", 3, [], 0, { largest: 8, runs: 8 }],
    ["empty, 8 slots, k 2: two aligned fours", 3, [], 2, { largest: 8, runs: 2 }],
    ["full", 3, [0, 1, 2, 3, 4, 5, 6, 7], 0, { largest: 0, runs: 0 }],
    ["slot 0 taken: 1, 2-3, 4-7 free", 3, [0], 1, { largest: 4, runs: 3 }], // pairs 2-3, 4-5, 6-7
    ["slots 1, 2 free only: adjacent, not an aligned pair", 3, [0, 3, 4, 5, 6, 7], 1, { largest: 1, runs: 0 }],
    ["every other slot taken", 4, [0, 2, 4, 6, 8, 10, 12, 14], 0, { largest: 1, runs: 8 }],
    ["k larger than the set", 2, [], 3, { largest: 4, runs: 0 }],
  ];
  it.each(rows)("%s", (_name, bits, taken, k, want) => {
    const s = set(bits, taken);
    expect(s._freeRuns(k)).toEqual(want);
    s.dispose();
  });

  it("matches the reference on random occupancy (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9 }).chain((bits) =>
          fc.tuple(fc.constant(bits), fc.array(fc.boolean(), { minLength: 2 ** bits, maxLength: 2 ** bits }), fc.integer({ min: 0, max: bits + 1 }))),
        ([bits, taken, k]) => {
          const s = set(bits, taken.flatMap((t, i) => (t ? [i] : [])));
          expect(s._freeRuns(k)).toEqual(reference(taken, k));
          s.dispose();
        },
      ),
      { numRuns: 200 },
    );
  });
});
