// describe() with named pools: the same PoolDescriptor as a single pool's
// (src/alloc/pool-view.ts), one entry per pool CIDR of every pool, each with
// its pool's name and chunk mask as the node mask. A worker's PoolView looks
// addresses up to node handles (lookupIPv4) and owners (ownerOfIPv4).
import type { PoolDescriptor } from "../../alloc/pool-view.js";
import type { PoolCidr } from "../../alloc/pool-cidr.js";
import type { MultiCore, PoolFamily } from "./state.js";

export function multiDescribe(core: MultiCore): PoolDescriptor {
  core.escaped = true; // an engine the caller has seen is never reused for another pool
  const live = core.entries.filter((e): e is PoolCidr => e !== undefined);
  // workers may carve chunk slots concurrently from now on: CAS on the slot bitmaps
  for (const e of live) e.set.share();
  return {
    memory: core.engine.memory,
    table: core.table.offset,
    tableEntries: core.entries.length,
    podStrategy: core.o.podStrategy,
    owners: core.owners.header,
    pools: live.map((e) => {
      const g = e.subnet(0, 0);
      return {
        index: e.index, entry: e.entry, family: e.family, cidr: String(e.cidr), nodeMask: e.slotMask,
        base4: e.base4, hostBits: e.hostBits, first: g.first, podBits: g.size,
        slots: e.set.capacity, nodeBitmap: e.nodeBitmap, pool: (core.famOf.get(e) as PoolFamily).pool.name,
      };
    }),
  };
}
