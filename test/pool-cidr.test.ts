// PoolCidr maps addresses to pool-relative numbers two ways: with BigInt
// (relOf, slotOfValue) and, for IPv6 strings on hot paths, from 16-bit
// groups (locate6). They must agree everywhere.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Engine } from "../src/engine.js";
import { PoolCidr } from "../src/pool-cidr.js";
import { parseCidr } from "../src/ip.js";
import { POOL_BYTES } from "../src/wasm.js";

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
