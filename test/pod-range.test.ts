import { describe, it, expect } from "vitest";
import { code } from "./helpers.js";
import { PodRange } from "../src/index.js";


describe("PodRange sizes", () => {
  const cases: { cidr: string; size: number; first: string; last: string }[] = [
    { cidr: "10.0.0.0/24", size: 254, first: "10.0.0.1", last: "10.0.0.254" }, // 2^8 - 2 (network, broadcast)
    { cidr: "10.0.0.0/27", size: 30, first: "10.0.0.1", last: "10.0.0.30" }, // 2^5 - 2
    { cidr: "10.0.0.0/30", size: 2, first: "10.0.0.1", last: "10.0.0.2" }, // 2^2 - 2
    { cidr: "10.0.0.0/31", size: 2, first: "10.0.0.0", last: "10.0.0.1" }, // point-to-point: both usable
    { cidr: "10.0.0.7/32", size: 1, first: "10.0.0.7", last: "10.0.0.7" }, // the one address
    { cidr: "10.0.0.0/16", size: 65534, first: "10.0.0.1", last: "10.0.255.254" }, // 2^16 - 2
    { cidr: "fd00::/120", size: 254, first: "fd00::1", last: "fd00::fe" }, // 2^8 - 2, as Cilium does for IPv6 too
    { cidr: "fd00::/112", size: 65534, first: "fd00::1", last: "fd00::fffe" }, // 2^16 - 2
    { cidr: "2001:db8::/64", size: 65534, first: "2001:db8::1", last: "2001:db8::fffe" }, // capped at 2^16, then - 2
    { cidr: "2001:db8::/48", size: 65534, first: "2001:db8::1", last: "2001:db8::fffe" }, // capped at 2^16, then - 2
    { cidr: "fd00::/127", size: 2, first: "fd00::", last: "fd00::1" },
    { cidr: "fd00::5/128", size: 1, first: "fd00::5", last: "fd00::5" },
  ];
  it.each(cases)("$cidr has $size", (c) => {
    const r = new PodRange(c.cidr, { strategy: "first-free" });
    expect(r.size).toBe(c.size);
    const all = Array.from({ length: c.size }, () => r.allocateNext());
    expect(all[0]).toBe(c.first);
    expect(all[all.length - 1]).toBe(c.last);
    expect(new Set(all).size).toBe(c.size);
    expect(r.isFull()).toBe(true);
    expect(code(() => r.allocateNext())).toBe("FULL");
  });
});

describe("PodRange allocate / release / has", () => {
  it("allocate errors: taken, network, broadcast, outside, wrong family, garbage", () => {
    const r = new PodRange("192.168.0.0/24");
    r.allocate("192.168.0.10");
    expect(code(() => r.allocate("192.168.0.10"))).toBe("ALREADY_ALLOCATED");
    expect(code(() => r.allocate("192.168.0.0"))).toBe("NOT_IN_RANGE"); // network
    expect(code(() => r.allocate("192.168.0.255"))).toBe("NOT_IN_RANGE"); // broadcast
    expect(code(() => r.allocate("192.168.1.1"))).toBe("NOT_IN_RANGE");
    expect(code(() => r.allocate("fd00::1"))).toBe("FAMILY_MISMATCH");
    expect(code(() => r.allocate("192.168.0.300"))).toBe("INVALID_IP");
    expect(r.used).toBe(1); // no failed call changed anything
    expect(r.has("192.168.0.10")).toBe(true);
  });

  it("error messages name the input", () => {
    const r = new PodRange("192.168.0.0/24");
    r.allocate("192.168.0.10");
    expect(() => r.allocate("192.168.0.10")).toThrow('ipcarve: "192.168.0.10" is already allocated');
    expect(() => r.allocate("192.168.1.1")).toThrow(/"192\.168\.1\.1" is not in the range of pod range 192\.168\.0\.0\/24/);
  });

  it("release of a free or foreign address is a no-op", () => {
    const r = new PodRange("10.0.0.0/24");
    r.release("10.0.0.5");
    r.release("10.9.9.9");
    r.release("10.0.0.0");
    expect(r.used).toBe(0);
    r.allocate("10.0.0.5");
    r.release("10.0.0.5");
    expect(r.has("10.0.0.5")).toBe(false);
    expect(r.has("10.9.9.9")).toBe(false);
  });

  it("IPv6 beyond the 2^16 cap is not in range", () => {
    const r = new PodRange("2001:db8::/64");
    expect(code(() => r.allocate("2001:db8::1:0"))).toBe("NOT_IN_RANGE"); // offset 65536
    r.allocate("2001:db8::fffe");
    expect(r.has("2001:db8::fffe")).toBe(true);
  });
});

describe("PodRange strategies", () => {
  it("next-fit continues after the last allocation; first-free reuses the lowest", () => {
    const nf = new PodRange("10.0.0.0/29"); // 6 usable: .1 .. .6
    const ff = new PodRange("10.0.0.0/29", { strategy: "first-free" });
    for (const r of [nf, ff]) {
      r.allocateNext(); // .1
      r.allocateNext(); // .2
      r.release("10.0.0.1");
    }
    expect(nf.allocateNext()).toBe("10.0.0.3");
    expect(ff.allocateNext()).toBe("10.0.0.1");
  });

  it("random is reproducible by seed and differs across seeds", () => {
    const draw = (seed: number): string[] => {
      const r = new PodRange("10.0.0.0/24", { strategy: "random", seed });
      return Array.from({ length: 20 }, () => r.allocateNext());
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    const r = new PodRange("10.0.0.0/24", { strategy: "random", seed: 3 });
    const all = Array.from({ length: 254 }, () => r.allocateNext());
    expect(new Set(all).size).toBe(254); // still every address exactly once
  });

  it("rejects unknown strategies and bad seeds", () => {
    expect(() => new PodRange("10.0.0.0/24", { strategy: "lifo" as never })).toThrow(/options\.strategy must be one of 'next-fit', 'first-free', 'random'/);
    expect(code(() => new PodRange("10.0.0.0/24", { seed: -1 }))).toBe("INVALID_OPTION");
  });

  it("numeric IPv4 batch writes u32 addresses", () => {
    const r = new PodRange("10.0.0.0/24");
    const out = new Uint32Array(300);
    expect(r.allocateNextIPv4Batch(out)).toBe(254);
    expect(out[0]).toBe(0x0a000001); // 10.0.0.1
    expect(out[253]).toBe(0x0a0000fe); // 10.0.0.254
    expect(r.releaseIPv4Batch(out, 254)).toBe(254);
    expect(r.used).toBe(0);
  });
});
