// The state of a multi-pool ClusterPool (MultiCore), shared by the modules of
// src/pool/multi/. Every pool CIDR of every named pool is one entry of one
// pool table (PoolCidr: a CidrSet of chunk slots, and a WASM pod range per
// held chunk, with its owner array); owners live in the core's owner
// registry, keyed by addressKey(entry, rel). Nothing per pod is on the JS heap:
// the JS side holds pools, nodes and chunks (one object per node CIDR).
import { Engine } from "../../core/engine.js";
import { PoolCidr } from "../../alloc/pool-cidr.js";
import { PoolTable } from "../../alloc/pool-table.js";
import { Owners } from "../owners.js";
import { POOL_BYTES, STRATEGY_CODE } from "../../core/layout.js";
import { poolCidrBytes, engineBytes, poolPages, MAX_BYTES } from "../memory.js";
import { MAX_POOL_CIDRS } from "../options.js";
import { errors } from "../../errors.js";
import { Quarantine } from "../quarantine.js";
import type { Cidr } from "../../net/ip.js";
import type { ResolvedMultiOptions, ResolvedPool, ResolvedSelector } from "./options.js";
import type { OpCounts } from "../types.js";

/** One family of a named pool: its pool CIDRs (table entries) in order. */
export interface PoolFamily {
  readonly pool: IpPool;
  readonly family: 4 | 6;
  readonly maskSize: number;
  readonly entries: PoolCidr[];
  /** Chunks of this family taken by nodes and given back since the pool was made (stats().ipPools, the simulate report). */
  chunksTaken: number;
  chunksReleased: number;
}

/** A named pool (CiliumPodIPPool). */
export interface IpPool {
  /** The pool's handle (poolHandle): its index in MultiCore.poolById, never reused while the pool lives. */
  readonly id: number;
  readonly name: string;
  readonly families: PoolFamily[];
  readonly preAllocate: number;
  readonly releaseDelayMs: number;
  readonly nodeSelector: ResolvedSelector | undefined;
  /** Allocations and releases of the pool, counted while metrics read them (undefined: not counted, one field test). */
  counts: OpCounts | undefined;
}

/** One CIDR of a pool's maskSize held by a node: a slot of its entry with a pod range. */
export interface Chunk {
  readonly group: Group;
  readonly entry: PoolCidr;
  readonly slot: number;
  readonly cidr: string;
  /** Usable addresses. */
  readonly size: number;
  /** rel of pod offset 0. */
  readonly base: number;
  readonly format: (rel: number) => string;
  /** Clock ms since when the chunk is completely free beyond the watermark; -1 when it is not. */
  excessSince: number;
  /** Unique per chunk taken (reuse cooldown entries name the chunk they wait in: a chunk given back and taken again is another). */
  readonly serial: number;
  /** rel of the node's router address (reserveRouterIP) if this chunk holds it, else -1. */
  router: number;
  /** Addresses of the chunk in reuse cooldown (taken, no owner). */
  cooldown: number;
  /** Addresses of the chunk reserved by reserve() (taken, no owner). */
  reserved: number;
  /** words[usedAt]: the chunk's taken addresses (pods, router, reserved, cooldown), read from its pod range's header (takenIn). */
  readonly words: Uint32Array;
  readonly usedAt: number;
}

/** Addresses taken in the chunk: what entry.used(slot) answers, read straight from the shared memory (no call into WASM). */
export function takenIn(c: Chunk): number {
  return c.words[c.usedAt] as number;
}

/** The chunks a node holds in one family of one pool, in the order it took them. */
export interface Group {
  readonly node: MNode;
  readonly fam: PoolFamily;
  readonly chunks: Chunk[];
  /** How many of its chunks wait for their release delay (excessSince >= 0, in MultiCore.excess). */
  marked: number;
  /**
   * At most how many free addresses the group can lose before a waiting
   * chunk stops being free beyond the watermark (Infinity: none waits; -1:
   * not known, mark again). Set by marking, lowered by each allocation that
   * skips it (settle).
   */
  slack: number;
}

export interface MNode {
  readonly id: number;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly epoch: number;
  /** Per pool family the node draws from (made when it first draws). */
  readonly groups: Map<PoolFamily, Group>;
  /** 'draining' after removeNode with graceMs: no new allocations, no top-ups; its chunks go back at `deadline`. */
  status: "ready" | "draining";
  /** Clock ms at which a draining node is removed (Infinity: when removed again without grace). */
  deadline: number;
}

