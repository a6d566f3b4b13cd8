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
 *
 * Every mutation is decided, applied, and handed to the journal hook as an
 * effect record (src/state/records.ts), so replaying a journal runs the
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
import { errors, IpamError } from "./errors.js";
import type { Engine } from "./engine.js";
import { resolveRuntime, type ClusterPoolOptions, type ResolvedOptions } from "./options.js";
import { isU32, str } from "./args.js";
import type { Strategy } from "./wasm.js";
import type { CiliumNodeList, ImportResult } from "./cilium-node.js";
import type { PoolDescriptor } from "./pool-view.js";
import type { JournalRecord } from "./state/records.js";
import { decodeSnapshot } from "./state/snapshot.js";
import { FileStore, type FileStoreOptions } from "./state/file-store.js";
import { PoolCore } from "./pool/core.js";
import { tick, addNode, removeNode, failedCount, nodeDetail, servePending } from "./pool/nodes.js";
import { allocate, release, releaseOwner, addressesOf, lookup } from "./pool/pods.js";
import { reserve, unreserve, addPoolCidr, removePoolCidr } from "./pool/reservations.js";
import { importCiliumNodes, exportCiliumNodes } from "./pool/cilium.js";
import { allocateIPv4, allocateIPv4Batch, releaseIPv4, releaseIPv4Batch, lookupIPv4, lookupIPv4Batch } from "./pool/fast-path.js";
import { stats, verify, describe } from "./pool/stats.js";
import { snapshot, rebuild, type SnapshotMeta } from "./pool/snapshot.js";
import { replay } from "./pool/replay.js";
import type {
  NodeAllocation, PodAddresses, LookupResult, NodeDetail, ClusterStats, RemoveNodeOptions,
} from "./pool/types.js";

export type {
  NodeAllocation, PodAddresses, LookupResult, NodeStatus, RangeUsage, NodeDetail, PoolStats, ClusterStats, RemoveNodeOptions,
} from "./pool/types.js";
export { MAX_POOL_CIDRS } from "./pool/core.js";

const cores = new WeakMap<ClusterPool, PoolCore>();

/** @internal The state behind a pool (src/pool/ modules only). */
export function coreOf(pool: ClusterPool): PoolCore {
  return cores.get(pool) as PoolCore;
}

export class ClusterPool {
  readonly #c: PoolCore;

