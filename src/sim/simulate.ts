/**
 * The cluster-scale churn simulation. A coordinator (this thread) owns the
 * node lifecycle: per epoch, in a fixed order, it fails nodes, scales down,
 * retries nodes waiting for a subnet, and adds nodes, carving node subnets
 * through the pool's CAS-safe node bitmap (PoolView.carveSlot). Then the
 * partitions (in this thread, or one per worker thread) run the pods of
 * their nodes for that epoch directly in the shared WASM memory.
 *
 * Determinism: the coordinator's decisions use one random stream of the
 * seed and never depend on the partitions; a node's pods come from its own
 * stream (seed, node id) and touch only its own ranges. So every allocation
 * and counter is the same with 1 and K threads; `digest` checks it.
 */
import { Worker, MessageChannel, receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { CTRL_ACK, CTRL_ERR, CTRL_SEQ, CTRL_WORDS } from "./control.js";
import { compiledWorker } from "./worker-url.js";
import { ClusterPool } from "../pool/cluster-pool.js";
import { PoolView, type PoolDescriptor } from "../alloc/pool-view.js";
import { parseCidr } from "../net/ip.js";
import { Partition, type PartitionParams, CHANGE_WORDS, CHANGE_ACTIVATE, CHANGE_DEACTIVATE,
  S_CREATES, S_DELETES, S_ALLOCS, S_RELEASES, S_POD_FAILURES, S_UNSCHEDULABLE, S_LIVE, S_COOLDOWN,
  S_NODES, S_MAX_UTIL, S_UTIL_SUM, S_STEP_MS, S_HEAD } from "./partition.js";
import { Rng, mix32, streamSeed } from "./rng.js";
import { meanLifetime, targetNodes, type Scenario, type SimPool } from "./scenario.js";
import { forecastExhaustion, type Forecast } from "./forecast.js";

const BINS = 50;

export interface SimOptions {
  readonly pool: SimPool;
  readonly scenario: Scenario;
  /** Threads running pods: 1 runs everything on this thread. @default 1 */
  readonly threads?: number;
  /** Called after every epoch. */
  readonly onProgress?: (p: SimProgress) => void;
}

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
  readonly wallMs: number;
  readonly eventsPerSec: number;
}

/** Where the compiled worker is: next to this module when built, else in dist/. */
function workerUrl(): URL {
  return compiledWorker("worker.js", "simulate on more than one thread");
}

