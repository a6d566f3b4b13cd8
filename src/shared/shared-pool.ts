/**
 * SharedPool: one ClusterPool shared by many processes through etcd v3, with
 * no leader on the allocation path (Calico's pattern).
 *
 * Each process keeps a cache (src/shared/cache.ts): a ClusterPool with the
 * same options, built from one ranged read of the prefix and kept current by
 * a watch from that revision. A call runs on the cache; the keys it changed
 * (src/shared/keys.ts: node records, subnet claims, blocks of pod
 * addresses) go to etcd in one transaction that compares the mod revision
 * of every key it writes with the revision the cache was built from. When
 * another process got there first, the transaction fails, its failure branch
 * reads the keys back, the cache is put right and the call runs again, up to
 * a budget (CONFLICT).
 *
 * Group commit: calls queue while a transaction is in flight and the next
 * transaction carries all of them (up to maxBatch), so ten waiting
 * allocations on one node cost one compare-and-swap of its block.
 *
 * Freshness: a call that writes nothing (a lookup, a release of a free
 * address, an error such as UNKNOWN_NODE) or whose result depends on keys
 * it does not write (addNode, releaseOwner) is answered only from a cache
 * that has seen a write of this process made after the call began (a
 * barrier: the process's marker key, written and seen come back through
 * the watch), so answers are never older than the call.
 *
 * Lost answers: every transaction also compares and writes the process's
 * marker key. When etcd does not answer, a fence (a transaction that moves
 * the marker unless the lost one already did) decides for good whether the
 * lost transaction committed: after the fence it never can.
 *
 * State beyond nodes and blocks lives in keys too, never in one process:
 * reuse cooldowns in the blocks (release times), lent addresses ('share'
 * overflow) in the lender's block, a draining node's deadline in its key,
 * pool-level changes (reserve, addPoolCidr, ...) as records in the pool key,
 * which every transaction compares. Time-driven work (a drain whose
 * deadline passed) is done by whichever process's call sees it due first,
 * or by the timer of the one process holding the leased leader key: an
 * elected lease used only for background clean-up, as Calico's. Times are
 * the processes' clocks (options.clock), which must be kept in step.
 */
import { randomUUID } from "node:crypto";
import type { ClusterPoolOptions } from "../pool/options.js";
import { ClusterPool, type NodeAllocation, type PodAddresses, type LookupResult, type NodeDetail, type ClusterStats } from "../pool/cluster-pool.js";
import * as fx from "../pool/effects.js";
import type { JournalRecord } from "../pool/records.js";
import { errors, IpamError, show } from "../errors.js";
import { optionsObject } from "../args.js";
import { connectEtcd, EtcdCallError, op, type EtcdLink, type LeaseLink, type Compare, type RequestOp, type WatchResponse, type KeyValue } from "./etcd.js";
import { Keys, encodeNode, encodeBlock, encodePoolOps, emptyBlockState, slotsOf, holdsSubnets, isPoolOp, type StoredNode } from "./keys.js";
import { Cache } from "./cache.js";
import { verifyKeys } from "./verify.js";
import { firstDifference } from "./options-diff.js";
import { optionsFromJson, readMs } from "../pool/options.js";
import { isMultiPoolOptions } from "../pool/multi/options.js";
import { ciliumItems, type CiliumNodeList, type ImportResult } from "../pool/cilium-node.js";
import { isCiliumNodeTable, parseCiliumNodeTable } from "../pool/cilium-table.js";

/** The options stored under the prefix (INVALID_OPTION when there is no pool there). */
async function storedOptions(link: EtcdLink, keys: Keys, deadline: number): Promise<ClusterPoolOptions> {
  for (;;) {
    try {
      const r = await link.txn([], [op.get(keys.options)], []);
      const kv = r.responses[0]?.response_range?.kvs[0];
      if (kv === undefined) throw errors.invalidOption("options", `are required: there is no pool under ${keys.root} yet`);
      try {
        return optionsFromJson(JSON.parse(kv.value.toString()));
      } catch (e) {
        throw errors.corrupt(keys.options, "the stored pool options are not JSON options", e);
      }
    } catch (e) {
      if (!(e instanceof EtcdCallError)) throw e;
      if (Date.now() + 50 >= deadline) throw errors.unavailable(link.endpoints, "could not read the pool options", e);
      await sleep(50 + Math.random() * 50);
    }
  }
}

export interface SharedStoreOptions {
  /** etcd client URLs, e.g. ["http://127.0.0.1:2379"]. */
  readonly endpoints: readonly string[];
  /** Key prefix of this pool, e.g. "/ipcarve/prod". Pools under different prefixes are independent. */
  readonly prefix: string;
  /** Milliseconds a call may take, retries included, before it fails with UNAVAILABLE. @default 5000 */
  readonly timeoutMs?: number;
  /** Milliseconds one etcd request may take. @default 1000 */
  readonly attemptMs?: number;
  /** Conflicting attempts of one call before CONFLICT. @default 64 */
  readonly maxAttempts?: number;
  /** Calls carried by one transaction at most, up to 100 (etcd allows 128 operations per transaction). @default 64 */
  readonly maxBatch?: number;
  /**
   * Seconds of the lease of the process elected for background clean-up
   * (completing drains whose grace ended): when it dies, another process
   * takes over after at most this long. @default 10
   */
  readonly leaseTtlS?: number;
}

interface Call {
  readonly name: string;
  /** The node an allocate call touches (its blocks are settled first); undefined: any block. */
  readonly node?: string;
  /** Keys the call may write at most, for etcd's 128 operations per transaction. */
  readonly weight: number;
  readonly run: (p: ClusterPool) => unknown;
  /** Must be answered from a cache confirmed after it began (see the module comment). */
  fresh: boolean;
  /** The nodes it places are occupied (a CiliumNode import's podCIDRs), not carved: their keys say so. */
  readonly occupies?: true;
  /** Barriers issued before the call began. */
  readonly arrived: number;
  readonly deadline: number;
  attempts: number;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}

