/**
 * The multi-pool side of ClusterPool: what `new ClusterPool({ pools })`
 * routes to. Thin: each call goes to the module of src/pool/multi/ that
 * owns it.
 *
 *   options.ts   pools, watermarks, release delays, node selectors
 *   state.ts     MultiCore: pools, table entries, nodes, chunks, owners
 *   chunks.ts    taking chunks, the watermark, the release delay, tick()
 *   pods.ts      addNode/removeNode, allocate/release/releaseOwner/lookup
 *   runtime.ts   addPool/removePool, addPoolCidr/removePoolCidr
 *   cilium.ts    CiliumNode spec.ipam.pools import and export
 *   stats.ts     stats(), node(), verify()
 *   check.ts     check(): stale nodes and owners, orphans, counters
 *   usage.ts     what metrics read at scrape time
 *   snapshot.ts  snapshot() and restore
 */
import { errors } from "../../errors.js";
import { isU32, badU32, str, u32Array, count as countArg } from "../../args.js";
import type { Engine } from "../../core/engine.js";
import type { PodAddresses } from "../types.js";
import type { CiliumNodeList, ImportResult } from "../cilium-node.js";
import { MultiCore, type Group } from "./state.js";
import { resolveMultiOptions, type ResolvedMultiOptions, type IpPoolSpec } from "./options.js";
import { tick } from "./chunks.js";
import { addNode, removeNode, allocate, release, releaseIPv4, releaseOwner, addressesOf, lookup } from "./pods.js";
import { reserve, unreserve } from "./reservations.js";
import { multiDescribe } from "./describe.js";
import type { PoolDescriptor } from "../../alloc/pool-view.js";
import { poolHandle, v4Group, allocateIPv4, allocateIPv4Batch, batchArgs } from "./fast-path.js";
import { addPool, removePool, addPoolCidr, removePoolCidr, poolList } from "./runtime.js";
import { importPools, exportPools } from "./cilium.js";
import { multiStats, multiNodeDetail, multiVerify, type MultiClusterStats } from "./stats.js";
import { multiCheck } from "./check.js";
import { multiUsage } from "./usage.js";
import type { OpCounts, PoolUsage } from "../types.js";
import type { CheckReport } from "../types.js";
import { multiSnapshot, multiEncode, multiRebuild, type MultiSnapshotMeta } from "./snapshot.js";
import type { FileStore } from "../../state/file-store.js";
import { IpamError } from "../../errors.js";
import type { AddNodeOptions, AllocateOptions, MultiNodeAllocation, MultiLookupResult, MultiNodeDetail, PoolCidrOptions } from "./types.js";

/**
 * A journal record of a multi-pool call: the method, its arguments (JSON)
 * and the one clock reading the call ran at. Replaying the calls in order on
 * the snapshot they follow rebuilds the state exactly: every choice is
 * deterministic given the state and the time.
 */
export interface MultiCallRecord {
  readonly op: "mcall";
  readonly m: string;
  readonly a: readonly unknown[];
  readonly t: number;
}

export function isMultiCallRecord(r: unknown): r is MultiCallRecord {
  const x = r as MultiCallRecord | null;
  return typeof x === "object" && x !== null && x.op === "mcall" && typeof x.m === "string" && Array.isArray(x.a) && typeof x.t === "number" && CALLS.has(x.m);
}

/** The calls that change a multi-pool state, which the journal records. */
const CALLS = new Set(["tick", "addNode", "removeNode", "allocate", "release", "releaseOwner", "addPool", "removePool", "addPoolCidr", "removePoolCidr", "importCiliumNodes", "releaseIPv4", "releaseIPv4Batch", "allocateIPv4", "allocateIPv4Batch", "reserve", "unreserve"]);

/** Journal arguments as JSON: undefined as null, Infinity (removeNode's graceMs) as "Infinity". */
const jsonArgs = (a: unknown[]): unknown[] => JSON.parse(JSON.stringify(a.map((v) => (v === undefined ? null : v)), (_k, v: unknown) => (v === Infinity ? "Infinity" : v))) as unknown[];

/** The journal arguments of a hot-path call (see replayArgs): names for a group, the count of a batch, the address of a release. */
function journalArgs(m: string, a: unknown, count: unknown): unknown[] {
  if (m === "releaseIPv4") return [a];
  const g = a as Group;
  return m === "allocateIPv4" ? [g.node.name, g.fam.pool.name] : [g.node.name, count, g.fam.pool.name];
}

/**
 * A record's arguments as the call takes them: null back to undefined,
 * "Infinity" back to Infinity; the fast path's node and pool names (journaled
 * by name: handles are the live process's) back to handles.
 */
