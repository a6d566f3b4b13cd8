import { describe, it, expect } from "vitest";
import { code } from "./helpers.js";
import { CidrSet, IpamError } from "../src/index.js";


describe("CidrSet index -> subnet", () => {
  // subnet i = cluster network + i << (bits - nodeMask)
  const cases: { cluster: string; mask: number; capacity: number; at: [number, string][] }[] = [
    {
      cluster: "192.168.0.0/20", mask: 24, capacity: 16, // 2^(24-20)
      at: [[0, "192.168.0.0/24"], [1, "192.168.1.0/24"], [15, "192.168.15.0/24"]],
    },
    {
      cluster: "10.0.0.0/8", mask: 24, capacity: 65536, // 2^(24-8)
      at: [[0, "10.0.0.0/24"], [1, "10.0.1.0/24"], [256, "10.1.0.0/24"], [65535, "10.255.255.0/24"]],
    },
    {
      cluster: "127.123.3.0/16", mask: 18, capacity: 4, // masked to 127.123.0.0/16; 2^(18-16); step 2^14 = 64 in the third octet
      at: [[0, "127.123.0.0/18"], [3, "127.123.192.0/18"]],
    },
    {
      cluster: "10.0.0.0/30", mask: 32, capacity: 4, // /32 node subnets, step 1
      at: [[0, "10.0.0.0/32"], [3, "10.0.0.3/32"]],
    },
    {
      cluster: "fd00::/104", mask: 120, capacity: 65536, // 2^(120-104); step 2^8 = 0x100
      at: [[0, "fd00::/120"], [1, "fd00::100/120"], [65535, "fd00::ff:ff00/120"]],
    },
    {
      cluster: "2001:db8::/50", mask: 63, capacity: 8192, // 2^13; step 2^65 = 2 in group 3 (bits 64..79)
      at: [[0, "2001:db8::/63"], [1, "2001:db8:0:2::/63"], [2, "2001:db8:0:4::/63"], [8191, "2001:db8:0:3ffe::/63"]],
    },
    {
      cluster: "2001:db8:1234::/56", mask: 72, capacity: 65536, // 2^16; step 2^56 = 0x100 in group 4 (bits 48..63)
      at: [[0, "2001:db8:1234::/72"], [1, "2001:db8:1234:0:100::/72"], [255, "2001:db8:1234:0:ff00::/72"], [65535, "2001:db8:1234:ff:ff00::/72"]],
    },
  ];

  it.each(cases)("$cluster /$mask", (c) => {
    const set = new CidrSet(c.cluster, c.mask);
    expect(set.capacity).toBe(c.capacity);
    for (const [i, want] of c.at) {
      expect(set.indexToCidr(i)).toBe(want);
      expect(set.indexOf(want)).toBe(i); // subnet -> index round trip
    }
  });

  it("index -> subnet -> index round trips over a whole IPv6 set", () => {
    const set = new CidrSet("2001:db8::/50", 63);
    for (let i = 0; i < set.capacity; i += 37) expect(set.indexOf(set.indexToCidr(i))).toBe(i);
  });
});

describe("CidrSet allocateNext", () => {
  it("hands out subnets in order, then FULL", () => {
    const set = new CidrSet("192.168.0.0/20", 24);
    const got = Array.from({ length: 16 }, () => set.allocateNext());
    expect(got).toEqual(Array.from({ length: 16 }, (_, i) => `192.168.${i}.0/24`));
    expect(set.isFull()).toBe(true);
    expect(set.used).toBe(16);
    expect(set.free).toBe(0);
    expect(code(() => set.allocateNext())).toBe("FULL");
  });

  it("exhaust, release all, allocate all: the same order", () => {
    const set = new CidrSet("10.10.0.0/16", 20); // 16 subnets
    const first = Array.from({ length: set.capacity }, () => set.allocateNext());
    for (const c of first) set.release(c);
    expect(set.used).toBe(0);
    const second = Array.from({ length: set.capacity }, () => set.allocateNext());
    expect(second).toEqual(first);
  });

  it("next-fit: a released subnet comes back only after the cursor wraps", () => {
    const set = new CidrSet("10.0.0.0/24", 26); // 4 subnets: .0 .64 .128 .192
    expect(set.allocateNext()).toBe("10.0.0.0/26");
    expect(set.allocateNext()).toBe("10.0.0.64/26");
    set.release("10.0.0.0/26");
    expect(set.allocateNext()).toBe("10.0.0.128/26"); // cursor is at 2, not back at 0
    expect(set.allocateNext()).toBe("10.0.0.192/26");
    expect(set.allocateNext()).toBe("10.0.0.0/26"); // wrapped
    expect(code(() => set.allocateNext())).toBe("FULL");
  });

  it("skips occupied subnets", () => {
    const set = new CidrSet("10.0.0.0/24", 26);
    set.occupy("10.0.0.0/25"); // covers .0/26 and .64/26
    expect(set.allocateNext()).toBe("10.0.0.128/26");
  });

  it("numeric batch path matches the string path", () => {
    const a = new CidrSet("10.0.0.0/16", 24);
    const b = new CidrSet("10.0.0.0/16", 24);
    const out = new Uint32Array(300);
    expect(b.allocateNextIndexBatch(out)).toBe(256); // only 256 exist
    for (let i = 0; i < 256; i++) expect(b.indexToCidr(out[i] as number)).toBe(a.allocateNext());
    expect(b.isFull()).toBe(true);
    expect(b.releaseIndexBatch(out, 256)).toBe(256);
    expect(b.used).toBe(0);
  });
});

