/**
 * The pool table: the WASM entries of a ClusterPool's pool CIDRs (PoolCidr),
 * in table order, removed ones left empty so indices stay stable. IPv4
 * lookups and releases by u32 address go through it: the core finds the
 * pool CIDR, the slot and the pod range itself, in one call per address or
 * per batch chunk.
 */
import { Cidr, parseIPv4, parseIPv6Groups, parseIp } from "../net/ip.js";
import type { Engine, Chunk } from "../core/engine.js";
import { POOL_BYTES } from "../core/layout.js";
import { PoolCidr } from "./pool-cidr.js";

/** Called by releaseIPv4Batch for each released address that had an owner (owner > 0). */
export type OwnedRelease<C> = (ctx: C, owner: number, ip: number) => void;

export class PoolTable {
  readonly engine: Engine;
  /** Offset of the table in the engine's memory (PoolView descriptors). */
  readonly offset: number;
  /** Entries the table has room for. */
  readonly capacity: number;
  /** The entries in table order; undefined where a pool CIDR was removed. Shared with the caller, who may clear entries. */
  readonly pools: (PoolCidr | undefined)[];
  readonly #w: Engine["wasm"];
  /** releaseIPv4Batch's owner hook while it runs. */
  #owned: OwnedRelease<unknown> | undefined;
  #ctx: unknown;

  /** A table of `capacity` entries in `engine`; `pools` (empty) becomes its list of entries. Throws FULL when the memory cannot grow. */
  constructor(engine: Engine, capacity: number, pools: (PoolCidr | undefined)[] = []) {
    this.engine = engine;
    this.#w = engine.wasm;
    this.capacity = capacity;
    this.pools = pools;
    this.offset = engine.alloc(capacity * POOL_BYTES);
  }

  /** Lays out pool CIDR `cidr` with node slots of /`slotMask` in the next entry. */
  add(cidr: Cidr, slotMask: number): PoolCidr {
    const p = new PoolCidr(this.engine, this.offset, this.pools.length, cidr, slotMask, 0);
    this.pools.push(p);
    return p;
  }

  /** Gives the table region back to the engine (the entries' regions go with PoolCidr.dispose). */
  dispose(): void {
    this.engine.free(this.offset, this.capacity * POOL_BYTES);
  }

