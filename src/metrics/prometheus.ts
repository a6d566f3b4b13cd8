/**
 * registerMetrics(pool, registry?): Prometheus metrics of a ClusterPool
 * through prom-client, an optional peer dependency.
 *
 * - **Read at scrape time.** Every gauge has a collect callback that reads
 *   the pool's state when the registry is scraped (one usage pass per
 *   scrape, shared by all the gauges); nothing is computed on the hot path.
 * - **Counted on the hot path, cheaply.** Allocations, releases, node
 *   removals and failures by error code are integers the pool increments
 *   only while metrics are registered (a pool without metrics tests one
 *   field per call); the counters copy them at scrape time.
 * - **Named pools.** Every series carries the pool's name (`default` for a
 *   single-pool ClusterPool); node calls (addNode, removeNode), which with
 *   named pools belong to no one pool, carry pool="" there.
 * - **Synchronous.** prom-client is CommonJS, so it is loaded with
 *   `require` the first time registerMetrics runs; a missing prom-client is
 *   MISSING_DEPENDENCY, naming it. Loading it with `import()` would have
 *   made registerMetrics async for no gain.
 */
import { createRequire } from "node:module";
import { ClusterPool } from "../pool/cluster-pool.js";
import type { PoolUsage, CidrUsage } from "../pool/usage.js";
import type { PoolCounters, AllocationKind } from "../pool/counters.js";
import { errors, IpamError } from "../errors.js";

/** The part of prom-client's module that registerMetrics uses. */
export interface PromClient {
  readonly Gauge: new (config: MetricConfig) => PromMetric;
  readonly Counter: new (config: MetricConfig) => PromMetric;
  readonly register: PromRegistry;
}

/** The part of a prom-client Registry that registerMetrics uses. */
export interface PromRegistry {
  getSingleMetric(name: string): unknown;
  registerMetric(metric: never): void;
  removeSingleMetric(name: string): void;
}

interface PromMetric {
  reset(): void;
  set?(labels: Record<string, string>, value: number): void;
  inc?(labels: Record<string, string>, value: number): void;
}

interface MetricConfig {
  name: string;
  help: string;
  labelNames: readonly string[];
  registers: PromRegistry[];
  collect(this: PromMetric): void;
}

/** What registerMetrics returns. */
export interface PoolMetrics {
  /** The metric names, as registered. */
  readonly names: readonly string[];
  /** Removes the metrics from the registry and stops counting allocations (when no other registry counts them). A no-op the second time. */
  unregister(): void;
}

let loaded: PromClient | undefined;
let loader: () => PromClient = () => createRequire(import.meta.url)("prom-client") as PromClient;

/** prom-client, loaded once; MISSING_DEPENDENCY when it is not installed. */
function promClient(): PromClient {
  if (loaded !== undefined) return loaded;
  try {
    loaded = loader();
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code;
    if (code === "MODULE_NOT_FOUND" || code === "ERR_MODULE_NOT_FOUND") throw errors.missingDependency("prom-client", "registerMetrics", e);
    throw e;
  }
  return loaded;
}

/** @internal Tests: load prom-client with `load` from now on (undefined: the real require). */
export function _setPromClientLoader(load: (() => PromClient) | undefined): void {
  loaded = undefined;
  loader = load ?? (() => createRequire(import.meta.url)("prom-client") as PromClient);
}

const CIDR_LABELS = ["pool", "family", "cidr"] as const;

