// describe() with named pools: the same PoolDescriptor as a single pool's
// (src/alloc/pool-view.ts), one entry per pool CIDR of every pool, each with
// its pool's name and chunk mask as the node mask. A worker's PoolView looks
// addresses up to node handles (lookupIPv4) and owners (ownerOfIPv4).
import { poolDescriptor, type PoolDescriptor } from "../../alloc/pool-view.js";
import type { PoolCidr } from "../../alloc/pool-cidr.js";
import type { MultiCore, PoolFamily } from "./state.js";

export function multiDescribe(core: MultiCore): PoolDescriptor {
  core.escaped = true; // an engine the caller has seen is never reused for another pool
  const live = core.entries.filter((e): e is PoolCidr => e !== undefined);
  return poolDescriptor(core.engine.memory, core.table.offset, core.entries.length, core.o.podStrategy, core.owners.header,
    live.map((p) => ({ p, k: 0, pool: (core.famOf.get(p) as PoolFamily).pool.name })));
}
