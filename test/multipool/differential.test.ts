// Multi-pool ClusterPool against ReferenceMultiPool over random operations
// (IPCARVE_DIFF_OPS scales it, as for the single-pool differential test).
import { describe, it, expect } from "vitest";
import { differentialMulti } from "../model/differential-multi.js";

const TOTAL = Math.max(1, Math.floor(Number(process.env.IPCARVE_DIFF_OPS ?? 1_000_000) / 30));
const PER_RUN = 2000;

describe("multi-pool ClusterPool vs reference model", () => {
  it(`${TOTAL.toLocaleString("en")} random operations agree`, () => {
    let ops = 0;
    for (let seed = 1; ops < TOTAL; seed++) ops += differentialMulti(seed * 2246822519, Math.min(PER_RUN, TOTAL - ops)).ops;
    expect(ops).toBe(TOTAL);
  }, 3_600_000);
});
