// Reserved ranges with named pools, the parts chunks.ts and snapshots need:
// which chunk slots a reservation holds (a prefix as long as the pool's
// chunk mask or shorter: the slots are taken, never handed out as chunks),
// and which addresses (a longer prefix: taken in whichever node holds that
// chunk, now or later, never handed out as pod addresses).
import { addressKey } from "../owners.js";
import type { Cidr } from "../../net/ip.js";
import type { PoolCidr } from "../../alloc/pool-cidr.js";
import type { MultiCore, Chunk } from "./state.js";

/** True if the reservation holds whole chunk slots of entry `e` (its prefix is at most the pool's chunk mask). */
export function holdsSlots(core: MultiCore, e: PoolCidr, r: Cidr): boolean {
  return r.prefix <= (core.famOf.get(e) as { maskSize: number }).maskSize;
}

/** True if slot `s` of entry `e` lies in a reservation that holds slots. */
export function slotReserved(core: MultiCore, e: PoolCidr, s: number): boolean {
  for (const r of core.reservations) {
    if (r.family !== e.family || !e.cidr.overlaps(r) || !holdsSlots(core, e, r)) continue;
    const [a, b] = e.set.indices(r);
    if (s >= a && s <= b) return true;
  }
  return false;
}

/** The rels of chunk c that reservation r (an address-level one) covers, [from, to] (from > to: none). */
export function relsIn(c: Chunk, r: Cidr): [number, number] {
  const e = c.entry;
  if (r.family !== e.family || !e.cidr.overlaps(r) || holdsSlotsOf(c, r) || e.slotOfValue(r.network) !== c.slot) return [1, 0];
  const lo = e.relOf(r.network);
  const hi = e.relOf(r.last);
  if (lo < 0) return [1, 0]; // past an IPv6 chunk's capped range
  return [Math.max(lo, c.base), Math.min(hi < 0 ? c.base + c.size - 1 : hi, c.base + c.size - 1)];
}

const holdsSlotsOf = (c: Chunk, r: Cidr): boolean => r.prefix <= c.group.fam.maskSize;

/** True if rel of chunk c lies in an address reservation. */
export function relReserved(core: MultiCore, c: Chunk, rel: number): boolean {
  for (const r of core.reservations) {
    const [a, b] = relsIn(c, r);
    if (rel >= a && rel <= b) return true;
  }
  return false;
}

/** A chunk just taken: takes the reserved addresses that fall in it. */
export function occupyReserved(core: MultiCore, c: Chunk): void {
  for (const r of core.reservations) {
    const [a, b] = relsIn(c, r);
    for (let rel = a; rel <= b; rel++) {
      if (c.entry.allocate(rel, 0) !== 1) continue; // the router address, or another reservation's
      core.reservedKeys.add(addressKey(c.entry.index, rel));
      c.reserved++;
    }
  }
}

/** A chunk rebuilt from a snapshot (its bits are loaded): its reserved addresses are known as such again. */
export function markReserved(core: MultiCore, c: Chunk): void {
  for (const r of core.reservations) {
    const [a, b] = relsIn(c, r);
    for (let rel = a; rel <= b; rel++) if (rel !== c.router) core.reservedKeys.add(addressKey(c.entry.index, rel));
  }
}

/** A pool CIDR just added (or rebuilt): takes the slots the reservations hold in it. */
export function occupySlots(core: MultiCore, e: PoolCidr): void {
  for (const r of core.reservations) {
    if (r.family !== e.family || !e.cidr.overlaps(r) || !holdsSlots(core, e, r)) continue;
    const [a, b] = e.set.indices(r);
    for (let s = a; s <= b; s++) if (!e.set.hasIndex(s)) e.set.allocateIndex(s);
  }
}