  /** Validates options (IpamError naming the option) and lays the pools out in a shared memory. */
  constructor(options: ClusterPoolOptions) {
    this.#c = new PoolCore(options);
    cores.set(this, this.#c);
  }

  /** The engine (shared memory) holding this pool's state. */
  get engine(): Engine { return this.#c.engine; }
  /** Nodes that hold subnets (ready or draining). */
  get nodeCount(): number { return this.#c.nodes.size - this.#c.pending.length - failedCount(this.#c); }
  /** Pod strategy in use. */
  get podStrategy(): Strategy { return this.#c.o.podStrategy; }
  /** The options this pool was made with: validated, copied and frozen at construction. */
  get options(): ResolvedOptions { return this.#c.o; }

  /**
   * Releases what is due: quarantined addresses past their cooldown (or
   * deep enough in the queue), draining nodes past their grace. Every
   * mutating call does this first; it costs nothing while nothing waits.
   */
  tick(): void { tick(this.#c); }

  /**
   * What a worker thread needs to open a PoolView on this pool's memory.
   * Structured-cloneable: post it to a worker; the memory is shared, not copied.
   */
  describe(): PoolDescriptor { return describe(this.#c); }

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
  addNode(name: string): NodeAllocation { return addNode(this.#c, name); }

  /**
   * Releases the node's subnets and all its pod addresses; with graceMs,
   * only after that long (the node drains: no new pods; Infinity: until the
   * node is removed again without grace). Returns false for an unknown node
   * (a no-op). `options`: undefined or { graceMs } (INVALID_OPTION).
   */
  removeNode(name: string, options?: RemoveNodeOptions): boolean { return removeNode(this.#c, name, options); }

  /** The node's subnets, status and usage, or undefined. */
  node(name: string): NodeDetail | undefined {
    const node = this.#c.nodes.get(str("node(name)", name));
    return node && nodeDetail(this.#c, node);
  }

  /** Names of all known nodes (pending and failed included), in the order they were added. */
  nodeNames(): string[] { return [...this.#c.nodes.keys()]; }

  /** Names of nodes waiting for a subnet, in the order they will be served. */
  pendingNodes(): string[] { return [...this.#c.pending]; }

  // ------------------------------------------------------------------ pods

  /**
   * Allocates one address per family from the node's subnets to `owner`
   * (e.g. "namespace/pod"). `wanted` asks for specific addresses (at most one
   * per family); other families get the next free one. A sharing node
   * borrows from the subnet with the most free addresses. Throws
   * UNKNOWN_NODE (also for a draining node), FULL (the range, or the shared
   * memory for the owner array), NOT_IN_RANGE, ALREADY_ALLOCATED,
   * INVALID_IP, INVALID_ARGUMENT (node not a string, owner not a non-empty
   * string, wanted not a string or an array of at most one per family); a
   * failed call takes nothing and moves no cursor.
   */
  allocate(node: string, owner: string, wanted?: string | readonly string[]): PodAddresses {
    return allocate(this.#c, node, owner, wanted);
  }

  /**
   * Releases an address. With `owner`, refuses (OWNER_MISMATCH) unless that
   * owner holds it, so a stale delete cannot free a live pod's address.
   * Returns true if it was allocated; releasing a free address, a reserved
   * one or one outside every node subnet is a no-op. Throws INVALID_IP, and
   * INVALID_ARGUMENT for a non-string ip or an owner that is not a non-empty string.
   */
  release(ip: string, owner?: string): boolean { return release(this.#c, ip, owner); }

  /** Releases every address of an owner, in address order; returns them. An unknown owner has none. */
  releaseOwner(owner: string): string[] { return releaseOwner(this.#c, owner); }

  /** Addresses an owner holds. */
  addressesOf(owner: string): string[] { return addressesOf(this.#c, owner); }

  /** Which node (and owner) holds an address; undefined outside every node subnet. Throws INVALID_IP. */
  lookup(ip: string): LookupResult | undefined { return lookup(this.#c, ip); }

  // ------------------------------------------------------------------ reservations and pool growth

  /**
   * Makes a CIDR non-allocatable. A prefix as long as a node subnet or
   * shorter reserves node subnets (carving skips them; an explicit occupy,
   * e.g. a CiliumNode import, may still take them); a longer one reserves
   * pod addresses in whichever node holds that subnet, now or later.
   * Throws NOT_IN_RANGE, IN_USE (a node holds the subnet) or
   * ALREADY_ALLOCATED (a pod holds the address).
   */
  reserve(cidr: string): void { reserve(this.#c, cidr); }

  /** Makes a reserved CIDR allocatable again. Unreserving what is not reserved is a no-op. */
  unreserve(cidr: string): void { unreserve(this.#c, cidr); }

  /**
   * Adds a pool CIDR at runtime to the family it belongs to; pending nodes
   * are served from it. Throws CIDR_COLLISION naming the overlap,
   * FAMILY_MISMATCH if the pool has no family for it, INVALID_CIDR,
   * INVALID_ARGUMENT (not a string), INVALID_OPTION past MAX_POOL_CIDRS.
   */
  addPoolCidr(cidr: string): void;
  /** The earlier form, still accepted: `family` must be 4 or 6 (else INVALID_ARGUMENT) and the CIDR's own (else FAMILY_MISMATCH). */
  addPoolCidr(family: 4 | 6, cidr: string): void;
  addPoolCidr(a: unknown, b?: unknown): void {
    if (b === undefined) return addPoolCidr(this.#c, a);
    if (a !== 4 && a !== 6) throw errors.invalidArgument("addPoolCidr(family, cidr)", a, "4 or 6 (or leave it out: addPoolCidr(cidr))");
    addPoolCidr(this.#c, b, a);
  }

  /** Removes an empty pool CIDR. Refused (IN_USE, naming the nodes) while any node holds a subnet in it. */
  removePoolCidr(cidr: string): void { removePoolCidr(this.#c, cidr); }

  /** The pool CIDRs in use, per family. */
  poolCidrs(): { family: 4 | 6; cidrs: string[] }[] {
    return this.#c.families.map((f) => ({ family: f.family, cidrs: f.pools.map((p) => String(p.cidr)) }));
  }

  // ------------------------------------------------------------------ CiliumNode import / export

  /** A pool built from options, then restored from CiliumNodes (see importCiliumNodes). */
  static fromCiliumNodes(list: unknown, options: ClusterPoolOptions): ClusterPool {
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
  importCiliumNodes(list: unknown): ImportResult[] { return importCiliumNodes(this.#c, list); }

  /** CiliumNode objects for every node, with spec.ipam.podCIDRs and, for failed or pending nodes, status.ipam.operator-status.error. */
  exportCiliumNodes(): CiliumNodeList { return exportCiliumNodes(this.#c); }

  // ------------------------------------------------------------------ numeric fast path

  /** Integer handle of a node for the numeric fast path. Throws UNKNOWN_NODE. Handles of removed nodes are reused. */
  handle(name: string): number {
    const n = this.#c.nodes.get(str("handle(name)", name));
    if (n === undefined) throw errors.unknownNode(name);
    return n.id;
  }

  /**
   * Name of the node with this handle, or undefined for an integer that is
   * no node's handle (0, negative, removed). A handle that is not an integer
   * (NaN, 1.5, "1") is INVALID_ARGUMENT.
   */
  nodeName(handle: number): string | undefined {
    if (isU32(handle)) return this.#c.byId[handle]?.name;
    if (typeof handle === "number" && Number.isInteger(handle)) return undefined;
    throw errors.invalidArgument("nodeName(handle)", handle, "a node handle (an integer)");
  }

  // Numeric arguments (src/args.ts): a handle must be an integer (else INVALID_ARGUMENT; an
  // integer that is no node's handle: UNKNOWN_NODE); an address a u32 integer (a non-integer:
  // INVALID_ARGUMENT, an integer outside 0..2^32-1: NOT_IN_RANGE); batch arrays Uint32Array;
  // a count an integer from 0 to the array length (default: the length).

  /** Allocates an IPv4 pod address (no owner) on the node; returns it as u32, or -1 when the range is full. */
  allocateIPv4(handle: number): number { return allocateIPv4(this.#c, handle); }

  /** Allocates up to `count` IPv4 pod addresses on the node into out (a Uint32Array). Returns how many (fewer: full). */
  allocateIPv4Batch(handle: number, out: Uint32Array, count?: number): number {
    return allocateIPv4Batch(this.#c, handle, out, count);
  }

  /** Releases an IPv4 pod address given as u32. Returns true if it was allocated (false also outside every pool). */
  releaseIPv4(ip: number): boolean { return releaseIPv4(this.#c, ip); }

  /** Releases the u32 IPv4 addresses in[0..count). Returns how many were allocated. */
  releaseIPv4Batch(ips: Uint32Array, count?: number): number { return releaseIPv4Batch(this.#c, ips, count); }

  /** Handle of the node whose subnet holds the u32 IPv4 address, or 0. */
  lookupIPv4(ip: number): number { return lookupIPv4(this.#c, ip); }

  /** Writes the node handle (0 = none) of each u32 address ips[k] to out[k] (count: at most both lengths). */
  lookupIPv4Batch(ips: Uint32Array, out: Uint32Array | Int32Array, count?: number): void {
    lookupIPv4Batch(this.#c, ips, out, count);
  }

  // ------------------------------------------------------------------ stats

  /** Used and free subnets and pod addresses per pool CIDR and per node. */
  stats(): ClusterStats { return stats(this.#c); }

  /**
   * Checks that every counter matches a recount of its bitmap, that every
   * slot a node holds points at it, and that every owned address is
   * allocated. Returns the problems found (empty when consistent).
   */
  verify(): string[] { return verify(this.#c); }

  // ------------------------------------------------------------------ snapshots and durable state

  /**
   * The whole state as versioned, checksummed bytes: the options, the pool
   * CIDRs, every node with its pod bitmaps and owner arrays, the owner
   * names, reservations and the reuse cooldown.
   */
  snapshot(generation = 0): Uint8Array {
    if (!isU32(generation)) throw errors.invalidArgument("snapshot(generation)", generation, "an integer from 0 to 2^32-1");
    return snapshot(this.#c, generation);
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
      return rebuild(meta as SnapshotMeta, data, runtime);
    } catch (e) {
      // FULL: the engine's shared memory cannot hold the pool (nothing in the bytes is wrong)
      if (e instanceof IpamError && (e.code === "CORRUPT_STATE" || e.code === "FULL")) throw e;
      throw errors.corrupt("snapshot", e instanceof Error ? e.message : String(e), e);
    }
  }

  /**
   * The embedded durable default: a pool kept in a snapshot file at `path`
   * plus an append-only journal beside it (FileStore). Opens and recovers
   * what is there, or starts from `options`. Every mutation is journaled
   * before the call returns, so an allocation returned to the caller
   * survives kill -9; with fsync 'always' it also survives power loss.
   */
  static open(path: string, options: ClusterPoolOptions, store: FileStoreOptions = {}): ClusterPool {
    return new FileStore(path, store).open(options);
  }

  /** Writes a fresh snapshot and empties the journal (FileStore-backed pools). */
  compact(): void {
    this.#c.store?.compact(this);
  }

  /** Flushes and closes the FileStore of a pool made by ClusterPool.open. A no-op otherwise. */
  close(): void {
    this.#c.store?.close();
    this._attachStore(undefined);
  }

  /** @internal Attaches the FileStore that journals this pool. */
  _attachStore(store: FileStore | undefined): void {
    this.#c.store = store;
    this.#c.log = store ? (r) => store.append(r) : undefined;
  }

  /** @internal After a recovery: serves pending nodes that fit and releases what is due, as live calls would have. */
  _afterRecovery(): void {
    tick(this.#c);
    servePending(this.#c);
  }

  /** @internal Re-applies a journal record (recovery). */
  _replay(r: JournalRecord): void {
    const log = this.#c.log;
    this.#c.log = undefined;
    this.#c.replaying = true;
    try {
      replay(this.#c, r);
    } finally {
      this.#c.log = log;
      this.#c.replaying = false;
    }
  }
}