export class MultiCore {
  readonly o: ResolvedMultiOptions;
  readonly engine: Engine;
  readonly ownEngine: boolean;
  escaped = false;
  memoryBound: number;
  readonly memoryCap: number;
  readonly table: PoolTable;
  /** Table entries in table order; undefined where a pool CIDR was removed. */
  readonly entries: (PoolCidr | undefined)[] = [];
  /** Every entry ever made (regions go back on dispose). */
  readonly allEntries: PoolCidr[] = [];
  readonly famOf = new Map<PoolCidr, PoolFamily>();
  readonly pools = new Map<string, IpPool>();
  /** Pools by handle (IpPool.id); undefined where a pool was removed. */
  readonly poolById: (IpPool | undefined)[] = [];
  /** Nodes draining (removeNode with graceMs). */
  draining = 0;
  /** No draining node is due before this clock reading (a lower bound: tick() scans the nodes only from then on). */
  nextDrain = Infinity;
  readonly nodes = new Map<string, MNode>();
  readonly byId: (MNode | undefined)[] = [undefined];
  readonly freeIds: number[] = [];
  epoch = 0;
  readonly owners: Owners;
  /** Held chunks by addressKey(entry index, slot). */
  readonly chunkAt = new Map<number, Chunk>();
  /** Chunks completely free beyond their watermark, waiting for their release delay. */
  readonly excess = new Set<Chunk>();
  /**
   * No chunk of `excess` is due (excessSince + its pool's releaseDelayMs)
   * before this time: a lower bound, so that the tick every call makes costs
   * one comparison until something may be due. -Infinity: not known yet.
   */
  nextReclaim = -Infinity;
  /** The node allocate() looked up last, by name (cleared when that node goes). */
  lastName: string | undefined;
  lastNode: MNode | undefined;
  /** Groups below their watermark because their family had no free chunk. */
  readonly short = new Set<Group>();
  readonly strategy: number;
  /** Released addresses waiting before reuse (options.reuse), entries named by the chunk's serial. */
  readonly quarantine: Quarantine | undefined;
  /** reserve()d CIDRs, in the order they were reserved. */
  readonly reservations: Cidr[] = [];
  /** Address keys taken by reservations (router addresses, reserve()): release() leaves them alone. */
  readonly reservedKeys = new Set<number>();
  /** The last chunk serial given out. */
  serial = 0;
  /** True while a snapshot is rebuilt: chunks come with their router addresses from the snapshot. */
  rebuilding = false;
  /** Chunks taken and given back since the pool was made (simulation reports). */
  chunksTaken = 0;
  chunksReleased = 0;
  /** The counters of a pool by name while metrics read them (pools added later get theirs too), else undefined. */
  countsOf: ((pool: string) => OpCounts) | undefined = undefined;

  /** Counts allocations and releases per pool from now on into `of(pool)`; undefined stops. */
  count(of: ((pool: string) => OpCounts) | undefined): void {
    this.countsOf = of;
    for (const p of this.pools.values()) p.counts = of?.(p.name);
  }

  constructor(o: ResolvedMultiOptions, planned: readonly { family: 4 | 6; cidr: Cidr; maskSize: number }[] = []) {
    this.o = o;
    this.ownEngine = o.engine === undefined;
    this.memoryBound = engineBytes(MAX_POOL_CIDRS * POOL_BYTES);
    if (o.engine !== undefined) {
      this.engine = o.engine;
      this.memoryCap = Infinity;
    } else {
      let bytes = 0;
      for (const p of o.pools) for (const f of p.families) for (const c of f.cidrs) bytes += poolCidrBytes(c, f.maskSize, f.maskSize);
      for (const p of planned) bytes += poolCidrBytes(p.cidr, p.maskSize, p.maskSize);
      this.engine = Engine._forPool(poolPages(this.memoryBound, bytes));
      const cap = (this.engine.maximumPages as number) * 65536;
      this.memoryCap = cap >= MAX_BYTES ? Infinity : cap;
    }
    this.strategy = STRATEGY_CODE[o.podStrategy];
    this.quarantine = o.reuse === undefined ? undefined : new Quarantine(o.reuse);
    this.table = new PoolTable(this.engine, MAX_POOL_CIDRS, this.entries);
    this.owners = new Owners(this.engine);
    try {
      for (const p of o.pools) this.addPool(p);
    } catch (e) {
      this.release();
      throw e;
    }
  }