describe("CidrSet occupy / release / isAllocated", () => {
  const cases: { name: string; occupy: string; used: number; allocated: string[]; free: string[] }[] = [
    // cluster 10.0.0.0/16 with /24 nodes: 256 slots
    { name: "the node mask itself", occupy: "10.0.5.0/24", used: 1, allocated: ["10.0.5.0/24"], free: ["10.0.4.0/24", "10.0.6.0/24"] },
    { name: "a shorter prefix covers many slots", occupy: "10.0.4.0/22", used: 4, allocated: ["10.0.4.0/24", "10.0.7.0/24", "10.0.4.0/22"], free: ["10.0.3.0/24", "10.0.8.0/24"] }, // 2^(24-22)
    { name: "a longer prefix covers the slot that holds it", occupy: "10.0.9.128/25", used: 1, allocated: ["10.0.9.0/24", "10.0.9.7/32"], free: ["10.0.10.0/24"] },
    { name: "a single address", occupy: "10.0.200.7/32", used: 1, allocated: ["10.0.200.0/24"], free: ["10.0.201.0/24"] },
    { name: "the cluster CIDR covers all", occupy: "10.0.0.0/16", used: 256, allocated: ["10.0.0.0/16", "10.0.255.0/24"], free: [] },
    { name: "a CIDR containing the cluster covers all", occupy: "10.0.0.0/8", used: 256, allocated: ["10.0.0.0/16"], free: [] },
  ];
  it.each(cases)("$name: $occupy", (c) => {
    const set = new CidrSet("10.0.0.0/16", 24);
    set.occupy(c.occupy);
    expect(set.used).toBe(c.used);
    for (const a of c.allocated) expect(set.isAllocated(a)).toBe(true);
    for (const f of c.free) expect(set.isAllocated(f)).toBe(false);
    set.occupy(c.occupy); // occupying again changes nothing
    expect(set.used).toBe(c.used);
    set.release(c.occupy);
    expect(set.used).toBe(0);
    set.release(c.occupy); // releasing what is not allocated is a no-op
    expect(set.used).toBe(0);
  });

  it("isAllocated of a range is true only if every slot is", () => {
    const set = new CidrSet("10.0.0.0/16", 24);
    set.occupy("10.0.4.0/24");
    set.occupy("10.0.5.0/24");
    expect(set.isAllocated("10.0.4.0/23")).toBe(true);
    expect(set.isAllocated("10.0.4.0/22")).toBe(false);
  });

  it("inRange is overlap with the cluster CIDR", () => {
    const set = new CidrSet("10.1.0.0/16", 24);
    expect(set.inRange("10.1.2.0/24")).toBe(true);
    expect(set.inRange("10.0.0.0/8")).toBe(true);
    expect(set.inRange("10.2.0.0/24")).toBe(false);
    expect(set.inRange("10.0.0.0/16")).toBe(false);
  });
});

describe("CidrSet errors", () => {
  const ctor: { cluster: string; mask: unknown; code: string; msg: RegExp }[] = [
    { cluster: "fd00::/64", mask: 81, code: "SUBNET_TOO_BIG", msg: /17 bits longer.*at most 16 for IPv6/ }, // 81 - 64 = 17 > 16
    { cluster: "fd00::/104", mask: 129, code: "INVALID_MASK", msg: /at most 128/ },
    { cluster: "10.0.0.0/8", mask: 33, code: "INVALID_MASK", msg: /at most 32/ },
    { cluster: "10.0.0.0/16", mask: 8, code: "INVALID_MASK", msg: /shorter than the cluster mask \/16/ },
    { cluster: "10.0.0.0/16", mask: 24.5, code: "INVALID_MASK", msg: /integer/ },
    { cluster: "0.0.0.0/0", mask: 32, code: "SUBNET_TOO_BIG", msg: /at most 24 for IPv4/ }, // ipcarve's own cap: 2^24 slots
    { cluster: "10.0.0.0/33", mask: 34, code: "INVALID_CIDR", msg: /10\.0\.0\.0\/33/ },
  ];
  it.each(ctor)("new CidrSet($cluster, $mask) -> $code", (c) => {
    try {
      new CidrSet(c.cluster, c.mask as number);
      expect.unreachable();
    } catch (e) {
      expect((e as IpamError).code).toBe(c.code);
      expect((e as IpamError).message).toMatch(/^ipcarve: /);
      expect((e as IpamError).message).toMatch(c.msg);
    }
  });

  it("IPv6 diff of exactly 16 is allowed", () => {
    expect(new CidrSet("fd00::/48", 64).capacity).toBe(65536);
  });

  it("out of range and wrong family leave state unchanged", () => {
    const set = new CidrSet("10.0.0.0/16", 24);
    set.occupy("10.0.1.0/24");
    expect(code(() => set.occupy("10.1.0.0/24"))).toBe("NOT_IN_RANGE");
    expect(code(() => set.release("192.168.0.0/24"))).toBe("NOT_IN_RANGE");
    expect(code(() => set.isAllocated("11.0.0.0/8"))).toBe("NOT_IN_RANGE");
    expect(code(() => set.occupy("fd00::/120"))).toBe("FAMILY_MISMATCH");
    expect(code(() => set.occupy("nonsense"))).toBe("INVALID_CIDR");
    expect(set.used).toBe(1);
    expect(set.isAllocated("10.0.1.0/24")).toBe(true);
  });
});
