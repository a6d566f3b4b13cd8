// registerMetrics(): scrape a prom-client Registry's text output and check the numbers against
// stats() and against values derived by hand; counters by error code; arguments; prom-client missing.
import { describe, it, expect, afterEach } from "vitest";
import { Registry } from "prom-client";
import { ClusterPool, registerMetrics, type ClusterPoolOptions, type MultiPoolOptions, type SinglePoolOptions } from "../src/index.js";
import { _setPromClientLoader } from "../src/metrics/prometheus.js";
import { err } from "./helpers.js";

interface Sample { name: string; labels: Record<string, string>; value: number }

/** The samples of a scrape in the Prometheus text format. */
async function scrape(registry: Registry): Promise<Sample[]> {
  const text = await registry.metrics();
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-z_]+)="([^"]*)"/g)) labels[l[1] as string] = l[2] as string;
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

/** The one sample of `name` whose labels include `labels`; fails on none or several. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length !== 1) throw new Error(`${hits.length} samples of ${name} ${JSON.stringify(labels)}`);
  return (hits[0] as Sample).value;
}

const pools: ClusterPool[] = [];
function pool(options: ClusterPoolOptions | MultiPoolOptions): ClusterPool {
  const p = new ClusterPool(options);
  pools.push(p);
  return p;
}
afterEach(() => {
  for (const p of pools.splice(0)) p.dispose();
  _setPromClientLoader(undefined);
});

describe("a scrape agrees with stats()", () => {
  it("dual stack, pods, a reserved subnet, cooldown, router IPs, a pending node", async () => {
    let now = 0;
    const p = pool({
      ipv4: { cidrs: ["10.0.0.0/22"], maskSize: 24 },
      ipv6: { cidrs: ["fd00::/118"], maskSize: 120 },
      reserveRouterIP: "first",
      reuse: { cooldownMs: 1000 },
      clock: () => now,
    });
    const registry = new Registry();
    registerMetrics(p, registry);
    p.reserve("10.0.3.0/24"); // the fourth IPv4 /24 is reserved: carving skips it
    p.addNode("a");
    p.addNode("b");
    p.addNode("c");
    expect(() => p.addNode("d")).toThrow(/full/); // 3 free /24s were carved: d waits
    for (let i = 0; i < 5; i++) p.allocate("a", `ns/a${i}`);
    for (let i = 0; i < 3; i++) p.allocate("b", `ns/b${i}`);
    p.releaseOwner("ns/a0"); // two addresses (one per family) cool down
    const s = await scrape(registry);
    const st = p.stats();
    expect(st.pools).toHaveLength(2);
    for (const ps of st.pools) {
      const l = { pool: "default", family: String(ps.family), cidr: ps.cidr };
      expect(value(s, "ipcarve_subnets_used", l)).toBe(ps.subnets.used);
      expect(value(s, "ipcarve_subnets_free", l)).toBe(ps.subnets.free);
      expect(value(s, "ipcarve_subnets_reserved", l)).toBe(ps.subnets.reserved);
      expect(value(s, "ipcarve_subnets_capacity", l)).toBe(ps.subnets.capacity);
      expect(value(s, "ipcarve_addresses_used", l)).toBe(ps.pods.used);
      expect(value(s, "ipcarve_addresses_capacity", l)).toBe(ps.pods.capacity);
    }
    // by hand: IPv4 slots 3 nodes + 1 reserved = 4 used, 0 free; IPv6 fd00::/118 has 4 /120s, 3 used
    const v4 = { family: "4", cidr: "10.0.0.0/22" };
    const v6 = { family: "6", cidr: "fd00::/118" };
    expect([value(s, "ipcarve_subnets_used", v4), value(s, "ipcarve_subnets_free", v4), value(s, "ipcarve_subnets_reserved", v4)]).toEqual([4, 0, 1]);
    expect([value(s, "ipcarve_subnets_used", v6), value(s, "ipcarve_subnets_free", v6)]).toEqual([3, 1]);
    // pods: 4 + 3 = 7 per family; 3 router addresses per family; 1 cooling down per family
    expect(value(s, "ipcarve_addresses_used", v4)).toBe(7);
    expect(value(s, "ipcarve_addresses_reserved", v4)).toBe(3);
    expect(value(s, "ipcarve_addresses_cooldown", v4) + value(s, "ipcarve_addresses_cooldown", v6)).toBe(st.cooldown);
    expect(value(s, "ipcarve_addresses_cooldown", v4)).toBe(1);
    // free = capacity - used - reserved - cooldown: 3 * 254 - 7 - 3 - 1 = 751; stats() says the same per node
    expect(value(s, "ipcarve_addresses_free", v4)).toBe(751);
    expect(st.perNode.reduce((n, x) => n + x.free, 0)).toBe(751 + value(s, "ipcarve_addresses_free", v6));
    // remaining: IPv4 has no slot left (751); IPv6 has one /120 left: 751 + 254
    expect(value(s, "ipcarve_addresses_remaining", v4)).toBe(751);
    expect(value(s, "ipcarve_addresses_remaining", v6)).toBe(751 + 254);
    expect(value(s, "ipcarve_nodes_pending", { pool: "default" })).toBe(st.pending);
    expect(value(s, "ipcarve_nodes", { status: "pending" })).toBe(1);
    expect(value(s, "ipcarve_nodes", { status: "ready" })).toBe(st.nodes);
    // counters: 3 nodes and 8 pods allocated; d failed with FULL
    expect(value(s, "ipcarve_allocations_total", { kind: "node" })).toBe(3);
    expect(value(s, "ipcarve_allocations_total", { kind: "pod" })).toBe(8);
    expect(value(s, "ipcarve_allocation_failures_total", { kind: "node", code: "FULL" })).toBe(1);

    // time passes: the cooldown ends, and the next scrape reads it from the state
    now = 1000;
    const t = await scrape(registry);
    expect(value(t, "ipcarve_addresses_cooldown", v4)).toBe(0);
    expect(value(t, "ipcarve_addresses_free", v4)).toBe(752);
  });
});

describe("a scrape of named pools agrees with stats()", () => {
  it("three pools (one dual stack, one with a node selector): gauges per pool and CIDR, counters per pool", async () => {
    let now = 0;
    // /28 chunks (14 usable IPv4 addresses); default has 4, blue 2 (IPv4) and 16 (IPv6 /124s), gpu 1
    const p = pool({
      pools: {
        default: { ipv4: { cidrs: ["10.0.0.0/26"], maskSize: 28 }, preAllocate: 4 },
        blue: { ipv4: { cidrs: ["10.1.0.0/27"], maskSize: 28 }, ipv6: { cidrs: ["fd00:1::/120"], maskSize: 124 }, preAllocate: 0 },
        gpu: { ipv4: { cidrs: ["10.2.0.0/28"], maskSize: 28 }, preAllocate: 2, nodeSelector: { matchLabels: { gpu: "true" } } },
      },
      releaseDelayMs: 100,
      clock: () => now,
    });
    const registry = new Registry();
    registerMetrics(p, registry);
    // each node takes one default chunk (pre-allocation 4); g1 takes the one gpu chunk, g2 finds none: short in gpu
    p.addNode("a");
    p.addNode("b");
    p.addNode("g1", { labels: { gpu: "true" } });
    p.addNode("g2", { labels: { gpu: "true" } });
    const ips = Array.from({ length: 10 }, (_, i) => p.allocate("a", `ns/a${i}`).ipv4 as string); // 14 - 10 = 4 free: no second chunk
    p.allocate("b", "ns/b", { pool: "blue" }); // b's first blue chunks: 10.1.0.0/28 and fd00:1::/124
    p.allocate("g1", "ns/g", { pool: "gpu" });
    p.release(ips[0] as string); // default: 1 release
    p.releaseOwner("ns/b"); // blue: 2 releases (one per family); b's blue chunks wait 100 ms to go back
    expect(() => p.allocate("a", "ns/x", { pool: "nope" })).toThrow(/unknown/); // UNKNOWN_POOL, no such pool: pool ""
    expect(() => p.allocate("b", "ns/y", { pool: "gpu" })).toThrow(/node selector/); // UNKNOWN_POOL under gpu
    expect(() => p.allocate("ghost", "ns/z")).toThrow(/unknown node/); // UNKNOWN_NODE under default
    expect(() => p.addNode("")).toThrow(/non-empty/); // a node call: pool ""

    const s = await scrape(registry);
    const st = p.stats();
    const poolOf = new Map(st.ipPools!.flatMap((ip) => ip.cidrs.map((c) => [c, ip.pool] as const)));
    expect(st.pools).toHaveLength(4);
    for (const ps of st.pools) {
      const l = { pool: poolOf.get(ps.cidr)!, family: String(ps.family), cidr: ps.cidr };
      expect(value(s, "ipcarve_subnets_used", l)).toBe(ps.subnets.used);
      expect(value(s, "ipcarve_subnets_free", l)).toBe(ps.subnets.free);
      expect(value(s, "ipcarve_subnets_reserved", l)).toBe(0);
      expect(value(s, "ipcarve_subnets_capacity", l)).toBe(ps.subnets.capacity);
      expect(value(s, "ipcarve_addresses_used", l)).toBe(ps.pods.used);
    }
    for (const ip of st.ipPools!) {
      const free = ip.cidrs.reduce((n, cidr) => n + value(s, "ipcarve_addresses_free", { pool: ip.pool, cidr }), 0);
      expect(free).toBe(ip.addresses.free);
      expect(value(s, "ipcarve_nodes", { pool: ip.pool, status: "ready" })).toBe(ip.nodes); // one family, or b in both of blue's
      expect(value(s, "ipcarve_nodes_pending", { pool: ip.pool })).toBe(ip.short);
      const moved = (direction: string): number => value(s, "ipcarve_chunks_moved_total", { pool: ip.pool, family: String(ip.family), direction });
      expect([moved("taken"), moved("released")]).toEqual([ip.chunksTaken, ip.chunksReleased]);
    }
    // by hand. default 10.0.0.0/26: 4 chunks held (a, b, g1, g2), a has 9 pods: 4 * 14 - 9 = 47 free, nothing left to take
    const d = { pool: "default", cidr: "10.0.0.0/26" };
    expect([value(s, "ipcarve_subnets_used", d), value(s, "ipcarve_subnets_free", d), value(s, "ipcarve_addresses_used", d), value(s, "ipcarve_addresses_free", d)]).toEqual([4, 0, 9, 47]);
    expect(value(s, "ipcarve_addresses_remaining", d)).toBe(47);
    // blue 10.1.0.0/27: b's chunk (empty, waiting) and one free: 14 + 14 remaining; fragmentation 0 (one free slot)
    const b4 = { pool: "blue", cidr: "10.1.0.0/27" };
    expect([value(s, "ipcarve_subnets_used", b4), value(s, "ipcarve_addresses_free", b4), value(s, "ipcarve_addresses_remaining", b4)]).toEqual([1, 14, 28]);
    expect(value(s, "ipcarve_subnets_fragmentation", b4)).toBe(0);
    // gpu: its one chunk is g1's, 1 pod: 13 left; g2 is short
    expect(value(s, "ipcarve_addresses_remaining", { pool: "gpu" })).toBe(13);
    expect(value(s, "ipcarve_nodes_pending", { pool: "gpu" })).toBe(1);
    expect(value(s, "ipcarve_nodes", { pool: "default", status: "ready" })).toBe(4);
    // counters: pods per pool; node calls under pool ""
    expect([value(s, "ipcarve_allocations_total", { pool: "default", kind: "pod" }), value(s, "ipcarve_allocations_total", { pool: "blue", kind: "pod" }), value(s, "ipcarve_allocations_total", { pool: "gpu", kind: "pod" })]).toEqual([10, 1, 1]);
    expect(value(s, "ipcarve_allocations_total", { pool: "", kind: "node" })).toBe(4);
    expect([value(s, "ipcarve_releases_total", { pool: "default" }), value(s, "ipcarve_releases_total", { pool: "blue" }), value(s, "ipcarve_releases_total", { pool: "gpu" })]).toEqual([1, 2, 0]);
    expect(value(s, "ipcarve_allocation_failures_total", { pool: "", kind: "pod", code: "UNKNOWN_POOL" })).toBe(1);
    expect(value(s, "ipcarve_allocation_failures_total", { pool: "gpu", kind: "pod", code: "UNKNOWN_POOL" })).toBe(1);
    expect(value(s, "ipcarve_allocation_failures_total", { pool: "default", kind: "pod", code: "UNKNOWN_NODE" })).toBe(1);
    expect(value(s, "ipcarve_allocation_failures_total", { pool: "", kind: "node", code: "INVALID_ARGUMENT" })).toBe(1);
    expect(value(s, "ipcarve_node_removals_total", { pool: "" })).toBe(0);

    // g2 goes (its default chunk frees up); the release delay runs out: b's empty blue chunks go back at the scrape
    p.removeNode("g2");
    now = 100;
    const t = await scrape(registry);
    expect(value(t, "ipcarve_node_removals_total", { pool: "" })).toBe(1);
    expect(value(t, "ipcarve_nodes_pending", { pool: "gpu" })).toBe(0);
    expect([value(t, "ipcarve_subnets_free", d), value(t, "ipcarve_addresses_remaining", d)]).toEqual([1, 47 - 14 + 14]);
    expect([value(t, "ipcarve_subnets_used", b4), value(t, "ipcarve_addresses_remaining", b4)]).toEqual([0, 28]);
    expect(value(t, "ipcarve_nodes", { pool: "blue", status: "ready" })).toBe(0);
    expect(p.stats().ipPools!.find((x) => x.pool === "blue")!.chunks.used).toBe(0);
  });

  it("a pool added at runtime is counted and scraped; the pools' series follow removePool", async () => {
    const p = pool({ pools: { default: { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 28 }, preAllocate: 0 } }, releaseDelayMs: 0 });
    const registry = new Registry();
    registerMetrics(p, registry);
    p.addNode("a");
    p.addPool("red", { ipv4: { cidrs: ["10.5.0.0/24"], maskSize: 28 }, preAllocate: 0 });
    const ip = p.allocate("a", "ns/r", { pool: "red" }).ipv4 as string;
    p.release(ip); // the chunk goes back at once (delay 0)
    const s = await scrape(registry);
    expect(value(s, "ipcarve_allocations_total", { pool: "red", kind: "pod" })).toBe(1);
    expect(value(s, "ipcarve_releases_total", { pool: "red" })).toBe(1);
    expect(value(s, "ipcarve_subnets_capacity", { pool: "red", cidr: "10.5.0.0/24" })).toBe(16);
    // a took one chunk of red for its pod and gave it back with the release (delay 0); default: nothing moved (preAllocate 0)
    const moved = (pool: string, direction: string): number => value(s, "ipcarve_chunks_moved_total", { pool, family: "4", direction });
    expect([moved("red", "taken"), moved("red", "released"), moved("default", "taken"), moved("default", "released")]).toEqual([1, 1, 0, 0]);
    p.removePool("red");
    const t = await scrape(registry);
    expect(t.filter((x) => x.name === "ipcarve_subnets_capacity").map((x) => x.labels.pool)).toEqual(["default"]);
    expect(value(t, "ipcarve_releases_total", { pool: "red" })).toBe(1); // counters keep what was counted
  });
});

describe("named pools: reserved and cooldown addresses, reserved chunk slots", () => {
  it("reserve(), the router address and the reuse cooldown are scraped per pool CIDR as stats() has them", async () => {
    const p = pool({
      pools: { default: { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 28 }, preAllocate: 0 } },
      reuse: { cooldownMs: 60_000 }, reserveRouterIP: "first", clock: () => 0,
    });
    const registry = new Registry();
    registerMetrics(p, registry);
    p.reserve("10.0.0.128/27"); // a /27 holds whole /28 chunk slots: slots 8 and 9
    p.addNode("a"); // preAllocate 0: no chunk yet
    expect(p.allocate("a", "ns/p1")).toEqual({ ipv4: "10.0.0.2" }); // chunk 10.0.0.0/28 taken; .1 is a's router address
    expect(p.allocate("a", "ns/p2")).toEqual({ ipv4: "10.0.0.3" });
    p.release("10.0.0.3"); // into the 60 s cooldown
    p.reserve("10.0.0.4/32"); // a longer prefix: the address inside a's chunk
    const s = await scrape(registry);
    const at = { pool: "default", cidr: "10.0.0.0/24" };
    expect(value(s, "ipcarve_subnets_capacity", at)).toBe(16); // 2^(28-24)
    expect(value(s, "ipcarve_subnets_reserved", at)).toBe(2); // slots 8, 9
    expect(value(s, "ipcarve_subnets_used", at)).toBe(3); // a's chunk + the 2 reserved slots (reserved ones included, as the single pool)
    expect(value(s, "ipcarve_subnets_free", at)).toBe(13); // 16 - 3
    expect(value(s, "ipcarve_addresses_capacity", at)).toBe(14); // one /28 held: 16 - network - broadcast
    expect(value(s, "ipcarve_addresses_used", at)).toBe(1); // ns/p1
    expect(value(s, "ipcarve_addresses_reserved", at)).toBe(2); // the router address .1 and .4
    expect(value(s, "ipcarve_addresses_cooldown", at)).toBe(1); // .3
    expect(value(s, "ipcarve_addresses_free", at)).toBe(10); // 14 - 1 - 2 - 1
    const st = p.stats();
    expect(st.cooldown).toBe(1);
    expect(st.pools[0]!.subnets.reserved).toBe(2);
    expect(p.node("a")!.ranges[0]).toMatchObject({ used: 1, free: 10, reserved: 2, cooldown: 1 });
  });
});

describe("releases and node removals (single pool)", () => {
  it("count every path that releases: release, releaseOwner, releaseIPv4, releaseIPv4Batch; removeNode when it removed a node", async () => {
    // 10.0.0.0/16 with /24 nodes, dual stack fd00::/104 with /120: an owner holds one address per family
    const p = pool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 }, ipv6: { cidrs: ["fd00::/104"], maskSize: 120 } });
    const registry = new Registry();
    registerMetrics(p, registry);
    p.addNode("a");
    p.addNode("b");
    const x = p.allocate("a", "ns/x");
    p.allocate("a", "ns/y");
    const h = p.handle("b");
    const out = new Uint32Array(3);
    expect(p.allocateIPv4Batch(h, out)).toBe(3);
    expect(p.release(x.ipv4 as string)).toBe(true); // 1
    expect(p.release(x.ipv4 as string)).toBe(false); // free already: not counted
    expect(p.releaseOwner("ns/y")).toHaveLength(2); // 3: both families
    expect(p.releaseIPv4(out[0] as number)).toBe(true); // 4
    expect(p.releaseIPv4Batch(out)).toBe(2); // 6 (out[0] is free already)
    expect(p.removeNode("b")).toBe(true);
    expect(p.removeNode("b")).toBe(false); // unknown now: not counted
    const s = await scrape(registry);
    expect(value(s, "ipcarve_releases_total", { pool: "default" })).toBe(6);
    expect(value(s, "ipcarve_node_removals_total", { pool: "default" })).toBe(1);
  });
});

describe("fragmentation of node subnets", () => {
  // 10.0.0.0/22 with /24 nodes: slots 0..3 go to n0..n3 (next-fit); removing some frees those slots
  const rows: [string, string[], number, number][] = [
    ["none free", [], 0, 0],
    ["slot 1 free: one run of 1", ["n1"], 1, 0],
    ["slots 0, 1 free: one aligned pair", ["n0", "n1"], 2, 0], // 1 - 2/2
    ["slots 1, 2 free: adjacent, but no aligned pair", ["n1", "n2"], 1, 0.5], // 1 - 1/2
    ["slots 1, 3 free", ["n1", "n3"], 1, 0.5],
    ["slots 1, 2, 3 free: the pair 2-3 is aligned", ["n1", "n2", "n3"], 2, 1 / 3], // 1 - 2/3
    ["all free: the whole /22", ["n0", "n1", "n2", "n3"], 4, 0],
  ];
  it.each(rows)("%s: largest run %d, fragmentation %d", async (_name, removed, largest, frag) => {
    const p = pool({ ipv4: { cidrs: ["10.0.0.0/22"], maskSize: 24 } });
    const registry = new Registry();
    registerMetrics(p, registry);
    for (let i = 0; i < 4; i++) p.addNode(`n${i}`);
    for (const n of removed) p.removeNode(n);
    const s = await scrape(registry);
    expect(value(s, "ipcarve_subnets_largest_free_run")).toBe(largest);
    expect(value(s, "ipcarve_subnets_fragmentation")).toBeCloseTo(frag, 12);
  });
});

describe("remaining addresses count node subnets not carved yet", () => {
  // 10.1.0.0/22 with maxNodeSubnets 2: two /24 big subnets (254 each), then the policy decides
  const rows: [string, SinglePoolOptions["overflow"], number][] = [
    // the third node waits; the free 2 /24s cannot be carved (cap reached): 2 * 254
    ["reject", "reject", 508],
    // the third node gets a /26 (62 usable) at slot 8 of 16 /26 slots; 7 /26 slots left: 2*254 + 62 + 7*62
    ["smaller /26", { smaller: 26 }, 2 * 254 + 62 + 7 * 62],
  ];
  it.each(rows)("%s: %d", async (_name, overflow, remaining) => {
    const p = pool({ ipv4: { cidrs: ["10.1.0.0/22"], maskSize: 24 }, maxNodeSubnets: 2, overflow });
    const registry = new Registry();
    registerMetrics(p, registry);
    for (const n of ["a", "b", "c"]) {
      try {
        p.addNode(n);
      } catch {
        // pending with 'reject'
      }
    }
    expect(value(await scrape(registry), "ipcarve_addresses_remaining")).toBe(remaining);
  });

  it("without a cap, an empty /16 of /24s: 256 * 254", async () => {
    const p = pool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } });
    const registry = new Registry();
    registerMetrics(p, registry);
    expect(value(await scrape(registry), "ipcarve_addresses_remaining")).toBe(256 * 254);
  });
});

describe("allocations and failures by code", () => {
  it("counts every path that allocates: allocate, allocateIPv4, allocateIPv4Batch, addNode", async () => {
    // 10.0.0.0/23: two /24 nodes; a /24 has 254 pod addresses
    const p = pool({ ipv4: { cidrs: ["10.0.0.0/23"], maskSize: 24 } });
    const registry = new Registry();
    registerMetrics(p, registry);
    p.addNode("a");
    p.addNode("b");
    const h = p.handle("b");
    expect(() => p.addNode("c")).toThrow(/full/); // node FULL
    expect(() => p.allocate("nope", "ns/x")).toThrow(/unknown node/); // pod UNKNOWN_NODE
    expect(() => p.allocate("a", "")).toThrow(/non-empty/); // pod INVALID_ARGUMENT
    for (let i = 0; i < 10; i++) p.allocate("a", `ns/p${i}`); // 10 pods
    expect(p.allocateIPv4(h)).toBeGreaterThan(0); // 11
    const out = new Uint32Array(300);
    expect(p.allocateIPv4Batch(h, out)).toBe(253); // 264; fewer than 300 asked: one FULL
    expect(p.allocateIPv4(h)).toBe(-1); // FULL
    expect(() => p.allocateIPv4(0.5)).toThrow(/integer/); // INVALID_ARGUMENT
    const s = await scrape(registry);
    expect(value(s, "ipcarve_allocations_total", { kind: "pod" })).toBe(10 + 1 + 253);
    expect(value(s, "ipcarve_allocations_total", { kind: "node" })).toBe(2);
    expect(value(s, "ipcarve_allocation_failures_total", { kind: "pod", code: "FULL" })).toBe(2);
    expect(value(s, "ipcarve_allocation_failures_total", { kind: "pod", code: "UNKNOWN_NODE" })).toBe(1);
    expect(value(s, "ipcarve_allocation_failures_total", { kind: "pod", code: "INVALID_ARGUMENT" })).toBe(2);
    expect(value(s, "ipcarve_allocation_failures_total", { kind: "node", code: "FULL" })).toBe(1);
    // the counters match the state: 264 pods are taken (stats counts the anonymous ones too)
    expect(p.stats().pods).toBe(264);
  });

  it("unregister removes the series and stops counting; registering again starts from 0", async () => {
    const p = pool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } });
    const registry = new Registry();
    const m = registerMetrics(p, registry);
    p.addNode("a");
    p.allocate("a", "ns/x");
    m.unregister();
    m.unregister(); // a no-op
    expect((await scrape(registry)).filter((x) => x.name.startsWith("ipcarve_"))).toEqual([]);
    p.allocate("a", "ns/y"); // not counted
    registerMetrics(p, registry);
    p.allocate("a", "ns/z");
    expect(value(await scrape(registry), "ipcarve_allocations_total", { kind: "pod" })).toBe(1);
  });

  it("allocateIPv4 and releaseIPv4 (counted in the core) add up across scrapes, stop with unregister and start from 0 again", async () => {
    const p = pool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } });
    p.addNode("a");
    const h = p.handle("a");
    p.allocateIPv4(h); // before metrics: not counted
    const registry = new Registry();
    const m = registerMetrics(p, registry);
    const pods = async (): Promise<number> => value(await scrape(registry), "ipcarve_allocations_total", { kind: "pod" });
    for (let i = 0; i < 3; i++) p.allocateIPv4(h);
    expect(await pods()).toBe(3);
    expect(await pods()).toBe(3); // a scrape takes nothing twice
    p.allocateIPv4(h);
    p.allocate("a", "ns/x");
    p.allocateIPv4(h);
    expect(await pods()).toBe(6); // 3 + 1 + 1 string + 1
    m.unregister();
    for (let i = 0; i < 4; i++) p.allocateIPv4(h); // not counted
    registerMetrics(p, registry);
    p.allocateIPv4(h);
    expect(await pods()).toBe(1);
    expect(p.stats().pods).toBe(1 + 6 + 4 + 1);
    const released = async (): Promise<number> => value(await scrape(registry), "ipcarve_releases_total");
    const first = p.allocateIPv4(h);
    expect(p.releaseIPv4(first)).toBe(true);
    expect(p.releaseIPv4(first)).toBe(false); // not allocated: not a release
    expect(await released()).toBe(1);
    const again = p.allocateIPv4(h);
    expect(p.releaseIPv4Batch(Uint32Array.of(again, again))).toBe(1); // the batch counts in the facade, once
    expect(await released()).toBe(2);
    expect(await pods()).toBe(3);
  });

  it("two registries count the same allocations; one unregistering leaves the other counting", async () => {
    const p = pool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } });
    const r1 = new Registry();
    const r2 = new Registry();
    const m1 = registerMetrics(p, r1);
    registerMetrics(p, r2);
    p.addNode("a");
    m1.unregister();
    p.addNode("b");
    expect(value(await scrape(r2), "ipcarve_allocations_total", { kind: "node" })).toBe(2);
  });
});

describe("series follow the state", () => {
  it("a pool CIDR removed at runtime leaves no series", async () => {
    const p = pool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } });
    const registry = new Registry();
    registerMetrics(p, registry);
    p.addPoolCidr("10.9.0.0/16");
    expect((await scrape(registry)).filter((x) => x.name === "ipcarve_subnets_capacity").map((x) => x.labels.cidr)).toEqual(["10.0.0.0/16", "10.9.0.0/16"]);
    p.removePoolCidr("10.9.0.0/16");
    expect((await scrape(registry)).filter((x) => x.name === "ipcarve_subnets_capacity").map((x) => x.labels.cidr)).toEqual(["10.0.0.0/16"]);
  });

  it("a disposed pool has no series, and the scrape does not fail", async () => {
    const p = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } });
    const registry = new Registry();
    registerMetrics(p, registry);
    p.dispose();
    expect((await scrape(registry)).filter((x) => x.name.startsWith("ipcarve_"))).toEqual([]);
  });
});

describe("registerMetrics arguments", () => {
  it("a pool that is not a ClusterPool, a registry that is not one, a disposed pool: INVALID_ARGUMENT", () => {
    expect(err(() => registerMetrics({} as ClusterPool, new Registry())).path).toBe("registerMetrics(pool)");
    const p = pool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } });
    expect(err(() => registerMetrics(p, {} as Registry)).path).toBe("registerMetrics(registry)");
    const q = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } });
    q.dispose();
    expect(err(() => registerMetrics(q, new Registry())).code).toBe("INVALID_ARGUMENT");
  });

  it("a second registration in one registry is IN_USE and registers nothing more", async () => {
    const p = pool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } });
    const registry = new Registry();
    registerMetrics(p, registry);
    const before = await registry.metrics();
    const e = err(() => registerMetrics(p, registry));
    expect(e.code).toBe("IN_USE");
    expect(e.message).toMatch(/^ipcarve: registry metric ipcarve_subnets_used is in use/);
    expect(await registry.metrics()).toBe(before);
  });

  it("without prom-client: MISSING_DEPENDENCY naming it and how to install it", () => {
    _setPromClientLoader(() => {
      throw Object.assign(new Error("Cannot find module 'prom-client'"), { code: "MODULE_NOT_FOUND" });
    });
    const p = pool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } });
    const e = err(() => registerMetrics(p));
    expect(e.code).toBe("MISSING_DEPENDENCY");
    expect(e.message).toBe("ipcarve: registerMetrics needs prom-client, an optional peer dependency that is not installed: npm install prom-client");
    p.addNode("a"); // nothing was set up: the pool allocates as before
  });

  it("the default registry is prom-client's global one", async () => {
    const { register } = await import("prom-client");
    const p = pool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } });
    const m = registerMetrics(p);
    try {
      expect(register.getSingleMetric("ipcarve_subnets_capacity")).toBeDefined();
    } finally {
      m.unregister();
    }
    expect(register.getSingleMetric("ipcarve_subnets_capacity")).toBeUndefined();
  });
});
