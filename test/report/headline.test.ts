// The capacity answer in words: what would have been enough (a table of
// pools and demands), and the whole headline of runs whose answer is known.
import { describe, it, expect } from "vitest";
import { enoughFor, headline } from "../../src/report/headline.js";
import { simulate } from "../../src/sim/simulate.js";
import type { NodePhase, Scenario } from "../../src/sim/scenario.js";

describe("enoughFor", () => {
  it.each([
    {
      name: "Cilium's default /8 of /24s, 68,000 nodes at once",
      cidrs: ["10.0.0.0/8"], mask: 24, limit: undefined, demand: 68_000, pods: 110,
      // 2^16 = 65,536 subnets; 2,464 short -> 2^12 = 4,096 -> /12; /25: 2^17 = 131,072 subnets of 126 >= 110
      want: { had: 65_536, extraCidr: { prefix: 12, subnets: 4096 }, mask: { maskSize: 25, subnets: 131_072, podsPerSubnet: 126 } },
    },
    {
      name: "a /20 of /24s, 32 nodes",
      cidrs: ["10.0.0.0/20"], mask: 24, limit: undefined, demand: 32, pods: 1,
      // 16 subnets, 16 short -> /20 more; /25: 32 subnets
      want: { had: 16, extraCidr: { prefix: 20, subnets: 16 }, mask: { maskSize: 25, subnets: 32, podsPerSubnet: 126 } },
    },
    {
      name: "200 pods per node: no longer mask leaves room",
      cidrs: ["10.0.0.0/8"], mask: 24, limit: undefined, demand: 68_000, pods: 200,
      // /25 has 126 usable < 200
      want: { had: 65_536, extraCidr: { prefix: 12, subnets: 4096 } },
    },
    {
      name: "the subnet limit is short, not the space",
      cidrs: ["10.0.0.0/16"], mask: 24, limit: 16, demand: 20, pods: 110,
      // 256 subnets of space but maxNodeSubnets 16: raise it to 20; no CIDR, no mask
      want: { had: 16, maxNodeSubnets: 20 },
    },
    {
      name: "IPv6 fd00::/104 of /120s, 70,000 nodes",
      cidrs: ["fd00::/104"], mask: 120, limit: undefined, demand: 70_000, pods: 110,
      // 2^16 = 65,536; 4,464 short -> 2^13 = 8,192 -> /107 (120 - 107 = 13 <= 16); /121 would be 17 bits: no mask
      want: { had: 65_536, extraCidr: { prefix: 107, subnets: 8192 } },
    },
    {
      name: "enough already",
      cidrs: ["10.0.0.0/16"], mask: 24, limit: undefined, demand: 200, pods: 110,
      want: { had: 256 },
    },
  ])("$name", ({ cidrs, mask, limit, demand, pods, want }) => {
    expect(enoughFor(cidrs, mask, limit, demand, pods)).toEqual({ demand, podsPerNode: pods, ...want });
  });
});

const H = 3600;
function scenario(phases: NodePhase[], duration: number): Scenario {
  return {
    name: "known answer", seed: 1, duration, epoch: 30, sample: 60,
    nodes: { phases, failureRate: 0 },
    pods: { minPerNode: 1, maxPerNode: 1, maxPods: 1, lifetime: { kind: "fixed", value: 100 * H } },
    cooldown: 0,
    growth: [],
  };
}

