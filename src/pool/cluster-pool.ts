/**
 * ClusterPool: Cilium cluster-pool IPAM, and the lifecycle around it. The
 * public facade: it validates nothing itself and holds no logic; each call
 * goes to the module of src/pool/ that owns it.
 *
 * Nodes get subnets carved from the pool CIDRs (first CIDR that is not full,
 * IPv4 then IPv6, rolled back if the second family fails); pods get
 * addresses from their node's subnets; any address can be looked up to its
 * node and owner. Beyond Cilium: a cap on big node subnets with an overflow
 * policy, reserved ranges, pool growth, graceful node removal, a reuse
 * cooldown, owner-checked release, CiliumNode import/export, snapshots and
 * a crash-safe journal.
 *
 *   src/pool/core.ts          the state (PoolCore) and its types
 *   src/pool/nodes.ts         carving node subnets, overflow, pending, removal, tick()
 *   src/pool/pods.ts          allocate, release, releaseOwner, lookup, reuse cooldown
 *   src/pool/reservations.ts  reserve/unreserve, router IPs, addPoolCidr/removePoolCidr
 *   src/pool/cilium.ts        CiliumNode import and export
 *   src/pool/fast-path.ts     node handles, u32 IPv4 per call and batched
 *   src/pool/stats.ts         stats(), verify(), describe()
 *   src/pool/snapshot.ts      snapshot() and restore
 *   src/pool/replay.ts        journal replay
 *   src/pool/check.ts         check(): leaks and recounts (check-report.ts: what both walks gather)
 *   src/pool/usage.ts         what metrics read at scrape time; counters.ts: what they count
 *   src/pool/multi/           named pools (options.pools), routed from here
 *
 * Every mutation is decided, applied, and handed to the journal hook as an
 * effect record (src/pool/records.ts), so replaying a journal runs the
 * same code that made the state.
 *
 * Arguments (src/args.ts): every argument is checked before anything is
 * touched, and a failed call leaves the state as it was (snapshot() bytes
 * equal before and after). A string argument of another type, an empty node
 * name or owner, a number that is not an integer, a batch array that is not
 * a Uint32Array: INVALID_ARGUMENT. An integer outside its domain (an IPv4
 * u32 outside 0..2^32-1): NOT_IN_RANGE. A string that does not parse:
 * INVALID_IP or INVALID_CIDR. A bad option: INVALID_OPTION.
 */
import { errors, IpamError, show } from "../errors.js";
import type { Engine } from "../core/engine.js";
import { resolveRuntime, type ClusterPoolOptions, type ResolvedOptions } from "./options.js";
import { isU32, str } from "../args.js";
import type { Strategy } from "../core/layout.js";
import type { CiliumNodeList, ImportResult } from "./cilium-node.js";
import type { PoolDescriptor } from "../alloc/pool-view.js";
import { isJournalRecord, type JournalRecord } from "./records.js";
import { decodeSnapshot, readSnapshotMeta } from "../state/snapshot.js";
import { FileStore, type FileStoreOptions, type Durable, type Runtime } from "../state/file-store.js";
import { PoolCore } from "./core.js";
import { disposeSymbol } from "../disposable.js";
import { tick, addNode, removeNode, failedCount, nodeDetail, servePending } from "./nodes.js";
import { allocate, release, releaseOwner, addressesOf, lookup } from "./pods.js";
import { reserve, unreserve, addPoolCidr, removePoolCidr } from "./reservations.js";
import { importCiliumNodes, exportCiliumNodes } from "./cilium.js";
import { allocateIPv4, allocateIPv4Batch, releaseIPv4, releaseIPv4Batch, lookupIPv4, lookupIPv4Batch } from "./fast-path.js";
import { stats, verify, describe } from "./stats.js";
import { snapshot, encode, rebuild, type SnapshotMeta } from "./snapshot.js";
import { replayRecord } from "./replay.js";
import { MultiPool, isMultiCallRecord, type MultiCallRecord } from "./multi/multi-pool.js";
import { isMultiPoolOptions, type MultiPoolOptions, type IpPoolSpec, type ResolvedMultiOptions } from "./multi/options.js";
import { isMultiSnapshot } from "./multi/snapshot.js";
import { labelsArg } from "./multi/pods.js";
import type { AddNodeOptions, AllocateOptions, PoolCidrOptions } from "./multi/types.js";
import { optionsObject, name as nameArg } from "../args.js";
import { check, checkOptions, type CheckOptions, type CheckReport } from "./check.js";
import { usage, DEFAULT_POOL, type PoolUsage } from "./usage.js";
import { AllocationCounters, PoolCounters } from "./counters.js";
import type {
  NodeAllocation, PodAddresses, LookupResult, NodeDetail, ClusterStats, RemoveNodeOptions,
} from "./types.js";

export type {
  NodeAllocation, PodAddresses, LookupResult, NodeStatus, RangeUsage, NodeDetail, PoolStats, ClusterStats, RemoveNodeOptions,
} from "./types.js";
export { MAX_POOL_CIDRS } from "./core.js";
export type { MultiPoolOptions, IpPoolSpec } from "./multi/options.js";
export type { CheckOptions, CheckReport, StaleNode, StaleOwner, OrphanAddress, CounterMismatch } from "./check.js";
export type { PoolUsage, CidrUsage } from "./usage.js";

/** How a FileStore keeps ClusterPools (built in the class's static block, where it may use private parts). */
let durableOf: (options: ClusterPoolOptions | MultiPoolOptions) => Durable<ClusterPool>;

/** @internal What a FileStore needs to keep pools made from `options` (src/pool/file-store.ts). */
export function durablePools(options: ClusterPoolOptions | MultiPoolOptions): Durable<ClusterPool> {
  return durableOf(options);
}

