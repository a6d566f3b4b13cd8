// Reserved subnets and addresses, router IPs, and pool growth (addPoolCidr / removePoolCidr).
import { Cidr, parseCidr, parseIp } from "../net/ip.js";
import { errors } from "../errors.js";
import { PoolCidr } from "../alloc/pool-cidr.js";
import { addressKey, keyPool } from "./owners.js";
import { at } from "./options.js";
import { str } from "../args.js";
import { checkNodeMask } from "../alloc/cidr-set.js";
import { PoolCore, MAX_POOL_CIDRS, type FamilyState } from "./core.js";
import { servePending, tick } from "./nodes.js";
import { offsets, applyReservedIPs } from "./reserved-ips.js";

/**
 * Makes a CIDR non-allocatable. A prefix as long as a node subnet or
 * shorter reserves node subnets (carving skips them; an explicit occupy,
 * e.g. a CiliumNode import, may still take them); a longer one reserves
 * pod addresses in whichever node holds that subnet, now or later.
 * Throws NOT_IN_RANGE, IN_USE (a node holds the subnet) or
 * ALREADY_ALLOCATED (a pod holds the address). Reserving it again is a
 * no-op: one unreserve() makes it allocatable.
 */
export function reserve(core: PoolCore, cidr: string): void {
  const c = parseCidr(str("reserve(cidr)", cidr));
  tick(core);
  const fam = core.families.find((f) => f.family === c.family);
  const pools = fam?.pools.filter((p) => p.cidr.overlaps(c)) ?? [];
  if (fam === undefined || pools.length === 0) throw errors.notInRange(cidr, `the IPv${c.family} pool`);
  if (core.reservations.includes(String(c))) return; // reserved already: a no-op (one unreserve undoes it), as with named pools
  if (c.prefix <= fam.slotMask) {
    for (const pool of pools) {
      const [a, b] = pool.set.indices(c);
      for (let s = a; s <= b; s++) {
        const holder = core.byId[pool.nodeAt(s)];
        if (holder) throw errors.inUse(`subnet ${pool.set.indexToCidr(s)}`, `node ${JSON.stringify(holder.name)}`);
      }
    }
    for (const pool of pools) {
      const [a, b] = pool.set.indices(c);
      let set = core.reservedSlots.get(pool.index);
      if (!set) core.reservedSlots.set(pool.index, (set = new Set()));
      for (let s = a; s <= b; s++) set.add(s);
      pool.set.occupy(c);
    }
  } else {
    const pool = pools[0] as PoolCidr;
    const holder = core.byId[pool.nodeAt(pool.slotOfValue(c.network))];
    const sub = holder?.subnets.find((s) => s.pool === pool);
    if (sub) {
      const [a, b] = offsets(core, sub, c);
      const range = pool.range(sub.slot);
      if (a <= b && pool.countRange(range, a, b) > 0) {
        for (let off = a; off <= b; off++) {
          if (pool.hasIndex(range, off)) throw errors.alreadyAllocated(pool.addressOf(sub.base + off));
        }
      }
    }
    fam.reservedIPs.push(c);
    if (sub) applyReservedIPs(core, sub, fam);
  }
  core.reservations.push(String(c));
  core.emit({ op: "reserve", cidr: String(c) });
}

/** Makes a reserved CIDR allocatable again. Unreserving what is not reserved is a no-op. */
export function unreserve(core: PoolCore, cidr: string): void {
  const c = parseCidr(str("unreserve(cidr)", cidr));
  tick(core);
  const fam = core.families.find((f) => f.family === c.family);
  if (fam === undefined) return;
  const i = core.reservations.indexOf(String(c));
  if (i >= 0) core.reservations.splice(i, 1);
  if (c.prefix <= fam.slotMask) {
    for (const pool of fam.pools) {
      if (!pool.cidr.overlaps(c)) continue;
      const set = core.reservedSlots.get(pool.index);
      const [a, b] = pool.set.indices(c);
      for (let s = a; s <= b; s++) {
        if (!set?.delete(s)) continue;
        if (pool.nodeAt(s) === 0) pool.set.releaseIndex(s);
      }
    }
    // what other reservations still cover stays reserved
    for (const r of core.reservations) {
      const rc = parseCidr(r);
      if (rc.family === c.family && rc.prefix <= fam.slotMask && rc.overlaps(c)) reserveSlotsQuiet(core, fam, rc);
    }
  } else {
    const j = fam.reservedIPs.findIndex((r) => String(r) === String(c));
    if (j < 0) return;
    fam.reservedIPs.splice(j, 1);
    for (const pool of fam.pools) {
      if (!pool.cidr.overlaps(c)) continue;
      const holder = core.byId[pool.nodeAt(pool.slotOfValue(c.network))];
      const sub = holder?.subnets.find((s) => s.pool === pool);
      if (!sub) continue;
      const [a, b] = offsets(core, sub, c);
      const range = pool.range(sub.slot);
      for (let off = a; off <= b; off++) {
        const key = addressKey(pool.index, sub.base + off);
        if (key === (sub.routerIP !== undefined ? addressKey(pool.index, pool.relOf(parseIp(sub.routerIP).value)) : -1)) continue;
        if (core.reservedKeys.delete(key) && pool.releaseIndex(range, off)) sub.reserved--;
      }
      applyReservedIPs(core, sub, fam);
    }
  }
  core.emit({ op: "unreserve", cidr: String(c) });
  servePending(core);
}