type Outcome =
  | { readonly kind: "committed"; readonly revision: number }
  | { readonly kind: "conflict"; readonly responses: readonly { key: string; kv: KeyValue | undefined }[]; readonly revision: number }
  | { readonly kind: "not-committed"; readonly cause: unknown }
  | { readonly kind: "unknown"; readonly cause: unknown }
  | { readonly kind: "refused"; readonly cause: unknown };

/** Errors that depend only on the arguments: answered at once, whatever the cache. */
const STATELESS = new Set(["INVALID_ARGUMENT", "INVALID_IP", "INVALID_OPTION", "INVALID_CIDR"]);
const STORE_KNOWN = ["endpoints", "prefix", "timeoutMs", "attemptMs", "maxAttempts", "maxBatch", "leaseTtlS"];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Keys one transaction may write: etcd's default --max-txn-ops is 128, less the marker and a margin. */
const TXN_KEYS = 120;

export class SharedPool {
  readonly #link: EtcdLink;
  readonly #cache: Cache;
  readonly #keys: Keys;
  readonly #marker: string;
  readonly #timeoutMs: number;
  readonly #attemptMs: number;
  readonly #maxAttempts: number;
  readonly #maxBatch: number;
  readonly #leaseTtlS: number;
  /** This process's id: its marker key's last part, and the leader key's value while it leads. */
  readonly #id: string;
  /** Keys an addNode may write: its record, one claim per slot, one block per family. */
  readonly #nodeWeight: number;
  #markerRev = 0;
  #seq = 0;
  /** Tag of a transaction whose outcome is still unknown (etcd did not answer, nor the fences after it). */
  #unsettled: string | undefined;
  #queue: Call[] = [];
  #pumping = false;
  #closed = false;
  /** Barriers (and resyncs) issued, and the last one that completed. */
  #issued = 0;
  #confirmed = 0;
  /** Watch events that came in while a batch was in flight. */
  #events: { kv: KeyValue; deleted: boolean }[] = [];
  #watchRev = 0;
  /** The cache holds every change up to this revision (watch events applied, or a full read). */
  #appliedRev = 0;
  #waiters: { rev: number; done: () => void }[] = [];
  #watch: { cancel(): Promise<void> } | undefined;
  /** Background clean-up: the lease, whether this process holds the leader key, the timers. */
  #lease: LeaseLink | undefined;
  #leader = false;
  #renewed = 0;
  #campaigning = false;
  #leaseTimer: ReturnType<typeof setInterval> | undefined;
  #drainTimer: ReturnType<typeof setTimeout> | undefined;
  #drainAt = Infinity;
  /** True when this round began with a full read (a cache that is dirty again right after contradicts itself). */
  #rebuilt = false;
  /** Draining nodes whose completion is queued or in flight. */
  readonly #completing = new Set<string>();
  /** Transactions committed and conflicts met (stats for benchmarks and tests). */
  readonly counters = { txns: 0, calls: 0, conflicts: 0, resyncs: 0, barriers: 0, drainsCompleted: 0, pages: 0 };

  private constructor(link: EtcdLink, cache: Cache, keys: Keys, store: Required<Omit<SharedStoreOptions, "endpoints" | "prefix">>) {
    this.#link = link;
    this.#cache = cache;
    this.#keys = keys;
    this.#id = randomUUID();
    this.#marker = keys.client(this.#id);
    this.#timeoutMs = store.timeoutMs;
    this.#attemptMs = store.attemptMs;
    this.#maxAttempts = store.maxAttempts;
    this.#maxBatch = store.maxBatch;
    this.#leaseTtlS = store.leaseTtlS;
    this.#nodeWeight = 1 + cache.pool.options.families.reduce((n, f) => n + 2 ** (f.slotMask - f.maskSize) + 1, 0);
  }

  /**
   * Connects to etcd and opens the pool under `store.prefix`. The first
   * process to connect stores `options` there; a later one with other pool
   * options gets INVALID_OPTION naming the first field that differs. Bad
   * options: as `new ClusterPool(options)`. etcd unreachable: UNAVAILABLE naming the
   * endpoints. Without the etcd3 package: MISSING_DEPENDENCY saying `npm install etcd3`.
   * Without `options`, opens the pool already stored under the prefix
   * (INVALID_OPTION if there is none).
   */
  static async connect(store: SharedStoreOptions, options?: ClusterPoolOptions): Promise<SharedPool> {
    const s = optionsObject("store", store, STORE_KNOWN);
    const endpoints = s.endpoints;
    if (!Array.isArray(endpoints) || endpoints.length === 0 || endpoints.some((e) => typeof e !== "string" || !/^https?:\/\/[^/]+\/?$/.test(e))) {
      throw errors.invalidOption("store.endpoints", `must be a non-empty array of URLs such as "http://127.0.0.1:2379" (got ${show(endpoints)})`);
    }
    if (typeof s.prefix !== "string" || s.prefix === "" || s.prefix === "/") throw errors.invalidOption("store.prefix", `must be a non-empty key prefix such as "/ipcarve/prod" (got ${show(s.prefix)})`);
    const num = (k: string, dflt: number, min: number): number => {
      const v = s[k];
      if (v === undefined) return dflt;
      if (typeof v !== "number" || !Number.isInteger(v) || v < min) throw errors.invalidOption(`store.${k}`, `must be an integer of at least ${min} (got ${show(v)})`);
      return v;
    };
    const knobs = {
      timeoutMs: num("timeoutMs", 5000, 1), attemptMs: num("attemptMs", 1000, 1), maxAttempts: num("maxAttempts", 64, 1), maxBatch: num("maxBatch", 64, 1),
      leaseTtlS: num("leaseTtlS", 10, 1),
    };
    if (knobs.maxBatch > 100) throw errors.invalidOption("store.maxBatch", `must be at most 100: etcd takes 128 operations per transaction (got ${knobs.maxBatch})`);
    if (isMultiPoolOptions(options)) {
      throw errors.invalidOption("options.pools", "named pools are not available on a SharedPool: it shares one cluster pool (single-pool options) through etcd; keep named pools in one process (new ClusterPool, or ClusterPool.open with a FileStore)");
    }
    const keys = new Keys(s.prefix);
    let link: EtcdLink | undefined;
    let cache: Cache | undefined;
    try {
      if (options === undefined) {
        link = await connectEtcd(endpoints as string[], knobs.attemptMs);
        options = await storedOptions(link, keys, Date.now() + knobs.timeoutMs);
      }
      cache = new Cache(options, keys); // validates the options (IpamError naming the option)
      link ??= await connectEtcd(endpoints as string[], knobs.attemptMs);
      const pool = new SharedPool(link, cache, keys, knobs);
      await pool.#open();
      return pool;
    } catch (e) {
      link?.close();
      cache?.dispose();
      throw e;
    }
  }