/** A gauge per pool CIDR: name, help, value. */
const PER_CIDR: readonly [string, string, (u: CidrUsage) => number][] = [
  ["ipcarve_subnets_used", "Node subnet slots taken in the pool CIDR, reserved ones included (stats().pools[].subnets.used)", (u) => u.subnets.used],
  ["ipcarve_subnets_free", "Node subnet slots free in the pool CIDR", (u) => u.subnets.free],
  ["ipcarve_subnets_reserved", "Node subnet slots reserved with reserve() in the pool CIDR", (u) => u.subnets.reserved],
  ["ipcarve_subnets_capacity", "Node subnet slots of the pool CIDR", (u) => u.subnets.capacity],
  ["ipcarve_subnets_largest_free_run", "The largest free aligned run of node subnet slots in the pool CIDR", (u) => u.largestFreeRun],
  [
    "ipcarve_subnets_fragmentation",
    "1 - largest free aligned run / free slots in the pool CIDR (0: the free slots are one aligned block, or none are free)",
    (u) => (u.subnets.free === 0 ? 0 : 1 - u.largestFreeRun / u.subnets.free),
  ],
  ["ipcarve_addresses_used", "Pod addresses allocated in the node subnets of the pool CIDR", (u) => u.addresses.used],
  ["ipcarve_addresses_free", "Pod addresses free in the node subnets held now", (u) => u.addresses.free],
  ["ipcarve_addresses_cooldown", "Pod addresses released and waiting in the reuse cooldown", (u) => u.addresses.cooldown],
  ["ipcarve_addresses_reserved", "Pod addresses reserved (router addresses, reserve() of a longer prefix)", (u) => u.addresses.reserved],
  ["ipcarve_addresses_capacity", "Usable pod addresses of the node subnets held now", (u) => u.addresses.capacity],
  [
    "ipcarve_addresses_remaining",
    "Pod addresses that can still be handed out: free ones in held node subnets plus those of node subnets not yet carved",
    (u) => u.remaining,
  ],
];

const NODE_STATUSES = ["ready", "draining", "pending", "failed"] as const;

/**
 * Registers gauges and counters of `pool` in `registry` (default:
 * prom-client's global registry). Gauges are labelled by pool ("default",
 * or each named pool of options.pools), family and pool CIDR; they are read
 * from the pool's state at scrape time. Throws INVALID_ARGUMENT (pool not a
 * ClusterPool, or disposed; registry without registerMetric /
 * getSingleMetric / removeSingleMetric), IN_USE (the registry already holds
 * a metric of that name, e.g. another pool's: nothing is registered then),
 * MISSING_DEPENDENCY (prom-client is not installed).
 */
