// Random sequences of every public ClusterPool operation (nodes, pods,
// release with owners, lookup, reservations, pool growth, graceful
// removal, reuse cooldown, every overflow policy) against a reference model.
// IPCARVE_DIFF_OPS sets the total (npm run soak: 10M).
import { describe, it, expect } from "vitest";
import { differential } from "./model/differential.js";

const TOTAL = Number(process.env.IPCARVE_DIFF_OPS ?? 1_000_000);
const PER_RUN = 4000;

describe("ClusterPool vs reference model", () => {
  it(`${TOTAL.toLocaleString("en")} random operations agree`, () => {
    let ops = 0;
    for (let seed = 1; ops < TOTAL; seed++) ops += differential(seed * 2654435761, Math.min(PER_RUN, TOTAL - ops)).ops;
    expect(ops).toBe(TOTAL);
  }, 3_600_000);
});
