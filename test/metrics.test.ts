// registerMetrics(): scrape a prom-client Registry's text output and check the numbers against
// stats() and against values derived by hand; counters by error code; arguments; prom-client missing.
import { describe, it, expect, afterEach } from "vitest";
import { Registry } from "prom-client";
import { ClusterPool, registerMetrics, type ClusterPoolOptions } from "../src/index.js";
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
function pool(options: ClusterPoolOptions): ClusterPool {
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
  const rows: [string, ClusterPoolOptions["overflow"], number][] = [
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

  it("a ClusterPool with named pools: INVALID_OPTION naming options.pools, nothing registered", async () => {
    const p = pool({ pools: { blue: { ipv4: { cidrs: ["10.9.0.0/24"], maskSize: 28 } } } } as never);
    const registry = new Registry();
    const e = err(() => registerMetrics(p, registry));
    expect(e.code).toBe("INVALID_OPTION");
    expect(e.path).toBe("options.pools");
    expect(await registry.metrics()).toBe("\n");
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
