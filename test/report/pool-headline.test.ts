// The multi-pool capacity answer, per pool and family, on scenarios whose answer is known by construction.
import { describe, it, expect } from "vitest";
import { simulateMultiPool, type MultiPoolScenario } from "../../src/sim/multi-pool.js";
import { poolsHeadline } from "../../src/report/pool-headline.js";

/**
 * Pool a: 10.0.0.0/26 of /28 chunks = 4 chunks of 14 addresses, no watermark, no release delay;
 * 6 unlabelled nodes from t = 0, 10 pods each that outlive the run: one chunk per node.
 * Pool b: 10.1.0.0/24 = 16 chunks, only for nodes labelled grp=b; 2 such nodes, 10 pods each.
 * Epochs t = 0, 60, ..., 300 (6).
 */
export const known: MultiPoolScenario = {
  name: "known", seed: 1, duration: 300, epoch: 60, sample: 60,
  pools: {
    a: { ipv4: { cidrs: ["10.0.0.0/26"], maskSize: 28 }, preAllocate: 0, releaseDelayMs: 0 },
    b: { ipv4: { cidrs: ["10.1.0.0/24"], maskSize: 28 }, preAllocate: 0, releaseDelayMs: 0, nodeSelector: { matchLabels: { grp: "b" } } },
  },
  groups: [
    { name: "ga", labels: {}, phases: [{ at: 0, nodes: 6 }], pods: [{ pool: "a", min: 10, max: 10, lifetime: { kind: "fixed", value: 10_000 } }] },
    { name: "gb", labels: { grp: "b" }, phases: [{ at: 0, nodes: 2 }], pods: [{ pool: "b", min: 10, max: 10, lifetime: { kind: "fixed", value: 10_000 } }] },
  ],
};

describe("poolsHeadline", () => {
  it("one pool out from the start, one with room: when, how many short, failures, and the extra CIDR", () => {
    const r = simulateMultiPool(known);
    const hl = poolsHeadline(r);
    const a = hl.pools.find((p) => p.pool === "a");
    // 4 chunks for 6 nodes: 2 nodes refused in every epoch (their first pod fails, they retry next epoch): 2 x 6 = 12
    expect(a).toMatchObject({ ranOutAt: 0, outAtEnd: true, maxShort: 2, failures: 12, peakDemand: 6, chunks: 4, chunkSize: 14 });
    // demand 6 - 4 chunks = 2 short: a /27 (2^(28-27) = 2 /28 chunks) from the start
    expect(a?.enough).toMatchObject({ demand: 6, had: 4, extraCidr: { prefix: 27, subnets: 2 } });
    expect(a?.enough?.mask).toBeUndefined(); // a node may hold several chunks: a longer mask is no answer
    const b = hl.pools.find((p) => p.pool === "b");
    expect(b).toMatchObject({ outAtEnd: false, maxShort: 0, failures: 0, peakDemand: 2, chunks: 16 });
    expect(b?.ranOutAt).toBeUndefined();
    expect(b?.enough).toBeUndefined();
    expect(hl.ranOut).toBe(true);
    expect(hl.lines).toEqual([
      "Pool a (IPv4) ran out at 0s and was still out at the end; b (IPv4) did not.",
      // 6 epochs of 60 s short
      "Pool a IPv4 (10.0.0.0/26, 4 chunks of /28, 14 addresses each) ran out at 0s and was still out at the end (5m): up to 2 nodes at once short of a chunk, short for 6m in all; 12 pod allocations of the pool failed.",
      "At least 6 chunks were wanted at once (at 0s); the pool has 4. What would have been enough: one more /27 from the start (2 more /28 chunks).",
      // 2 of 16 = 12.5%
      "Pool b IPv4 (10.1.0.0/24, 16 chunks of /28, 14 addresses each) never ran out: at most 2 of its 16 chunks were held at once (12.5%, at 0s).",
      // 4 + 2 chunks taken, none back; 4 x 10 + 2 x 10 pods; per pool: a's 4 chunks went to 4 of the 6 nodes, b's 2 to its 2 nodes
      "CIDRs moved: 6 chunks taken by nodes, 0 given back to their pools (nodes added 8, removed 0; 60 pod allocations); per pool: a IPv4 4 taken, 0 given back; b IPv4 2 taken, 0 given back.",
    ]);
  });

  it("with the extra /27 from the start, no pool runs out", () => {
    const a = { ...known.pools.a, ipv4: { cidrs: ["10.0.0.0/26", "10.0.0.64/27"], maskSize: 28 } };
    const hl = poolsHeadline(simulateMultiPool({ ...known, pools: { ...known.pools, a } }));
    expect(hl.ranOut).toBe(false);
    // 6 of 6 chunks: 100%
    expect(hl.lines[0]).toBe("No pool ran out: a (IPv4) held at most 100.0% of its chunks; b (IPv4) held at most 12.5% of its chunks.");
  });

  it("a dual-stack pool answers each family: IPv6 with room while IPv4 is short", () => {
    // IPv6 fd00::/120 of /124 chunks: 16 chunks of 2^4 - 2 = 14, as IPv4's /28
    const a = { ...known.pools.a, ipv6: { cidrs: ["fd00::/120"], maskSize: 124 } };
    const hl = poolsHeadline(simulateMultiPool({ ...known, pools: { a } , groups: [known.groups[0] as MultiPoolScenario["groups"][number]] }));
    expect(hl.pools.map((p) => [p.pool, p.family, p.ranOutAt !== undefined])).toEqual([["a", 4, true], ["a", 6, false]]);
    // the refused nodes count against IPv4 only (IPv6 still had free chunks): 4 IPv6 chunks held
    expect(hl.pools[1]?.peakDemand).toBe(4);
  });
});
