/**
 * The cluster-scale churn simulation. A coordinator (this thread) owns the
 * node lifecycle and drives a real ClusterPool with it, built from the
 * scenario's pool options on a virtual clock: per epoch, in a fixed order,
 * it ticks the pool (reuse cooldown, drained nodes), grows it
 * (addPoolCidr), fails nodes (removeNode), scales down (removeNode with the
 * scenario's drain grace) and adds nodes (addNode). Carving, overflow
 * ('reject', 'share', smaller), maxNodeSubnets, the pending queue and the
 * dual-stack rollback are the pool's; the coordinator only learns which
 * node got which (pool entry, slot) and which pending nodes the pool served.
 * Then the partitions (in this thread, or one per worker thread) run the
 * pods of their nodes for that epoch directly in the shared WASM memory,
 * through PoolView (src/alloc/pool-view.ts), on the slots the pool gave.
 *
 * What stays on this thread, through the ClusterPool: pods of nodes without
 * a subnet of their own ('share' overflow borrow addresses from other
 * nodes' subnets), run by one more Partition after the others finished the
 * epoch; and, with a pool `reuse` option, every pod address release (the
 * partitions hand released addresses back; they are released in address
 * order through the pool's quarantine). The scenario's own `cooldown` is
 * then not applied (the pool's reuse option replaces it).
 *
 * Determinism: the coordinator's decisions use one random stream of the
 * seed and never depend on the partitions; a node's pods come from its own
 * stream (seed, node id) and touch only its own ranges; what goes through
 * the pool goes in an order that does not depend on the partitions. So
 * every allocation and counter is the same with 1 and K threads; `digest`
 * checks it.
 */
