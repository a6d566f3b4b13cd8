/**
 * A Partition runs the pod events of the nodes one thread owns (node id
 * mod thread count), directly in the pool's shared memory through a
 * PoolView. Everything a node does is drawn from its own random stream
 * (seed, node id) and touches only its own pod ranges, so the result of a
 * node does not depend on which partition runs it (the coordinator may
 * balance nodes across partitions by measured speed): totals are sums over
 * nodes, and the digest is a sum of per-node hashes.
 *
 * Per epoch, per node: quarantined IPs whose cooldown ended are released,
 * pods whose lifetime ended are deleted (their IPs go to cooldown), then
 * Poisson arrivals create pods. No allocation per pod: state is in typed
 * arrays, queued deletions in a Calendar.
 *
 * Node subnets come from the coordinator's ClusterPool (CHANGE_ACTIVATE
 * names the pool entry and slot it gave). Two cases leave the PoolView path:
 * a node with no subnet of its own ('share' overflow, pool entry BORROW) has
 * its pods allocated and released by a Borrower (the coordinator's
 * ClusterPool, on the coordinator thread only); and with a pool reuse
 * option (`releaseToPool`) a released address is not freed here but
 * returned with the step's stats, for the coordinator to release through
 * the ClusterPool and its reuse quarantine.
 */
import { PoolView, type PoolDescriptor } from "../alloc/pool-view.js";
import { Calendar } from "./calendar.js";
import { Rng, mix32, streamSeed } from "./rng.js";
import type { Lifetime } from "./scenario.js";

/** What a partition needs besides the pool memory; structured-cloneable. */
export interface PartitionParams {
  readonly seed: number;
  /** Virtual seconds per epoch. */
  readonly epoch: number;
  readonly epochs: number;
  readonly cooldownEpochs: number;
  readonly minPerNode: number;
  readonly maxPerNode: number;
  readonly maxPods: number;
  readonly lifetime: Lifetime;
  /** Mean pod lifetime in seconds (arrival rate = target / mean). */
  readonly meanLifetime: number;
  /** Number of histogram bins of per-node utilization. */
  readonly bins: number;
  /** Pool table entries the run can have (initial + growth): the per-pool part of the stats vector. */
  readonly maxPools: number;
  /** Released addresses go back to the coordinator (pool reuse option) instead of the bitmap. */
  readonly releaseToPool: boolean;
}

/** Pool entry of a node that borrows its pods' addresses ('share' overflow). */
export const BORROW = -2;

/**
 * Pods of nodes without a subnet of their own, allocated through the
 * ClusterPool ('share' overflow). Runs on the coordinator thread only.
 */
export interface Borrower {
  /** A pod of node `id`: returns a token (>= 0) for release, or -1 when nothing can be borrowed. */
  allocate(id: number): number;
  /** Hash of the addresses the last allocate() gave (for the digest). */
  readonly lastHash: number;
  /** Releases the pod of `token`. */
  release(token: number): void;
}

/**
 * A node change, as 9 i32 words: id, kind, pool4, slot4, pool6, slot6 (-1 = none,
 * BORROW = borrows through the ClusterPool), owner (partition index), local (the
 * node's index in its owner's tables), size (usable addresses of its first range).
 */
export const CHANGE_WORDS = 9;
export const CHANGE_ACTIVATE = 1;
export const CHANGE_DEACTIVATE = 2;

/** Layout of the stats vector a step returns. */
export const S_CREATES = 0; // pod creations attempted
export const S_DELETES = 1; // pod deletions
export const S_ALLOCS = 2; // pod IPs allocated
export const S_RELEASES = 3; // pod IPs released to the bitmap
export const S_POD_FAILURES = 4; // creations that got no IP (range full)
export const S_UNSCHEDULABLE = 5; // arrivals over maxPods (the scheduler would not place them)
export const S_LIVE = 6; // running pods
export const S_COOLDOWN = 7; // IPs in cooldown
export const S_NODES = 8; // active nodes (with a subnet)
export const S_MAX_UTIL = 9; // highest node utilization (sample epochs)
export const S_UTIL_SUM = 10; // sum of addresses used by active nodes (sample epochs; an integer, so sums are exact)
export const S_STEP_MS = 11; // wall time of the step (not part of the results)
export const S_HEAD = 12; // then: used addresses per pool entry (maxPools), then histogram bins, then released (pool, rel) pairs (releaseToPool)

