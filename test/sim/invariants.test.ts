// Simulation bookkeeping agrees with the pool's own memory: after a run, the
// addresses the simulator counts as used are exactly the bits set in the
// shared memory, and counters add up.
import { describe, it, expect } from "vitest";
import { simulate } from "../../src/sim/simulate.js";
import { applyOverrides, defaultScenario } from "../../src/sim/scenario.js";
import { Calendar } from "../../src/sim/calendar.js";

describe("simulation counters", () => {
  it("creates = allocations + failures; IPs used = running + cooldown; nodes = with + without subnet", async () => {
    const scenario = { ...applyOverrides(defaultScenario(), { nodes: 200, duration: 3600 }), growth: [] };
    const r = await simulate({ pool: { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } }, scenario, threads: 1 });
    const t = r.totals;
    expect(t.podCreates).toBe(t.ipAllocations + t.podFailures);
    for (const s of r.series) {
      expect(s.ipsUsed).toBe(s.podsRunning + s.ipsInCooldown);
      expect(s.nodes).toBe(s.nodesWithSubnet + s.nodesWithoutSubnet);
      expect(s.subnetsUsed).toBe(s.nodesWithSubnet);
    }
    // 10.0.0.0/16 holds 256 /24s; the second wave wants 272 nodes.
    expect(t.maxNodesWithoutSubnet).toBe(16);
  });
});

describe("Calendar", () => {
  it("drains records in push order and reuses chunks", () => {
    const c = new Calendar(4, 2);
    for (let i = 0; i < 1500; i++) {
      const o = c.push(i % 2);
      c.data[o] = i;
      c.data[o + 1] = -i;
    }
    const seen: number[] = [];
    c.drain(1, (d, o) => { seen.push(d[o] as number); expect(d[o + 1]).toBe(-(d[o] as number)); });
    expect(seen).toEqual(Array.from({ length: 750 }, (_, k) => 2 * k + 1));
    expect(c.size).toBe(750);
  });
});