  /** Lays out a validated pool (its CIDRs must not overlap others: checked by the caller). */
  addPool(p: ResolvedPool, id = this.poolById.length): IpPool {
    const pool: IpPool = { id, name: p.name, families: [], preAllocate: p.preAllocate, releaseDelayMs: p.releaseDelayMs, nodeSelector: p.nodeSelector, counts: this.countsOf?.(p.name) };
    for (const f of p.families) {
      const fam: PoolFamily = { pool, family: f.family, maskSize: f.maskSize, entries: [], chunksTaken: 0, chunksReleased: 0 };
      pool.families.push(fam);
      for (const c of f.cidrs) this.addEntry(fam, c);
    }
    this.pools.set(p.name, pool);
    this.poolById[id] = pool;
    return pool;
  }

  /** Throws (FULL, INVALID_OPTION) if `cidrs` cannot be added as entries; changes nothing. */
  checkRoom(cidrs: readonly { cidr: Cidr; maskSize: number }[], what: string): void {
    if (this.entries.length + cidrs.length > MAX_POOL_CIDRS) {
      throw errors.invalidOption(what, `would make ${this.entries.length + cidrs.length} pool CIDRs; a ClusterPool holds at most ${MAX_POOL_CIDRS} over its life (MAX_POOL_CIDRS)`);
    }
    const bytes = cidrs.reduce((n, c) => n + poolCidrBytes(c.cidr, c.maskSize, c.maskSize), 0);
    if (this.memoryBound + bytes > this.memoryCap) {
      const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
      throw errors.full(
        `the pool's own memory (${mib(this.memoryCap)}, sized for its pool CIDRs when it was made)`,
        `${what} can take ${mib(bytes)} more; give the pool an engine (options.engine: Engine.create()) to let it grow up to 4 GiB`,
      );
    }
  }

  /** A new table entry for pool CIDR `c` in `fam`. */
  addEntry(fam: PoolFamily, c: Cidr): PoolCidr {
    const e = this.table.add(c, fam.maskSize);
    this.memoryBound += poolCidrBytes(c, fam.maskSize, fam.maskSize);
    this.allEntries.push(e);
    this.famOf.set(e, fam);
    fam.entries.push(e);
    return e;
  }

  /** Takes an entry out of its family and out of lookups (its chunks must be gone). */
  removeEntry(e: PoolCidr): void {
    const fam = this.famOf.get(e) as PoolFamily;
    e.clear();
    fam.entries.splice(fam.entries.indexOf(e), 1);
    this.entries[e.index] = undefined;
  }

  /** A ready node with handle `id` (not yet in `nodes`: the caller adds it when the call succeeds). */
  newNode(id: number, name: string, labels: Readonly<Record<string, string>>, epoch: number): MNode {
    const node: MNode = { id, name, labels, epoch, groups: new Map(), status: "ready", deadline: Infinity };
    this.byId[id] = node;
    return node;
  }

  chunkOf(e: PoolCidr, slot: number): Chunk | undefined {
    return this.chunkSlots[e.index]?.[slot];
  }

  /**
   * The time of the call in progress (one reading of the clock per call, so
   * that a journal can replay it), or NaN between calls (a number field, never
   * undefined: setting it allocates nothing on the hot path).
   */
  fixed = NaN;

  /** True while a call (or a replay) runs at a fixed time. */
  get inCall(): boolean {
    return this.fixed === this.fixed || this.lazy;
  }

  /** True inside a hot-path call (no journal): the first now() reads the clock and fixes the time for the rest of the call. */
  lazy = false;

  now(): number {
    if (this.fixed === this.fixed) return this.fixed;
    const t = this.o.clock();
    if (this.lazy) this.fixed = t;
    return t;
  }

  /** Chunks by table entry index and slot (chunkOf without a Map lookup by a double key). */
  readonly chunkSlots: (Chunk | undefined)[][] = [];

  /** Gives back what the pool holds in its engine (see PoolCore.release). */
  release(): void {
    if (this.ownEngine) {
      if (!this.escaped) this.engine._retire();
      return;
    }
    for (const e of this.allEntries) {
      const size = e.subnet(0, 0).size; // every chunk of an entry has the entry's mask: one size class
      e.dispose(this.engine, size, size);
    }
    this.table.dispose();
    this.owners.release();
  }
}
