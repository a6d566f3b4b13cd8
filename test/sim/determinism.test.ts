// For a given seed, every allocation and counter is the same with 1 and K
// threads (needs dist/ built: the workers are compiled JS). And the seed matters.
import { describe, it, expect } from "vitest";
import { simulate, type SimResult } from "../../src/sim/simulate.js";
import { applyOverrides, defaultScenario, type Scenario, type SimPool } from "../../src/sim/scenario.js";

/** Everything but wall-clock measurements. */
function deterministic(r: SimResult): unknown {
  const { wallMs: _w, eventsPerSec: _e, threads: _t, series, final, ...rest } = r;
  const { opsPerSec: _f, ...fin } = final;
  return { ...rest, final: fin, series: series.map(({ opsPerSec: _o, ...s }) => s) };
}

const small: Scenario = applyOverrides(defaultScenario(), { nodes: 400, duration: 2 * 3600 });
// A /25 per node with maxPods 110 and a long cooldown: pod allocations fail, nodes wait for subnets.
const tight: { pool: SimPool; scenario: Scenario } = {
  pool: { ipv4: { cidrs: ["10.1.0.0/18"], maskSize: 25 }, podStrategy: "random" },
  scenario: {
    ...applyOverrides(defaultScenario(), { nodes: 300, duration: 3600 }),
    growth: [{ at: 2700, cidr: "10.2.0.0/22" }],
    cooldown: 600,
    pods: { minPerNode: 100, maxPerNode: 120, maxPods: 120, lifetime: { kind: "uniform", min: 60, max: 900 } },
  },
};

describe("determinism across thread counts", () => {
  it("default scenario (small): 1, 2 and 3 threads give identical results", async () => {
    const pool: SimPool = { ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 } };
    const one = await simulate({ pool, scenario: small, threads: 1 });
    const two = await simulate({ pool, scenario: small, threads: 2 });
    const three = await simulate({ pool, scenario: small, threads: 3 });
    expect(one.totals.events).toBeGreaterThan(100_000);
    expect(deterministic(two)).toEqual(deterministic(one));
    expect(deterministic(three)).toEqual(deterministic(one));
  });

  it("tight dual pressure (failures, pending nodes, growth, random strategy, dual-stack): 1 vs 2 threads", async () => {
    const pool: SimPool = { ...tight.pool, ipv6: { cidrs: ["fd00:1::/104"], maskSize: 120 } };
    const scenario = { ...tight.scenario, growth: [...tight.scenario.growth] };
    const one = await simulate({ pool, scenario, threads: 1 });
    const two = await simulate({ pool, scenario, threads: 2 });
    expect(one.totals.podFailures).toBeGreaterThan(0);
    expect(one.totals.maxNodesWithoutSubnet).toBeGreaterThan(0);
    expect(one.pools.find((p) => p.cidr === "10.2.0.0/22")?.subnetsUsed).toBeGreaterThan(0);
    expect(deterministic(two)).toEqual(deterministic(one));
  });

  it("a different seed gives a different run", async () => {
    const pool: SimPool = { ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 } };
    const a = await simulate({ pool, scenario: small, threads: 1 });
    const b = await simulate({ pool, scenario: { ...small, seed: 2 }, threads: 1 });
    expect(b.digest).not.toBe(a.digest);
    expect(b.totals.podCreates).not.toBe(a.totals.podCreates);
  });
});