import { Worker, MessageChannel, receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { CTRL_ACK, CTRL_ERR, CTRL_SEQ, CTRL_WORDS } from "./control.js";
import { compiledWorker } from "./worker-url.js";
import { ClusterPool } from "../pool/cluster-pool.js";
import type { ClusterPoolOptions } from "../pool/options.js";
import { type PoolDescriptor } from "../alloc/pool-view.js";
import { parseCidr, parseIPv4, parseIp, formatIp, type Cidr } from "../net/ip.js";
import { rangeGeometry } from "../net/range.js";
import { IpamError } from "../errors.js";
import { Partition, type PartitionParams, type Borrower, BORROW, CHANGE_WORDS, CHANGE_ACTIVATE, CHANGE_DEACTIVATE,
  S_CREATES, S_DELETES, S_ALLOCS, S_RELEASES, S_POD_FAILURES, S_UNSCHEDULABLE, S_LIVE, S_COOLDOWN,
  S_NODES, S_MAX_UTIL, S_UTIL_SUM, S_STEP_MS, S_HEAD, statsLength } from "./partition.js";
import { Rng, mix32, streamSeed } from "./rng.js";
import { meanLifetime, targetNodes, type Scenario, type SimPool } from "./scenario.js";
import { forecastExhaustion, type Forecast, type Outage, type RegimeChange } from "./forecast.js";

const BINS = 50;

export interface SimOptions {
  readonly pool: SimPool;
  readonly scenario: Scenario;
  /** Threads running pods: 1 runs everything on this thread. @default 1 */
  readonly threads?: number;
  /** Called after every epoch. */
  readonly onProgress?: (p: SimProgress) => void;
  /** Called with every call the simulation makes on its ClusterPool for nodes, in order (tests replay them). */
  readonly onNodeEvent?: (e: SimNodeEvent) => void;
  /** Called with the ClusterPool after the last epoch, before it is disposed. */
  readonly inspect?: (pool: ClusterPool) => void;
}

/** A node-level call on the simulation's ClusterPool, at virtual time `ms` (its clock). */
export type SimNodeEvent =
  | { readonly ms: number; readonly op: "tick" }
  | { readonly ms: number; readonly op: "addPoolCidr"; readonly cidr: string }
  | { readonly ms: number; readonly op: "addNode"; readonly name: string }
  | { readonly ms: number; readonly op: "removeNode"; readonly name: string; readonly graceMs: number };

export interface SimProgress {
  readonly epoch: number;
  readonly epochs: number;
  /** Virtual time reached, seconds. */
  readonly t: number;
  readonly nodes: number;
  readonly pods: number;
  readonly events: number;
  readonly elapsedMs: number;
}

/** One point of the time series; counts per interval are since the previous sample. */
export interface SimSample {
  readonly t: number;
  readonly nodesWanted: number;
  readonly nodes: number;
  readonly nodesWithSubnet: number;
  readonly nodesWithoutSubnet: number;
  readonly subnetsUsed: number;
  /** Node subnets of the pool CIDRs in service (grows with the pool). */
  readonly subnetCapacity: number;
  readonly podsRunning: number;
  readonly ipsUsed: number;
  readonly ipsInCooldown: number;
  /** Pod IPs of the carved subnets. */
  readonly ipCapacity: number;
  readonly subnetUtilization: number;
  readonly ipUtilization: number;
  readonly nodeUtilizationMean: number;
  readonly nodeUtilizationP95: number;
  readonly nodeUtilizationMax: number;
  readonly fragmentation: number;
  readonly podCreates: number;
  readonly podDeletes: number;
  readonly podFailures: number;
  readonly nodeJoins: number;
  readonly nodeLeaves: number;
  readonly nodeAllocFailures: number;
  /** Wall-clock events per second over the interval (not deterministic). */
  readonly opsPerSec: number;
}

export interface PoolSummary {
  readonly family: 4 | 6;
  readonly cidr: string;
  readonly nodeMask: number;
  /** Virtual time it came into service (0 = from the start). */
  readonly since: number;
  readonly subnetsUsed: number;
  readonly subnetCapacity: number;
  readonly ipsUsed: number;
  readonly ipCapacity: number;
  readonly utilization: number;
  readonly fragmentation: number;
}

export interface SimTotals {
  readonly nodeJoins: number;
  readonly nodeLeaves: number;
  readonly nodeFailures: number;
  readonly nodeAllocFailures: number;
  readonly maxNodesWithoutSubnet: number;
  readonly peakNodes: number;
  readonly peakPods: number;
  readonly peakCooldown: number;
  readonly podCreates: number;
  readonly podDeletes: number;
  readonly podFailures: number;
  readonly podsUnschedulable: number;
  readonly ipAllocations: number;
  readonly ipReleases: number;
  /** Pod creations + deletions + node joins + leaves. */
  readonly events: number;
}

/** When and for how long nodes waited for a subnet, from the pool's clock (virtual seconds, exact to the epoch). */
export interface SimShortage {
  /** Stretches in which at least one node waited for a subnet; the last has no end if nodes still waited at the end. */
  readonly outages: readonly Outage[];
  /** Nodes that had to wait for a subnet (each node joins once). */
  readonly nodesWaited: number;
  /** The longest a node waited (still waiting at the end: until the end). */
  readonly maxWait: number;
  /** Nodes still waiting at the end. */
  readonly waitingAtEnd: number;
  /** Most node subnets of the first family wanted at once: held (by ready and draining nodes) plus waiting nodes. */
  readonly peakDemand: number;
  /** Virtual time of that peak. */
  readonly peakDemandAt: number;
}

export interface SimResult {
  readonly scenario: Scenario;
  readonly pool: SimPool;
  readonly threads: number;
  readonly epochs: number;
  readonly series: SimSample[];
  readonly pools: PoolSummary[];
  readonly totals: SimTotals;
  readonly final: SimSample;
  /** Same for a seed whatever the thread count: a hash of every node subnet and pod address handed out. */
  readonly digest: string;
  readonly forecast: Forecast;
  readonly shortage: SimShortage;
  readonly wallMs: number;
  readonly eventsPerSec: number;
}

/** Where the compiled worker is: next to this module when built, else in dist/. */
function workerUrl(): URL {
  return compiledWorker("worker.js", "simulate on more than one thread");
}

interface Runner {
  step(e: number, changes: Int32Array, sample: boolean, desc?: PoolDescriptor): Float64Array[];
  digest(): number[];
  close(): Promise<void>;
}

/**
 * Partition 0 runs on this thread; partitions 1..k-1 on worker threads,
 * each woken per epoch through its control block (Atomics), its message
 * taken synchronously from its port. This thread blocks while they run.
 */
function runner(desc: PoolDescriptor, params: PartitionParams, k: number): Runner {
  const own = new Partition(desc, params, 0, k);
  const url = k > 1 ? workerUrl() : undefined;
  const sab = new SharedArrayBuffer(CTRL_WORDS * 4 * Math.max(1, k));
  const workers: { worker: Worker; port: MessagePort; ctrl: Int32Array }[] = [];
  for (let i = 1; i < k; i++) {
    const ctrl = new Int32Array(sab, CTRL_WORDS * 4 * i, CTRL_WORDS);
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(url as URL, { workerData: { desc, params, index: i, count: k, ctrl, port: port2 }, transferList: [port2] });
    worker.unref();
    workers.push({ worker, port: port1, ctrl });
  }
  let seq = 0;
  const post = (m: unknown): void => {
    seq++;
    for (const w of workers) {
      w.port.postMessage(m);
      Atomics.store(w.ctrl, CTRL_SEQ, seq);
      Atomics.notify(w.ctrl, CTRL_SEQ);
    }
  };
  const collect = <T>(): T[] => workers.map((w, i) => {
    while (Atomics.load(w.ctrl, CTRL_ACK) !== seq) {
      if (Atomics.load(w.ctrl, CTRL_ERR) !== 0) {
        const m = receiveMessageOnPort(w.port)?.message as { error?: string } | undefined;
        throw new Error(`ipcarve: sim worker ${i + 1} failed: ${m?.error ?? "unknown error"}`);
      }
      Atomics.wait(w.ctrl, CTRL_ACK, Atomics.load(w.ctrl, CTRL_ACK), 200);
    }
    let got = receiveMessageOnPort(w.port);
    while (got === undefined) {
      Atomics.wait(w.ctrl, CTRL_ACK, seq, 1);
      got = receiveMessageOnPort(w.port);
    }
    return got.message as T;
  });
  return {
    step: (e, changes, sample, desc) => {
      post(desc === undefined ? { e, changes, sample } : { e, changes, sample, desc });
      const mine = own.step(e, changes, sample, desc);
      return [mine, ...collect<Float64Array>()];
    },
    digest: () => {
      post({ done: true });
      const mine = own.digest();
      return [mine, ...collect<{ digest: number }>().map((m) => m.digest)];
    },
    close: async () => {
      await Promise.all(workers.map((w) => { w.port.close(); return w.worker.terminate(); }));
    },
  };
}

/** Growable Int32Array-backed list. */
class IntList {
  a = new Int32Array(1024);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
}

/** A pool CIDR of the ClusterPool, as the simulation counts it. */
interface PoolState {
  readonly index: number;
  readonly family: 4 | 6;
  readonly cidr: Cidr;
  /** Mask of one slot of its node bitmap (the smaller overflow mask, if any). */
  readonly slotMask: number;
  readonly slots: number;
  /** Node subnets of the node mask it holds. */
  readonly capacity: number;
  /** Usable pod addresses of a node-mask subnet. */
  readonly size: number;
  readonly base4: number;
  /** Virtual time it came into service (0 = from the start). */
  readonly since: number;
  /** Node subnets handed out now. */
  used: number;
  /** Usable pod addresses of the subnets handed out now. */
  ipCap: number;
  /** 1 per slot a node subnet takes. */
  readonly mirror: Uint8Array;
}

/** Node status in the coordinator's table. */
const WAITING = 0, ACTIVE = 1, GONE = 2, DRAINING = 3;

/** Node name in the ClusterPool of sim node id `id`. */
const nodeName = (id: number): string => `n${id}`;

/** FNV-1a of a string, for the digest of borrowed addresses. */
function hashText(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Pods of 'share' nodes, allocated and released through the ClusterPool
 * (owner "s<node id>/<n>"), on this thread while no partition runs. Counts
 * the addresses it holds per pool entry; an address whose lending node
 * left is gone with it (reconcile()).
 */
class PoolBorrower implements Borrower {
  lastHash = 0;
  #seq = 0;
  readonly used: Float64Array;
  readonly #held = new Map<number, { owner: string; p4: number; p6: number }>();

  constructor(readonly pool: ClusterPool, maxPools: number, readonly poolOf: (family: 4 | 6, ip: string) => number) {
    this.used = new Float64Array(maxPools);
  }

  get size(): number { return this.#held.size; }

  allocate(id: number): number {
    const tok = this.#seq++;
    const owner = `s${id}/${tok}`;
    let got;
    try {
      got = this.pool.allocate(nodeName(id), owner);
    } catch (e) {
      if (e instanceof IpamError && e.code === "FULL") return -1;
      throw e;
    }
    const p4 = got.ipv4 === undefined ? -1 : this.poolOf(4, got.ipv4);
    const p6 = got.ipv6 === undefined ? -1 : this.poolOf(6, got.ipv6);
    if (p4 >= 0) this.used[p4] = (this.used[p4] as number) + 1;
    if (p6 >= 0) this.used[p6] = (this.used[p6] as number) + 1;
    this.lastHash = hashText(hashText(0x811c9dc5, got.ipv4 ?? ""), got.ipv6 ?? "");
    this.#held.set(tok, { owner, p4, p6 });
    return tok;
  }

  release(token: number): void {
    const h = this.#held.get(token);
    if (h === undefined) return;
    this.#held.delete(token);
    this.pool.releaseOwner(h.owner);
    if (h.p4 >= 0) this.used[h.p4] = (this.used[h.p4] as number) - 1;
    if (h.p6 >= 0) this.used[h.p6] = (this.used[h.p6] as number) - 1;
  }

  /** After nodes left: borrowed addresses in their subnets went with them. */
  reconcile(): void {
    for (const [tok, h] of this.#held) {
      const left = this.pool.addressesOf(h.owner);
      const has4 = left.some((a) => !a.includes(":"));
      const has6 = left.some((a) => a.includes(":"));
      if (h.p4 >= 0 && !has4) { this.used[h.p4] = (this.used[h.p4] as number) - 1; h.p4 = -1; }
      if (h.p6 >= 0 && !has6) { this.used[h.p6] = (this.used[h.p6] as number) - 1; h.p6 = -1; }
      if (h.p4 < 0 && h.p6 < 0) this.#held.delete(tok);
    }
  }
}

/** The ClusterPool options of a simulation's pool: every option given, a virtual clock, the scenario's seed by default. */
export function simPoolOptions(sp: SimPool, seed: number, clock: () => number): ClusterPoolOptions {
  return { ...sp, seed: sp.seed ?? seed, clock };
}

/** Runs a simulation to the end. */
export async function simulate(opts: SimOptions): Promise<SimResult> {
  const { scenario: sc, pool: sp } = opts;
  const threads = Math.max(1, Math.floor(opts.threads ?? 1));
  const epochs = Math.max(1, Math.ceil(sc.duration / sc.epoch));
  const sampleEvery = Math.max(1, Math.round(sc.sample / sc.epoch));
  const poolReuse = sp.reuse !== undefined;
  // With a pool reuse option the pool quarantines released addresses; the scenario's cooldown is not applied on top.
  const cooldownEpochs = !poolReuse && sc.cooldown > 0 ? Math.max(1, Math.ceil(sc.cooldown / sc.epoch)) : 0;
  const graceMs = Math.max(0, (sc.nodes.drainGrace ?? 0) * 1000);
  const trace = opts.onNodeEvent;

  let now = 0; // the pool's clock, ms of virtual time
  const cp = new ClusterPool(simPoolOptions(sp, sc.seed, () => now));
  try {
    const growth = sc.growth.map((g) => ({ at: g.at, cidr: parseCidr(g.cidr) })).sort((a, b) => a.at - b.at);
    for (const g of growth) {
      if (!cp.options.families.some((f) => f.family === g.cidr.family)) {
        throw new RangeError(`ipcarve: scenario.growth ${String(g.cidr)} is IPv${g.cidr.family}, but the pool has no IPv${g.cidr.family} family`);
      }
    }
    return await run(opts, sc, sp, cp, threads, epochs, sampleEvery, cooldownEpochs, poolReuse, graceMs, growth, trace, (ms) => { now = ms; });
  } finally {
    cp.dispose();
  }
}

async function run(
  opts: SimOptions, sc: Scenario, sp: SimPool, cp: ClusterPool, threads: number, epochs: number, sampleEvery: number,
  cooldownEpochs: number, poolReuse: boolean, graceMs: number, growth: { at: number; cidr: Cidr }[],
  trace: ((e: SimNodeEvent) => void) | undefined, setClock: (ms: number) => void,
): Promise<SimResult> {
  let nowMs = 0;
  const families = cp.options.families.map((f) => f.family);
  const maskOf = new Map(cp.options.families.map((f) => [f.family, f.maskSize]));
  const maxPools = cp.poolCidrs().reduce((n, f) => n + f.cidrs.length, 0) + growth.length;
  const maxSubnets = sp.maxNodeSubnets ?? Infinity;

  const pools: PoolState[] = [];
  let desc = cp.describe();
  const addPools = (d: PoolDescriptor, since: number): void => {
    for (const e of d.pools) {
      if (pools[e.index] !== undefined) continue;
      const cidr = parseCidr(e.cidr);
      const mask = maskOf.get(e.family) as number;
      pools[e.index] = {
        index: e.index, family: e.family, cidr, slotMask: e.nodeMask, slots: e.slots, capacity: 2 ** (mask - cidr.prefix),
        size: e.podBits, base4: e.base4, since, used: 0, ipCap: 0, mirror: new Uint8Array(e.slots),
      };
    }
  };
  addPools(desc, 0);
  const live4 = (): PoolState[] => pools.filter((p) => p !== undefined);
  /** Pool entry holding an address the pool handed out (borrowed addresses). */
  const poolOfIp = (family: 4 | 6, ip: string): number => {
    if (family === 4) {
      const v = parseIPv4(ip);
      for (const p of pools) if (p?.family === 4 && v >= p.base4 && v - p.base4 < 2 ** (32 - p.cidr.prefix)) return p.index;
      return -1;
    }
    const v = parseIp(ip).value;
    for (const p of pools) if (p?.family === 6 && p.cidr.containsValue(v)) return p.index;
    return -1;
  };
  /** Usable pod addresses per node subnet of the first family (node utilization of 'share' nodes is measured on it). */
  const rangeSize = pools.find((p) => p?.family === families[0])?.size ?? 1;

  const params: PartitionParams = {
    seed: sc.seed, epoch: sc.epoch, epochs, cooldownEpochs,
    minPerNode: sc.pods.minPerNode, maxPerNode: sc.pods.maxPerNode, maxPods: sc.pods.maxPods,
    lifetime: sc.pods.lifetime, meanLifetime: meanLifetime(sc.pods.lifetime), bins: BINS,
    maxPools, releaseToPool: poolReuse,
  };
  const head = statsLength(params);
  const borrower = new PoolBorrower(cp, maxPools, poolOfIp);
  // Pods of 'share' nodes: one more partition, on this thread, after the others (it touches their subnets).
  const borrowPart = new Partition(desc, params, threads, threads + 1, borrower);
  const runr = runner(desc, params, threads);

  // Node table, by id (ids are never reused).
  let cap = 1024;
  let status = new Uint8Array(cap);
  let where = new Int32Array(cap * 6); // per family (IPv4, IPv6): pool entry, slot, slots taken
  let sizes = new Float64Array(cap * 2); // usable addresses per family
  let owner = new Int32Array(cap * 2); // partition, local index
  let waitStart = new Float64Array(cap); // ms on the pool clock a waiting node started to wait
  // Balancing: a new node goes to the partition with the least projected work.
  const partNodes = new Float64Array(threads);
  const partCost = new Float64Array(threads).fill(1); // ms per node per epoch (EWMA)
  const partNext = new Int32Array(threads + 1);
  const live = new IntList(); // ids of nodes that exist (active or waiting)
  const pending = new IntList(); // ids waiting for a subnet, in the pool's order, from pendingHead
  let pendingHead = 0;
  let waitingCount = 0;
  const draining = new IntList(); // ids draining, in deadline order, from drainHead
  const deadline: number[] = [];
  let drainHead = 0;
  let nextId = 0;
  let dropped = false; // a node gave its subnets back this epoch (borrowed addresses in them are gone)
  const rng = new Rng(streamSeed(sc.seed, 0, 7));
  let changes: number[] = [];
  let coordDigest = 0x811c9dc5;
  const carved = { 4: 0, 6: 0 };
  // Shortage: stretches with waiting nodes, the longest wait, the peak of subnets wanted.
  const outages: { start: number; end?: number }[] = [];
  let maxWaitMs = 0, peakDemand = 0, peakDemandAt = 0;

  const grow = (): void => {
    const n = cap * 2;
    const s2 = new Uint8Array(n); s2.set(status); status = s2;
    const w = new Int32Array(n * 6); w.set(where); where = w;
    const z = new Float64Array(n * 2); z.set(sizes); sizes = z;
    const ow = new Int32Array(n * 2); ow.set(owner); owner = ow;
    const ws = new Float64Array(n); ws.set(waitStart); waitStart = ws;
    cap = n;
  };

  /** Usable pod addresses of a node subnet, by family * 256 + prefix. */
  const usable = new Map<number, number>();
  /** Node `id` is ready in the pool with these podCIDRs: record its subnets and hand it to a partition. */
  const activate = (id: number, podCIDRs: readonly string[]): void => {
    const o = id * 6;
    for (let k = 0; k < 6; k++) where[o + k] = -1;
    sizes[id * 2] = sizes[id * 2 + 1] = 0;
    let borrows = families.length > podCIDRs.length;
    for (const text of podCIDRs) {
      const c = parseCidr(text);
      const f = c.family === 4 ? 0 : 1;
      const ps = pools.find((p) => p !== undefined && p.family === c.family && p.cidr.contains(c)) as PoolState;
      const slot = Number((c.network - ps.cidr.network) >> BigInt(c.bits - ps.slotMask));
      const run = 2 ** (ps.slotMask - c.prefix);
      where[o + f * 3] = ps.index;
      where[o + f * 3 + 1] = slot;
      where[o + f * 3 + 2] = run;
      let size = usable.get(c.family * 256 + c.prefix);
      if (size === undefined) usable.set(c.family * 256 + c.prefix, (size = rangeGeometry(c).size));
      sizes[id * 2 + f] = size;
      ps.used++;
      ps.ipCap += size;
      ps.mirror.fill(1, slot, slot + run);
      carved[c.family]++;
    }
    // 'share' overflow: a family without a subnet of its own borrows
    for (const fam of families) {
      const f = fam === 4 ? 0 : 1;
      if ((where[o + f * 3] as number) < 0) { where[o + f * 3] = BORROW; borrows = true; }
    }
    status[id] = ACTIVE;
    let best = threads; // the borrowing partition
    if (!borrows) {
      best = 0;
      for (let p = 1; p < threads; p++) {
        if (((partNodes[p] as number) + 1) * (partCost[p] as number) < ((partNodes[best] as number) + 1) * (partCost[best] as number)) best = p;
      }
      partNodes[best] = (partNodes[best] as number) + 1;
    }
    // Local indices are never reused: queued events of a node that left must not reach a newcomer.
    const local = partNext[best] as number;
    partNext[best] = local + 1;
    owner[id * 2] = best;
    owner[id * 2 + 1] = local;
    const first = families[0] === 4 ? 0 : 1;
    const size = (sizes[id * 2 + first] as number) || rangeSize;
    const p4 = where[o] as number, s4 = where[o + 1] as number, p6 = where[o + 3] as number, s6 = where[o + 4] as number;
    changes.push(id, CHANGE_ACTIVATE, p4, s4, p6, s6, best, local, size);
    coordDigest = mix32(coordDigest ^ mix32(id + 1) ^ Math.imul(p4 + 1, 0x9e3779b9) ^ (s4 + 1) ^ Math.imul(s6 + 1, 0x7feb352d) ^ Math.imul(p6 + 3, 0x2c1b3c6d));
  };

  /** The pool gave node `id`'s subnets back. */
  const drop = (id: number): void => {
    const o = id * 6;
    for (let f = 0; f < 2; f++) {
      const p = where[o + f * 3] as number;
      if (p < 0) continue;
      const ps = pools[p] as PoolState;
      const slot = where[o + f * 3 + 1] as number;
      ps.used--;
      ps.ipCap -= sizes[id * 2 + f] as number;
      ps.mirror.fill(0, slot, slot + (where[o + f * 3 + 2] as number));
      carved[ps.family]--;
    }
    status[id] = GONE;
    dropped = true;
  };

  /** Node `id` stops waiting now (served, or gone). */
  const waited = (id: number): void => {
    const w = nowMs - (waitStart[id] as number);
    if (w > maxWaitMs) maxWaitMs = w;
  };

  /** Pending nodes the pool served (it serves them in arrival order, a prefix of the queue). */
  const served = (): void => {
    while (pendingHead < pending.n) {
      const id = pending.a[pendingHead] as number;
      if (status[id] !== WAITING) { pendingHead++; continue; }
      const d = cp.node(nodeName(id));
      if (d === undefined || d.status !== "ready") break;
      waitingCount--;
      pendingHead++;
      waited(id);
      activate(id, d.podCIDRs);
    }
    if (pendingHead > 4096 && pendingHead * 2 > pending.n) {
      pending.a.copyWithin(0, pendingHead, pending.n);
      pending.n -= pendingHead;
      pendingHead = 0;
    }
  };

  /** Removes the live node at position i of the live list, with the drain grace or at once. */
  const removeAt = (i: number, grace: number): void => {
    const id = live.a[i] as number;
    live.a[i] = live.a[--live.n] as number;
    const name = nodeName(id);
    trace?.({ ms: nowMs, op: "removeNode", name, graceMs: grace });
    if (status[id] === ACTIVE) {
      const p = owner[id * 2] as number;
      if (p < threads) partNodes[p] = (partNodes[p] as number) - 1;
      changes.push(id, CHANGE_DEACTIVATE, -1, -1, -1, -1, p, owner[id * 2 + 1] as number, 0);
      if (grace > 0) {
        cp.removeNode(name, { graceMs: grace });
        status[id] = DRAINING;
        draining.push(id);
        deadline[id] = nowMs + grace;
      } else {
        cp.removeNode(name);
        drop(id);
      }
    } else {
      cp.removeNode(name);
      waitingCount--;
      waited(id);
      status[id] = GONE;
    }
    served();
  };

  /** Node `id` joins: the pool gives it subnets, or it waits as pending. */
  const join = (id: number): void => {
    const name = nodeName(id);
    trace?.({ ms: nowMs, op: "addNode", name });
    let podCIDRs: string[];
    try {
      podCIDRs = cp.addNode(name).podCIDRs;
    } catch (e) {
      if (!(e instanceof IpamError && e.code === "FULL" && cp.node(name)?.status === "pending")) throw e;
      pending.push(id);
      waitingCount++;
      waitStart[id] = nowMs;
      T.nodeAllocFailures++;
      iv.allocFail++;
      return;
    }
    activate(id, podCIDRs);
  };

  // Running totals.
  const T = {
    nodeJoins: 0, nodeLeaves: 0, nodeFailures: 0, nodeAllocFailures: 0, maxNodesWithoutSubnet: 0, peakNodes: 0,
    peakPods: 0, peakCooldown: 0, podCreates: 0, podDeletes: 0, podFailures: 0, podsUnschedulable: 0,
    ipAllocations: 0, ipReleases: 0, events: 0,
  };
  const iv = { creates: 0, deletes: 0, failures: 0, joins: 0, leaves: 0, allocFail: 0, events: 0 };
  const series: SimSample[] = [];
  const failPerEpoch = (sc.nodes.failureRate * sc.epoch) / 3600;
  const agg = new Float64Array(head);
  let keys = new Float64Array(1024);
  const t0 = performance.now();
  let lastSampleWall = t0;
  let lastYield = t0;
  let wanted = 0;
  let last: SimSample | undefined;
  let nextGrowth = 0;

  try {
    for (let e = 0; e < epochs; e++) {
      const epochStart = performance.now();
      const tStart = e * sc.epoch;
      const tEnd = Math.min(sc.duration, (e + 1) * sc.epoch);
      nowMs = tStart * 1000;
      setClock(nowMs);
      changes = [];
      dropped = false;
      // 0. Time passes: the pool releases what is due (reuse cooldown, drained nodes) and serves pending nodes.
      trace?.({ ms: nowMs, op: "tick" });
      cp.tick();
      while (drainHead < draining.n && (deadline[draining.a[drainHead] as number] as number) <= nowMs) drop(draining.a[drainHead++] as number);
      let newDesc: PoolDescriptor | undefined;
      while (nextGrowth < growth.length && (growth[nextGrowth] as { at: number }).at <= tStart) {
        const g = growth[nextGrowth++] as { at: number; cidr: Cidr };
        trace?.({ ms: nowMs, op: "addPoolCidr", cidr: String(g.cidr) });
        cp.addPoolCidr(String(g.cidr));
        desc = newDesc = cp.describe();
        addPools(desc, g.at);
      }
      served();
      // 1. Failures: random nodes leave abruptly (replaced below to keep the target).
      if (failPerEpoch > 0 && live.n > 0) {
        const lambda = live.n * failPerEpoch;
        let nf = Math.min(live.n, rng.poisson(lambda, Math.exp(-lambda)));
        T.nodeFailures += nf;
        iv.leaves += nf;
        while (nf-- > 0) removeAt(Math.floor(rng.next() * live.n), 0);
      }
      // 2. Scale down to the target.
      wanted = targetNodes(sc.nodes.phases, tEnd);
      while (live.n > wanted) {
        removeAt(Math.floor(rng.next() * live.n), graceMs);
        T.nodeLeaves++;
        iv.leaves++;
      }
      // 3. Scale up: new nodes join; they queue behind waiting ones (the pool serves pending nodes first).
      while (live.n < wanted) {
        const id = nextId++;
        if (id >= cap) grow();
        status[id] = WAITING;
        live.push(id);
        T.nodeJoins++;
        iv.joins++;
        join(id);
      }
      if (waitingCount > T.maxNodesWithoutSubnet) T.maxNodesWithoutSubnet = waitingCount;
      const open = outages.length > 0 && outages[outages.length - 1]?.end === undefined;
      if (waitingCount > 0 && !open) outages.push({ start: tStart });
      if (waitingCount === 0 && open) (outages[outages.length - 1] as { end?: number }).end = tStart;
      const demand = carved[families[0] as 4 | 6] + waitingCount;
      if (demand > peakDemand) { peakDemand = demand; peakDemandAt = tStart; }
      if (live.n > T.peakNodes) T.peakNodes = live.n;

      // 4. Pods: the partitions on their slots, then the borrowing nodes through the pool.
      const sample = (e + 1) % sampleEvery === 0 || e === epochs - 1;
      const coordMs = performance.now() - epochStart;
      const ch = Int32Array.from(changes);
      const parts = runr.step(e, ch, sample, newDesc);
      if (dropped && borrower.size > 0) borrower.reconcile();
      parts.push(borrowPart.step(e, ch, sample, newDesc));
      if (threads > 1) {
        const measured = partCost.every((c) => c !== 1);
        for (let p = 0; p < threads; p++) {
          const st = parts[p] as Float64Array;
          const n = st[S_NODES] as number;
          if (n < 64) continue;
          const ms = ((st[S_STEP_MS] as number) + (p === 0 ? coordMs : 0)) / n;
          partCost[p] = measured ? 0.8 * (partCost[p] as number) + 0.2 * ms : ms;
        }
      }
      agg.fill(0);
      let nKeys = 0;
      for (const st of parts) {
        for (let i = 0; i < head; i++) agg[i] = (agg[i] as number) + (st[i] as number);
        if (st.length > head) {
          if (nKeys + (st.length - head) / 2 > keys.length) {
            const b = new Float64Array(Math.max(keys.length * 2, nKeys + st.length));
            b.set(keys.subarray(0, nKeys));
            keys = b;
          }
          for (let i = head; i < st.length; i += 2) keys[nKeys++] = (st[i] as number) * 2 ** 32 + (st[i + 1] as number);
        }
      }
      if (nKeys > 0) releaseThroughPool(cp, pools, keys.subarray(0, nKeys));
      let maxUtil = 0;
      for (const st of parts) maxUtil = Math.max(maxUtil, st[S_MAX_UTIL] as number);
      agg[S_MAX_UTIL] = maxUtil;
      agg[S_STEP_MS] = 0;
      for (let p = 0; p < maxPools; p++) agg[S_HEAD + p] = (agg[S_HEAD + p] as number) + (borrower.used[p] as number);
      const creates = agg[S_CREATES] as number;
      const deletes = agg[S_DELETES] as number;
      T.podCreates += creates;
      T.podDeletes += deletes;
      T.podFailures += agg[S_POD_FAILURES] as number;
      T.podsUnschedulable += agg[S_UNSCHEDULABLE] as number;
      T.ipAllocations += agg[S_ALLOCS] as number;
      T.ipReleases += agg[S_RELEASES] as number;
      const nodeEvents = changes.length / CHANGE_WORDS;
      T.events += creates + deletes + nodeEvents;
      iv.creates += creates;
      iv.deletes += deletes;
      iv.failures += agg[S_POD_FAILURES] as number;
      iv.events += creates + deletes + nodeEvents;
      const podsNow = agg[S_LIVE] as number;
      if (podsNow > T.peakPods) T.peakPods = podsNow;
      // With a pool reuse option the pool holds the quarantine: its size is read at samples.
      const cooling = poolReuse ? (sample ? cp.stats().cooldown : 0) : (agg[S_COOLDOWN] as number);
      if (cooling > T.peakCooldown) T.peakCooldown = cooling;

      if (sample) {
        const now = performance.now();
        const active = agg[S_NODES] as number;
        let used = 0, subnetCap = 0, ips = poolReuse ? cooling : 0, ipCap = 0, fragFree = 0, fragRun = 0;
        for (const ps of live4()) {
          if (ps.family !== families[0]) continue;
          used += ps.used;
          subnetCap += ps.capacity;
          ipCap += ps.ipCap;
          ips += agg[S_HEAD + ps.index] as number;
          const [free, run] = freeRuns(ps.mirror);
          fragFree += free;
          fragRun += run;
        }
        last = {
          t: tEnd,
          nodesWanted: wanted,
          nodes: live.n,
          nodesWithSubnet: live.n - waitingCount,
          nodesWithoutSubnet: waitingCount,
          subnetsUsed: used,
          subnetCapacity: subnetCap,
          podsRunning: podsNow,
          ipsUsed: ips,
          ipsInCooldown: cooling,
          ipCapacity: ipCap,
          subnetUtilization: subnetCap > 0 ? used / subnetCap : 0,
          ipUtilization: ipCap > 0 ? ips / ipCap : 0,
          nodeUtilizationMean: active > 0 ? (agg[S_UTIL_SUM] as number) / (active * rangeSize) : 0,
          nodeUtilizationP95: percentile(agg, S_HEAD + maxPools, active, 0.95),
          nodeUtilizationMax: agg[S_MAX_UTIL] as number,
          fragmentation: fragFree > 0 ? 1 - fragRun / fragFree : 0,
          podCreates: iv.creates,
          podDeletes: iv.deletes,
          podFailures: iv.failures,
          nodeJoins: iv.joins,
          nodeLeaves: iv.leaves,
          nodeAllocFailures: iv.allocFail,
          opsPerSec: now > lastSampleWall ? (iv.events * 1000) / (now - lastSampleWall) : 0,
        };
        series.push(last);
        lastSampleWall = now;
        iv.creates = iv.deletes = iv.failures = iv.joins = iv.leaves = iv.allocFail = iv.events = 0;
      }
      opts.onProgress?.({
        epoch: e + 1, epochs, t: tEnd, nodes: live.n, pods: podsNow, events: T.events, elapsedMs: performance.now() - t0,
      });
      // Let timers (progress rendering) run now and then; the loop itself is synchronous.
      if (performance.now() - lastYield > 50) {
        await new Promise((r) => setImmediate(r));
        lastYield = performance.now();
      }
    }
    const digests = [...runr.digest(), borrowPart.digest()];
    const wallMs = performance.now() - t0;
    opts.inspect?.(cp);
    let d = coordDigest;
    for (const x of digests) d = (d + x) >>> 0;
    const final = last as SimSample;
    const poolSummaries: PoolSummary[] = live4().map((ps) => {
      const ips = agg[S_HEAD + ps.index] as number;
      const [free, run] = freeRuns(ps.mirror);
      return {
        family: ps.family, cidr: String(ps.cidr), nodeMask: maskOf.get(ps.family) as number, since: ps.since,
        subnetsUsed: ps.used, subnetCapacity: ps.capacity, ipsUsed: ips, ipCapacity: ps.ipCap,
        utilization: ps.ipCap > 0 ? ips / ps.ipCap : 0,
        fragmentation: free > 0 ? 1 - run / free : 0,
      };
    });
    // Nodes still waiting at the end waited until the end.
    nowMs = sc.duration * 1000;
    for (let i = pendingHead; i < pending.n; i++) if (status[pending.a[i] as number] === WAITING) waited(pending.a[i] as number);
    const regimes: RegimeChange[] = [
      ...sc.nodes.phases.filter((p) => p.at > 0).map((p) => ({ at: p.at, reason: "node curve bends" })),
      ...growth.map((g) => ({ at: g.at, reason: `pool growth ${String(g.cidr)}` })),
    ];
    const fc = forecastExhaustion(series.map((s) => ({ t: s.t, used: s.subnetsUsed, capacity: Math.min(maxSubnets, s.subnetCapacity) })), regimes, outages);
    const shortage: SimShortage = {
      outages: outages.map((o) => ({ ...o })), nodesWaited: T.nodeAllocFailures, maxWait: maxWaitMs / 1000,
      waitingAtEnd: waitingCount, peakDemand, peakDemandAt,
    };
    return {
      scenario: sc, pool: sp, threads, epochs, series, pools: poolSummaries, totals: { ...T }, final,
      digest: d.toString(16).padStart(8, "0"), forecast: fc, shortage, wallMs, eventsPerSec: (T.events * 1000) / wallMs,
    };
  } finally {
    await runr.close();
  }
}

/**
 * Releases pod addresses (keys pool * 2^32 + rel) through the ClusterPool, in
 * key order (the same whatever partition released them): its reuse
 * quarantine takes them.
 */
function releaseThroughPool(cp: ClusterPool, pools: readonly (PoolState | undefined)[], keys: Float64Array): void {
  keys.sort();
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as number;
    const ps = pools[Math.floor(k / 2 ** 32)] as PoolState;
    const rel = k % 2 ** 32;
    if (ps.family === 4) cp.releaseIPv4((ps.base4 + rel) >>> 0);
    else cp.release(formatIp(6, ps.cidr.network + BigInt(rel)));
  }
}

/** Free slots and the longest run of free slots. */
function freeRuns(m: Uint8Array): [number, number] {
  let free = 0, best = 0, run = 0;
  for (let i = 0; i < m.length; i++) {
    if (m[i] === 0) {
      free++;
      if (++run > best) best = run;
    } else run = 0;
  }
  return [free, best];
}

/** The p-quantile of node utilization from the histogram at agg[from..from+BINS). */
function percentile(agg: Float64Array, from: number, n: number, p: number): number {
  if (n <= 0) return 0;
  let acc = 0;
  for (let b = 0; b < BINS; b++) {
    acc += agg[from + b] as number;
    if (acc >= p * n) return (b + 1) / BINS;
  }
  return 1;
}