function replayArgs(p: MultiPool, r: MultiCallRecord): unknown[] {
  const a = r.a.map((v) => (v === null ? undefined : v));
  switch (r.m) {
    case "releaseIPv4Batch": return [Uint32Array.from(r.a[0] as number[])];
    case "allocateIPv4": return [p.handle(a[0] as string), p.poolHandle(a[1] as string)];
    case "allocateIPv4Batch": return [p.handle(a[0] as string), new Uint32Array(a[1] as number), a[1], p.poolHandle(a[2] as string)];
    case "removeNode": {
      const o = a[1] as { graceMs?: unknown } | undefined;
      return o?.graceMs === "Infinity" ? [a[0], { ...o, graceMs: Infinity }] : a;
    }
    default: return a;
  }
}

export class MultiPool {
  readonly #c: MultiCore;
  /** The FileStore journaling this pool (ClusterPool.open), if any. */
  #store: FileStore<unknown> | undefined;

  constructor(options: unknown, core?: MultiCore) {
    this.#c = core ?? new MultiCore(resolveMultiOptions(options));
  }

  /** A pool rebuilt from a multi-pool snapshot's parts. */
  static rebuild(meta: MultiSnapshotMeta, data: Uint32Array, runtime: { clock?: () => number; engine?: Engine }): MultiPool {
    return new MultiPool(undefined, multiRebuild(meta, data, runtime));
  }