interface Runner {
  step(e: number, changes: Int32Array, sample: boolean): Float64Array[];
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
    step: (e, changes, sample) => {
      post({ e, changes, sample });
      const mine = own.step(e, changes, sample);
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

interface PoolState {
  readonly index: number;
  readonly family: 4 | 6;
  readonly cidr: string;
  readonly nodeMask: number;
  readonly slots: number;
  readonly size: number;
  readonly since: number;
  enabled: boolean;
  used: number;
  readonly mirror: Uint8Array;
}

/** Runs a simulation to the end. */
export async function simulate(opts: SimOptions): Promise<SimResult> {
  const { scenario: sc, pool: sp } = opts;
  const threads = Math.max(1, Math.floor(opts.threads ?? 1));
  const epochs = Math.max(1, Math.ceil(sc.duration / sc.epoch));
  const sampleEvery = Math.max(1, Math.round(sc.sample / sc.epoch));
  const cooldownEpochs = sc.cooldown > 0 ? Math.max(1, Math.ceil(sc.cooldown / sc.epoch)) : 0;

  // Growth CIDRs are in the pool from the start but carved from only after their time.
  const growth = new Map<string, number>();
  const v4 = sp.ipv4 ? [...sp.ipv4.cidrs] : [];
  const v6 = sp.ipv6 ? [...sp.ipv6.cidrs] : [];
  for (const g of sc.growth) {
    const c = parseCidr(g.cidr);
    const list = c.family === 4 ? v4 : v6;
    if ((c.family === 4 ? sp.ipv4 : sp.ipv6) === undefined) {
      throw new RangeError(`ipcarve: scenario.growth ${g.cidr} is IPv${c.family}, but the pool has no IPv${c.family} family`);
    }
    list.push(String(c));
    growth.set(String(c), g.at);
  }
  const cp = new ClusterPool({
    ...(sp.ipv4 ? { ipv4: { cidrs: v4, maskSize: sp.ipv4.maskSize } } : {}),
    ...(sp.ipv6 ? { ipv6: { cidrs: v6, maskSize: sp.ipv6.maskSize } } : {}),
    ...(sp.podStrategy ? { podStrategy: sp.podStrategy } : {}),
    seed: sc.seed,
  });
  const desc = cp.describe();
  const view = new PoolView(desc);
  const pools: PoolState[] = desc.pools.map((d) => {
    const since = growth.get(d.cidr) ?? 0;
    return {
      index: d.index, family: d.family, cidr: d.cidr, nodeMask: d.nodeMask, slots: d.slots, size: d.podBits,
      since, enabled: since <= 0, used: 0, mirror: new Uint8Array(d.slots),
    };
  });
  const families = ([4, 6] as const).filter((f) => pools.some((p) => p.family === f));
  const maxSubnets = sp.maxNodeSubnets ?? Infinity;
  /** Pod addresses per node subnet of the first family (node utilization is measured on it). */
  const rangeSize = pools.find((p) => p.family === families[0])?.size ?? 1;
  const carved = { 4: 0, 6: 0 };

  const params: PartitionParams = {
    seed: sc.seed, epoch: sc.epoch, epochs, cooldownEpochs,
    minPerNode: sc.pods.minPerNode, maxPerNode: sc.pods.maxPerNode, maxPods: sc.pods.maxPods,
    lifetime: sc.pods.lifetime, meanLifetime: meanLifetime(sc.pods.lifetime), bins: BINS,
  };
  const run = runner(desc, params, threads);

  // Node table, by id (ids are never reused).
  let cap = 1024;
  let status = new Uint8Array(cap); // 0 waiting for a subnet, 1 active, 2 gone
  let slots = new Int32Array(cap * 4); // p4, s4, p6, s6
  let livePos = new Int32Array(cap);
  let owner = new Int32Array(cap * 2); // partition, local index
  // Balancing: a new node goes to the partition with the least projected work.
  const partNodes = new Float64Array(threads);
  const partCost = new Float64Array(threads).fill(1); // ms per node per epoch (EWMA)
  const partNext = new Int32Array(threads);
  const live = new IntList(); // ids of nodes that exist (active or waiting)
  const pending = new IntList(); // ids waiting for a subnet, FIFO from pendingHead
  let pendingHead = 0;
  let waitingCount = 0;
  let nextId = 0;
  const rng = new Rng(streamSeed(sc.seed, 0, 7));
  let changes: number[] = [];
  let coordDigest = 0x811c9dc5;

  const grow = (): void => {
    const n = cap * 2;
    const s2 = new Uint8Array(n); s2.set(status); status = s2;
    const sl = new Int32Array(n * 4); sl.set(slots); slots = sl;
    const lp = new Int32Array(n); lp.set(livePos); livePos = lp;
    const ow = new Int32Array(n * 2); ow.set(owner); owner = ow;
    cap = n;
  };

  const release = (id: number): void => {
    for (let f = 0; f < 2; f++) {
      const p = slots[id * 4 + f * 2] as number;
      const s = slots[id * 4 + f * 2 + 1] as number;
      if (p < 0) continue;
      view.detach(p, s);
      const ps = pools[p] as PoolState;
      ps.used--;
      ps.mirror[s] = 0;
      carved[ps.family]--;
    }
  };

  /** Tries to give node `id` one subnet per family; all or nothing. */
  const carve = (id: number): boolean => {
    const o = id * 4;
    slots[o] = slots[o + 1] = slots[o + 2] = slots[o + 3] = -1;
    for (const fam of families) {
      let ok = false;
      if (carved[fam] < maxSubnets) {
        for (const ps of pools) {
          if (ps.family !== fam || !ps.enabled || ps.used >= ps.slots) continue;
          const s = view.carveSlot(ps.index);
          if (s < 0) continue;
          if (!view.attach(ps.index, s, id + 1, BigInt(streamSeed(sc.seed, id, 3)))) {
            view.engine.wasm.bmRelease(desc.pools[ps.index]!.nodeBitmap, s);
            break;
          }
          ps.used++;
          ps.mirror[s] = 1;
          carved[fam]++;
          const k = o + (fam === 4 ? 0 : 2);
          slots[k] = ps.index;
          slots[k + 1] = s;
          ok = true;
          break;
        }
      }
      if (!ok) {
        release(id);
        slots[o] = slots[o + 1] = slots[o + 2] = slots[o + 3] = -1;
        return false;
      }
    }
    status[id] = 1;
    let best = 0;
    for (let p = 1; p < threads; p++) {
      if (((partNodes[p] as number) + 1) * (partCost[p] as number) < ((partNodes[best] as number) + 1) * (partCost[best] as number)) best = p;
    }
    // Local indices are never reused: queued events of a node that left must not reach a newcomer.
    const local = partNext[best] as number;
    partNext[best] = local + 1;
    owner[id * 2] = best;
    owner[id * 2 + 1] = local;
    partNodes[best] = (partNodes[best] as number) + 1;
    changes.push(id, CHANGE_ACTIVATE, slots[o] as number, slots[o + 1] as number, slots[o + 2] as number, slots[o + 3] as number, best, local);
    coordDigest = mix32(coordDigest ^ mix32(id + 1) ^ Math.imul((slots[o] as number) + 1, 0x9e3779b9) ^ ((slots[o + 1] as number) + 1)
      ^ Math.imul((slots[o + 3] as number) + 1, 0x7feb352d));
    return true;
  };

  /** Removes the live node at position i of the live list. */
  const removeAt = (i: number): void => {
    const id = live.a[i] as number;
    const last = live.a[--live.n] as number;
    live.a[i] = last;
    livePos[last] = i;
    if (status[id] === 1) {
      release(id);
      const p = owner[id * 2] as number;
      partNodes[p] = (partNodes[p] as number) - 1;
      changes.push(id, CHANGE_DEACTIVATE, -1, -1, -1, -1, p, owner[id * 2 + 1] as number);
    } else waitingCount--;
    status[id] = 2;
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
  const agg = new Float64Array(S_HEAD + pools.length + BINS);
  const t0 = performance.now();
  let lastSampleWall = t0;
  let lastYield = t0;
  let wanted = 0;
  let last: SimSample | undefined;

  try {
    for (let e = 0; e < epochs; e++) {
      const epochStart = performance.now();
      const tStart = e * sc.epoch;
      const tEnd = Math.min(sc.duration, (e + 1) * sc.epoch);
      changes = [];
      for (const ps of pools) if (!ps.enabled && ps.since <= tStart) ps.enabled = true;
      // 1. Failures: random nodes leave abruptly (replaced below to keep the target).
      if (failPerEpoch > 0 && live.n > 0) {
        const lambda = live.n * failPerEpoch;
        let nf = Math.min(live.n, rng.poisson(lambda, Math.exp(-lambda)));
        T.nodeFailures += nf;
        iv.leaves += nf;
        while (nf-- > 0) removeAt(Math.floor(rng.next() * live.n));
      }
      // 2. Scale down to the target.
      wanted = targetNodes(sc.nodes.phases, tEnd);
      while (live.n > wanted) {
        removeAt(Math.floor(rng.next() * live.n));
        T.nodeLeaves++;
        iv.leaves++;
      }
      // 3. Nodes waiting for a subnet, oldest first; all want the same, so stop at the first miss.
      while (pendingHead < pending.n) {
        const id = pending.a[pendingHead] as number;
        if (status[id] !== 0) { pendingHead++; continue; }
        if (!carve(id)) break;
        waitingCount--;
        pendingHead++;
      }
      if (pendingHead > 4096 && pendingHead * 2 > pending.n) {
        pending.a.copyWithin(0, pendingHead, pending.n);
        pending.n -= pendingHead;
        pendingHead = 0;
      }
      // 4. Scale up: new nodes join; they queue behind waiting ones.
      while (live.n < wanted) {
        const id = nextId++;
        if (id >= cap) grow();
        status[id] = 0;
        livePos[id] = live.n;
        live.push(id);
        T.nodeJoins++;
        iv.joins++;
        if (waitingCount > 0 || !carve(id)) {
          status[id] = 0;
          pending.push(id);
          waitingCount++;
          T.nodeAllocFailures++;
          iv.allocFail++;
        }
      }
      if (waitingCount > T.maxNodesWithoutSubnet) T.maxNodesWithoutSubnet = waitingCount;
      if (live.n > T.peakNodes) T.peakNodes = live.n;

      // 5. Pods.
      const sample = (e + 1) % sampleEvery === 0 || e === epochs - 1;
      const coordMs = performance.now() - epochStart;
      const parts = run.step(e, Int32Array.from(changes), sample);
      if (threads > 1) {
        const measured = partCost.every((c) => c !== 1);
        parts.forEach((st, p) => {
          const n = st[S_NODES] as number;
          if (n < 64) return;
          const ms = ((st[S_STEP_MS] as number) + (p === 0 ? coordMs : 0)) / n;
          partCost[p] = measured ? 0.8 * (partCost[p] as number) + 0.2 * ms : ms;
        });
      }
      agg.fill(0);
      for (const st of parts) for (let i = 0; i < agg.length; i++) agg[i] = (agg[i] as number) + (st[i] as number);
      agg[S_MAX_UTIL] = Math.max(...parts.map((st) => st[S_MAX_UTIL] as number));
      agg[S_STEP_MS] = 0;
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
      if ((agg[S_COOLDOWN] as number) > T.peakCooldown) T.peakCooldown = agg[S_COOLDOWN] as number;

      if (sample) {
        const now = performance.now();
        const active = agg[S_NODES] as number;
        let used = 0, subnetCap = 0, ips = 0, ipCap = 0, fragFree = 0, fragRun = 0;
        for (const ps of pools) {
          if (ps.family !== families[0]) continue;
          used += ps.used;
          if (ps.enabled) subnetCap += ps.slots;
          ipCap += ps.used * ps.size;
          ips += agg[S_HEAD + ps.index] as number;
          if (ps.enabled) {
            const [free, run] = freeRuns(ps.mirror);
            fragFree += free;
            fragRun += run;
          }
        }
        last = {
          t: tEnd,
          nodesWanted: wanted,
          nodes: live.n,
          nodesWithSubnet: active,
          nodesWithoutSubnet: waitingCount,
          subnetsUsed: used,
          subnetCapacity: subnetCap,
          podsRunning: podsNow,
          ipsUsed: ips,
          ipsInCooldown: agg[S_COOLDOWN] as number,
          ipCapacity: ipCap,
          subnetUtilization: subnetCap > 0 ? used / subnetCap : 0,
          ipUtilization: ipCap > 0 ? ips / ipCap : 0,
          nodeUtilizationMean: active > 0 ? (agg[S_UTIL_SUM] as number) / (active * rangeSize) : 0,
          nodeUtilizationP95: percentile(agg, S_HEAD + pools.length, active, 0.95),
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
    const digests = run.digest();
    const wallMs = performance.now() - t0;
    let d = coordDigest;
    for (const x of digests) d = (d + x) >>> 0;
    const final = last as SimSample;
    const poolSummaries: PoolSummary[] = pools.map((ps) => {
      const ips = agg[S_HEAD + ps.index] as number;
      const [free, run] = freeRuns(ps.mirror);
      return {
        family: ps.family, cidr: ps.cidr, nodeMask: ps.nodeMask, since: ps.since,
        subnetsUsed: ps.used, subnetCapacity: ps.slots, ipsUsed: ips, ipCapacity: ps.used * ps.size,
        utilization: ps.used * ps.size > 0 ? ips / (ps.used * ps.size) : 0,
        fragmentation: free > 0 ? 1 - run / free : 0,
      };
    });
    const capacityAll = pools.filter((p) => p.family === families[0]).reduce((n, p) => n + p.slots, 0);
    const fc = forecastExhaustion(series.map((s) => s.t), series.map((s) => s.subnetsUsed),
      Number.isFinite(maxSubnets) ? Math.min(maxSubnets, capacityAll) : capacityAll);
    return {
      scenario: sc, pool: sp, threads, epochs, series, pools: poolSummaries, totals: { ...T }, final,
      digest: d.toString(16).padStart(8, "0"), forecast: fc, wallMs, eventsPerSec: (T.events * 1000) / wallMs,
    };
  } finally {
    await run.close();
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