describe("headline", () => {
  it("a /20 of /24s under a 0 -> 32 ramp: out at 30.5 min, 16 nodes waiting", async () => {
    const r = await simulate({ pool: { ipv4: { cidrs: ["10.0.0.0/20"], maskSize: 24 } }, scenario: scenario([{ at: 0, nodes: 0 }, { at: H, nodes: 32 }], H), threads: 1 });
    const hl = headline(r);
    // see test/sim/shortage.test.ts for 1830 s and the waits
    expect(hl.lines).toEqual([
      "The pool ran out at 30.5m and was still out at the end (1h).",
      "16 nodes waited for a subnet, the longest 29.5m (16 still waiting at the end).", // 3600 - 1830 = 1770 s
      "No pod IP allocation failed.",
      "10.0.0.0/20 with /24 per node fits 16 nodes × 254 pod IPs.",
      // 32 wanted when round(32 tEnd / 3600) = 32: tEnd >= 3543.75 -> 3570, epoch start 3540 s = 59 min
      "At most 32 node subnets were wanted at once (at 59m); the pool had 16 at the start. What would have been enough: one more /20 from the start (16 more /24 node subnets), or maskSize 25 on the same CIDRs (32 nodes × 126 pods, room for 1 per node; for a new cluster).",
    ]);
  });

  it("a pool that never runs out says so, with its peak", async () => {
    // 10.0.0.0/19: 32 subnets, 0 -> 8 nodes over the hour: peak 8 of 32 (25%) first when round(8 tEnd / 3600) = 8: tEnd >= 3375 -> 3390, epoch start 3360 s = 56 min
    const r = await simulate({ pool: { ipv4: { cidrs: ["10.0.0.0/19"], maskSize: 24 } }, scenario: scenario([{ at: 0, nodes: 0 }, { at: H, nodes: 8 }], H), threads: 1 });
    const hl = headline(r);
    expect(hl.ranOutAt).toBeUndefined();
    expect(hl.enough).toBeUndefined();
    expect(hl.lines[0]).toBe("The pool never ran out: at most 8 of its 32 node subnets were wanted at once (25.0%, at 56m).");
    expect(hl.lines[1]).toBe("No node waited for a subnet.");
  });

  // Dual stack: the same 0 -> 32 ramp as above (out at 30.5 min, 32 wanted at 59 min), one family short, the other with room.
  const ramp = scenario([{ at: 0, nodes: 0 }, { at: H, nodes: 32 }], H);
  it.each([
    {
      name: "IPv4 short, IPv6 with room",
      pool: { ipv4: { cidrs: ["10.0.0.0/20"], maskSize: 24 }, ipv6: { cidrs: ["fd00::/112"], maskSize: 120 } },
      // IPv4: 2^(24-20) = 16 subnets; IPv6: 2^(120-112) = 256 subnets of 2^8 - 2 = 254 usable
      fits: ["IPv4: 10.0.0.0/20 with /24 per node fits 16 nodes × 254 pod IPs.", "IPv6: fd00::/112 with /120 per node fits 256 nodes × 254 pod IPs.", "A node takes a node subnet of each family: 16 nodes fit from the start."],
      // IPv4 as in the single-stack case: 16 short -> one /20 (2^4 = 16 /24s), or /25 (32 x 126)
      enough: "At most 32 node subnets were wanted at once (at 59m); the pool had 16 (IPv4) and 256 (IPv6) at the start. What would have been enough for IPv4: one more /20 from the start (16 more /24 node subnets), or maskSize 25 on the same CIDRs (32 nodes × 126 pods, room for 1 per node; for a new cluster). IPv6 had room for them.",
      short: [false, true] as const,
    },
    {
      name: "IPv6 short, IPv4 with room",
      pool: { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 }, ipv6: { cidrs: ["fd00::/116"], maskSize: 120 } },
      // IPv6: 2^(120-116) = 16 subnets; IPv4: 256
      fits: ["IPv4: 10.0.0.0/16 with /24 per node fits 256 nodes × 254 pod IPs.", "IPv6: fd00::/116 with /120 per node fits 16 nodes × 254 pod IPs.", "A node takes a node subnet of each family: 16 nodes fit from the start."],
      // 16 short: prefix 120 - log2(16) = 116 (>= 120 - 16, Cilium's IPv6 limit); /121: 2^(121-116) = 32 subnets of 2^7 - 2 = 126
      enough: "At most 32 node subnets were wanted at once (at 59m); the pool had 256 (IPv4) and 16 (IPv6) at the start. IPv4 had room for them. What would have been enough for IPv6: one more /116 from the start (16 more /120 node subnets), or maskSize 121 on the same CIDRs (32 nodes × 126 pods, room for 1 per node; for a new cluster).",
      short: [true, false] as const,
    },
  ])("dual stack, $name: every family answered", async ({ pool, fits, enough, short }) => {
    const r = await simulate({ pool, scenario: ramp, threads: 1 });
    const hl = headline(r);
    expect(hl.lines[0]).toBe("The pool ran out at 30.5m and was still out at the end (1h).");
    expect(hl.lines.slice(3)).toEqual([...fits, enough]);
    expect(hl.families.map((f) => f.family)).toEqual([4, 6]);
    expect(hl.families.map((f) => (f.enough as { demand: number; had: number }).demand <= (f.enough as { had: number }).had)).toEqual(short);
    expect(hl.nodesFit).toBe(16);
  });
});