/** Length of the fixed part of a stats vector; released (pool, rel) pairs follow it. */
export function statsLength(p: PartitionParams): number {
  return S_HEAD + p.maxPools + p.bins;
}

const REC = 3; // calendar record: local, rel4, rel6

export class Partition {
  #view: PoolView;
  readonly #p: PartitionParams;
  readonly #pools: number;
  readonly #base4: Float64Array;
  readonly #borrower: Borrower | undefined;
  #rel = new Int32Array(1024); // released (pool, rel) pairs of this step (releaseToPool)
  #nRel = 0;
  readonly #rng = new Rng(0);
  // per local node
  #cap = 0;
  #state = new Uint8Array(0); // 0 unknown, 1 active, 2 gone
  #p4 = new Int32Array(0);
  #s4 = new Int32Array(0);
  #p6 = new Int32Array(0);
  #s6 = new Int32Array(0);
  #live = new Int32Array(0);
  #cool = new Int32Array(0);
  #lambda = new Float64Array(0);
  #size = new Float64Array(0); // usable addresses of the node's first range
  #expNeg = new Float64Array(0);
  #seedOf = new Uint32Array(0);
  #id = new Int32Array(0);
  #hash = new Uint32Array(0);
  #pos = new Int32Array(0);
  #active = new Int32Array(0);
  #nActive = 0;
  // queues
  readonly #expiry: Calendar;
  readonly #cooldown: Calendar;
  readonly #buf = new Uint32Array(4096);
  readonly #used: Float64Array; // bitmap-allocated addresses per pool entry
  #epoch = 0;
  #stats = new Float64Array(0);
  readonly #onExpire: (d: Int32Array, o: number) => void;
  readonly #onCooled: (d: Int32Array, o: number) => void;

  /** Partition `index` of `count`; it runs the nodes whose changes name it as owner. */
  constructor(desc: PoolDescriptor, params: PartitionParams, readonly index: number, readonly count: number, borrower?: Borrower) {
    this.#view = new PoolView(desc);
    this.#p = params;
    this.#pools = params.maxPools;
    this.#base4 = new Float64Array(this.#pools);
    for (const d of desc.pools) this.#base4[d.index] = d.base4;
    this.#borrower = borrower;
    this.#used = new Float64Array(this.#pools);
    this.#expiry = new Calendar(params.epochs + 1, REC);
    this.#cooldown = new Calendar(params.epochs + 1, REC);
    this.#grow(1024);
    this.#onExpire = (d, o) => this.#expire(d, o);
    this.#onCooled = (d, o) => this.#cooled(d, o);
  }

