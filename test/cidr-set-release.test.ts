// CidrSet.release(string) takes an IPv4 fast path (no BigInt, no Cidr object) for
// plain "a.b.c.d/p" text: it must free exactly what release(parseCidr(text)) frees,
// and throw what it throws.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { CidrSet } from "../src/alloc/cidr-set.js";
import { parseCidr } from "../src/net/ip.js";

function outcome(set: CidrSet, arg: string | ReturnType<typeof parseCidr>): string {
  try {
    set.release(arg);
  } catch (e) {
    return `throws ${(e as { code?: string }).code}`;
  }
  const free: number[] = [];
  for (let i = 0; i < set.capacity; i++) if (!set.isAllocated(set.indexToCidr(i))) free.push(i);
  return free.join(",");
}

function both(cluster: string, mask: number, text: string): [string, string] {
  const a = new CidrSet(cluster, mask);
  const b = new CidrSet(cluster, mask);
  a.occupy(cluster);
  b.occupy(cluster);
  let viaObject: string;
  try {
    viaObject = outcome(b, parseCidr(text));
  } catch (e) {
    viaObject = `throws ${(e as { code?: string }).code}`;
  }
  const r: [string, string] = [outcome(a, text), viaObject];
  a.dispose();
  b.dispose();
  return r;
}

describe("CidrSet.release(string) IPv4 fast path = the Cidr path", () => {
  // cluster 10.0.0.0/20 carved into /24s: 16 subnets
  const table: [string, string][] = [
    ["10.0.3.0/24", "3"], // one subnet
    ["10.0.3.77/24", "3"], // host bits masked
    ["10.0.4.0/22", "4,5,6,7"], // a shorter prefix frees the 4 it covers
    ["10.0.5.128/25", "5"], // a longer prefix frees the slot holding it
    ["10.0.0.0/20", "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15"], // the whole cluster
    ["10.0.0.0/8", "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15"], // a supernet
    ["10.0.15.255/32", "15"],
    ["10.1.0.0/24", "throws NOT_IN_RANGE"],
    ["10.0.3.0/33", "throws INVALID_CIDR"],
    ["010.0.3.0/24", "throws INVALID_CIDR"],
    ["10.0.3.0/024", "throws INVALID_CIDR"],
    ["10.0.3.0", "throws INVALID_CIDR"],
    ["fd00::/64", "throws FAMILY_MISMATCH"],
  ];
  for (const [text, want] of table) {
    it(`${text} -> ${want}`, () => {
      const [fast, slow] = both("10.0.0.0/20", 24, text);
      expect(slow).toBe(want);
      expect(fast).toBe(want);
    });
  }

  it("random texts agree", () => {
    const octet = fc.oneof(fc.integer({ min: 0, max: 255 }).map(String), fc.constantFrom("010", "256", "", "00"));
    const text = fc.tuple(fc.constantFrom("10", "11", "9"), octet, octet, octet, fc.integer({ min: 0, max: 34 }).map(String)).map(([a, b, c, d, p]) => `${a}.${b}.${c}.${d}/${p}`);
    fc.assert(fc.property(text, fc.constantFrom(16, 20, 22), (t, prefix) => {
      const [fast, slow] = both(`10.0.0.0/${prefix}`, prefix + 4, t);
      expect(fast).toBe(slow);
    }), { numRuns: 300 });
  });
});
