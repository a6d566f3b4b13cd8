// Runs of the real simulation whose shortage and forecast are known by
// construction: no node failures, one pod per node, a linear node curve.
import { describe, it, expect } from "vitest";
import { simulate } from "../../src/sim/simulate.js";
import type { NodePhase, Scenario } from "../../src/sim/scenario.js";

const H = 3600;
function scenario(phases: NodePhase[], duration: number, epoch: number, sample: number): Scenario {
  return {
    name: "known answer", seed: 1, duration, epoch, sample,
    nodes: { phases, failureRate: 0 },
    pods: { minPerNode: 1, maxPerNode: 1, maxPods: 1, lifetime: { kind: "fixed", value: 100 * H } },
    cooldown: 0,
    growth: [],
  };
}

describe("shortage and forecast of a simulation", () => {
  it("a /20 of /24s (16 subnets) under a 0 -> 32 node ramp runs out at 30.5 min and stays out", async () => {
    const r = await simulate({
      pool: { ipv4: { cidrs: ["10.0.0.0/20"], maskSize: 24 } }, // 2^(24-20) = 16 node subnets
      scenario: scenario([{ at: 0, nodes: 0 }, { at: H, nodes: 32 }], H, 30, 60),
      threads: 1,
    });
    const s = r.shortage;
    // Target at an epoch's end tEnd is round(32 tEnd / 3600). Node 17 comes when 32 tEnd / 3600 >= 16.5,
    // i.e. tEnd >= 1856.25 -> tEnd = 1860 (epochs of 30 s); nodes join at the epoch's start, 1830 s.
    expect(s.outages).toEqual([{ start: 1830 }]);
    expect(s.nodesWaited).toBe(16); // nodes 17..32
    expect(s.waitingAtEnd).toBe(16);
    expect(s.maxWait).toBe(H - 1830); // node 17 waits from 1830 s to the end
    expect(s.peakDemand).toBe(32); // 16 held + 16 waiting
    // Out at the end: exhausted since the first node waited, 1830 s, not "at 1 h" (the end of the run).
    expect(r.forecast.status).toBe("exhausted");
    expect(r.forecast.exhaustedAt).toBe(1830);
  });

  it("ramp, hold, ramp: projects the last ramp only (6 h)", async () => {
    // 10.0.0.0/19: 32 node subnets. Samples every 450 s; in the last phase (3 h -> 4 h, 8 -> 16 nodes)
    // the target at t = 10,800 + 450 j is 8 + j exactly: slope 8/h; 16 at 4 h; (32 - 16) / 8 = 2 h more: 6 h.
    const r = await simulate({
      pool: { ipv4: { cidrs: ["10.0.0.0/19"], maskSize: 24 } },
      scenario: scenario([{ at: 0, nodes: 0 }, { at: H, nodes: 8 }, { at: 3 * H, nodes: 8 }, { at: 4 * H, nodes: 16 }], 4 * H, 450, 450),
      threads: 1,
    });
    expect(r.shortage.outages).toEqual([]);
    expect(r.shortage.nodesWaited).toBe(0);
    expect(r.shortage.peakDemand).toBe(16);
    const f = r.forecast;
    expect(f.status).toBe("projected");
    expect(f.window.from).toBe(3 * H + 450); // the first sample after the bend
    expect(f.slope * H).toBeCloseTo(8, 9);
    expect(f.exhaustedAt).toBeCloseTo(6 * H, 6);
    expect(f.capacity).toBe(32);
  });

  it("growth serves the waiting nodes: the outage ends at the growth", async () => {
    // 16 subnets; target 0 -> 24 over 1 h (node 17 at round(24 tEnd/3600) >= 17 -> tEnd >= 2475 -> 2490, start 2460);
    // growth 10.0.16.0/20 (16 more) at 5400 s serves the 8 waiting nodes at once.
    const sc = { ...scenario([{ at: 0, nodes: 0 }, { at: H, nodes: 24 }], 2 * H, 30, 60), growth: [{ at: 5400, cidr: "10.0.16.0/20" }] };
    const r = await simulate({ pool: { ipv4: { cidrs: ["10.0.0.0/20"], maskSize: 24 } }, scenario: sc, threads: 1 });
    expect(r.shortage.outages).toEqual([{ start: 2460, end: 5400 }]);
    expect(r.shortage.nodesWaited).toBe(8);
    expect(r.shortage.maxWait).toBe(5400 - 2460);
    expect(r.shortage.waitingAtEnd).toBe(0);
    expect(r.shortage.peakDemand).toBe(24);
    // After the growth nothing changes: flat at 24 of 32, not projected.
    expect(r.forecast.status).toBe("not projected");
    expect(r.forecast.window.from).toBe(5460); // the first sample after the growth (samples every 60 s)
  });
});
