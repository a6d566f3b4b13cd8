// reserve(cidr) / unreserve(cidr) with named pools. A reserved range is never
// handed out: a prefix as long as the pool's chunk mask or shorter takes the
// chunk slots (refused with IN_USE while a node holds one); a longer one takes
// the addresses in whichever node holds that chunk, now or later (refused
// with ALREADY_ALLOCATED while a pod holds one). As the single pool's.
import { parseCidr, type Cidr } from "../../net/ip.js";
import { errors, show } from "../../errors.js";
import { str } from "../../args.js";
import { addressKey } from "../owners.js";
import { NONE } from "../../core/layout.js";
import type { PoolCidr } from "../../alloc/pool-cidr.js";
import type { MultiCore } from "./state.js";
import { tick, evaluate, settle, topUpAll } from "./chunks.js";
import { holdsSlots, slotReserved, relsIn, relReserved, occupyReserved } from "./reserved.js";

/** The pool CIDRs (table entries) a CIDR overlaps. */
function entriesOver(core: MultiCore, c: Cidr): PoolCidr[] {
  const out: PoolCidr[] = [];
  for (const e of core.entries) if (e !== undefined && e.family === c.family && e.cidr.overlaps(c)) out.push(e);
  return out;
}

/** Makes a CIDR non-allocatable (see the file's head). Throws NOT_IN_RANGE (outside every pool CIDR), IN_USE, ALREADY_ALLOCATED; reserving it again is a no-op. */
export function reserve(core: MultiCore, cidr: string): void {
  const c = parseCidr(str("reserve(cidr)", cidr));
  tick(core);
  const hit = entriesOver(core, c);
  if (hit.length === 0) throw errors.notInRange(cidr, `the IPv${c.family} pool CIDRs`);
  if (core.reservations.some((r) => String(r) === String(c))) return;
  // decide first: nothing is taken unless all of it can be
  for (const e of hit) {
    const pool = core.famOf.get(e)?.pool.name;
    if (holdsSlots(core, e, c)) {
      const [a, b] = e.set.indices(c);
      for (let s = a; s <= b; s++) {
        const ch = core.chunkOf(e, s);
        if (ch !== undefined) throw errors.inUse(`chunk ${ch.cidr} of pool ${show(pool)}`, `node ${show(ch.group.node.name)}`);
      }
    } else {
      const ch = core.chunkOf(e, e.slotOfValue(c.network));
      if (ch === undefined) continue;
      const [a, b] = relsIn(ch, c);
      for (let rel = a; rel <= b; rel++) {
        if (e.owner(rel) !== NONE && !core.reservedKeys.has(addressKey(e.index, rel))) throw errors.alreadyAllocated(e.addressOf(rel));
      }
    }
  }
  core.reservations.push(c);
  for (const e of hit) {
    if (holdsSlots(core, e, c)) {
      const [a, b] = e.set.indices(c);
      for (let s = a; s <= b; s++) if (!e.set.hasIndex(s)) e.set.allocateIndex(s);
    } else {
      const ch = core.chunkOf(e, e.slotOfValue(c.network));
      if (ch === undefined) continue;
      occupyReserved(core, ch);
      // fewer free addresses: the watermark may want another chunk, and the chunk is no longer completely free
      settle(core, ch.group, core.now());
    }
  }
}

/** Makes a reserved CIDR allocatable again (what other reservations cover stays reserved). Unreserving what is not reserved is a no-op. */
export function unreserve(core: MultiCore, cidr: string): void {
  const c = parseCidr(str("unreserve(cidr)", cidr));
  tick(core);
  const i = core.reservations.findIndex((r) => String(r) === String(c));
  if (i < 0) return;
  core.reservations.splice(i, 1);
  const now = core.now();
  for (const e of entriesOver(core, c)) {
    if (holdsSlots(core, e, c)) {
      const [a, b] = e.set.indices(c);
      for (let s = a; s <= b; s++) if (core.chunkOf(e, s) === undefined && !slotReserved(core, e, s)) e.set.releaseIndex(s);
      continue;
    }
    const ch = core.chunkOf(e, e.slotOfValue(c.network));
    if (ch === undefined) continue;
    const [a, b] = relsIn(ch, c);
    for (let rel = a; rel <= b; rel++) {
      const key = addressKey(e.index, rel);
      if (rel === ch.router || relReserved(core, ch, rel) || !core.reservedKeys.delete(key)) continue;
      e.release(rel, false);
      ch.reserved--;
    }
    evaluate(core, ch.group, now);
  }
  topUpAll(core); // freed slots: nodes below their watermark take them
}