  /** The pool CIDR holding the u32 IPv4 address, or undefined. */
  poolOfIPv4(ip: number): PoolCidr | undefined {
    return this.pools[this.#w.findPool4(this.offset, this.pools.length, ip)];
  }

  /**
   * The pool CIDR, slot and rel of an address string (rel -1 past a slot's
   * capped IPv6 range), or undefined outside every pool CIDR. IPv4 goes
   * through the core's table search; IPv6 is matched entry by entry.
   * Throws INVALID_IP for a string that is no address.
   */
  locate(ip: string): { pool: PoolCidr; slot: number; rel: number } | undefined {
    const v4 = parseIPv4(ip);
    if (v4 >= 0) {
      const pool = this.poolOfIPv4(v4);
      if (pool === undefined) return undefined;
      const rel = v4 - pool.base4;
      return { pool, slot: pool.slotOfRel(rel), rel };
    }
    const g = ip.includes(":") ? parseIPv6Groups(ip) : undefined;
    if (g === undefined) {
      parseIp(ip); // throws INVALID_IP
      return undefined;
    }
    for (const pool of this.pools) {
      if (pool === undefined || pool.family !== 6) continue;
      const at = pool.locate6(g);
      if (at !== undefined) return { pool, slot: at.slot, rel: at.rel };
    }
    return undefined;
  }

  /** Node id whose subnet holds the u32 IPv4 address, or 0. */
  lookupIPv4(ip: number): number {
    return this.#w.lookup4(this.offset, this.pools.length, ip);
  }

  /** Node id found by the last locateIPv4 (0 = none). */
  foundNode = 0;
  /** Owner found by the last locateIPv4: -1 if not allocated, 0 if allocated without owner, else the owner id. */
  foundOwner = -1;

  /**
   * Index of the pool CIDR holding the u32 IPv4 address (-1 if none), with
   * its node id and owner in foundNode / foundOwner: one core call.
   */
  locateIPv4(ip: number): number {
    const e = this.engine;
    const at = e.scratch;
    const k = this.#w.lookup4Own(this.offset, this.pools.length, ip, at);
    if (k >= 0) {
      const u32 = e.u32();
      this.foundNode = u32[at >>> 2] as number;
      this.foundOwner = (u32[(at >>> 2) + 1] as number) | 0;
    }
    return k;
  }

  /** Owner of the u32 IPv4 address: -1 if not allocated, 0 if allocated without owner, else the owner id. */
  ownerOfIPv4(ip: number): number {
    return this.#w.owner4(this.offset, this.pools.length, ip);
  }

  /** Releases the u32 IPv4 address. Returns its owner (0 = none), or -1 if it was not allocated. */
  releaseIPv4(ip: number): number {
    return this.#w.release4(this.offset, this.pools.length, ip);
  }

  /**
   * Releases the u32 IPv4 address and drops its key from its owner in the
   * registry whose header is `owners` (Owners.header), forgetting the owner
   * if it then holds nothing: only when no owner has keys beyond its record
   * (Owners.plain). Returns as releaseIPv4.
   */
  releaseIPv4Own(ip: number, owners: number): number {
    return this.#w.release4Own(this.offset, this.pools.length, ip, owners);
  }

  /**
   * Releases the u32 IPv4 addresses ips[0, count). With `owned`, calls
   * owned(ctx, owner, ip) for each released address that had an owner.
   * Returns how many were allocated.
   */
  releaseIPv4Batch<C>(ips: Uint32Array, count: number, owned?: OwnedRelease<C>, ctx?: C): number {
    if (owned === undefined) return this.engine._feed(ips, count, releaseChunk, this);
    this.#owned = owned as OwnedRelease<unknown>;
    this.#ctx = ctx;
    try {
      return this.engine._feed(ips, count, releaseOwnedChunk, this);
    } finally {
      this.#owned = undefined;
      this.#ctx = undefined;
    }
  }

  /** Writes the node id (0 = none) of each u32 address ips[k] to out[k], k < count. */
  lookupIPv4Batch(ips: Uint32Array, out: Uint32Array | Int32Array, count: number): void {
    this.engine._map(ips, out, count, lookupChunk, this);
  }

  /** @internal One chunk of releaseIPv4Batch; owners are written at `out` when `withOwners`. */
  _release(n: number, at: number, out: number, withOwners: boolean): number {
    return this.#w.release4Batch(this.offset, this.pools.length, n, at, withOwners ? out : 0);
  }

  /** @internal One chunk of lookupIPv4Batch. */
  _lookup(n: number, at: number, out: number): number {
    this.#w.lookup4Batch(this.offset, this.pools.length, n, at, out, 0);
    return 0;
  }

  /** @internal Hands the owners of a released chunk to releaseIPv4Batch's hook. */
  _owned(n: number, at: number, out: number): void {
    const owned = this.#owned as OwnedRelease<unknown>;
    const e = this.engine;
    for (let k = 0; k < n; k++) {
      const owner = e._staged(out, k);
      if (owner !== 0 && owner !== 0xffffffff) owned(this.#ctx, owner, e._staged(at, k));
    }
  }
}

const releaseChunk: Chunk<PoolTable> = (t, n, at, out) => t._release(n, at, out, false);
const releaseOwnedChunk: Chunk<PoolTable> = (t, n, at, out) => {
  const freed = t._release(n, at, out, true);
  t._owned(n, at, out);
  return freed;
};
const lookupChunk: Chunk<PoolTable> = (t, n, at, out) => t._lookup(n, at, out);
