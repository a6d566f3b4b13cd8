// `simulate` accepts every ClusterPool option and gets the library's results:
// its node events, replayed on a ClusterPool built from the same options,
// leave the same nodes, subnets, pending queue and failures; and each
// option's effect on pods shows in the simulation's counters.
// Multi-thread cases need dist/ built (the workers are compiled JS).
import { describe, it, expect } from "vitest";
import { simulate, type SimNodeEvent, type SimResult } from "../../src/sim/simulate.js";
import type { Scenario, SimPool } from "../../src/sim/scenario.js";
import { ClusterPool } from "../../src/pool/cluster-pool.js";
import { IpamError } from "../../src/errors.js";
import { parseConfig } from "../../src/config/load.js";

/** Nodes rise to `n`, hold with failures, fall to half (drained with `grace`), rise to n + extra; pods churn. */
function scenario(n: number, extra: number, o: Partial<Scenario> = {}, grace = 0): Scenario {
  return {
    name: "options", seed: 1, duration: 3600, epoch: 30, sample: 60,
    nodes: {
      phases: [{ at: 0, nodes: 0 }, { at: 600, nodes: n }, { at: 1800, nodes: n }, { at: 2400, nodes: Math.round(n / 2) }, { at: 3000, nodes: n + extra }],
      failureRate: 0.5, drainGrace: grace,
    },
    pods: { minPerNode: 5, maxPerNode: 20, maxPods: 30, lifetime: { kind: "exponential", mean: 600 } },
    cooldown: 0, growth: [], ...o,
  };
}

/** What the library says about nodes: every node's status and subnets, the pending queue, subnets per pool CIDR. */
function nodeState(p: ClusterPool): unknown {
  return {
    nodes: p.nodeNames().map((name) => {
      const d = p.node(name)!;
      return [name, d.status, d.podCIDRs, d.sharing, d.ranges.map((r) => [r.size, r.routerIP ?? null])];
    }),
    pending: p.pendingNodes(),
    subnets: p.stats().pools.map((x) => [x.cidr, x.subnets.used]),
  };
}

/** The node events applied to a fresh ClusterPool with the same options, on the same clock. */
function replay(pool: SimPool, seed: number, events: readonly SimNodeEvent[]): { lib: ClusterPool; fails: number } {
  let now = 0;
  const lib = new ClusterPool({ ...pool, seed: pool.seed ?? seed, clock: () => now });
  let fails = 0;
  for (const e of events) {
    now = e.ms;
    if (e.op === "tick") lib.tick();
    else if (e.op === "addPoolCidr") lib.addPoolCidr(e.cidr);
    else if (e.op === "removeNode") lib.removeNode(e.name, e.graceMs > 0 ? { graceMs: e.graceMs } : undefined);
    else {
      try {
        lib.addNode(e.name);
      } catch (err) {
        if (!(err instanceof IpamError && err.code === "FULL")) throw err;
        fails++;
      }
    }
  }
  return { lib, fails };
}

interface Run { r: SimResult; events: SimNodeEvent[]; state: unknown; cooldown: number }

async function run(pool: SimPool, sc: Scenario, threads = 1): Promise<Run> {
  const events: SimNodeEvent[] = [];
  let state: unknown;
  let cooldown = 0;
  const r = await simulate({ pool, scenario: sc, threads, onNodeEvent: (e) => events.push(e), inspect: (p) => { state = nodeState(p); cooldown = p.stats().cooldown; } });
  return { r, events, state, cooldown };
}

/** Everything but wall-clock measurements. */
function deterministic(r: SimResult): unknown {
  const { wallMs: _w, eventsPerSec: _e, threads: _t, series, final, ...rest } = r;
  const { opsPerSec: _f, ...fin } = final;
  return { ...rest, final: fin, series: series.map(({ opsPerSec: _o, ...s }) => s) };
}

const v4 = (cidr: string, maskSize: number): SimPool["ipv4"] => ({ cidrs: [cidr], maskSize });

