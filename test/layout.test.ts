/**
 * The memory map is written twice: in assembly/layout.ts (the core) and in
 * src/core/layout.ts (what TypeScript needs of it). Every TypeScript
 * constant must equal the core's constant of the same name, so that a change
 * to one side that is not made to the other fails here, not in memory.
 */
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import * as ts from "../src/core/layout.js";

const text = readFileSync(new URL("../assembly/layout.ts", import.meta.url), "utf8");
/** `@inline export const NAME: type = value;` of assembly/layout.ts. */
const core = new Map(
  [...text.matchAll(/^@inline export const (\w+): \w+ = (-?\d+)(?: << (\d+))?;/gm)].map((m) => [m[1]!, Number(m[2]) * 2 ** Number(m[3] ?? 0)]),
);

describe("src/core/layout.ts equals assembly/layout.ts", () => {
  it("the core's file parses into constants (the test reads what it compares)", () => {
    expect(core.get("POOL_BYTES")).toBe(64);
    expect(core.size).toBeGreaterThan(30);
  });

  const numbers = Object.entries(ts).filter(([, v]) => typeof v === "number") as [string, number][];
  it("TypeScript has the constants it should", () => {
    expect(numbers.map(([k]) => k).sort()).toEqual(
      [
        "ARENA_START", "BM_AUX", "BM_NBITS", "BM_USED", "ENGINE_ARENA", "FLAG_ATOMIC", "NONE", "NO_MEMORY", "POOL_BYTES", "POOL_FREE_REGIONS", "SCRATCH_FREE", "SLOT_BYTES",
        "OWN_BYTES", "OWN_MASK", "OWN_NEXT_ID", "OWN_CHUNKS", "OWN_CHUNK_COUNT", "OWN_EPOCH", "REC_NAME", "REC_LEN", "REC_KEY0", "REC_KEY1", "REC_BYTES", "REC_FREE", "REC_DORMANT", "NEED_TABLE", "NEED_RECORDS", "NEED_NAMES", "KEY_EMPTY",
      ].sort(),
    );
  });
  for (const [name, value] of numbers) {
    it(`${name} = ${value}`, () => {
      expect(core.has(name), `assembly/layout.ts has no ${name}`).toBe(true);
      expect(value).toBe(core.get(name));
    });
  }
  // strategy codes: "next-fit" -> STRATEGY_NEXT_FIT
  for (const [name, code] of Object.entries(ts.STRATEGY_CODE)) {
    const constant = `STRATEGY_${name.toUpperCase().replace(/-/g, "_")}`;
    it(`strategy ${name} = ${constant}`, () => expect(code).toBe(core.get(constant)));
  }
});
