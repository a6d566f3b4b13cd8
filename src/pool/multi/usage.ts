// What metrics read at scrape time with named pools, in the single-pool
// shape (src/pool/usage.ts): per named pool and pool CIDR, chunk slots and
// the addresses of held chunks, what is left to hand out (free addresses
// plus the chunks not taken yet) and how fragmented the free chunks are;
// per pool, the nodes holding its chunks and those short of one. Computed
// from the state when asked.
import type { CidrUsage, PoolUsage } from "../types.js";
import { takenIn, type MultiCore } from "./state.js";
import { slotReserved } from "./reserved.js";

/** Usage of every named pool (in the order pools were added), each pool CIDR in table order. Call tick() first, as stats() does. */
export function multiUsage(core: MultiCore): PoolUsage[] {
  // one pass over the held chunks: addresses per table entry
  // taken = pods + reserved (reserve() and the router address, as the single pool counts it) + cooldown
  const per = new Map<number, { used: number; free: number; cooldown: number; reserved: number; capacity: number }>();
  for (const c of core.chunkAt.values()) {
    let a = per.get(c.entry.index);
    if (a === undefined) per.set(c.entry.index, (a = { used: 0, free: 0, cooldown: 0, reserved: 0, capacity: 0 }));
    const taken = takenIn(c);
    const reserved = c.reserved + (c.router >= 0 ? 1 : 0);
    a.used += taken - reserved - c.cooldown;
    a.free += c.size - taken;
    a.cooldown += c.cooldown;
    a.reserved += reserved;
    a.capacity += c.size;
  }
  const out: PoolUsage[] = [];
  for (const pool of core.pools.values()) {
    const cidrs: CidrUsage[] = [];
    for (const fam of pool.families) {
      for (const e of fam.entries) {
        const { used, free, cooldown, reserved, capacity } = per.get(e.index) ?? { used: 0, free: 0, cooldown: 0, reserved: 0, capacity: 0 };
        // chunk slots held by reserve() (taken in the set, so counted in used too, as the single pool's)
        let slotsReserved = 0;
        if (core.reservations.length > 0) for (let s = 0; s < e.set.capacity; s++) if (core.chunkOf(e, s) === undefined && slotReserved(core, e, s)) slotsReserved++;
        const runs = e.set._freeRuns(0); // a chunk is one slot: every free slot can be handed out
        const slotsFree = e.set.free;
        cidrs.push({
          pool: pool.name,
          family: fam.family,
          cidr: String(e.cidr),
          nodeMaskSize: fam.maskSize,
          subnets: { used: e.set.used, free: slotsFree, reserved: slotsReserved, capacity: e.set.capacity },
          addresses: { used, free, cooldown, reserved, capacity },
          remaining: free + slotsFree * e.subnet(0, 0).size,
          largestFreeRun: runs.largest,
          freeNodeSubnets: runs.runs,
        });
      }
    }
    let ready = 0, pending = 0;
    for (const node of core.nodes.values()) {
      let holds = false, short = false;
      for (const fam of pool.families) {
        const g = node.groups.get(fam);
        if (g === undefined) continue;
        if (g.chunks.length > 0) holds = true;
        if (core.short.has(g)) short = true;
      }
      if (holds) ready++;
      if (short) pending++;
    }
    const chunks = pool.families.map((f) => ({ family: f.family, taken: f.chunksTaken, released: f.chunksReleased }));
    out.push({ pool: pool.name, cidrs, nodes: { ready, draining: 0, pending, failed: 0 }, chunks });
  }
  return out;
}