// name, pool, scenario. Derivations of the numbers each case checks are in `expectations` below.
const cases: [string, SimPool, Scenario][] = [
  // 10.0.0.0/22 holds 16 /26; 10 may be big: the second wave (24 nodes) leaves 14 pending.
  ["maxNodeSubnets, reject", { ipv4: v4("10.0.0.0/22", 26), maxNodeSubnets: 10 }, scenario(8, 16)],
  // 10 big /26 (640 addresses of 1024), then /28s from the rest: 384 / 16 = 24 more node subnets.
  ["maxNodeSubnets, overflow smaller /28", { ipv4: v4("10.0.0.0/22", 26), maxNodeSubnets: 10, overflow: { smaller: 28 } }, scenario(8, 30)],
  // 10 big /26, every later node borrows pod addresses from the subnet with the most free ones.
  ["maxNodeSubnets, overflow share", { ipv4: v4("10.0.0.0/22", 26), maxNodeSubnets: 10, overflow: "share" }, scenario(8, 16)],
  ["reserveRouterIP first", { ipv4: v4("10.0.0.0/22", 26), reserveRouterIP: "first" }, scenario(8, 4)],
  ["reserveRouterIP last, drain grace 5m", { ipv4: v4("10.0.0.0/22", 26), reserveRouterIP: "last" }, scenario(8, 10, {}, 300)],
  ["reuse cooldownMs", { ipv4: v4("10.0.0.0/22", 26), reuse: { cooldownMs: 300_000 } }, scenario(8, 4)],
  ["reuse minFreeBeforeReuse", { ipv4: v4("10.0.0.0/22", 26), reuse: { minFreeBeforeReuse: 40 } }, scenario(8, 4)],
  ["random podStrategy, seed", { ipv4: v4("10.0.0.0/22", 26), podStrategy: "random", seed: 99 }, scenario(8, 4)],
  ["dual stack, growth, share", {
    ipv4: v4("10.0.0.0/23", 26), ipv6: { cidrs: ["fd00::/116"], maskSize: 122 }, maxNodeSubnets: 6, overflow: "share",
  }, scenario(6, 6, { growth: [{ at: 2700, cidr: "10.0.8.0/24" }] })],
  ["dual stack, reject, growth", { ipv4: v4("10.0.0.0/23", 26), ipv6: { cidrs: ["fd00::/116"], maskSize: 122 } },
    scenario(6, 6, { growth: [{ at: 2700, cidr: "10.0.8.0/24" }] })],
];

describe("simulate drives ClusterPool: same node results as the library", () => {
  it.each(cases)("%s", async (_name, pool, sc) => {
    const { r, events, state } = await run(pool, sc);
    const { lib, fails } = replay(pool, sc.seed, events);
    expect(state).toEqual(nodeState(lib));
    expect(r.totals.nodeAllocFailures).toBe(fails);
    expect(r.final.nodesWithoutSubnet).toBe(lib.pendingNodes().length);
    // subnets per pool CIDR: the library's count of node subnets (big and smaller) in it
    for (const ps of r.pools) {
      const held = lib.nodeNames().flatMap((n) => lib.node(n)!.podCIDRs).filter((c) => lib.lookup(c.split("/")[0]!)?.podCIDR === c
        && ps.cidr.includes(":") === c.includes(":") && inCidr(c, ps.cidr));
      expect(ps.subnetsUsed).toBe(held.length);
    }
    expect(r.totals.podCreates).toBe(r.totals.ipAllocations + r.totals.podFailures);
    lib.dispose();
  });
});

/** True if CIDR a lies in CIDR b (IPv4 by numbers, IPv6 by prefix text: enough for these pools). */
function inCidr(a: string, b: string): boolean {
  if (a.includes(":")) return a.startsWith(b.split("::")[0]!);
  const n = (s: string): number => s.split("/")[0]!.split(".").reduce((x, o) => x * 256 + Number(o), 0);
  const bits = Number(b.split("/")[1]);
  return Math.floor(n(a) / 2 ** (32 - bits)) === Math.floor(n(b) / 2 ** (32 - bits));
}