  /** Stores or checks the options, makes the marker, reads everything, starts the watch. */
  async #open(): Promise<void> {
    const deadline = Date.now() + this.#timeoutMs;
    const json = JSON.stringify(fx.optionsJsonOf(this.#cache.pool));
    const o = await this.#retry("store the pool options", deadline, () =>
      this.#link.txn([op.modIs(this.#keys.options, 0)], [op.put(this.#keys.options, json)], [op.get(this.#keys.options)]),
    );
    if (!o.succeeded) {
      const kv = o.responses[0]?.response_range?.kvs[0];
      let stored: unknown;
      try {
        stored = JSON.parse(kv?.value.toString() ?? "null");
      } catch {
        throw errors.corrupt(`${this.#keys.options}`, "the stored pool options are not JSON");
      }
      const diff = firstDifference(stored, JSON.parse(json), "options");
      if (diff !== undefined) throw errors.invalidOption(diff.path, `differs from the pool stored at ${this.#keys.root} (stored ${diff.stored}, given ${diff.given})`);
    }
    const m = await this.#retry("register this process", deadline, () => this.#link.txn([op.modIs(this.#marker, 0)], [op.put(this.#marker, "open")], []));
    this.#markerRev = m.revision;
    const read = await this.#retry("read the pool", deadline, () => this.#link.range(this.#keys.root));
    this.counters.pages += read.pages;
    this.#cache.rebuild(read.kvs, read.revision);
    this.#watchRev = read.revision;
    this.#appliedRev = read.revision;
    this.#watch = await this.#retry("watch the pool", deadline, () => this.#link.watch(this.#keys.root, read.revision + 1, (res) => this.#onWatch(res)));
    await this.#campaign();
    this.#leaseTimer = setInterval(() => void this.#campaign(), (this.#leaseTtlS * 1000) / 3);
    this.#leaseTimer.unref?.();
  }

