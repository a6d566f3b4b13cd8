// Reserved pod addresses (reserve() of a prefix longer than a node subnet):
// taken in every subnet that holds them, now or when a node gets it later.
import type { Cidr } from "../net/ip.js";
import { addressKey } from "./owners.js";
import { PoolCore, type Subnet, type FamilyState } from "./core.js";

/** Pod offsets of a subnet that a CIDR covers, clamped; a > b when none. */
export function offsets(core: PoolCore, sub: Subnet, c: Cidr): [number, number] {
  const lo = sub.pool.relOf(c.network < sub.pool.cidr.network ? sub.pool.cidr.network : c.network);
  const hiRel = sub.pool.relOf(c.last > sub.pool.cidr.last ? sub.pool.cidr.last : c.last);
  const a = Math.max(0, lo - sub.base);
  const b = Math.min(sub.size - 1, (hiRel < 0 ? sub.base + sub.size : hiRel) - sub.base);
  return [a, b];
}

/** Takes the reserved addresses that fall in a subnet. */
export function applyReservedIPs(core: PoolCore, sub: Subnet, fam: FamilyState): void {
  const range = sub.pool.range(sub.slot);
  for (const c of fam.reservedIPs) {
    if (!sub.pool.cidr.overlaps(c) || sub.pool.slotOfValue(c.network) < sub.slot || sub.pool.slotOfValue(c.network) >= sub.slot + sub.run) continue;
    const [a, b] = offsets(core, sub, c);
    if (a > b) continue;
    for (let off = a; off <= b; off++) {
      if (sub.pool.allocateIndex(range, off)) {
        sub.reserved++;
        core.reservedKeys.add(addressKey(sub.pool.index, sub.base + off));
      }
    }
  }
}
