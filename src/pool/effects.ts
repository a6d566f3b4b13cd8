/**
 * The effect adapter: what a store outside the process (SharedPool, src/shared/)
 * needs of a ClusterPool it keeps as a cache. It sees the effect records
 * (src/pool/records.ts) a call applies, re-applies records that other
 * processes made, and names the blocks (node subnets, the unit of
 * compare-and-swap) and the addresses in them. It knows no store.
 *
 * A block is named by its pool table index and its first slot, as in a
 * PlacedSubnet; an address in it by its offset from the block's first pod
 * address (offset 0 is .1 of an IPv4 /24: network and broadcast are not pod addresses).
 */
import type { ClusterPool } from "./cluster-pool.js";
import { poolCore } from "./cluster-pool.js";
import type { JournalRecord, PlacedSubnet } from "./records.js";
import { replayRecord } from "./replay.js";
import { endCooldown, inCooldown } from "./release.js";
import { addressKey, keyPool, keyRel } from "./owners.js";
import { NONE } from "../core/layout.js";
import { placementOf, type PoolCore, type Subnet } from "./core.js";
import type { NodeStatus } from "./types.js";

/** What a call did: its result or its error, and the records of what it applied (also when it threw). */
export type Effects<R> =
  | { readonly ok: true; readonly value: R; readonly records: JournalRecord[] }
  | { readonly ok: false; readonly error: unknown; readonly records: JournalRecord[] };

/** Runs fn on the pool and collects the records it emits. */
export function capture<R>(pool: ClusterPool, fn: (p: ClusterPool) => R): Effects<R> {
  const c = poolCore(pool);
  const records: JournalRecord[] = [];
  const before = c.log;
  c.log = (r) => records.push(r);
  try {
    return { ok: true, value: fn(pool), records };
  } catch (error) {
    return { ok: false, error, records };
  } finally {
    c.log = before;
  }
}

/** Re-applies a record made elsewhere, as journal replay does (no implicit serving of pending nodes). */
export function apply(pool: ClusterPool, r: JournalRecord): void {
  replayRecord(poolCore(pool), r);
}

/**
 * Re-applies a "node" record whose placement was occupied (a CiliumNode
 * import's podCIDRs), not carved: the next-fit cursors stay where they are,
 * as they did when it was made (replay moves them past a carved placement).
 */
export function applyOccupied(pool: ClusterPool, r: Extract<JournalRecord, { op: "node" }>): void {
  replayRecord(poolCore(pool), { ...r, occupied: true });
}

/** A node as a store keeps it. */
export interface NodeRecord {
  readonly status: NodeStatus;
  readonly placed: readonly PlacedSubnet[];
  readonly error?: string;
}

/** The node as the cache has it, or undefined. */
export function nodeRecord(pool: ClusterPool, name: string): NodeRecord | undefined {
  const n = poolCore(pool).nodes.get(name);
  if (n === undefined) return undefined;
  return { status: n.status, placed: placementOf(n), ...(n.error !== undefined ? { error: n.error } : {}) };
}

/**
 * Keeps draining node `name` until it is removed by hand (its deadline set
 * to never): a store that completes drains itself (SharedPool: one
 * transaction per node, by whichever process sees the deadline pass) holds
 * the real deadline, so that tick() in a cache never drops a node as a side effect.
 */
export function holdDrain(pool: ClusterPool, name: string): void {
  const n = poolCore(pool).nodes.get(name);
  if (n !== undefined && n.status === "draining") n.deadline = Infinity;
}

/** How many blocks hold addresses node `name` borrowed ('share' overflow): its removal writes each. */
export function borrowedBlocks(pool: ClusterPool, name: string): number {
  const c = poolCore(pool);
  const n = c.nodes.get(name);
  if (n?.borrowed === undefined || n.borrowed.size === 0) return 0;
  const seen = new Set<Subnet>();
  for (const key of n.borrowed) {
    const at = subnetOfKey(c, key);
    if (at !== undefined) seen.add(at.s);
  }
  return seen.size;
}

/** Names of pending nodes, in the order they will be served. */
export function pendingOrder(pool: ClusterPool): readonly string[] {
  return poolCore(pool).pending;
}

/** The block an address key lies in: pool index, first slot, and the offset of the address; undefined if no node holds it. */
export function blockOfKey(pool: ClusterPool, key: number): { pool: number; slot: number; off: number; node: string } | undefined {
  const c = poolCore(pool);
  const sub = subnetOfKey(c, key);
  if (sub === undefined) return undefined;
  return { pool: sub.s.pool.index, slot: sub.s.slot, off: keyRel(key) - sub.s.base, node: sub.node };
}