  /** The etcd endpoints. */
  get endpoints(): readonly string[] { return this.#link.endpoints; }
  /** The key prefix (with its trailing slash). */
  get prefix(): string { return this.#keys.root; }
  /** The validated pool options, as ClusterPool has them. */
  get options(): ClusterPool["options"] { return this.#cache.pool.options; }
  /** True while this process holds the leader key: it runs the background clean-up (never on the allocation path). */
  get isLeader(): boolean { return this.#leader; }

  // ------------------------------------------------------------------ calls

  /** As ClusterPool.addNode: the node's subnets, idempotent; FULL leaves it pending (served when space frees, by whichever process frees it). */
  addNode(name: string): Promise<NodeAllocation> { return this.#call("addNode", true, (p) => p.addNode(name), this.#nodeWeight); }

  /**
   * As ClusterPool.removeNode. With `graceMs`, the node drains: its record
   * says so, with the deadline (this process's clock + graceMs), and every
   * process refuses new pods on it. The removal completes once the deadline
   * has passed, in a transaction of its own, made by the first call of any
   * process that sees it due, or by the elected process's timer (see
   * isLeader), whichever comes first; removeNode again completes it at once.
   */
  removeNode(name: string, options?: { readonly graceMs?: number }): Promise<boolean> {
    return this.#call("removeNode", false, (p) => p.removeNode(name, options), this.#dropWeight(name));
  }

  /**
   * Keys a node's removal may write: its own, those of the pending node its
   * subnets may serve, and ('share' overflow) each block it borrowed from.
   * Past etcd's 128 operations per transaction etcd refuses it (UNAVAILABLE,
   * no effect): a node that borrowed from more than about 110 blocks needs
   * a larger --max-txn-ops.
   */
  #dropWeight(name: string): number {
    return 2 * this.#nodeWeight + (typeof name === "string" ? fx.borrowedBlocks(this.#cache.pool, name) : 0);
  }

  /** As ClusterPool.allocate; returns once the transaction holding the allocation has committed. */
  allocate(node: string, owner: string, wanted?: string | readonly string[]): Promise<PodAddresses> {
    return this.#call("allocate", false, (p) => p.allocate(node, owner, wanted), this.#families, typeof node === "string" ? node : undefined);
  }

  /** As ClusterPool.release (OWNER_MISMATCH with a wrong owner). */
  release(ip: string, owner?: string): Promise<boolean> { return this.#call("release", false, (p) => p.release(ip, owner), 1); }

  /** As ClusterPool.releaseOwner: every address the owner holds in any process's allocations. */
  releaseOwner(owner: string): Promise<string[]> { return this.#call("releaseOwner", true, (p) => p.releaseOwner(owner), 2 * this.#families); }

  /**
   * As ClusterPool.reserve. Pool-level changes (reserve, unreserve,
   * addPoolCidr, removePoolCidr) are records appended to the pool key, which
   * every transaction compares: a change committed by one process makes
   * every other one compute again on the changed pool. Each goes in a
   * transaction of its own, which also checks that no subnet or address was
   * taken since its cache (it may retry under heavy allocation). The stored
   * options stay those of the first connect (a later connect compares them).
   */
  reserve(cidr: string): Promise<void> { return this.#call("reserve", true, (p) => p.reserve(cidr), TXN_KEYS); }

  /** As ClusterPool.unreserve (pending nodes may be served: see reserve). */
  unreserve(cidr: string): Promise<void> { return this.#call("unreserve", true, (p) => p.unreserve(cidr), TXN_KEYS); }

  /** As ClusterPool.addPoolCidr(cidr) or addPoolCidr(family, cidr); every process sees the grown pool (see reserve). */
  addPoolCidr(cidr: string): Promise<void>;
  addPoolCidr(family: 4 | 6, cidr: string): Promise<void>;
  addPoolCidr(a: unknown, b?: unknown): Promise<void> {
    const args = arguments.length > 1 ? [a, b] : [a];
    return this.#call("addPoolCidr", true, (p) => (p.addPoolCidr as (...x: unknown[]) => void)(...args), TXN_KEYS);
  }

  /** As ClusterPool.removePoolCidr: IN_USE while any node holds a subnet in it (see reserve). */
  removePoolCidr(cidr: string): Promise<void> { return this.#call("removePoolCidr", true, (p) => p.removePoolCidr(cidr), TXN_KEYS); }

  /** As ClusterPool.poolCidrs. */
  poolCidrs(): Promise<{ family: 4 | 6; cidrs: string[] }[]> { return this.#call("poolCidrs", true, (p) => p.poolCidrs()); }

  /** As ClusterPool.lookup, answered from a cache no older than the call. */
  lookup(ip: string): Promise<LookupResult | undefined> { return this.#call("lookup", true, (p) => p.lookup(ip)); }

  /** As ClusterPool.node. */
  node(name: string): Promise<NodeDetail | undefined> { return this.#call("node", true, (p) => p.node(name)); }

  /** As ClusterPool.nodeNames (order: as this process learnt of them). */
  nodeNames(): Promise<string[]> { return this.#call("nodeNames", true, (p) => p.nodeNames()); }

  /** As ClusterPool.pendingNodes. */
  pendingNodes(): Promise<string[]> { return this.#call("pendingNodes", true, (p) => p.pendingNodes()); }

  /** As ClusterPool.addressesOf. */
  addressesOf(owner: string): Promise<string[]> { return this.#call("addressesOf", true, (p) => p.addressesOf(owner)); }

  /**
   * As ClusterPool.importCiliumNodes: nodes with podCIDRs are occupied
   * first, then the others are carved, in list order. Committed in
   * transactions of at most 40 nodes (24 dual-stack, fewer with smaller overflow subnets:
   * etcd takes 128 operations per transaction), so a large import is not
   * one atomic step. A crash or an error part-way leaves exactly the chunks
   * committed before it: the first nodes with podCIDRs in list order (each
   * ready, or failed with Cilium's message), then, once all of those are in,
   * the first nodes without. Running the same import again is idempotent:
   * committed nodes are "restored" (or "failed", or "allocated" with the
   * same CIDRs) again, the rest are imported, and the results and the pool
   * are those of one uninterrupted import (occupied nodes move no next-fit
   * cursor, also in a process that rebuilds from the keys). Other processes
   * may carve between chunks: a listed CIDR they took fails its node, as it
   * would if they had carved before the import.
   */
  async importCiliumNodes(list: unknown): Promise<ImportResult[]> {
    this.#open_("importCiliumNodes");
    // the whole list is checked first, on a scratch pool, so errors name the items of the list given
    const scratch = new ClusterPool(optionsFromJson(fx.optionsJsonOf(this.#cache.pool)));
    try {
      scratch.importCiliumNodes(list);
    } finally {
      scratch.dispose();
    }
    // then as plain items (a List, one CiliumNode or kubectl's table text), in chunks
    const masks = Object.fromEntries(this.#cache.pool.options.families.map((f) => [f.family, f.maskSize]));
    const items = ciliumItems(typeof list === "string" && isCiliumNodeTable(list) ? parseCiliumNodeTable(list, masks) : list)
      .map((it) => ({ metadata: { name: it.name }, spec: { ipam: { podCIDRs: it.podCIDRs } } }));
    const withCidrs = items.filter((it) => it.spec.ipam.podCIDRs.length > 0);
    const without = items.filter((it) => it.spec.ipam.podCIDRs.length === 0);
    const byName = new Map<string, ImportResult>();
    for (const group of [withCidrs, without]) {
      const size = Math.max(1, Math.floor(TXN_KEYS / this.#nodeWeight));
      for (let i = 0; i < group.length; i += size) {
        const chunk = { kind: "List", items: group.slice(i, i + size) };
        const rs = await this.#call("importCiliumNodes", true, (p) => p.importCiliumNodes(chunk), TXN_KEYS, undefined, group === withCidrs);
        for (const r of rs) byName.set(r.name, r);
      }
    }
    return items.flatMap((it) => byName.get(it.metadata.name) ?? []);
  }

  /** As ClusterPool.exportCiliumNodes. */
  exportCiliumNodes(): Promise<CiliumNodeList> { return this.#call("exportCiliumNodes", true, (p) => p.exportCiliumNodes()); }

  /** As ClusterPool.stats. */
  stats(): Promise<ClusterStats> { return this.#call("stats", true, (p) => p.stats()); }

  /**
   * Reads every key under the prefix and lists what is inconsistent: keys
   * that do not parse, a subnet claimed by two nodes, a claim without its
   * node or a node without its claims, a block without its node, an
   * address outside its subnet or on a reserved address, an entry count
   * that is not the count of entries; then rebuilds a pool from the keys
   * and runs ClusterPool.verify on it. Empty when consistent.
   */
  async verify(): Promise<string[]> {
    this.#open_("verify");
    const read = await this.#retry("read the pool", Date.now() + this.#timeoutMs, () => this.#link.range(this.#keys.root));
    return verifyKeys(this.#keys, read.kvs, this.#cache.pool.options);
  }

  /** Waits for queued calls, removes this process's marker and disconnects. Later calls throw INVALID_ARGUMENT. */
  async close(): Promise<void> {
    if (this.#closed) return;
    while (this.#queue.length > 0 || this.#pumping) await sleep(5);
    this.#closed = true;
    clearInterval(this.#leaseTimer);
    clearTimeout(this.#drainTimer);
    while (this.#campaigning) await sleep(5);
    try {
      await this.#link.txn([], [op.del(this.#marker)], []);
    } catch {
      // best effort: a marker left behind is harmless (verify() ignores markers)
    }
    // the leader key goes with the lease: another process takes over at once (not after the TTL)
    await this.#lease?.revoke().catch(() => undefined);
    await this.#watch?.cancel();
    this.#link.close();
    this.#cache.dispose();
  }

  #open_(method: string): void {
    if (this.#closed) throw errors.disposed(`SharedPool.${method}`, "pool (closed)");
  }

  get #families(): number { return this.#cache.pool.options.families.length; }

  #call<R>(name: string, fresh: boolean, run: (p: ClusterPool) => R, weight = 0, node?: string, occupies = false): Promise<R> {
    if (this.#closed) return Promise.reject(errors.disposed(`SharedPool.${name}`, "pool (closed)"));
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ name, weight, run, fresh, ...(node !== undefined ? { node } : {}), ...(occupies ? { occupies: true as const } : {}), arrived: this.#issued, deadline: Date.now() + this.#timeoutMs, attempts: 0, resolve: resolve as (v: unknown) => void, reject });
      // after the current task: calls made together (a loop, Promise.all) go in one transaction
      if (!this.#pumping) queueMicrotask(() => void this.#pump());
    });
  }

  // ------------------------------------------------------------------ the pump: one transaction in flight

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#queue.length > 0) {
        try {
          await this.#round();
        } catch (e) {
          // etcd failed outside a batch's commit (settling, resync, barrier): calls past their deadline get it
          const err = e instanceof IpamError ? e : errors.unavailable(this.#link.endpoints, "a read of the pool failed", e);
          const now = Date.now();
          this.#queue = this.#queue.filter((c) => {
            if (c.deadline > now) return true;
            c.reject(err);
            return false;
          });
          await sleep(50 + Math.random() * 50);
        }
      }
    } finally {
      this.#pumping = false;
      this.#drainWatch();
      this.#scheduleDrains();
    }
  }

  async #round(): Promise<void> {
    if (this.#unsettled !== undefined) {
      const out = await this.#resolve(this.#unsettled, Date.now() + this.#attemptMs * 2);
      if (out.kind === "unknown") throw errors.unavailable(this.#link.endpoints, "an earlier transaction of this process is not settled yet", out.cause);
      this.#unsettled = undefined;
      this.#cache.dirty = true;
    }
    this.#drainWatch();
    this.#rebuilt = this.#cache.dirty;
    if (this.#cache.dirty) await this.#resync();
    if (this.#queue.some((c) => c.fresh && c.arrived >= this.#confirmed)) await this.#barrier();
    this.#completeDue();

    // a call that must see a fresh cache waits for the next round if it began after the last barrier
    // and a batch writes at most TXN_KEYS keys (a call heavier than that goes alone)
    const batch: Call[] = [];
    const waiting: Call[] = [];
    let keys = 0;
    for (const c of this.#queue) {
      const fits = batch.length === 0 || keys + c.weight <= TXN_KEYS;
      if (fits && batch.length < this.#maxBatch && (!c.fresh || c.arrived < this.#confirmed)) {
        batch.push(c);
        keys += c.weight;
      } else waiting.push(c);
    }
    this.#queue = waiting;
    // the cache must hold every block the batch may touch: the nodes' blocks for allocations, else all
    if (batch.every((c) => c.node !== undefined)) for (const c of batch) this.#cache.settleNode(c.node as string);
    else this.#cache.settleAll();
    if (this.#cache.dirty) {
      // a block that contradicts the cache: start over from a full read (the batch waits for the next round);
      // keys that contradict each other (damaged by hand) keep it so: calls past their deadline get CORRUPT_STATE
      const now = Date.now();
      this.#queue.unshift(...batch.filter((c) => {
        if (c.deadline > now) return true;
        c.reject(errors.corrupt(`the pool under ${this.#keys.root}`, `its keys do not rebuild into one pool (verify() names the problems); SharedPool.${c.name} had no effect`));
        return false;
      }));
      if (this.#rebuilt) await sleep(50 + Math.random() * 50); // it was just rebuilt: wait before reading it all again
      return;
    }
    const later: Call[] = [];
    const commit: { call: Call; fx: fx.Effects<unknown> }[] = [];
    /** Answers computed after an earlier call of the batch wrote: given only once that write has committed. */
    const held: { call: Call; fx: fx.Effects<unknown> }[] = [];
    for (const call of batch) {
      const e = fx.capture(this.#cache.pool, call.run);
      // a node that began to drain: the cache holds it; its deadline goes into its key (see completeDue)
      for (const r of e.records) {
        if (r.op === "drain") this.#cache.drained(r.name, readMs(r.deadline));
        else if (isPoolOp(r)) this.#cache.poolOps.push(r); // the pool key's value to write (see plan)
      }
      const confirmed = call.arrived < this.#confirmed;
      if (e.records.length > 0) commit.push({ call, fx: e });
      else if (!e.ok && e.error instanceof IpamError && STATELESS.has(e.error.code)) call.reject(e.error);
      else if (!e.ok && !(e.error instanceof IpamError)) call.reject(e.error);
      else if (confirmed && commit.length > 0) held.push({ call, fx: e });
      else if (confirmed) (e.ok ? call.resolve(e.value) : call.reject(e.error));
      else later.push(call); // wrote nothing, so nothing vouches for the cache it ran on: again after a barrier
    }
    // calls answered later go back first, in order; they need a barrier issued after them
    for (const c of later) c.fresh = true;
    if (commit.length === 0) {
      this.#queue.unshift(...later);
      return;
    }
    const plan = this.#plan(commit.map((c) => c.fx.records), commit.filter((c) => c.call.occupies).flatMap((c) => c.fx.records));
    const out = await this.#commit(plan.compares, plan.ops, plan.reads);
    if (out.kind === "committed") {
      for (const [key, text] of plan.writes) this.#cache.wrote(key, text, out.revision);
      this.counters.txns++;
      this.counters.calls += commit.length;
      for (const { call, fx: e } of [...commit, ...held]) (e.ok ? call.resolve(e.value) : call.reject(e.error));
      this.#queue.unshift(...later);
      return;
    }
    // not committed: put the cache back as etcd has it
    if (plan.nodeLevel) this.#cache.dirty = true;
    else {
      for (const b of plan.blocks) {
        this.#cache.setBlock(b.pool, b.slot, this.#cache.mirrorBlock(b.pool, b.slot));
      }
    }
    const now = Date.now();
    const retry: Call[] = [];
    if (out.kind === "conflict") {
      this.counters.conflicts++;
      for (const r of out.responses) {
        if (r.kv !== undefined) this.#cache.applyKv(r.kv, false);
        else this.#cache.applyKey(r.key, undefined, out.revision);
      }
      for (const { call } of commit) {
        if (++call.attempts >= this.#maxAttempts) call.reject(errors.conflict(`SharedPool.${call.name}`, call.attempts, plan.describe));
        else retry.push(call);
      }
    } else if (out.kind === "refused") {
      for (const { call } of commit) call.reject(errors.unavailable(this.#link.endpoints, `SharedPool.${call.name}: etcd refused the transaction, which had no effect`, out.cause));
    } else if (out.kind === "not-committed") {
      for (const { call } of commit) {
        if (call.deadline <= now) call.reject(errors.unavailable(this.#link.endpoints, `SharedPool.${call.name} had no effect`, out.cause));
        else retry.push(call);
      }
    } else {
      this.#cache.dirty = true;
      for (const { call } of commit) {
        call.reject(errors.unavailable(this.#link.endpoints, `SharedPool.${call.name}: etcd did not answer and its outcome is not known yet (whole or nothing; settled before this process's next call)`, out.cause));
      }
    }
    this.#queue.unshift(...retry, ...held.map((h) => h.call), ...later); // held answers ran on a state that did not commit: again
    if (retry.length > 0) {
      const n = Math.max(...retry.map((c) => c.attempts));
      await sleep(out.kind === "conflict" ? Math.random() * Math.min(2 ** n, 40) : 50 + Math.random() * 50);
    }
  }

  /**
   * The keys a batch changed, from its records and the cache after it ran:
   * each key compared with the revision the mirror has and written only if
   * its value changed; etcd forbids a key twice in one transaction.
   */
  #plan(records: readonly JournalRecord[][], occupying: readonly JournalRecord[]): {
    compares: Compare[]; ops: RequestOp[]; reads: string[]; writes: [string, string | undefined][];
    blocks: { pool: number; slot: number }[]; nodeLevel: boolean; describe: string;
  } {
    let poolLevel = false;
    const pool = this.#cache.pool;
    const k = this.#keys;
    const nodes = new Set<string>();
    const blocks = new Map<string, { pool: number; slot: number }>();
    const addBlock = (p: number, s: number): void => void blocks.set(k.block(p, s), { pool: p, slot: s });
    for (const list of records) {
      for (const r of list) {
        if (r.op === "node" || r.op === "pending" || r.op === "drop" || r.op === "failed" || r.op === "drain") nodes.add(r.name);
        else if (isPoolOp(r)) poolLevel = true;
        else if (r.op === "alloc" || r.op === "free") {
          for (const key of r.keys) {
            const b = fx.blockOfKey(pool, key);
            if (b !== undefined) addBlock(b.pool, b.slot);
          }
        }
      }
    }
    const claims = new Map<string, string | undefined>();
    const nodeWrites: [string, string | undefined][] = [];
    for (const name of nodes) {
      const before = this.#cache.mirrorNode(name);
      const after = fx.nodeRecord(pool, name);
      const occupied = occupying.some((r) => r.op === "node" && r.name === name) || (before as StoredNode | undefined)?.o === true;
      nodeWrites.push([k.node(name), after === undefined ? undefined : encodeNode(after, this.#cache.drains.get(name), occupied)]);
      if (before !== undefined && holdsSubnets(before)) {
        for (const p of before.placed) if (p.pool >= 0) addBlock(p.pool, p.slot);
        for (const s of slotsOf(before.placed)) claims.set(k.claim(s.pool, s.slot), undefined);
      }
      if (after !== undefined && holdsSubnets(after)) {
        for (const p of after.placed) if (p.pool >= 0) addBlock(p.pool, p.slot);
        for (const s of slotsOf(after.placed)) claims.set(k.claim(s.pool, s.slot), name);
      }
    }
    const blockWrites: [string, string | undefined][] = [];
    for (const [key, b] of blocks) {
      const at = fx.blockAt(pool, b.pool, b.slot);
      const st = emptyBlockState();
      blockWrites.push([key, at === undefined ? undefined : encodeBlock(at.node, { ...st, entries: fx.blockEntries(pool, b.pool, b.slot, st) })]);
    }
    // every transaction compares the pool key (a pool-level change makes it compute again); a pool-level one writes it
    const poolKey: [string, string | undefined] = [k.pool, poolLevel ? encodePoolOps(this.#cache.poolOps) : this.#cache.text(k.pool)];
    const all: [string, string | undefined][] = [poolKey, ...nodeWrites, ...claims, ...blockWrites];
    const compares: Compare[] = [];
    const reads: string[] = [];
    const writes: [string, string | undefined][] = [];
    if (poolLevel) {
      // a reservation or a removal checked which subnets and addresses are held: none may have been taken since the cache
      compares.push(op.unchangedSince(`${k.root}claims/`, this.#appliedRev), op.unchangedSince(`${k.root}blocks/`, this.#appliedRev));
    }
    for (const [key, text] of all) {
      compares.push(op.modIs(key, this.#cache.rev(key)));
      reads.push(key);
      if (text !== this.#cache.text(key)) writes.push([key, text]);
    }
    // deletes before puts, nodes before claims before blocks: another process applies them in this order
    const rank = (key: string, text: string | undefined): number => {
      const kind = k.parse(key).kind;
      const base = kind === "pool" ? -2 : kind === "node" ? 0 : kind === "claim" ? 2 : 4;
      return base + (text === undefined ? 0 : 1);
    };
    writes.sort((a, b) => rank(a[0], a[1]) - rank(b[0], b[1]));
    const ops = writes.map(([key, text]) => (text === undefined ? op.del(key) : op.put(key, text)));
    const names = [...nodes].map((n) => `node ${show(n)}`);
    const cidrs = [...blocks.values()].map((b) => fx.blockAt(pool, b.pool, b.slot)?.cidr ?? `block ${b.pool}/${b.slot}`);
    return { compares, ops, reads, writes, blocks: [...blocks.values()], nodeLevel: nodes.size > 0 || poolLevel, describe: [...names, ...cidrs].join(", ") || "the pool" };
  }

  /**
   * One transaction, guarded by `compares` and this process's marker. Lost
   * answers are settled by a fence; `unknown` only when the fences fail too.
   */
  async #commit(compares: Compare[], ops: RequestOp[], reads: string[]): Promise<Outcome> {
    const tag = `t${++this.#seq}`;
    let r;
    try {
      r = await this.#link.txn(
        [op.modIs(this.#marker, this.#markerRev), ...compares],
        [...ops, op.put(this.#marker, tag)],
        [op.get(this.#marker), ...reads.map((key) => op.get(key))],
      );
    } catch (e) {
      if (e instanceof EtcdCallError && e.refused) return { kind: "refused", cause: e };
      if (e instanceof EtcdCallError && e.unsent) return { kind: "not-committed", cause: e };
      return this.#resolve(tag, Date.now() + this.#timeoutMs, e);
    }
    if (r.succeeded) {
      this.#markerRev = r.revision;
      return { kind: "committed", revision: r.revision };
    }
    const marker = r.responses[0]?.response_range?.kvs[0];
    if (marker === undefined || Number(marker.mod_revision) !== this.#markerRev) {
      // the marker moved under us: only a transaction of ours can move it, and every one is settled; rebuild to be sure
      this.#markerRev = marker === undefined ? 0 : Number(marker.mod_revision);
      this.#cache.dirty = true;
    }
    const responses = reads.map((key, i) => ({ key, kv: r.responses[i + 1]?.response_range?.kvs[0] }));
    return { kind: "conflict", responses, revision: r.revision };
  }

  /** Settles transaction `tag` whose answer was lost: fences the marker, then tells whether `tag` had committed. */
  async #resolve(tag: string, until: number, lost?: unknown): Promise<Outcome> {
    let cause: unknown = lost;
    for (;;) {
      try {
        const f = await this.#link.txn([op.modIs(this.#marker, this.#markerRev)], [op.put(this.#marker, `${tag}-fenced`)], [op.get(this.#marker)]);
        if (f.succeeded) {
          // the lost transaction compared the old marker revision: it can never commit now
          this.#markerRev = f.revision;
          return { kind: "not-committed", cause: cause ?? new Error("etcd did not answer") };
        }
        const kv = f.responses[0]?.response_range?.kvs[0];
        this.#markerRev = kv === undefined ? 0 : Number(kv.mod_revision);
        if (kv !== undefined && kv.value.toString() === tag) return { kind: "committed", revision: Number(kv.mod_revision) };
        this.#cache.dirty = true;
        return { kind: "not-committed", cause: cause ?? new Error("etcd did not answer") };
      } catch (e) {
        cause = e;
        if (Date.now() >= until) {
          this.#unsettled = tag;
          return { kind: "unknown", cause: e };
        }
        await sleep(50 + Math.random() * 50);
      }
    }
  }

  /** A write of this process's marker, then a wait until the watch brings it back: the cache is then at least that recent. */
  async #barrier(): Promise<void> {
    const mine = ++this.#issued;
    this.counters.barriers++;
    const out = await this.#commit([], [], []);
    if (out.kind === "unknown" || out.kind === "not-committed" || out.kind === "refused") throw errors.unavailable(this.#link.endpoints, "could not confirm the cache", out.cause);
    if (out.kind === "conflict" || !(await this.#waitWatch(out.revision, this.#attemptMs))) {
      await this.#resync(); // the watch lags (its member may be stopped): read everything instead
    } else {
      this.#drainWatch();
    }
    this.#confirmed = Math.max(this.#confirmed, mine);
  }

  /** Rebuilds the cache from one ranged read (a linearizable read: it also confirms the cache). */
  async #resync(): Promise<void> {
    const mine = ++this.#issued;
    this.counters.resyncs++;
    const read = await this.#link.range(this.#keys.root).catch((e) => {
      throw errors.unavailable(this.#link.endpoints, "could not read the pool", e);
    });
    this.counters.pages += read.pages;
    this.#cache.rebuild(read.kvs, read.revision);
    this.#appliedRev = Math.max(this.#appliedRev, read.revision);
    this.#events = this.#events.filter((e) => Number(e.kv.mod_revision) > read.revision);
    this.#drainWatch();
    this.#confirmed = Math.max(this.#confirmed, mine);
  }

  async #retry<T>(what: string, deadline: number, fn: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await fn();
      } catch (e) {
        if (!(e instanceof EtcdCallError)) throw e;
        if (Date.now() + 50 >= deadline) throw errors.unavailable(this.#link.endpoints, `could not ${what}`, e);
        await sleep(50 + Math.random() * 50);
      }
    }
  }

  // ------------------------------------------------------------------ background clean-up

  /**
   * Queues, first, one completion per draining node whose deadline has
   * passed by this process's clock (options.clock, Date.now by default;
   * the processes of a pool must keep their clocks in step: a clock δ
   * ahead completes drains δ early). Each completion is its own call (a
   * dropped node frees its subnets and may serve a pending node: about
   * twice a node's keys), compared like any other: when two processes
   * complete the same drain, one commits and the other finds the node gone.
   */
  #completeDue(): number {
    const drains = this.#cache.drains;
    if (drains.size === 0) return 0;
    const now = this.#cache.pool.options.clock();
    const due: Call[] = [];
    for (const [name, deadline] of drains) {
      if (deadline > now || this.#completing.has(name)) continue;
      if (fx.nodeRecord(this.#cache.pool, name)?.status !== "draining") {
        drains.delete(name); // dropped or replaced since (a removeNode, another process's completion)
        continue;
      }
      this.#completing.add(name);
      const done = (): void => void this.#completing.delete(name);
      due.push({
        name: "removeNode", weight: this.#dropWeight(name), fresh: false, arrived: -1, deadline: Date.now() + this.#timeoutMs, attempts: 0,
        run: (p) => (fx.nodeRecord(p, name)?.status === "draining" ? p.removeNode(name) : false),
        resolve: (v) => { done(); if (v === true) this.counters.drainsCompleted++; },
        reject: done, // the next round (or the leader's timer) tries again
      });
    }
    this.#queue.unshift(...due);
    return due.length;
  }

  /** The leader sets a timer for the earliest deadline of a draining node. */
  #scheduleDrains(): void {
    if (this.#closed || !this.#leader) {
      clearTimeout(this.#drainTimer);
      this.#drainTimer = undefined;
      this.#drainAt = Infinity;
      return;
    }
    let at = Infinity;
    for (const d of this.#cache.drains.values()) if (d < at) at = d;
    if (at === this.#drainAt && this.#drainTimer !== undefined) return;
    clearTimeout(this.#drainTimer);
    this.#drainTimer = undefined;
    this.#drainAt = at;
    if (at === Infinity) return;
    const ms = Math.min(Math.max(at - this.#cache.pool.options.clock(), 10), 2 ** 31 - 1);
    this.#drainTimer = setTimeout(() => {
      this.#drainTimer = undefined;
      this.#drainAt = Infinity;
      if (this.#completeDue() > 0 && !this.#pumping) void this.#pump();
      this.#scheduleDrains();
    }, ms);
    this.#drainTimer.unref?.();
  }

  /**
   * Keeps this process's lease alive and stands for leader: the leader key
   * is created only if absent, with the lease, so it goes when the lease
   * does. Leading only runs background clean-up; allocation never waits for
   * it, and two leaders for a moment (an old one that has not yet noticed
   * its lease ended) only race for the same compare-and-swap.
   */
  async #campaign(): Promise<void> {
    if (this.#closed || this.#campaigning) return;
    this.#campaigning = true;
    try {
      if (this.#lease !== undefined) {
        const alive = await this.#lease.keepAlive().catch(() => undefined);
        if (alive === true) this.#renewed = Date.now();
        else if (alive === false || Date.now() - this.#renewed >= this.#leaseTtlS * 1000) {
          this.#lease = undefined; // expired, or may have: never act as leader on it
          this.#leader = false;
        }
      }
      if (!this.#leader && !this.#closed) {
        if (this.#lease === undefined) {
          const granted = Date.now();
          this.#lease = await this.#link.lease(this.#leaseTtlS);
          this.#renewed = granted;
        }
        const leader = this.#keys.leader;
        const r = await this.#link.txn([op.modIs(leader, 0)], [op.put(leader, this.#id, this.#lease.id)], [op.get(leader)]);
        this.#leader = r.succeeded || r.responses[0]?.response_range?.kvs[0]?.value.toString() === this.#id;
      }
    } catch {
      // etcd unreachable: stand again at the next renewal
    } finally {
      this.#campaigning = false;
      this.#scheduleDrains();
    }
  }

  // ------------------------------------------------------------------ the watch

  #onWatch(res: WatchResponse): void {
    for (const ev of res.events) {
      this.#events.push({ kv: ev.kv, deleted: ev.type === "Delete" });
      // the leader's lease ended (it closed, or died and its TTL passed): stand at once
      if (ev.type === "Delete" && !this.#leader && ev.kv.key.toString() === this.#keys.leader) void this.#campaign();
    }
    const rev = Number(res.header.revision);
    if (rev > this.#watchRev) this.#watchRev = rev;
    if (!this.#pumping) this.#drainWatch();
    this.#waiters = this.#waiters.filter((w) => {
      if (w.rev > this.#watchRev) return true;
      w.done();
      return false;
    });
  }

  /** Applies what the watch brought (only between transactions: never under a batch in flight). */
  #drainWatch(): void {
    // every event up to watchRev has come in (onWatch pushes a response's events before it moves watchRev)
    if (!this.#closed) this.#appliedRev = Math.max(this.#appliedRev, this.#watchRev);
    if (this.#events.length === 0 || this.#cache.pool === undefined) return;
    const events = this.#events;
    this.#events = [];
    if (this.#closed) return;
    try {
      for (const e of events) this.#cache.applyKv(e.kv, e.deleted);
    } catch {
      this.#cache.dirty = true; // a key that could not be applied (damaged by hand): rebuild before the next call
    }
    this.#scheduleDrains();
  }

  #waitWatch(rev: number, ms: number): Promise<boolean> {
    if (this.#watchRev >= rev) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w = { rev, done: () => { clearTimeout(t); resolve(true); } };
      const t = setTimeout(() => {
        this.#waiters = this.#waiters.filter((x) => x !== w);
        resolve(false);
      }, ms);
      this.#waiters.push(w);
    });
  }
}