export function registerMetrics(pool: ClusterPool, registry?: PromRegistry): PoolMetrics {
  if (!(pool instanceof ClusterPool)) throw errors.invalidArgument("registerMetrics(pool)", pool, "a ClusterPool");
  if (registry !== undefined && !isRegistry(registry)) {
    throw errors.invalidArgument("registerMetrics(registry)", registry, "a prom-client Registry (or undefined for the global one)");
  }
  void pool.nodeCount; // INVALID_ARGUMENT now if the pool is disposed, before anything is registered
  const prom = promClient();
  const reg = registry ?? prom.register;
  const names = [
    ...PER_CIDR.map((m) => m[0]), "ipcarve_nodes", "ipcarve_nodes_pending",
    "ipcarve_allocations_total", "ipcarve_allocation_failures_total", "ipcarve_releases_total", "ipcarve_node_removals_total",
    "ipcarve_chunks_moved_total",
  ];
  for (const name of names) {
    if (reg.getSingleMetric(name) !== undefined) throw errors.inUse(`registry metric ${name}`, "metrics registered before (unregister() them first)");
  }

  // one usage pass per scrape: a registry calls every collect in one synchronous loop
  let cached: PoolUsage[] | null | undefined;
  const read = (): PoolUsage[] | null => {
    if (cached === undefined) {
      try {
        cached = pool._usage();
      } catch (e) {
        if (!(e instanceof IpamError && e.code === "INVALID_ARGUMENT")) throw e;
        cached = null; // a disposed pool has no series
      }
      queueMicrotask(() => { cached = undefined; });
    }
    return cached;
  };
  const counts = pool._countAllocations();
  const regs = [reg];
  for (const [name, help, value] of PER_CIDR) {
    new prom.Gauge({
      name, help, labelNames: CIDR_LABELS, registers: regs,
      collect() {
        this.reset(); // a removed pool CIDR leaves no series behind
        const u = read();
        if (u === null) return;
        for (const p of u) for (const c of p.cidrs) this.set?.({ pool: c.pool, family: String(c.family), cidr: c.cidr }, value(c));
      },
    });
  }
  new prom.Gauge({
    name: "ipcarve_nodes", help: "Nodes by status: ready and draining hold subnets, pending wait for one, failed were refused on import",
    labelNames: ["pool", "status"], registers: regs,
    collect() {
      this.reset();
      const u = read();
      if (u === null) return;
      for (const p of u) for (const s of NODE_STATUSES) this.set?.({ pool: p.pool, status: s }, p.nodes[s]);
    },
  });
  new prom.Gauge({
    name: "ipcarve_nodes_pending", help: "Nodes waiting for a node subnet (the pool could not serve them yet); named pools: nodes below the pool's watermark for want of a free chunk",
    labelNames: ["pool"], registers: regs,
    collect() {
      this.reset();
      const u = read();
      if (u !== null) for (const p of u) this.set?.({ pool: p.pool }, p.nodes.pending);
    },
  });
  new prom.Counter({
    name: "ipcarve_allocations_total", help: "Allocations that succeeded since metrics were registered: pod addresses (kind=pod, per pool) and addNode calls (kind=node)",
    labelNames: ["pool", "kind"], registers: regs,
    collect() {
      this.reset();
      const u = read();
      if (u === null) return;
      for (const name of poolNames(u, counts)) this.inc?.({ pool: name, kind: "pod" }, counts.byPool.get(name)?.pods ?? 0);
      this.inc?.({ pool: counts.nodePool, kind: "node" }, counts.nodes.nodes);
    },
  });
  new prom.Counter({
    name: "ipcarve_releases_total", help: "Pod addresses released since metrics were registered (release, releaseOwner, releaseIPv4, releaseIPv4Batch; one per address freed)",
    labelNames: ["pool"], registers: regs,
    collect() {
      this.reset();
      const u = read();
      if (u === null) return;
      for (const name of poolNames(u, counts)) this.inc?.({ pool: name }, counts.byPool.get(name)?.releases ?? 0);
    },
  });
  new prom.Counter({
    name: "ipcarve_node_removals_total", help: "removeNode calls that removed a node (or started its drain) since metrics were registered",
    labelNames: ["pool"], registers: regs,
    collect() {
      this.reset();
      if (read() !== null) this.inc?.({ pool: counts.nodePool }, counts.nodes.removals);
    },
  });
  new prom.Counter({
    name: "ipcarve_chunks_moved_total", help: "Named pools: chunks (CIDRs of the pool's maskSize) taken by nodes (direction=taken) and given back to the pool (direction=released), per pool and family, since the pool was made (kept in snapshots)",
    labelNames: ["pool", "family", "direction"], registers: regs,
    collect() {
      this.reset();
      const u = read();
      if (u === null) return;
      for (const p of u) {
        for (const c of p.chunks ?? []) {
          this.inc?.({ pool: p.pool, family: String(c.family), direction: "taken" }, c.taken);
          this.inc?.({ pool: p.pool, family: String(c.family), direction: "released" }, c.released);
        }
      }
    },
  });
  new prom.Counter({
    name: "ipcarve_allocation_failures_total", help: "Allocations that failed since metrics were registered, by kind and error code (FULL, UNKNOWN_NODE, ...)",
    labelNames: ["pool", "kind", "code"], registers: regs,
    collect() {
      this.reset();
      const u = read();
      if (u === null) return;
      failures(counts, (pool, kind, code, n) => this.inc?.({ pool, kind, code }, n));
    },
  });

  let done = false;
  return {
    names,
    unregister(): void {
      if (done) return;
      done = true;
      for (const name of names) reg.removeSingleMetric(name);
      pool._stopCounting();
    },
  };
}

function failures(counts: PoolCounters, each: (pool: string, kind: AllocationKind, code: string, n: number) => void): void {
  for (const [pool, c] of counts.byPool) for (const kind of ["pod", "node"] as const) for (const [code, n] of c.failures[kind]) each(pool, kind, code, n);
}

/** The pools pod counters are shown for: every pool now, then any other that counted something (a removed pool). "" (node calls) is not one. */
function poolNames(u: PoolUsage[], counts: PoolCounters): string[] {
  const names = u.map((p) => p.pool);
  for (const [name, c] of counts.byPool) if (name !== "" && !names.includes(name) && (c.pods > 0 || c.releases > 0)) names.push(name);
  return names;
}

function isRegistry(r: unknown): r is PromRegistry {
  const o = r as Record<string, unknown> | null;
  return typeof r === "object" && o !== null && typeof o.registerMetric === "function" && typeof o.getSingleMetric === "function" && typeof o.removeSingleMetric === "function";
}
