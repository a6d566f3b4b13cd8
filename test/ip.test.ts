import { describe, it, expect } from "vitest";
import { err } from "./helpers.js";
import { parseCidr, isValidCidr, IpamError } from "../src/index.js";
import fc from "fast-check";
import { parseIPv4, formatIPv4, formatIPv4Cidr, parseIPv6, formatIPv6, parseIp } from "../src/net/ip.js";

describe("parseCidr", () => {
  const cases: { in: string; want: string; family: 4 | 6; prefix: number }[] = [
    // host bits are masked off, as Go's net.ParseCIDR does
    { in: "127.123.3.0/16", want: "127.123.0.0/16", family: 4, prefix: 16 },
    { in: "10.0.0.0/8", want: "10.0.0.0/8", family: 4, prefix: 8 },
    { in: "192.168.15.255/20", want: "192.168.0.0/20", family: 4, prefix: 20 }, // 15 = 0b1111 sits in the host bits of a /20
    { in: "0.0.0.0/0", want: "0.0.0.0/0", family: 4, prefix: 0 },
    { in: "255.255.255.255/32", want: "255.255.255.255/32", family: 4, prefix: 32 },
    // canonical IPv6: lowercase, no leading zeros, longest zero run as ::
    { in: "2001:0DB8:1234:000F:0000:0000:0000:0000/64", want: "2001:db8:1234:f::/64", family: 6, prefix: 64 },
    { in: "2001:db8:1234:f:1:2:3:4/64", want: "2001:db8:1234:f::/64", family: 6, prefix: 64 },
    { in: "fd00::/104", want: "fd00::/104", family: 6, prefix: 104 },
    // groups fd00,0,0,0,0,1,2,3: /104 keeps bits 24..127; group 5 (bits 32..47) = 1 stays,
    // group 6 (bits 16..31) = 2 is bit 17 and group 7 is bits 0..15: both masked
    { in: "fd00::1:2:3/104", want: "fd00::1:0:0/104", family: 6, prefix: 104 },
    { in: "::/0", want: "::/0", family: 6, prefix: 0 },
    { in: "1:0:0:1:0:0:0:1/128", want: "1:0:0:1::1/128", family: 6, prefix: 128 }, // runs 0:0 (2) and 0:0:0 (3): the longer one is compressed
    { in: "1:0:0:2:0:0:3:4/128", want: "1::2:0:0:3:4/128", family: 6, prefix: 128 }, // equal runs of 2: the leftmost is compressed (RFC 5952 4.2.3)
    { in: "2001:db8:0:1:1:1:1:1/128", want: "2001:db8:0:1:1:1:1:1/128", family: 6, prefix: 128 }, // one zero group is not compressed (RFC 5952 4.2.2)
    { in: "::ffff:10.1.2.3/128", want: "::ffff:10.1.2.3/128", family: 6, prefix: 128 }, // IPv4-mapped keeps the dotted tail
  ];
  it.each(cases)("$in -> $want", (c) => {
    const got = parseCidr(c.in);
    expect(String(got)).toBe(c.want);
    expect(got.family).toBe(c.family);
    expect(got.prefix).toBe(c.prefix);
    expect(isValidCidr(c.in)).toBe(true);
  });

  it("masking equals clearing the low (bits - prefix) bits", () => {
    const c = parseCidr("fd00::1:2:3/104");
    const v = parseIPv6("fd00::1:2:3") as bigint;
    expect(c.network).toBe(v & ~((1n << 24n) - 1n)); // 128 - 104 = 24 host bits
  });

  const bad: { in: unknown; why: RegExp }[] = [
    { in: "10.0.0.0", why: /missing \/prefix/ },
    { in: "10.0.0.0/33", why: /longer than 32/ },
    { in: "fd00::/129", why: /longer than 128/ },
    { in: "10.0.0/8", why: /not an IPv4 or IPv6/ },
    { in: "010.0.0.0/8", why: /not an IPv4 or IPv6/ }, // leading zeros are rejected, as Go does
    { in: "10.0.0.0/08", why: /bad prefix/ },
    { in: "10.0.0.0/-1", why: /bad prefix/ },
    { in: "10.0.0.0/ 8", why: /bad prefix/ },
    { in: "fd00:::1/64", why: /not an IPv4 or IPv6/ },
    { in: "1::2::3/64", why: /not an IPv4 or IPv6/ },
    { in: "1:2:3:4:5:6:7:8:9/64", why: /not an IPv4 or IPv6/ },
    { in: "1:2:3:4::5:6:7:8/64", why: /not an IPv4 or IPv6/ }, // :: must stand for at least one group
    { in: "fe80::1%eth0/64", why: /not an IPv4 or IPv6/ },
    { in: "", why: /missing \/prefix/ },
  ];
  it.each(bad)("rejects $in", (c) => {
    expect(isValidCidr(c.in)).toBe(false);
    try {
      parseCidr(c.in);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(IpamError);
      expect((e as IpamError).code).toBe("INVALID_CIDR");
      expect((e as IpamError).message).toMatch(/^ipcarve: invalid CIDR/);
      expect((e as IpamError).message).toMatch(c.why);
      if (typeof c.in === "string") expect((e as IpamError).message).toContain(JSON.stringify(c.in));
    }
  });

  it("a non-string is INVALID_ARGUMENT (INVALID_CIDR is for strings that do not parse)", () => {
    for (const v of [42, null, undefined, 1n, Symbol("s"), Object.create(null), ["10.0.0.0/8"]]) {
      expect(isValidCidr(v)).toBe(false);
      const e = err(() => parseCidr(v));
      expect(e.code).toBe("INVALID_ARGUMENT");
      expect(e.message).toMatch(/^ipcarve: CIDR must be a string \(got /);
    }
  });
});

describe("addresses", () => {
  it("IPv4 round trip over edge values", () => {
    for (const v of [0, 1, 255, 256, 0x0a000001, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]) {
      expect(parseIPv4(formatIPv4(v))).toBe(v);
    }
    expect(formatIPv4(0xc0a80307)).toBe("192.168.3.7"); // 0xc0=192 0xa8=168 0x03=3 0x07=7
  });

  it("IPv4 parse rejects what Go rejects", () => {
    for (const s of ["1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1..2.3", "1.2.3.4 ", "a.b.c.d", "1.2.3.-4"]) {
      expect(parseIPv4(s)).toBe(-1);
    }
  });

  it("IPv6 round trip", () => {
    for (const s of ["::", "::1", "fd00::", "2001:db8::ff00:42:8329", "1::", "1:2:3:4:5:6:7:8", "fe80::1:0:0:0"]) {
      expect(formatIPv6(parseIPv6(s) as bigint)).toBe(s);
    }
  });

  it("parseIp names the input on error", () => {
    expect(() => parseIp("nope")).toThrow(/ipcarve: invalid IP "nope"/);
    expect(parseIp("10.0.0.1")).toEqual({ family: 4, value: 0x0a000001n });
  });
});

describe("IPv6 parsing, property", () => {
  it("parse(format(groups)) and every :: compression of a zero run give the groups back", async () => {
    const fc = (await import("fast-check")).default;
    const { formatIPv6Groups, parseIPv6Groups } = await import("../src/net/ip.js");
    const group = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), fc.boolean(), (g, upper) => {
        const canonical = formatIPv6Groups(g);
        expect(parseIPv6Groups(canonical)).toEqual(g);
        const full = g.map((x) => (upper ? x.toString(16).toUpperCase() : x.toString(16).padStart(4, "0"))).join(":");
        expect(parseIPv6Groups(full)).toEqual(g);
        // compress any run of zero groups (one or more) with "::"
        for (let a = 0; a < 8; a++) {
          for (let b = a; b < 8 && g[b] === 0; b++) {
            const head = g.slice(0, a).map((x) => x.toString(16)).join(":");
            const tail = g.slice(b + 1).map((x) => x.toString(16)).join(":");
            expect(parseIPv6Groups(`${head}::${tail}`)).toEqual(g);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("formatIPv4 / formatIPv4Cidr (char codes in one reused array) vs a reference join", () => {
  it("agree with octets joined by dots for any u32 and prefix, lengths 7..18", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 }), (ip, p) => {
        const want = [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join(".");
        expect(formatIPv4(ip)).toBe(want);
        expect(formatIPv4Cidr(ip, p)).toBe(`${want}/${p}`);
      }),
      { numRuns: 5000 },
    );
    // the shortest and the longest text, and one after the other (the array is reused: no leftovers)
    expect(formatIPv4Cidr(0xffffffff, 32)).toBe("255.255.255.255/32"); // 18 chars, the whole array
    expect(formatIPv4(0)).toBe("0.0.0.0"); // 7 chars right after
    expect(formatIPv4Cidr(0x0a000000, 8)).toBe("10.0.0.0/8");
  });
});