/**
 * A reservation from a snapshot, in the order they were made: recorded, and
 * applied to the live pool CIDRs it covers (none when its pool CIDR was
 * removed: it waits for one added over it). No checks: no node holds a
 * subnet yet.
 */
export function keepReservation(core: PoolCore, cidr: string): void {
  const c = parseCidr(cidr);
  const fam = core.families.find((f) => f.family === c.family);
  if (fam === undefined) throw errors.notInRange(cidr, `the IPv${c.family} pool`);
  if (c.prefix <= fam.slotMask) reserveSlotsQuiet(core, fam, c);
  else fam.reservedIPs.push(c);
  core.reservations.push(String(c));
}

export function reserveSlotsQuiet(core: PoolCore, fam: FamilyState, c: Cidr): void {
  for (const pool of fam.pools) {
    if (!pool.cidr.overlaps(c)) continue;
    let set = core.reservedSlots.get(pool.index);
    if (!set) core.reservedSlots.set(pool.index, (set = new Set()));
    const [a, b] = pool.set.indices(c);
    for (let s = a; s <= b; s++) {
      set.add(s);
      pool.set.allocateIndex(s);
    }
  }
}

/**
 * Adds a pool CIDR at runtime to the family it belongs to; pending nodes are
 * served from it. `family`, when given (the old addPoolCidr(family, cidr)
 * form), must be the CIDR's. Throws INVALID_ARGUMENT, INVALID_CIDR,
 * FAMILY_MISMATCH (the pool has no such family), CIDR_COLLISION naming the
 * overlap, INVALID_MASK, or INVALID_OPTION past MAX_POOL_CIDRS.
 */
export function addPoolCidr(core: PoolCore, cidr: unknown, family?: 4 | 6): void {
  const text = str("addPoolCidr(cidr)", cidr);
  const c = at("pool CIDR", () => parseCidr(text));
  const want = family ?? c.family;
  if (c.family !== want) throw errors.familyMismatch("pool CIDR", cidr, want);
  const fam = core.families.find((f) => f.family === c.family);
  if (fam === undefined) throw errors.familyMismatch("pool CIDR", cidr, c.family === 4 ? 6 : 4);
  if (core.pools.length >= MAX_POOL_CIDRS) throw errors.invalidOption("pool CIDR", `${String(c)} cannot be added: at most ${MAX_POOL_CIDRS} pool CIDRs over a pool's life (MAX_POOL_CIDRS)`);
  const clash = fam.pools.find((p) => p.cidr.overlaps(c));
  if (clash) throw errors.collision("pool CIDR", String(c), `pool CIDR ${String(clash.cidr)}`);
  at("pool CIDR", () => checkNodeMask(c, fam.slotMask, `node mask of ${String(c)}`));
  tick(core);
  fam.pools.push(core.newPool(c, fam));
  // a pool CIDR added again (or another over a removed one): the subnet reservations that cover it hold there too
  for (const r of core.reservations) {
    const rc = parseCidr(r);
    if (rc.family === c.family && rc.prefix <= fam.slotMask && rc.overlaps(c)) reserveSlotsQuiet(core, fam, rc);
  }
  core.emit({ op: "addPool", family: c.family, cidr: String(c) });
  servePending(core);
}

/**
 * Removes an empty pool CIDR. Refused (IN_USE, naming the nodes) while any
 * node holds a subnet in it. Reservations in it stay (unreserve() ends
 * them): they hold again in a pool CIDR added over them later.
 */
export function removePoolCidr(core: PoolCore, cidr: string): void {
  const c = parseCidr(str("removePoolCidr(cidr)", cidr));
  tick(core);
  const fam = core.families.find((f) => f.family === c.family);
  const pool = fam?.pools.find((p) => String(p.cidr) === String(c));
  if (fam === undefined || pool === undefined) throw errors.notInRange(cidr, "the configured pool CIDRs");
  const holders = [...core.nodes.values()].filter((n) => n.subnets.some((s) => s.pool === pool) || [...(n.borrowed ?? [])].some((k) => keyPool(k) === pool.index));
  if (holders.length > 0) {
    const names = holders.slice(0, 10).map((n) => JSON.stringify(n.name)).join(", ");
    throw errors.inUse(`pool CIDR ${String(c)}`, `${holders.length} node(s): ${names}${holders.length > 10 ? ", ..." : ""}`);
  }
  pool.clear();
  fam.pools.splice(fam.pools.indexOf(pool), 1);
  core.pools[pool.index] = undefined;
  core.removedPools.set(pool.index, { family: pool.family, cidr: String(pool.cidr) });
  core.reservedSlots.delete(pool.index);
  core.emit({ op: "removePool", cidr: String(c) });
}
