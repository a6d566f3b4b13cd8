// What metrics read at scrape time: per pool CIDR, node subnets and pod
// addresses (as stats() counts them), what is left to hand out (free
// addresses plus the node subnets not yet carved) and how fragmented the
// free node subnets are. Computed from the state when asked, never kept up
// to date on the hot path.
import { PoolCore } from "./core.js";
import { tick } from "./nodes.js";
import type { CidrUsage, PoolUsage } from "./types.js";

export type { CidrUsage, PoolUsage } from "./types.js";

/** The name of a ClusterPool's one pool (Cilium's cluster-pool has one; multi-pool names more). */
export const DEFAULT_POOL = "default";

/** Usage of every pool CIDR, after releasing what is due (as stats() does). */
export function usage(core: PoolCore): PoolUsage {
  tick(core);
  const per = new Map<number, { used: number; free: number; cooldown: number; reserved: number; capacity: number }>();
  const nodes = { ready: 0, draining: 0, pending: 0, failed: 0 };
  for (const n of core.nodes.values()) {
    nodes[n.status]++;
    for (const s of n.subnets) {
      let a = per.get(s.pool.index);
      if (a === undefined) per.set(s.pool.index, (a = { used: 0, free: 0, cooldown: 0, reserved: 0, capacity: 0 }));
      const taken = s.pool.used(s.slot);
      a.used += taken - s.reserved - s.quarantined;
      a.free += s.size - taken;
      a.cooldown += s.quarantined;
      a.reserved += s.reserved;
      a.capacity += s.size;
    }
  }
  const cidrs: CidrUsage[] = [];
  for (const f of core.families) {
    // big subnets left under maxNodeSubnets, taken by the pool CIDRs in order (as carving does)
    let bigLeft = f.maxBig - f.big;
    const run = 2 ** f.k;
    for (const p of f.pools) {
      const a = per.get(p.index) ?? { used: 0, free: 0, cooldown: 0, reserved: 0, capacity: 0 };
      const runs = p.set._freeRuns(f.k);
      const carvable = Math.max(0, Math.min(runs.runs, bigLeft));
      bigLeft -= carvable;
      const free = p.set.free;
      let remaining = a.free + carvable * p.subnet(0, f.k).size;
      if (f.overflow === "smaller") remaining += (free - carvable * run) * p.subnet(0, 0).size;
      cidrs.push({
        pool: DEFAULT_POOL,
        family: f.family,
        cidr: String(p.cidr),
        nodeMaskSize: f.maskSize,
        subnets: { used: p.set.used, free, reserved: core.reservedSlots.get(p.index)?.size ?? 0, capacity: p.set.capacity },
        addresses: a,
        remaining,
        largestFreeRun: runs.largest,
        freeNodeSubnets: runs.runs,
      });
    }
  }
  return { pool: DEFAULT_POOL, cidrs, nodes };
}
