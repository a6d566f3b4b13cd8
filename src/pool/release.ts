// Releasing one pod address, by key: the effect that release, releaseOwner,
// node removal, the numeric path and the reuse cooldown share.
import { PoolCidr } from "../alloc/pool-cidr.js";
import { NONE } from "../core/layout.js";
import { addressKey, keyPool, keyRel } from "./owners.js";
import { Quarantine } from "./quarantine.js";
import { PoolCore } from "./core.js";

/** True if the address waits in reuse cooldown for the node that holds its subnet now (entries of a removed node are stale). */
export function inCooldown(core: PoolCore, pool: PoolCidr, rel: number, key: number): boolean {
  const epoch = core.quarantine?.epochOf(key);
  if (epoch === undefined) return false;
  return core.byId[pool.nodeAt(pool.slotOfRel(rel))]?.epoch === epoch;
}

/**
 * Releases one address by key; quarantines it when a reuse cooldown is set
 * and `quarantine`. Journals a "free" record unless `keys` collects the key
 * for one record of the caller's.
 */
export function releaseKey(core: PoolCore, key: number, quarantine: boolean, keys?: number[]): boolean {
  const pool = core.pools[keyPool(key)];
  if (pool === undefined || core.reservedKeys.has(key)) return false;
  const rel = keyRel(key);
  const q = quarantine && core.quarantine !== undefined;
  const o = pool.release(rel, q);
  if (o === NONE) return false;
  if (q && o === 0 && inCooldown(core, pool, rel, key)) return false;
  if (o > 0) core.owners.removeKey(o, key);
  const borrower = core.borrowed.get(key);
  if (borrower !== undefined) {
    core.borrowed.delete(key);
    core.byId[borrower]?.borrowed?.delete(key);
  }
  let epoch = 0;
  if (q) {
    const holder = core.byId[pool.nodeAt(pool.slotOfRel(rel))];
    const sub = holder?.subnets.find((s) => s.pool === pool && rel >= s.base && rel < s.base + s.size);
    epoch = holder?.epoch ?? 0;
    if (sub) sub.quarantined++;
    const now = core.now();
    (core.quarantine as Quarantine).push(key, epoch, now);
    if (keys) keys.push(key);
    else core.emit({ op: "free", keys: [key], q: now });
  } else if (keys) keys.push(key);
  else core.emit({ op: "free", keys: [key] });
  return true;
}

/** A quarantined address leaves the ring: free it if its node is still the same incarnation. */
export function applyExpire(core: PoolCore, key: number, epoch: number): void {
  const pool = core.pools[keyPool(key)];
  if (pool === undefined) return;
  const rel = keyRel(key);
  const holder = core.byId[pool.nodeAt(pool.slotOfRel(rel))];
  if (holder === undefined || holder.epoch !== epoch) return;
  const sub = holder.subnets.find((s) => s.pool === pool && rel >= s.base && rel < s.base + s.size);
  if (pool.release(rel, false) !== NONE && sub) sub.quarantined--;
}

/**
 * Ends the cooldown of one address at once (another process handed it out
 * or ended it; SharedPool's cache follows etcd): out of the ring, and freed
 * if its node is still the incarnation that released it.
 */
export function endCooldown(core: PoolCore, key: number): void {
  const epoch = core.quarantine?.remove(key);
  if (epoch !== undefined) applyExpire(core, key, epoch);
}

/** Forgets that an owner holds a u32 IPv4 address (the numeric path released it in WASM). */
export function dropOwnedIPv4(core: PoolCore, owner: number, ip: number): void {
  for (const pool of core.pools) {
    if (pool?.holds4(ip)) {
      core.owners.removeKey(owner, addressKey(pool.index, (ip >>> 0) - pool.base4));
      return;
    }
  }
}