  #grow(n: number): void {
    if (n <= this.#cap) return;
    const cap = Math.max(n, this.#cap * 2);
    const g = <T extends Uint8Array | Int32Array | Uint32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a as never);
      return b;
    };
    this.#state = g(this.#state, (n) => new Uint8Array(n));
    this.#p4 = g(this.#p4, (n) => new Int32Array(n));
    this.#s4 = g(this.#s4, (n) => new Int32Array(n));
    this.#p6 = g(this.#p6, (n) => new Int32Array(n));
    this.#s6 = g(this.#s6, (n) => new Int32Array(n));
    this.#live = g(this.#live, (n) => new Int32Array(n));
    this.#cool = g(this.#cool, (n) => new Int32Array(n));
    this.#lambda = g(this.#lambda, (n) => new Float64Array(n));
    this.#size = g(this.#size, (n) => new Float64Array(n));
    this.#expNeg = g(this.#expNeg, (n) => new Float64Array(n));
    this.#seedOf = g(this.#seedOf, (n) => new Uint32Array(n));
    this.#id = g(this.#id, (n) => new Int32Array(n));
    this.#hash = g(this.#hash, (n) => new Uint32Array(n));
    this.#pos = g(this.#pos, (n) => new Int32Array(n));
    this.#active = g(this.#active, (n) => new Int32Array(n));
    this.#cap = cap;
  }

  /**
   * Runs epoch `e`: applies node changes (records of CHANGE_WORDS words),
   * then the pod events of every active node. Returns the stats vector
   * (S_* layout); utilization fields and the histogram only when `sample`.
   */
  step(e: number, changes: Int32Array, sample: boolean, desc?: PoolDescriptor): Float64Array {
    const t0 = performance.now();
    this.#epoch = e;
    if (desc !== undefined) this.#reopen(desc);
    this.#nRel = 0;
    const st = (this.#stats = new Float64Array(statsLength(this.#p)));
    for (let i = 0; i + CHANGE_WORDS <= changes.length; i += CHANGE_WORDS) {
      if (changes[i + 6] !== this.index) continue;
      const id = changes[i] as number;
      const l = changes[i + 7] as number;
      if (changes[i + 1] === CHANGE_ACTIVATE) {
        this.#activate(id, l, changes[i + 2] as number, changes[i + 3] as number, changes[i + 4] as number, changes[i + 5] as number,
          changes[i + 8] as number);
      } else this.#deactivate(l);
    }
    if (e < this.#cooldown.buckets) this.#cooldown.drain(e, this.#onCooled);
    if (e < this.#expiry.buckets) this.#expiry.drain(e, this.#onExpire);
    const rng = this.#rng;
    const maxPods = this.#p.maxPods;
    for (let j = 0; j < this.#nActive; j++) {
      const l = this.#active[j] as number;
      rng.state = this.#seedOf[l] as number;
      let k = rng.poisson(this.#lambda[l] as number, this.#expNeg[l] as number);
      const room = maxPods - (this.#live[l] as number);
      if (k > room) {
        st[S_UNSCHEDULABLE] = (st[S_UNSCHEDULABLE] as number) + k - room;
        k = room;
      }
      if (k > 0) this.#create(l, k);
      this.#seedOf[l] = rng.state;
    }
    let live = 0;
    let cool = 0;
    for (let j = 0; j < this.#nActive; j++) {
      const l = this.#active[j] as number;
      live += this.#live[l] as number;
      cool += this.#cool[l] as number;
    }
    st[S_LIVE] = live;
    st[S_COOLDOWN] = cool;
    st[S_NODES] = this.#nActive;
    for (let p = 0; p < this.#pools; p++) st[S_HEAD + p] = this.#used[p] as number;
    if (sample) this.#sample(st);
    st[S_STEP_MS] = performance.now() - t0;
    if (this.#nRel === 0) return st;
    const out = new Float64Array(st.length + this.#nRel);
    out.set(st);
    for (let i = 0; i < this.#nRel; i++) out[st.length + i] = this.#rel[i] as number;
    return out;
  }

  /** The pool grew (addPoolCidr): a view over the new descriptor. */
  #reopen(desc: PoolDescriptor): void {
    this.#view.dispose();
    this.#view = new PoolView(desc);
    for (const d of desc.pools) this.#base4[d.index] = d.base4;
  }

  #sample(st: Float64Array): void {
    const bins = this.#p.bins;
    const hist = S_HEAD + this.#pools;
    let max = 0;
    let sum = 0;
    for (let j = 0; j < this.#nActive; j++) {
      const l = this.#active[j] as number;
      const used = (this.#live[l] as number) + (this.#cool[l] as number);
      const u = used / (this.#size[l] as number);
      if (u > max) max = u;
      sum += used;
      const b = hist + Math.min(bins - 1, Math.floor(u * bins));
      st[b] = (st[b] as number) + 1;
    }
    st[S_MAX_UTIL] = max;
    st[S_UTIL_SUM] = sum;
  }

  #activate(id: number, l: number, p4: number, s4: number, p6: number, s6: number, size: number): void {
    this.#grow(l + 1);
    this.#size[l] = size;
    this.#id[l] = id;
    this.#state[l] = 1;
    this.#p4[l] = p4;
    this.#s4[l] = s4;
    this.#p6[l] = p6;
    this.#s6[l] = s6;
    this.#live[l] = 0;
    this.#cool[l] = 0;
    this.#hash[l] = 0x811c9dc5;
    const rng = this.#rng;
    rng.state = streamSeed(this.#p.seed, id, 1);
    const target = rng.int(this.#p.minPerNode, this.#p.maxPerNode);
    const lambda = (target * this.#p.epoch) / this.#p.meanLifetime;
    this.#lambda[l] = lambda;
    this.#expNeg[l] = Math.exp(-lambda);
    this.#pos[l] = this.#nActive;
    this.#active[this.#nActive++] = l;
    // A new node is scheduled its pods at once.
    const k = Math.min(target, this.#p.maxPods);
    if (k > 0) this.#create(l, k);
    this.#seedOf[l] = rng.state;
  }

  #deactivate(l: number): void {
    if (this.#state[l] !== 1) return;
    // The coordinator detached the node's subnets (and with them every pod IP).
    // (A borrowing node's addresses go with its ClusterPool node; the coordinator counts them.)
    const gone = (this.#live[l] as number) + (this.#cool[l] as number);
    const p4 = this.#p4[l] as number;
    const p6 = this.#p6[l] as number;
    if (p4 >= 0) this.#used[p4] = (this.#used[p4] as number) - gone;
    if (p6 >= 0) this.#used[p6] = (this.#used[p6] as number) - gone;
    this.#stats[S_DELETES] = (this.#stats[S_DELETES] as number) + (this.#live[l] as number);
    this.#state[l] = 2;
    const at = this.#pos[l] as number;
    const last = this.#active[--this.#nActive] as number;
    this.#active[at] = last;
    this.#pos[last] = at;
  }

  /** Creates k pods on local node l; uses and advances this.#rng (the node's stream). */
  #create(l: number, k: number): void {
    const st = this.#stats;
    const view = this.#view;
    const p4 = this.#p4[l] as number;
    const s4 = this.#s4[l] as number;
    const p6 = this.#p6[l] as number;
    const s6 = this.#s6[l] as number;
    st[S_CREATES] = (st[S_CREATES] as number) + k;
    let h = this.#hash[l] as number;
    let made = 0;
    if (p4 === BORROW || p6 === BORROW) {
      const b = this.#borrower as Borrower;
      for (; made < k; made++) {
        const tok = b.allocate(this.#id[l] as number);
        if (tok < 0) break;
        h = Math.imul(h ^ b.lastHash, 0x01000193);
        this.#queue(l, tok, -1);
      }
      this.#hash[l] = h >>> 0;
      this.#live[l] = (this.#live[l] as number) + made;
      st[S_ALLOCS] = (st[S_ALLOCS] as number) + made;
      st[S_POD_FAILURES] = (st[S_POD_FAILURES] as number) + k - made;
      return;
    }
    if (p6 < 0 && k >= 8) {
      // Single-stack IPv4 burst: one batch call.
      const buf = this.#buf;
      const got = view.allocateBatch(p4, s4, buf, Math.min(k, buf.length));
      const base = this.#base4[p4] as number;
      for (let i = 0; i < got; i++) {
        const rel = (buf[i] as number) - base;
        h = Math.imul(h ^ rel, 0x01000193);
        this.#queue(l, rel, -1);
      }
      made = got;
    } else {
      for (; made < k; made++) {
        let r4 = -1;
        let r6 = -1;
        if (p4 >= 0) {
          r4 = view.allocate(p4, s4);
          if (r4 < 0) break;
        }
        if (p6 >= 0) {
          r6 = view.allocate(p6, s6);
          if (r6 < 0) {
            if (r4 >= 0) view.release(p4, r4);
            break;
          }
        }
        h = Math.imul(h ^ r4, 0x01000193);
        h = Math.imul(h ^ r6, 0x01000193);
        this.#queue(l, r4, r6);
      }
    }
    this.#hash[l] = h >>> 0;
    this.#live[l] = (this.#live[l] as number) + made;
    if (p4 >= 0) this.#used[p4] = (this.#used[p4] as number) + made;
    if (p6 >= 0) this.#used[p6] = (this.#used[p6] as number) + made;
    st[S_ALLOCS] = (st[S_ALLOCS] as number) + made;
    st[S_POD_FAILURES] = (st[S_POD_FAILURES] as number) + k - made;
  }

  /** Draws the lifetime of a new pod and queues its deletion. */
  #queue(l: number, r4: number, r6: number): void {
    const lt = this.#p.lifetime;
    const rng = this.#rng;
    let sec: number;
    if (lt.kind === "exponential") sec = rng.exponential(lt.mean);
    else if (lt.kind === "fixed") sec = lt.value;
    else sec = lt.min + rng.next() * (lt.max - lt.min);
    const at = this.#epoch + Math.max(1, Math.ceil(sec / this.#p.epoch));
    if (at >= this.#expiry.buckets) return; // outlives the run
    const o = this.#expiry.push(at);
    const d = this.#expiry.data;
    d[o] = l;
    d[o + 1] = r4;
    d[o + 2] = r6;
  }

  #expire(d: Int32Array, o: number): void {
    const l = d[o] as number;
    if (this.#state[l] !== 1) return;
    this.#live[l] = (this.#live[l] as number) - 1;
    this.#stats[S_DELETES] = (this.#stats[S_DELETES] as number) + 1;
    const at = this.#epoch + this.#p.cooldownEpochs;
    if (this.#p.cooldownEpochs > 0 && at < this.#cooldown.buckets) {
      const r4 = d[o + 1] as number;
      const r6 = d[o + 2] as number;
      const q = this.#cooldown.push(at);
      const c = this.#cooldown.data;
      c[q] = l;
      c[q + 1] = r4;
      c[q + 2] = r6;
      this.#cool[l] = (this.#cool[l] as number) + 1;
    } else if (this.#p.cooldownEpochs === 0) {
      this.#free(l, d[o + 1] as number, d[o + 2] as number);
    } else {
      // Cooldown outlasts the run: the IP stays quarantined.
      this.#cool[l] = (this.#cool[l] as number) + 1;
    }
  }

  #cooled(d: Int32Array, o: number): void {
    const l = d[o] as number;
    if (this.#state[l] !== 1) return;
    this.#cool[l] = (this.#cool[l] as number) - 1;
    this.#free(l, d[o + 1] as number, d[o + 2] as number);
  }

  #free(l: number, r4: number, r6: number): void {
    this.#stats[S_RELEASES] = (this.#stats[S_RELEASES] as number) + 1;
    const p4 = this.#p4[l] as number;
    if (p4 === BORROW || (this.#p6[l] as number) === BORROW) {
      (this.#borrower as Borrower).release(r4);
      return;
    }
    if (r4 >= 0) this.#give(p4, r4);
    if (r6 >= 0) this.#give(this.#p6[l] as number, r6);
  }

  /** Frees address rel of pool entry p, or hands it to the coordinator (releaseToPool). */
  #give(p: number, rel: number): void {
    this.#used[p] = (this.#used[p] as number) - 1;
    if (!this.#p.releaseToPool) {
      this.#view.release(p, rel);
      return;
    }
    if (this.#nRel + 2 > this.#rel.length) {
      const b = new Int32Array(this.#rel.length * 2);
      b.set(this.#rel);
      this.#rel = b;
    }
    this.#rel[this.#nRel++] = p;
    this.#rel[this.#nRel++] = rel;
  }

  /** Sum over every node this partition ran of a hash of (node id, every address it was given, in order). */
  digest(): number {
    let sum = 0;
    for (let l = 0; l < this.#cap; l++) {
      if (this.#state[l] === 0) continue;
      const id = this.#id[l] as number;
      sum = (sum + mix32((this.#hash[l] as number) ^ mix32(id + 1))) >>> 0;
    }
    return sum;
  }
}
