// PoolCidr maps addresses to pool-relative numbers two ways: with BigInt
// (relOf, slotOfValue) and, for IPv6 strings on hot paths, from 16-bit
// groups (locate6). They must agree everywhere.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Engine } from "../src/core/engine.js";
import { PoolCidr } from "../src/alloc/pool-cidr.js";
import { parseCidr } from "../src/net/ip.js";
import { POOL_BYTES } from "../src/core/layout.js";

const engine = Engine.create();
const table = engine.alloc(8 * POOL_BYTES);

describe("PoolCidr.locate6 agrees with the BigInt mapping", () => {
  const pools: [string, number][] = [
    ["fd00::/104", 120], // 2^16 slots of 256 addresses
    ["2001:db8::/48", 64], // /64 slots, capped at 2^16 addresses
    ["2001:db8::/50", 63], // odd masks: 13 slot bits, capped
    ["2001:db8:1234::/56", 72], // slot bits straddle a group boundary
    ["fd00::/112", 122], // smaller-than-/120 slots (64 addresses)
  ];
  it.each(pools)("%s with /%i slots", (cidr, slotMask) => {
    const c = parseCidr(cidr);
    const pool = new PoolCidr(engine, table, 0, c, slotMask, 0);
    const span = 1n << BigInt(128 - c.prefix);
    fc.assert(
      fc.property(fc.bigInt({ min: -span, max: 2n * span - 1n }), (d) => {
        const v = c.network + d;
        if (v < 0n || v >= 1n << 128n) return;
        const g: number[] = [];
        for (let i = 7, x = v; i >= 0; i--, x >>= 16n) g[i] = Number(x & 0xffffn);
        const got = pool.locate6(g);
        if (!c.containsValue(v)) {
          expect(got).toBeUndefined();
          return;
        }
        expect(got).toEqual({ slot: pool.slotOfValue(v), rel: pool.relOf(v) });
      }),
      { numRuns: 2000 },
    );
  });
});

describe("IPv6 pod address text", () => {
  // the per-node formatter appends the last group to a fixed head; it must equal canonical RFC 5952 text
  const cases: [string, number][] = [
    ["fd00::/104", 120], // fd00::1 .. fd00::ff:fffe
    ["2001:db8::/48", 64], // capped /64: 2001:db8:0:N::1 ..
    ["fd00::/112", 127], // point-to-point: the last group can be 0
    ["::/96", 112], // a zero run on the left
    ["fd00::1:0/112", 120], // group 6 is non-zero
    ["1:0:0:1::/96", 112], // two zero runs, the longer one wins
  ];
  it.each(cases)("%s with /%i nodes", async (cidr, mask) => {
    const { ClusterPool } = await import("../src/index.js");
    const { formatIPv6, parseIPv6 } = await import("../src/net/ip.js");
    const pool = new ClusterPool({ ipv6: { cidrs: [cidr], maskSize: mask } });
    let checked = 0;
    for (let n = 0; n < 3; n++) {
      pool.addNode(`n${n}`);
      for (let k = 0; k < 300; k++) {
        let ip: string;
        try {
          ip = pool.allocate(`n${n}`, `ns/p${n}-${k}`).ipv6 as string;
        } catch {
          break; // the range is full
        }
        expect(ip).toBe(formatIPv6(parseIPv6(ip) as bigint));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });
});