function subnetOfKey(c: PoolCore, key: number): { s: Subnet; node: string } | undefined {
  const p = c.pools[keyPool(key)];
  if (p === undefined) return undefined;
  const rel = keyRel(key);
  const holder = c.byId[p.nodeAt(p.slotOfRel(rel))];
  const s = holder?.subnets.find((x) => x.pool === p && rel >= x.base && rel < x.base + x.size);
  return s === undefined || holder === undefined ? undefined : { s, node: holder.name };
}

function subnetAt(c: PoolCore, poolIndex: number, slot: number): { s: Subnet; node: string } | undefined {
  const p = c.pools[poolIndex];
  if (p === undefined || slot < 0 || slot >= p.set.capacity) return undefined;
  const holder = c.byId[p.nodeAt(slot)];
  const s = holder?.subnets.find((x) => x.pool === p && x.slot === slot);
  return s === undefined || holder === undefined ? undefined : { s, node: holder.name };
}

/** The node that holds the block starting at (pool, slot), its size and its reserved offsets; undefined if none. */
export function blockAt(pool: ClusterPool, poolIndex: number, slot: number): { node: string; size: number; cidr: string } | undefined {
  const at = subnetAt(poolCore(pool), poolIndex, slot);
  return at && { node: at.node, size: at.s.size, cidr: at.s.cidr };
}

/** The address key of offset `off` in the block at (pool, slot); undefined if no node holds that block. */
export function keyInBlock(pool: ClusterPool, poolIndex: number, slot: number, off: number): number | undefined {
  const at = subnetAt(poolCore(pool), poolIndex, slot);
  if (at === undefined || off < 0 || off >= at.s.size) return undefined;
  return addressKey(poolIndex, at.s.base + off);
}

/** True if the slots of a placement are free in the cache (a remote node may take them). */
export function slotsFree(pool: ClusterPool, placed: readonly PlacedSubnet[]): boolean {
  const c = poolCore(pool);
  for (const p of placed) {
    if (p.pool < 0) continue;
    const q = c.pools[p.pool];
    if (q === undefined || p.slot + (1 << p.k) > q.set.capacity) return false;
    for (let s = p.slot; s < p.slot + (1 << p.k); s++) if (q.nodeAt(s) !== 0) return false;
  }
  return true;
}

/**
 * Allocated addresses of the block at (pool, slot) as offset -> owner ("" for none), reserved ones
 * (router IPs) and those in reuse cooldown left out. With `more`: the latter go into `more.cooling`
 * as offset -> release time, and addresses lent to another node ('share' overflow) into `more.lent`
 * as offset -> the borrowing node.
 */
export function blockEntries(pool: ClusterPool, poolIndex: number, slot: number, more?: { cooling: Map<number, number>; lent: Map<number, string> }): Map<number, string> {
  const c = poolCore(pool);
  const out = new Map<number, string>();
  const at = subnetAt(c, poolIndex, slot);
  if (at === undefined) return out;
  const p = at.s.pool;
  const q = c.quarantine !== undefined && c.quarantine.size > 0 ? c.quarantine : undefined;
  for (let off = 0; off < at.s.size; off++) {
    const rel = at.s.base + off;
    const o = p.owner(rel);
    if (o === NONE) continue;
    const key = addressKey(p.index, rel);
    if (c.reservedKeys.has(key)) continue;
    if (q !== undefined && o === 0 && inCooldown(c, p, rel, key)) {
      more?.cooling.set(off, q.timeOf(key) as number);
      continue;
    }
    out.set(off, o > 0 ? (c.owners.nameOf(o) ?? "") : "");
    const borrower = c.borrowed.size > 0 ? c.borrowed.get(key) : undefined;
    if (borrower !== undefined && more !== undefined) more.lent.set(off, c.byId[borrower]?.name ?? "");
  }
  return out;
}

/** Ends the reuse cooldown of an address key at once (it leaves the queue and is freed). */
export function endCooldownOf(pool: ClusterPool, key: number): void {
  endCooldown(poolCore(pool), key);
}

/** True if the pool has a reuse cooldown (options.reuse). */
export function hasCooldown(pool: ClusterPool): boolean {
  return poolCore(pool).quarantine !== undefined;
}

/** The owner of a key ("" for none), or undefined when it is free. */
export function ownerOfKey(pool: ClusterPool, key: number): string | undefined {
  const c = poolCore(pool);
  const p = c.pools[keyPool(key)];
  if (p === undefined) return undefined;
  const o = p.owner(keyRel(key));
  if (o === NONE) return undefined;
  return o > 0 ? (c.owners.nameOf(o) ?? "") : "";
}

/** The pool options as JSON (no engine, no clock): what every process of a shared pool must agree on. */
export function optionsJsonOf(pool: ClusterPool): Record<string, unknown> {
  return poolCore(pool).json;
}

/** The text of an address key. */
export function addressOfKey(pool: ClusterPool, key: number): string {
  const p = poolCore(pool).pools[keyPool(key)];
  return p === undefined ? `key ${key}` : p.addressOf(keyRel(key));
}