/**
 * True if the state file at `path` (ClusterPool.open's snapshot) holds a
 * ClusterPool with named pools: open it with options.pools then (any, e.g.
 * `{ pools: {} }`: a store keeps the options it was made with). Reads the
 * snapshot's description only. Throws IO_ERROR, CORRUPT_STATE.
 */
export function storedWithPools(path: string): boolean {
  return isMultiSnapshot(readSnapshotMeta(path));
}

/** The state of a pool, for src/pool/effects.ts (built in the class's static block). */
let coreOf: (pool: ClusterPool) => PoolCore;

/** @internal The state of a live pool, for the effect adapter of src/pool/effects.ts (SharedPool's cache). */
export function poolCore(pool: ClusterPool): PoolCore {
  return coreOf(pool);
}

/** A core for the next constructor call (restore and rollback build the core first). */
let adopting: PoolCore | undefined;

/** A pool function with up to three arguments after the core. */
type Op<R> = (c: PoolCore, a?: any, b?: any, d?: any) => R;

/** A multi-pool side for the next constructor call (restore). */
let adoptingMulti: MultiPool | undefined;

/** The pool named by `options.pool` of a single-pool ClusterPool: only `default` (the shorthand's name) exists. */
function defaultPoolOnly(what: string, options: unknown, keys: readonly string[] = ["pool"]): void {
  const o = optionsObject(`${what}(options)`, options, keys);
  if (o.pool !== undefined && nameArg(`${what}(options.pool)`, o.pool) !== "default") {
    throw errors.unknownPool(o.pool, "this pool has only 'default': give options.pools for named pools");
  }
}

/** A pool handle given to a single-pool ClusterPool's fast path: only 0 (`default`) exists. */
function defaultPoolHandle(what: string, pool: unknown): void {
  if (pool === 0) return;
  if (typeof pool === "number" && Number.isInteger(pool)) throw errors.unknownPool(`handle ${pool}`, "this pool has only 'default' (handle 0)");
  throw errors.invalidArgument(`${what}(pool)`, pool, "a pool handle (an integer from poolHandle(name))");
}

const isPlainObject = (v: unknown): boolean => typeof v === "object" && v !== null && !Array.isArray(v);

/** allocate's `wanted` of a single-pool ClusterPool: addresses, or { pool: "default", ips? }. */
function singleWanted(wanted: string | readonly string[] | AllocateOptions | undefined): string | readonly string[] | undefined {
  if (typeof wanted === "object" && isPlainObject(wanted)) {
    defaultPoolOnly("allocate", wanted, ["pool", "ips"]);
    return (wanted as AllocateOptions).ips;
  }
  return wanted as string | readonly string[] | undefined;
}

export class ClusterPool {
  /** undefined once disposed. */
  #c: PoolCore | undefined;
  /** The named pools (options.pools), routed to src/pool/multi/; undefined for a single-pool ClusterPool and once disposed. */
  #m: MultiPool | undefined;
  /** Counters by pool label while metrics read them (registerMetrics), else undefined. */
  #counters: PoolCounters | undefined;
  /** Single pool: #counters' one pool ("default"), else undefined: one field test per call. */
  #counts: AllocationCounters | undefined;
  /** How many readers asked for #counters. */
  #countReaders = 0;
  /** What of the core's numericAllocations and numericReleases #counts already holds (single pool). */
  #numericCounted = { allocations: 0, releases: 0 };

  /**
   * Validates options (IpamError naming the option) and lays the pools out
   * in a shared memory. With `pools`, a multi-pool ClusterPool (Cilium's
   * multi-pool IPAM: named pools, per-node chunks, watermarks); without, the
   * cluster-pool one, whose single pool is named `default`.
   */
  constructor(options: ClusterPoolOptions | MultiPoolOptions) {
    if (adoptingMulti !== undefined || (adopting === undefined && isMultiPoolOptions(options))) {
      this.#m = adoptingMulti ?? new MultiPool(options);
      adoptingMulti = undefined;
      return;
    }
    const c = adopting ?? new PoolCore(options as ClusterPoolOptions);
    adopting = undefined;
    this.#c = c;
  }