describe("each option's effect, derived", () => {
  it("maxNodeSubnets 10 of 16 with reject: 14 of 24 nodes wait at the end", async () => {
    const { r } = await run(cases[0]![1], cases[0]![2]);
    // 24 nodes wanted, 10 big subnets: 14 pending (failures are replaced, so the count holds)
    expect(r.final.nodesWithoutSubnet).toBe(14);
    expect(r.final.subnetsUsed).toBe(10);
  });

  it("overflow smaller: 10 /26 and up to 24 /28; 38 nodes wanted, 34 served", async () => {
    const { r, state } = await run(cases[1]![1], cases[1]![2]);
    const nodes = (state as { nodes: [string, string, string[]][] }).nodes;
    const small = nodes.filter(([, s, c]) => s === "ready" && c[0]!.endsWith("/28")).length;
    const big = nodes.filter(([, s, c]) => s === "ready" && c[0]!.endsWith("/26")).length;
    expect(big).toBe(10);
    expect(small).toBe(24);
    expect(r.final.nodesWithoutSubnet).toBe(38 - 34);
  });

  it("overflow share: nodes past the limit have no subnet, yet their pods get addresses", async () => {
    const { r, state } = await run(cases[2]![1], cases[2]![2]);
    const nodes = (state as { nodes: [string, string, string[], number[]][] }).nodes;
    expect(nodes.filter(([, , c, sharing]) => c.length === 0 && sharing.includes(4)).length).toBe(24 - 10);
    expect(r.final.nodesWithoutSubnet).toBe(0);
    expect(r.totals.nodeAllocFailures).toBe(0);
    // only share nodes borrow: more pods run than 10 nodes' worth would allocate in the subnets' own nodes alone
    expect(r.final.podsRunning).toBeGreaterThan(0);
    expect(r.final.ipsUsed).toBeLessThanOrEqual(10 * 62);
  });

  it.each([["first", "10.0.0.1"], ["last", "10.0.0.14"]] as const)("reserveRouterIP %s: a /28 node gets 13 pods, not 14; the router IP stays taken", async (where, router) => {
    // 8 nodes, each scheduled 20 pods at once on a /28 (14 usable): 13 get an address with a router IP, 14 without.
    // Pods live 10h, the run is 2 epochs: nothing is released.
    const sc: Scenario = {
      ...scenario(8, 0), duration: 60, nodes: { phases: [{ at: 0, nodes: 8 }], failureRate: 0 },
      pods: { minPerNode: 20, maxPerNode: 20, maxPods: 20, lifetime: { kind: "fixed", value: 36_000 } },
    };
    const on = await run({ ipv4: v4("10.0.0.0/24", 28), reserveRouterIP: where }, sc);
    const off = await run({ ipv4: v4("10.0.0.0/24", 28) }, sc);
    expect(on.r.totals.ipAllocations).toBe(8 * 13);
    expect(off.r.totals.ipAllocations).toBe(8 * 14);
    const first = (on.state as { nodes: [string, string, string[], number[], [number, string][]][] }).nodes[0]!;
    expect(first[2]).toEqual(["10.0.0.0/28"]);
    expect(first[4][0]![1]).toBe(router);
  });

  it("reuse cooldownMs: released pod addresses wait in the pool's quarantine", async () => {
    const { r, cooldown } = await run(cases[5]![1], cases[5]![2]);
    expect(r.final.ipsInCooldown).toBe(cooldown);
    expect(r.totals.peakCooldown).toBeGreaterThan(0);
    expect(r.final.ipsUsed).toBe(r.final.podsRunning + r.final.ipsInCooldown);
  });

  it("reuse minFreeBeforeReuse 40: at most 40 addresses wait, and some do", async () => {
    const { r, cooldown } = await run(cases[6]![1], cases[6]![2]);
    expect(cooldown).toBe(r.final.ipsInCooldown);
    expect(r.totals.peakCooldown).toBeGreaterThan(0);
    expect(r.totals.peakCooldown).toBeLessThanOrEqual(40);
  });

  it("random podStrategy: the pool's seed decides the addresses (digest), not the node events", async () => {
    const a = await run(cases[7]![1], cases[7]![2]);
    const b = await run({ ...cases[7]![1], seed: 100 }, cases[7]![2]);
    expect(b.events).toEqual(a.events);
    expect(b.r.digest).not.toBe(a.r.digest);
    expect(b.r.totals.podCreates).toBe(a.r.totals.podCreates);
  });

  it.each([cases[2]!, cases[5]!, cases[6]!, cases[7]!, cases[8]!])("1 and 2 threads give the same results: %s", async (_n, pool, sc) => {
    const one = await run(pool, sc, 1);
    const two = await run(pool, sc, 2);
    expect(deterministic(two.r)).toEqual(deterministic(one.r));
    expect(two.state).toEqual(one.state);
  });
});

describe("config: a scenario's pool options reach the ClusterPool simulate builds", () => {
  it("overflow, reuse, reserveRouterIP, podStrategy, maxNodeSubnets pass through src/config", async () => {
    const cfg = parseConfig("t.yaml", [
      "pool:",
      "  ipv4: { cidrs: [10.0.0.0/22], maskSize: 26 }",
      "  maxNodeSubnets: 10",
      "  overflow: { smaller: 28 }",
      "  reuse: { cooldown: 5m, minFreeBeforeReuse: 40 }",
      "  reserveRouterIP: last",
      "  podStrategy: random",
      "scenario:",
      "  duration: 10m",
      "  nodes:",
      "    phases: [{ at: 0, nodes: 12 }]",
    ].join("\n"));
    let seen: ClusterPool["options"] | undefined;
    await simulate({ pool: cfg.pool, scenario: cfg.scenario!, threads: 1, inspect: (p) => { seen = p.options; } });
    expect(seen).toMatchObject({
      maxNodeSubnets: 10, overflowOption: { smaller: 28 }, reuse: { cooldownMs: 300_000, minFreeBeforeReuse: 40 },
      reserveRouterIP: "last", podStrategy: "random",
    });
    expect(cfg.options).toMatchObject({ overflow: { smaller: 28 }, reserveRouterIP: "last" });
  });
});