  get engine(): Engine {
    this.#c.escaped = true;
    return this.#c.engine;
  }
  get nodeCount(): number { return this.#c.nodes.size; }
  get options(): ResolvedMultiOptions { return this.#c.o; }

  tick(): void { this.#run("tick", [], () => tick(this.#c), true); }

  addNode(name: string, options?: AddNodeOptions): MultiNodeAllocation { return this.#run("addNode", [name, options], () => addNode(this.#c, name, options)); }
  removeNode(name: string, options?: unknown): boolean { return this.#run("removeNode", [name, options], () => removeNode(this.#c, name, options)); }
  node(name: string): MultiNodeDetail | undefined {
    const n = this.#c.nodes.get(str("node(name)", name));
    return n && multiNodeDetail(this.#c, n);
  }
  nodeNames(): string[] { return [...this.#c.nodes.keys()]; }

  allocate(node: string, owner: string, options?: AllocateOptions): PodAddresses {
    if (!this.#bare()) return this.#run("allocate", [node, owner, options], () => allocate(this.#c, node, owner, options));
    try {
      return allocate(this.#c, node, owner, options);
    } finally {
      this.#unbare();
    }
  }
  release(ip: string, owner?: string): boolean {
    if (!this.#bare()) return this.#run("release", [ip, owner], () => release(this.#c, ip, owner));
    try {
      return release(this.#c, ip, owner);
    } finally {
      this.#unbare();
    }
  }
  releaseOwner(owner: string): string[] { return this.#run("releaseOwner", [owner], () => releaseOwner(this.#c, owner)); }
  addressesOf(owner: string): string[] { return addressesOf(this.#c, owner); }
  lookup(ip: string): MultiLookupResult | undefined { return lookup(this.#c, ip); }

  addPool(name: string, spec: IpPoolSpec): void { this.#run("addPool", [name, spec], () => addPool(this.#c, name, spec)); }
  removePool(name: string): void { this.#run("removePool", [name], () => removePool(this.#c, name)); }
  addPoolCidr(cidr: string, options?: PoolCidrOptions): void { this.#run("addPoolCidr", [cidr, options], () => addPoolCidr(this.#c, cidr, options)); }
  removePoolCidr(cidr: string, options?: PoolCidrOptions): void { this.#run("removePoolCidr", [cidr, options], () => removePoolCidr(this.#c, cidr, options)); }
  describe(): PoolDescriptor { return multiDescribe(this.#c); }
  reserve(cidr: string): void { this.#run("reserve", [cidr], () => reserve(this.#c, cidr)); }
  unreserve(cidr: string): void { this.#run("unreserve", [cidr], () => unreserve(this.#c, cidr)); }
  ipPools(): ReturnType<typeof poolList> { return poolList(this.#c); }
  /** Pool CIDRs per family, all pools together (ClusterPool.poolCidrs). */
  poolCidrs(): { family: 4 | 6; cidrs: string[] }[] {
    const out: { family: 4 | 6; cidrs: string[] }[] = [];
    for (const f of [4, 6] as const) {
      const cidrs = poolList(this.#c).flatMap((p) => p.families.filter((x) => x.family === f).flatMap((x) => x.cidrs));
      if (cidrs.length > 0) out.push({ family: f, cidrs });
    }
    return out;
  }

  importCiliumNodes(list: unknown): ImportResult[] { return this.#run("importCiliumNodes", [list], () => importPools(this.#c, list)); }
  exportCiliumNodes(): CiliumNodeList { return exportPools(this.#c); }

  handle(name: string): number {
    const n = this.#c.nodes.get(str("handle(name)", name));
    if (n === undefined) throw errors.unknownNode(name);
    return n.id;
  }
  nodeName(handle: number): string | undefined {
    if (isU32(handle)) return this.#c.byId[handle]?.name;
    if (typeof handle === "number" && Number.isInteger(handle)) return undefined;
    throw errors.invalidArgument("nodeName(handle)", handle, "a node handle (an integer)");
  }
  lookupIPv4(ip: number): number {
    if (!isU32(ip)) throw badU32("lookupIPv4(ip)", ip);
    return this.#c.table.lookupIPv4(ip);
  }
  lookupIPv4Batch(ips: Uint32Array, out: Uint32Array | Int32Array, count?: number): void {
    u32Array("lookupIPv4Batch(ips)", ips);
    if (!(out instanceof Uint32Array || out instanceof Int32Array)) throw errors.invalidArgument("lookupIPv4Batch(out)", out, "a Uint32Array or Int32Array");
    const n = countArg("lookupIPv4Batch(count)", count, Math.min(ips.length, out.length));
    this.#c.table.lookupIPv4Batch(ips, out, n);
  }
  /** The handle of pool `name` for allocateIPv4 / allocateIPv4Batch. UNKNOWN_POOL if there is none. */
  poolHandle(name: string): number { return poolHandle(this.#c, name); }

  /** One IPv4 address (no owner) of pool `pool` (a pool handle; default: pool `default`) on node `handle`: u32, or -1 when the pool has no free chunk. */
  allocateIPv4(handle: number, pool?: number): number {
    return this.#hot("allocateIPv4", allocateIPv4, v4Group(this.#c, "allocateIPv4", handle, pool));
  }

  /** Up to `count` IPv4 addresses (no owner) of pool `pool` on node `handle` into out; returns how many (fewer: the pool has no free chunk). */
  allocateIPv4Batch(handle: number, out: Uint32Array, count?: number, pool?: number): number {
    const n = batchArgs(out, count);
    return this.#hot("allocateIPv4Batch", allocateIPv4Batch, v4Group(this.#c, "allocateIPv4Batch", handle, pool), out, n);
  }

  releaseIPv4(ip: number): boolean {
    if (!isU32(ip)) throw badU32("releaseIPv4(ip)", ip);
    return this.#hot("releaseIPv4", releaseIPv4, ip);
  }

  /**
   * A hot-path call: without a store, at most one clock reading (none while
   * nothing waits), no closure, no array; with a store, journaled as #run
   * does, the fast path by node and pool name (handles are this process's).
   */
  #hot<A, B, D, R>(m: string, fn: (c: MultiCore, a: A, b: B, d: D) => R, a: A, b?: B, d?: D): R {
    const c = this.#c;
    if (!this.#bare()) return c.inCall ? fn(c, a, b as B, d as D) : this.#run(m, journalArgs(m, a, d), () => fn(c, a, b as B, d as D));
    try {
      return fn(c, a, b as B, d as D);
    } finally {
      this.#unbare();
    }
  }

  releaseIPv4Batch(ips: Uint32Array, count?: number): number {
    u32Array("releaseIPv4Batch(ips)", ips);
    const n = countArg("releaseIPv4Batch(count)", count, ips.length);
    const list = Array.from(ips.subarray(0, n));
    return this.#run("releaseIPv4Batch", [list], () => {
      let freed = 0;
      for (const ip of list) if (releaseIPv4(this.#c, ip)) freed++;
      return freed;
    });
  }

  stats(): MultiClusterStats {
    this.#run("tick", [], () => tick(this.#c), true);
    return multiStats(this.#c);
  }
  verify(): string[] { return multiVerify(this.#c); }
  /** Usage per named pool for metrics, after releasing what is due (as stats()). */
  usage(): PoolUsage[] {
    this.#run("tick", [], () => tick(this.#c), true);
    return multiUsage(this.#c);
  }
  /** Counts allocations and releases per pool into `of(pool)` from now on (undefined: stops). */
  count(of: ((pool: string) => OpCounts) | undefined): void { this.#c.count(of); }
  /** True if a pool of that name exists now. */
  hasPool(name: string): boolean { return this.#c.pools.has(name); }
  /** Leaks and counters (ClusterPool.check); changes nothing (a chunk whose release delay ran out is still held: it holds no address). */
  check(live: { nodes: Set<string> | undefined; owners: Set<string> | undefined }): CheckReport { return multiCheck(this.#c, live); }
  snapshot(generation = 0): Uint8Array {
    if (this.#store !== undefined) this.#run("tick", [], () => tick(this.#c), true); // journaled like any change
    return this.#store !== undefined ? multiEncode(this.#c, generation) : multiSnapshot(this.#c, generation);
  }

  // ------------------------------------------------------------------ journal (ClusterPool.open)

  /** The store journaling this pool from now on (undefined: none). */
  attach(store: FileStore<unknown> | undefined): void { this.#store = store; }
  get store(): FileStore<unknown> | undefined { return this.#store; }
  /** The state as snapshot bytes, as it is (compaction). */
  encode(generation: number): Uint8Array { return multiEncode(this.#c, generation); }

  /** Re-applies a journal record at its time; a call that failed live fails again (and changes what it changed then). */
  replay(r: MultiCallRecord): void {
    const c = this.#c;
    c.fixed = r.t;
    // arguments left out were written as null (no call takes null: such a call fails before it changes anything)
    try {
      (this as unknown as Record<string, (...x: unknown[]) => unknown>)[r.m]!(...replayArgs(this, r));
    } catch (e) {
      if (!(e instanceof IpamError)) throw e;
    } finally {
      c.fixed = NaN;
    }
  }

  /**
   * The hot calls' way around #run's argument array and closure: with no
   * store and outside any call, fixes the clock reading for one call and
   * returns true (the caller clears c.fixed when done); otherwise false.
   */
  #bare(): boolean {
    const c = this.#c;
    if (this.#store !== undefined || c.inCall) return false;
    c.lazy = true; // the clock is read once, and only if something waits (a call that needs no time reads none)
    return true;
  }

  /** Ends a call #bare began. */
  #unbare(): void {
    const c = this.#c;
    c.lazy = false;
    c.fixed = NaN;
  }

  /**
   * Runs one call at one clock reading. With a store: READ_ONLY on a
   * read-only one; the call is journaled when it succeeded, or when it failed
   * after changing something (what was due went back first), in one write
   * before it returns (IO_ERROR puts the pool back as on disk).
   */
  #run<R>(m: string, a: unknown[], fn: () => R, implicit = false): R {
    const c = this.#c;
    if (c.inCall) return fn(); // inside a call or a replay: one time, one record
    let store = this.#store;
    if (store?.readOnly) {
      // a read-only store changes nothing on disk: only what is due is released, in memory (stats, snapshot)
      if (!implicit) throw errors.readOnly(store.path, m);
      store = undefined;
    }
    c.fixed = c.o.clock();
    const t = c.fixed;
    const moved = c.chunksTaken + c.chunksReleased;
    const nodes = c.nodes.size; // a tick may drop a drained node that held no chunk
    const waiting = c.quarantine?.size ?? 0; // or let addresses out of reuse cooldown
    let out: R | undefined;
    let failed = false;
    let error: unknown;
    store?._begin();
    // metrics on a store: what the call counts is taken back if its record cannot be written
    const counted = store !== undefined && c.countsOf !== undefined && this.#saveCounts(c);
    try {
      out = fn();
    } catch (e) {
      failed = true;
      error = e;
    } finally {
      c.fixed = NaN;
    }
    if (store !== undefined) {
      // a tick that gave nothing back changed nothing: no record (a snapshot or stats on a full disk still work)
      const changed = c.chunksTaken + c.chunksReleased !== moved || c.nodes.size !== nodes || (c.quarantine?.size ?? 0) !== waiting;
      if ((!failed && m !== "tick") || changed) store._emit({ op: "mcall", m, a: jsonArgs(a), t });
      try {
        store._commit(); // throws IO_ERROR after putting the pool back
      } catch (e) {
        if (counted) this.#restoreCounts(); // what the call counted did not happen
        throw e;
      }
    }
    if (failed) throw error;
    return out as R;
  }

  /** Gives the memory back (see ClusterPool.dispose). */
  free(): void { this.#c.release(); }

  /** The pools' counters and their counts before a journaled call (reused: no allocation per call). */
  readonly #savedOf: OpCounts[] = [];
  readonly #saved: number[] = [];

  #saveCounts(c: MultiCore): true {
    const of = this.#savedOf;
    const s = this.#saved;
    of.length = 0;
    s.length = 0;
    for (const p of c.pools.values()) {
      if (p.counts === undefined) continue;
      of.push(p.counts);
      s.push(p.counts.pods, p.counts.releases);
    }
    return true;
  }

  /** Puts the counts of #saveCounts back (the same counters: a rolled-back pool counts into them too). */
  #restoreCounts(): void {
    const s = this.#saved;
    this.#savedOf.forEach((k, i) => {
      k.pods = s[2 * i] as number;
      k.releases = s[2 * i + 1] as number;
    });
  }
}