  /** A pool over a core that is already built. */
  static #of(core: PoolCore): ClusterPool {
    adopting = core;
    return new ClusterPool(undefined as never);
  }

  static {
    coreOf = (p) => p.#core("shared");
    durableOf = (options) => {
      // the clock and engine of `options` also hold for a pool restored from the files
      const own = { ...(options?.clock ? { clock: options.clock } : {}), ...(options?.engine ? { engine: options.engine } : {}) };
      const multi = isMultiPoolOptions(options);
      /** A store keeps the kind of pool it was made with: named pools or a single pool. */
      const restore = (bytes: Uint8Array, runtime: Runtime): ClusterPool => {
        const p = ClusterPool.restore(bytes, { ...runtime, ...own } as Pick<ClusterPoolOptions, "clock" | "engine">);
        if ((p.#m !== undefined) !== multi) {
          p.dispose();
          throw errors.invalidOption("options.pools", multi
            ? "is set, but the store holds a single-pool ClusterPool: open it with single-pool options"
            : "is not set, but the store holds a ClusterPool with named pools: open it with options.pools");
        }
        return p;
      };
      if (multi) {
        return {
          create: () => new ClusterPool(options),
          restore,
          replay: (p: ClusterPool, r: unknown) => (p.#m as MultiPool).replay(r as MultiCallRecord),
          verify: (p: ClusterPool) => p.verify(),
          encode: (p: ClusterPool, generation: number) => (p.#m as MultiPool).encode(generation),
          isRecord: isMultiCallRecord,
          attach: (p: ClusterPool, store: FileStore<ClusterPool> | undefined) => (p.#m as MultiPool).attach(store as FileStore<unknown> | undefined),
          afterRecovery: (p: ClusterPool) => p.tick(),
          adopt: (p: ClusterPool, fresh: ClusterPool) => {
            const old = p.#m;
            p.#m = fresh.#m;
            fresh.#m = undefined;
            const counters = p.#counters;
            if (counters !== undefined) p.#m?.count((name) => counters.of(name)); // the rolled-back pool counts on
            old?.attach(undefined);
            old?.free();
          },
          dispose: (p: ClusterPool) => p.dispose(),
        };
      }
      return {
        create: () => new ClusterPool(options),
        restore,
        replay: (p: ClusterPool, r: unknown) => p.#replay(r as JournalRecord),
        verify: (p: ClusterPool) => p.verify(),
        encode: (p: ClusterPool, generation: number) => encode(p.#core("compact"), generation),
        isRecord: isJournalRecord,
        attach: (p: ClusterPool, store: FileStore<ClusterPool> | undefined) => p.#attach(store),
        afterRecovery: (p: ClusterPool) => p.#durable(afterRecovery),
        adopt: (p: ClusterPool, fresh: ClusterPool) => p.#adopt(fresh),
        dispose: (p: ClusterPool) => p.dispose(),
      };
    };
  }

  /** The engine (shared memory) holding this pool's state. */
  get engine(): Engine {
    if (this.#m) return this.#m.engine;
    const c = this.#core("engine");
    c.escaped = true; // an engine the caller has seen is never reused for another pool
    return c.engine;
  }
  /** Nodes that hold subnets (ready or draining). */
  get nodeCount(): number {
    if (this.#m) return this.#m.nodeCount;
    const c = this.#core("nodeCount");
    return c.nodes.size - c.pending.length - failedCount(c);
  }
  /** Pod strategy in use. */
  get podStrategy(): Strategy { return this.#m ? this.#m.options.podStrategy : this.#core("podStrategy").o.podStrategy; }
  /**
   * The options this pool was made with: validated, copied and frozen at
   * construction. With named pools, the options they share (clock, pod
   * strategy, seed, engine, reuse, reserveRouterIP) and no single-pool families: see multiOptions
   * and ipPools().
   */
  get options(): ResolvedOptions {
    if (this.#m) {
      const o = this.#m.options;
      return Object.freeze({
        families: Object.freeze([]), maxNodeSubnets: undefined, overflowOption: "reject", reuse: o.reuse,
        clock: o.clock, reserveRouterIP: o.reserveRouterIP, podStrategy: o.podStrategy, seed: o.seed, engine: o.engine,
      });
    }
    return this.#core("options").o;
  }

  /** The named pools' options as made (options.pools), or undefined for a single-pool ClusterPool; ipPools() has the pools as they are now. */
  get multiOptions(): ResolvedMultiOptions | undefined {
    if (this.#m) return this.#m.options;
    this.#core("multiOptions");
    return undefined;
  }

  /** True if the pool was made with named pools (options.pools). */
  get multiPool(): boolean {
    this.#m ?? this.#core("multiPool");
    return this.#m !== undefined;
  }

  /**
   * Releases what is due: quarantined addresses past their cooldown (or
   * deep enough in the queue), draining nodes past their grace. Every
   * mutating call does this first; it costs nothing while nothing waits.
   */
  tick(): void {
    if (this.#m) return this.#m.tick();
    const c = this.#core("tick");
    c.store === undefined ? tick(c) : this.#durable(tick);
  }

  /**
   * What a worker thread needs to open a PoolView on this pool's memory.
   * Structured-cloneable: post it to a worker; the memory is shared, not copied.
   * With named pools: one entry per pool CIDR, with its pool's name (`pool`).
   */
  describe(): PoolDescriptor {
    if (this.#m) return this.#m.describe();
    const c = this.#core("describe");
    c.escaped = true;
    return describe(c);
  }

  // ------------------------------------------------------------------ nodes

  /**
   * Gives the node one subnet per configured family: a big hole while fewer
   * than maxNodeSubnets are out, then by the overflow policy. Idempotent: a
   * known node gets its subnets back. With 'reject', a node that cannot be
   * served throws FULL and waits as pending; it is served as soon as space
   * frees up, in the order nodes arrived. When the shared memory cannot hold
   * the node's pod ranges: FULL, and nothing of the call stays (no pending
   * node, no handle). `name`: a non-empty string (INVALID_ARGUMENT).
   */
  addNode(name: string, options?: AddNodeOptions): NodeAllocation {
    if (this.#m) {
      const n = this.#counters?.nodes;
      if (n === undefined) return this.#m.addNode(name, options);
      try {
        const r = this.#m.addNode(name, options);
        n.nodes++;
        return r;
      } catch (e) {
        n.fail("node", e);
        throw e;
      }
    }
    const c = this.#core("addNode");
    if (this.#counts !== undefined) return this.#countedAddNode(c, name, options, this.#counts);
    if (options !== undefined) labelsArg(options); // labels only select named pools
    return c.store === undefined ? addNode(c, name) : this.#mutate("addNode", addNode, name);
  }

  #countedAddNode(c: PoolCore, name: string, options: AddNodeOptions | undefined, n: AllocationCounters): NodeAllocation {
    try {
      if (options !== undefined) labelsArg(options);
      const r = c.store === undefined ? addNode(c, name) : this.#mutate("addNode", addNode, name);
      n.nodes++;
      return r;
    } catch (e) {
      n.fail("node", e);
      throw e;
    }
  }

  /**
   * Releases the node's subnets and all its pod addresses; with graceMs,
   * only after that long (the node drains: no new pods; Infinity: until the
   * node is removed again without grace). Returns false for an unknown node
   * (a no-op). `options`: undefined or { graceMs } (INVALID_OPTION).
   */
  removeNode(name: string, options?: RemoveNodeOptions): boolean {
    let removed: boolean;
    if (this.#m) removed = this.#m.removeNode(name, options);
    else {
      const c = this.#core("removeNode");
      removed = c.store === undefined ? removeNode(c, name, options) : this.#mutate("removeNode", removeNode, name, options);
    }
    const n = this.#counters;
    if (n !== undefined && removed) n.nodes.removals++;
    return removed;
  }

  /** The node's subnets, status and usage, or undefined. */
  node(name: string): NodeDetail | undefined {
    if (this.#m) return this.#m.node(name);
    const c = this.#core("node");
    const node = c.nodes.get(str("node(name)", name));
    return node && nodeDetail(c, node);
  }

  /** Names of all known nodes (pending and failed included), in the order they were added. */
  nodeNames(): string[] { return this.#m ? this.#m.nodeNames() : [...this.#core("nodeNames").nodes.keys()]; }

  /** Names of nodes waiting for a subnet, in the order they will be served. */
  pendingNodes(): string[] { return this.#m ? [] : [...this.#core("pendingNodes").pending]; }

  // ------------------------------------------------------------------ pods

  /**
   * Allocates one address per family from the node's subnets to `owner`
   * (e.g. "namespace/pod"). `wanted` asks for specific addresses (at most one
   * per family); other families get the next free one (also as
   * `{ pool, ips }`; with named pools the address may lie in a free chunk
   * of the pool, which the node then takes). A sharing node
   * borrows from the subnet with the most free addresses. Throws
   * UNKNOWN_NODE (also for a draining node), FULL (the range, or the shared
   * memory for the owner array), NOT_IN_RANGE, ALREADY_ALLOCATED,
   * INVALID_IP, INVALID_ARGUMENT (node not a string, owner not a non-empty
   * string, wanted not a string or an array of at most one per family); a
   * failed call takes nothing and moves no cursor.
   */
  allocate(node: string, owner: string, wanted?: string | readonly string[] | AllocateOptions): PodAddresses {
    if (this.#m) {
      const n = this.#counters;
      try {
        const options = wanted === undefined || isPlainObject(wanted) ? wanted as AllocateOptions | undefined : { ips: wanted as string | readonly string[] };
        return this.#m.allocate(node, owner, options); // a success counts under its pool (src/pool/multi/pods.ts)
      } catch (e) {
        if (n !== undefined) n.of(this.#poolLabel(wanted)).fail("pod", e);
        throw e;
      }
    }
    const c = this.#core("allocate");
    if (this.#counts !== undefined) return this.#countedAllocate(c, node, owner, wanted, this.#counts);
    const want = singleWanted(wanted);
    return c.store === undefined ? allocate(c, node, owner, want) : this.#mutate("allocate", allocate, node, owner, want);
  }

  #countedAllocate(c: PoolCore, node: string, owner: string, wanted: string | readonly string[] | AllocateOptions | undefined, n: AllocationCounters): PodAddresses {
    try {
      const want = singleWanted(wanted);
      const r = c.store === undefined ? allocate(c, node, owner, want) : this.#mutate("allocate", allocate, node, owner, want);
      n.pods++;
      return r;
    } catch (e) {
      n.fail("pod", e);
      throw e;
    }
  }

  /**
   * Releases an address. With `owner`, refuses (OWNER_MISMATCH) unless that
   * owner holds it, so a stale delete cannot free a live pod's address.
   * Returns true if it was allocated; releasing a free address, a reserved
   * one or one outside every node subnet is a no-op. Throws INVALID_IP, and
   * INVALID_ARGUMENT for a non-string ip or an owner that is not a non-empty string.
   */
  release(ip: string, owner?: string): boolean {
    if (this.#m) return this.#m.release(ip, owner); // counted under its pool (src/pool/multi/pods.ts)
    const c = this.#core("release");
    const done = c.store === undefined ? release(c, ip, owner) : this.#mutate("release", release, ip, owner);
    const n = this.#counts;
    if (n !== undefined && done) n.releases++;
    return done;
  }

  /** Releases every address of an owner, in address order; returns them. An unknown owner has none. */
  releaseOwner(owner: string): string[] {
    if (this.#m) return this.#m.releaseOwner(owner);
    const c = this.#core("releaseOwner");
    const out = c.store === undefined ? releaseOwner(c, owner) : this.#mutate("releaseOwner", releaseOwner, owner);
    const n = this.#counts;
    if (n !== undefined) n.releases += out.length;
    return out;
  }

  /** Addresses an owner holds. */
  addressesOf(owner: string): string[] { return this.#m ? this.#m.addressesOf(owner) : addressesOf(this.#core("addressesOf"), owner); }

  /** Which node (and owner) holds an address; undefined outside every node subnet. Throws INVALID_IP. */
  lookup(ip: string): LookupResult | undefined { return this.#m ? this.#m.lookup(ip) : lookup(this.#core("lookup"), ip); }

  // ------------------------------------------------------------------ reservations and pool growth

  /**
   * Makes a CIDR non-allocatable. A prefix as long as a node subnet or
   * shorter reserves node subnets (carving skips them; an explicit occupy,
   * e.g. a CiliumNode import, may still take them); a longer one reserves
   * pod addresses in whichever node holds that subnet, now or later.
   * Throws NOT_IN_RANGE, IN_USE (a node holds the subnet) or
   * ALREADY_ALLOCATED (a pod holds the address). With named pools the same,
   * per pool CIDR, with the pool's chunk mask as the node subnet's.
   */
  reserve(cidr: string): void {
    if (this.#m) return this.#m.reserve(cidr);
    const c = this.#core("reserve");
    c.store === undefined ? reserve(c, cidr) : this.#mutate("reserve", reserve, cidr);
  }

  /** Makes a reserved CIDR allocatable again. Unreserving what is not reserved is a no-op. */
  unreserve(cidr: string): void {
    if (this.#m) return this.#m.unreserve(cidr);
    const c = this.#core("unreserve");
    c.store === undefined ? unreserve(c, cidr) : this.#mutate("unreserve", unreserve, cidr);
  }

  /**
   * Adds a pool CIDR at runtime to the family it belongs to; pending nodes
   * are served from it. Throws CIDR_COLLISION naming the overlap,
   * FAMILY_MISMATCH if the pool has no family for it, INVALID_CIDR,
   * INVALID_ARGUMENT (not a string), INVALID_OPTION past MAX_POOL_CIDRS.
   */
  addPoolCidr(cidr: string): void;
  /** The earlier form, still accepted: `family` must be 4 or 6 (else INVALID_ARGUMENT) and the CIDR's own (else FAMILY_MISMATCH). */
  addPoolCidr(family: 4 | 6, cidr: string): void;
  /** With named pools: adds the CIDR to pool `options.pool` (default `default`); nodes below their watermark are topped up from it. UNKNOWN_POOL, FAMILY_MISMATCH (the pool has no such family), CIDR_COLLISION (any pool). */
  addPoolCidr(cidr: string, options: PoolCidrOptions): void;
  addPoolCidr(a: unknown, b?: unknown): void {
    if (this.#m) {
      if (typeof a === "number") throw errors.invalidArgument("addPoolCidr(cidr)", a, "a CIDR string (with named pools: addPoolCidr(cidr, { pool }))");
      return this.#m.addPoolCidr(a as string, b as PoolCidrOptions | undefined);
    }
    const c = this.#core("addPoolCidr");
    if (isPlainObject(b)) {
      defaultPoolOnly("addPoolCidr", b);
      b = undefined;
    }
    if (b !== undefined && a !== 4 && a !== 6) throw errors.invalidArgument("addPoolCidr(family, cidr)", a, "4 or 6 (or leave it out: addPoolCidr(cidr))");
    const [cidr, family] = b === undefined ? [a, undefined] : [b, a];
    c.store === undefined ? addPoolCidr(c, cidr, family as 4 | 6 | undefined) : this.#mutate("addPoolCidr", addPoolCidr, cidr, family);
  }

  /** Removes an empty pool CIDR. Refused (IN_USE, naming the nodes) while any node holds a subnet in it. */
  removePoolCidr(cidr: string, options?: PoolCidrOptions): void {
    if (this.#m) return this.#m.removePoolCidr(cidr, options);
    const c = this.#core("removePoolCidr");
    if (options !== undefined) defaultPoolOnly("removePoolCidr", options);
    c.store === undefined ? removePoolCidr(c, cidr) : this.#mutate("removePoolCidr", removePoolCidr, cidr);
  }

  /** The pool CIDRs in use, per family. */
  poolCidrs(): { family: 4 | 6; cidrs: string[] }[] {
    if (this.#m) return this.#m.poolCidrs();
    return this.#core("poolCidrs").families.map((f) => ({ family: f.family, cidrs: f.pools.map((p) => String(p.cidr)) }));
  }

  /**
   * The named pools: name, pre-allocation and CIDRs per family. A
   * single-pool ClusterPool has one, `default` (preAllocate 0: its nodes take
   * one subnet each at addNode).
   */
  ipPools(): { name: string; preAllocate: number; families: { family: 4 | 6; cidrs: string[]; maskSize: number }[] }[] {
    if (this.#m) return this.#m.ipPools();
    const c = this.#core("ipPools");
    return [{ name: "default", preAllocate: 0, families: c.families.map((f) => ({ family: f.family, cidrs: f.pools.map((p) => String(p.cidr)), maskSize: f.maskSize })) }];
  }

  /**
   * Adds a named pool at runtime (a new CiliumPodIPPool): nodes it selects
   * take their pre-allocation from it at once. INVALID_OPTION (a bad spec, a
   * name in use), CIDR_COLLISION (a CIDR of another pool). Only on a pool
   * made with options.pools.
   */
  addPool(name: string, spec: IpPoolSpec): void {
    this.#multi("addPool").addPool(name, spec);
  }

  /** Removes a named pool. Refused (IN_USE, naming nodes and owners) while any of its addresses is allocated; UNKNOWN_POOL if there is none. */
  removePool(name: string): void {
    this.#multi("removePool").removePool(name);
  }

  // ------------------------------------------------------------------ CiliumNode import / export

  /** A pool built from options, then restored from CiliumNodes (see importCiliumNodes). */
  static fromCiliumNodes(list: unknown, options: ClusterPoolOptions | MultiPoolOptions): ClusterPool {
    const pool = new ClusterPool(options);
    pool.importCiliumNodes(list);
    return pool;
  }

  /**
   * Restores nodes from `kubectl get ciliumnodes -o json`, in list order,
   * occupying their podCIDRs before any node without CIDRs is served, as
   * Cilium's operator does. A CIDR outside every pool or already taken fails
   * its node (never reassigned) with Cilium's message.
   */
  importCiliumNodes(list: unknown): ImportResult[] {
    if (this.#m) return this.#m.importCiliumNodes(list);
    const c = this.#core("importCiliumNodes");
    return c.store === undefined ? importCiliumNodes(c, list) : this.#mutate("importCiliumNodes", importCiliumNodes, list);
  }

  /** CiliumNode objects for every node, with spec.ipam.podCIDRs and, for failed or pending nodes, status.ipam.operator-status.error. */
  exportCiliumNodes(): CiliumNodeList { return this.#m ? this.#m.exportCiliumNodes() : exportCiliumNodes(this.#core("exportCiliumNodes")); }

  // ------------------------------------------------------------------ numeric fast path

  /** Integer handle of a node for the numeric fast path. Throws UNKNOWN_NODE. Handles of removed nodes are reused. */
  handle(name: string): number {
    if (this.#m) return this.#m.handle(name);
    const n = this.#core("handle").nodes.get(str("handle(name)", name));
    if (n === undefined) throw errors.unknownNode(name);
    return n.id;
  }

  /**
   * Name of the node with this handle, or undefined for an integer that is
   * no node's handle (0, negative, removed). A handle that is not an integer
   * (NaN, 1.5, "1") is INVALID_ARGUMENT.
   */
  nodeName(handle: number): string | undefined {
    if (this.#m) return this.#m.nodeName(handle);
    const c = this.#core("nodeName");
    if (isU32(handle)) return c.byId[handle]?.name;
    if (typeof handle === "number" && Number.isInteger(handle)) return undefined;
    throw errors.invalidArgument("nodeName(handle)", handle, "a node handle (an integer)");
  }

  // Numeric arguments (src/args.ts): a handle must be an integer (else INVALID_ARGUMENT; an
  // integer that is no node's handle: UNKNOWN_NODE); an address a u32 integer (a non-integer:
  // INVALID_ARGUMENT, an integer outside 0..2^32-1: NOT_IN_RANGE); batch arrays Uint32Array;
  // a count an integer from 0 to the array length (default: the length).

  /**
   * Handle of an IP pool for allocateIPv4 / allocateIPv4Batch (their last
   * argument), so that a hot path names a pool without a string per call.
   * Stable while the pool lives, snapshots included. UNKNOWN_POOL if there
   * is none; a single-pool ClusterPool has one, `default` (handle 0).
   */
  poolHandle(name: string): number {
    if (this.#m) return this.#m.poolHandle(name);
    this.#core("poolHandle");
    if (str("poolHandle(name)", name) !== "default") throw errors.unknownPool(name, "this pool has only 'default': give options.pools for named pools");
    return 0;
  }

  /**
   * Allocates an IPv4 pod address (no owner) on the node; returns it as
   * u32, or -1 when the range is full. With named pools, from pool `pool`
   * (a poolHandle; default: pool `default`), a chunk on demand and the
   * watermark as allocate() does; -1 when the pool has no free chunk.
   */
  allocateIPv4(handle: number, pool?: number): number {
    if (this.#m) return this.#m.allocateIPv4(handle, pool);
    const c = this.#core("allocateIPv4");
    if (pool !== undefined) defaultPoolHandle("allocateIPv4", pool);
    // one call site: the core counts (c.numericAllocations, c.counts)
    return c.store === undefined ? allocateIPv4(c, handle) : this.#storedNumeric(c, "allocateIPv4", allocateIPv4, handle);
  }

  /**
   * A per-call numeric call (allocateIPv4, releaseIPv4) on a store-backed
   * pool. The core counts these calls itself (numericAllocations,
   * numericReleases, counts); here they are counted after the journal write
   * instead, which can still fail (IO_ERROR, the call undone), or refuse the
   * call first (READ_ONLY).
   */
  #storedNumeric<R extends number | boolean>(c: PoolCore, call: "allocateIPv4" | "releaseIPv4", fn: Op<R>, arg: number): R {
    const n = this.#counts;
    if (n === undefined) return this.#mutate(call, fn, arg);
    const allocations = c.numericAllocations;
    const releases = c.numericReleases;
    c.counts = undefined;
    let r: R;
    try {
      r = this.#mutate(call, fn, arg);
    } catch (e) {
      if (call === "allocateIPv4") n.fail("pod", e);
      throw e;
    } finally {
      const now = this.#c as PoolCore; // after a rollback, another core
      now.counts = n;
      now.numericAllocations = allocations;
      now.numericReleases = releases;
    }
    if (r === -1) n.failCode("pod", "FULL");
    else if (call === "allocateIPv4") n.pods++;
    else if (r === true) n.releases++;
    return r;
  }

  /** Allocates up to `count` IPv4 pod addresses on the node into out (a Uint32Array). Returns how many (fewer: full). With named pools, from pool `pool` (a poolHandle), chunk by chunk as that many allocateIPv4 calls. */
  allocateIPv4Batch(handle: number, out: Uint32Array, count?: number, pool?: number): number {
    if (this.#m) return this.#m.allocateIPv4Batch(handle, out, count, pool);
    const c = this.#core("allocateIPv4Batch");
    if (pool !== undefined) defaultPoolHandle("allocateIPv4Batch", pool);
    const n = this.#counts;
    if (n === undefined) {
      return c.store === undefined ? allocateIPv4Batch(c, handle, out, count) : this.#mutate("allocateIPv4Batch", allocateIPv4Batch, handle, out, count);
    }
    let done: number;
    try {
      done = c.store === undefined ? allocateIPv4Batch(c, handle, out, count) : this.#mutate("allocateIPv4Batch", allocateIPv4Batch, handle, out, count);
    } catch (e) {
      n.fail("pod", e);
      throw e;
    }
    n.pods += done;
    if (done < (count ?? out.length)) n.failCode("pod", "FULL"); // fewer than asked: the range is full (one failure per call)
    return done;
  }

  /** Releases an IPv4 pod address given as u32. Returns true if it was allocated (false also outside every pool). */
  releaseIPv4(ip: number): boolean {
    if (this.#m) return this.#m.releaseIPv4(ip);
    const c = this.#core("releaseIPv4");
    // one call site: the core counts (c.numericReleases)
    return c.store === undefined ? releaseIPv4(c, ip) : this.#storedNumeric(c, "releaseIPv4", releaseIPv4, ip);
  }

  /** Releases the u32 IPv4 addresses in[0..count). Returns how many were allocated. */
  releaseIPv4Batch(ips: Uint32Array, count?: number): number {
    if (this.#m) return this.#m.releaseIPv4Batch(ips, count);
    const c = this.#core("releaseIPv4Batch");
    const done = c.store === undefined ? releaseIPv4Batch(c, ips, count) : this.#mutate("releaseIPv4Batch", releaseIPv4Batch, ips, count);
    const n = this.#counts;
    if (n !== undefined) n.releases += done;
    return done;
  }

  /** Handle of the node whose subnet holds the u32 IPv4 address, or 0. */
  lookupIPv4(ip: number): number { return this.#m ? this.#m.lookupIPv4(ip) : lookupIPv4(this.#core("lookupIPv4"), ip); }

  /** Writes the node handle (0 = none) of each u32 address ips[k] to out[k] (count: at most both lengths). */
  lookupIPv4Batch(ips: Uint32Array, out: Uint32Array | Int32Array, count?: number): void {
    if (this.#m) return this.#m.lookupIPv4Batch(ips, out, count);
    lookupIPv4Batch(this.#core("lookupIPv4Batch"), ips, out, count);
  }

  // ------------------------------------------------------------------ stats

  /** Used and free subnets and pod addresses per pool CIDR and per node. */
  stats(): ClusterStats {
    if (this.#m) return this.#m.stats();
    const c = this.#core("stats");
    return c.store === undefined ? stats(c) : this.#durable(stats);
  }

  /**
   * Checks that every counter matches a recount of its bitmap, that every
   * slot a node holds points at it, and that every owned address is
   * allocated. Returns the problems found (empty when consistent).
   */
  verify(): string[] { return this.#m ? this.#m.verify() : verify(this.#core("verify")); }

  /**
   * Leaks and consistency, as `calicoctl ipam check` does it: given the
   * live node names and live owners (e.g. "namespace/pod"), returns the
   * nodes that hold subnets (or wait for one) but are not live, the owners
   * that hold addresses but are not live, the allocated addresses no known
   * owner holds (not reserved, not in reuse cooldown), every counter that
   * disagrees with a recount, and verify()'s other findings. A list left
   * out is not compared (its category comes back empty). Changes nothing.
   * `options`: undefined or { nodes?, owners? }, each an array or Set of
   * non-empty strings (else INVALID_ARGUMENT naming it). With named pools
   * it walks the chunks each node holds in each pool; every entry names its
   * pool ("default" for a single-pool ClusterPool).
   */
  check(options?: CheckOptions): CheckReport {
    if (this.#m) return this.#m.check(checkOptions(options));
    return check(this.#core("check"), checkOptions(options));
  }

  /**
   * @internal Usage per pool (one for a single-pool ClusterPool) and pool
   * CIDR for metrics (src/metrics/), read at scrape time; releases what is
   * due first, as stats() does. Brings the counters up to date (the core
   * counts allocateIPv4 successes itself), so read them after.
   */
  _usage(): PoolUsage[] {
    if (this.#m) return this.#m.usage();
    const c = this.#core("_usage");
    const n = this.#counts;
    if (n !== undefined) {
      n.pods += c.numericAllocations - this.#numericCounted.allocations;
      n.releases += c.numericReleases - this.#numericCounted.releases;
      this.#numericCounted = { allocations: c.numericAllocations, releases: c.numericReleases };
    }
    return [c.store === undefined ? usage(c) : this.#durable(usage)];
  }

  /** @internal Starts counting operations for a metrics reader; the same counters for every reader. */
  _countAllocations(): PoolCounters {
    if (this.#m === undefined) this.#core("_countAllocations");
    this.#countReaders++;
    if (this.#counters === undefined) {
      const counters = new PoolCounters(this.#m ? "" : DEFAULT_POOL);
      this.#counters = counters;
      if (this.#m) this.#m.count((name) => counters.of(name));
      else {
        const c = this.#core("_countAllocations");
        c.counts = this.#counts = counters.nodes;
        this.#numericCounted = { allocations: c.numericAllocations, releases: c.numericReleases };
      }
    }
    return this.#counters;
  }

  /** @internal A metrics reader is done; counting stops with the last one (the counts start from 0 again). Also after dispose (a no-op then). */
  _stopCounting(): void {
    if (this.#countReaders > 0 && --this.#countReaders === 0) {
      this.#counters = undefined;
      this.#counts = undefined;
      if (this.#c !== undefined) this.#c.counts = undefined;
      this.#m?.count(undefined);
    }
  }

  /** The pool label a failed allocate counts under with named pools: the pool it names if there is one, else "". */
  #poolLabel(wanted: unknown): string {
    const name = wanted === undefined ? DEFAULT_POOL : isPlainObject(wanted) ? ((wanted as { pool?: unknown }).pool ?? DEFAULT_POOL) : undefined;
    return typeof name === "string" && this.#m?.hasPool(name) === true ? name : "";
  }

  // ------------------------------------------------------------------ snapshots and durable state

  /**
   * The whole state as versioned, checksummed bytes: the options, the pool
   * CIDRs, every node with its pod bitmaps and owner arrays, the owner
   * names, reservations and the reuse cooldown.
   */
  snapshot(generation = 0): Uint8Array {
    if (!isU32(generation)) throw errors.invalidArgument("snapshot(generation)", generation, "an integer from 0 to 2^32-1");
    if (this.#m) return this.#m.snapshot(generation);
    const c = this.#core("snapshot");
    return c.store === undefined ? snapshot(c, generation) : this.#durable(snapshot, generation);
  }

  /**
   * A pool rebuilt from snapshot bytes. `options` may only set runtime
   * parts (clock, engine): anything else, or a bad one, is INVALID_OPTION;
   * the pool options always come from the snapshot. Bytes that are not a
   * Uint8Array: INVALID_ARGUMENT. A truncated, corrupted or wrong-version
   * snapshot throws CORRUPT_STATE and builds nothing; an engine whose memory
   * cannot hold the pool, FULL.
   */
  static restore(bytes: Uint8Array, options?: Pick<ClusterPoolOptions, "clock" | "engine">): ClusterPool {
    if (!(bytes instanceof Uint8Array)) throw errors.invalidArgument("restore(bytes)", bytes, "a Uint8Array");
    const runtime = resolveRuntime(options);
    const { meta, data } = decodeSnapshot(bytes);
    try {
      if (isMultiSnapshot(meta)) {
        adoptingMulti = MultiPool.rebuild(meta, data, runtime);
        return new ClusterPool(undefined as never);
      }
      return ClusterPool.#of(rebuild(meta as SnapshotMeta, data, runtime));
    } catch (e) {
      // FULL: the engine's shared memory cannot hold the pool (nothing in the bytes is wrong)
      if (e instanceof IpamError && (e.code === "CORRUPT_STATE" || e.code === "FULL")) throw e;
      throw errors.corrupt("snapshot", e instanceof Error ? e.message : String(e), e);
    }
  }

  /**
   * The embedded durable default: a pool kept in a snapshot file at `path`
   * plus an append-only journal beside it (FileStore). Opens and recovers
   * what is there, or starts from `options`. The store has one writer: a
   * second open of the same path, from this process or another, throws
   * LOCKED naming the holder's pid, until close(). Every mutation is written
   * whole to the journal before the call returns, so an allocation returned
   * to the caller survives kill -9; with fsync 'always' it also survives
   * power loss. A write that fails (disk full) throws IO_ERROR and leaves
   * the pool as it was before the call. `{ readOnly: true }` opens without
   * the lock and without writing; calls that would change it throw READ_ONLY.
   */
  static open(path: string, options: ClusterPoolOptions | MultiPoolOptions, store: FileStoreOptions = {}): ClusterPool {
    if (typeof options !== "object" || options === null) throw errors.invalidOption("options", `must be an object (got ${show(options)})`);
    return new FileStore<ClusterPool>(path, store).openWith(durableOf(options));
  }

  /** Writes a fresh snapshot and empties the journal (FileStore-backed pools). Throws IO_ERROR; the pool is unchanged. */
  compact(): void {
    if (this.#m) {
      (this.#m.store as FileStore<ClusterPool> | undefined)?.compact(this);
      return;
    }
    this.#core("compact").store?.compact(this);
  }

  /** Flushes and closes the FileStore of a pool made by ClusterPool.open and gives its lock up. A no-op otherwise. */
  close(): void {
    const m = this.#m;
    if (m !== undefined) {
      const s = m.store;
      if (s === undefined) return;
      m.attach(undefined);
      s.close();
      return;
    }
    const store = this.#c?.store;
    if (store === undefined) return;
    this.#attach(undefined);
    store.close();
  }

  /** A call on a store-backed pool that changes it: refused when read-only; its records are written whole or it is undone. */
  #mutate<R>(call: string, fn: Op<R>, a?: unknown, b?: unknown, d?: unknown): R {
    const store = (this.#c as PoolCore).store as FileStore<ClusterPool>;
    if (store.readOnly) throw errors.readOnly(store.path, call);
    return this.#durable(fn, a, b, d);
  }

  /** Runs fn as one journaled call: what it emitted is written in one piece, even when it threw (a node left pending). */
  #durable<R>(fn: Op<R>, a?: unknown, b?: unknown, d?: unknown): R {
    const store = (this.#c as PoolCore).store as FileStore<ClusterPool>;
    store._begin();
    let out: R | undefined;
    let failed = false;
    let error: unknown;
    try {
      out = fn(this.#c as PoolCore, a, b, d);
    } catch (e) {
      failed = true;
      error = e;
    }
    store._commit(); // throws IO_ERROR after putting the pool back
    if (failed) throw error;
    return out as R;
  }

  /**
   * Closes the FileStore (as close()) and gives back the memory the pool
   * holds: an engine the pool made goes with it; on a shared engine
   * (options.engine) every region goes back for the next pool to reuse.
   * Any later call throws INVALID_ARGUMENT; disposing again is a no-op.
   */
  dispose(): void {
    const m = this.#m;
    if (m !== undefined) {
      try {
        this.close();
      } finally {
        this.#m = undefined;
        m.free();
      }
      return;
    }
    const c = this.#c;
    if (c === undefined) return;
    try {
      this.close();
    } finally {
      this.#c = undefined;
      c.release();
    }
  }

  /** dispose(), for `using pool = new ClusterPool(...)`. */
  [disposeSymbol](): void { this.dispose(); }

  /** The named pools, or INVALID_ARGUMENT naming `method` once disposed, INVALID_OPTION for a single-pool ClusterPool. */
  #multi(method: string): MultiPool {
    if (this.#m) return this.#m;
    this.#core(method);
    throw errors.invalidOption("options.pools", `is not set: ${method} needs a ClusterPool made with named pools (new ClusterPool({ pools: { ... } }))`);
  }

  /** The state, or INVALID_ARGUMENT naming `method` once the pool is disposed. */
  #core(method: string): PoolCore {
    const c = this.#c;
    if (c === undefined) throw errors.disposed(`ClusterPool.${method}`, "pool");
    return c;
  }

  /** Journals into `store` from now on (a read-only store journals nothing); undefined: no journal. */
  #attach(store: FileStore<ClusterPool> | undefined): void {
    const c = this.#core("open");
    c.store = store;
    c.log = store && !store.readOnly ? (r) => store._emit(r) : undefined;
  }

  /** Takes the state of `fresh` (a rollback to the state on disk); `fresh` is not used again. */
  #adopt(fresh: ClusterPool): void {
    const old = this.#core("open");
    this.#c = fresh.#core("open");
    this.#c.counts = old.counts;
    this.#c.numericAllocations = old.numericAllocations;
    this.#c.numericReleases = old.numericReleases;
    fresh.#c = undefined;
    old.store = undefined;
    old.log = undefined;
    old.release(); // its memory goes back (a shared engine reuses it)
  }

  /** Re-applies a journal record (recovery). */
  #replay(r: JournalRecord): void {
    replayRecord(this.#core("open"), r);
  }
}

function afterRecovery(c: PoolCore): void {
  tick(c);
  servePending(c);
}
