/**
 * How an allocator picks the next free offset, as options name it:
 * 'next-fit' (Cilium's node carving: a cursor that wraps), 'first-free',
 * 'random' (Cilium's agent, seeded). The codes the core takes are in
 * src/core/layout.ts.
 */
import type { Strategy } from "../core/layout.js";
import { errors, show } from "../errors.js";

export type { Strategy };

export const STRATEGIES: readonly Strategy[] = ["next-fit", "first-free", "random"];

/** Validates a strategy option; throws INVALID_OPTION naming `path`. */
export function checkStrategy(path: string, s: unknown): Strategy {
  if (s === undefined) return "next-fit";
  if (typeof s !== "string" || !STRATEGIES.includes(s as Strategy)) {
    throw errors.invalidOption(path, `must be one of ${STRATEGIES.map((x) => `'${x}'`).join(", ")} (got ${show(s)})`);
  }
  return s as Strategy;
}

/** Validates a seed option; returns the u64 seed (0 = the core's fixed default). */
export function checkSeed(path: string, s: unknown): bigint {
  if (s === undefined) return 0n;
  if (typeof s === "number" && Number.isSafeInteger(s) && s >= 0) return BigInt(s);
  if (typeof s === "bigint" && s >= 0n && s < 1n << 64n) return s;
  throw errors.invalidOption(path, `must be a non-negative integer (got ${show(s)})`);
}
