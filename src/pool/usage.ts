// What metrics read at scrape time: per pool CIDR, node subnets and pod
// addresses (as stats() counts them), what is left to hand out (free
// addresses plus the node subnets not yet carved) and how fragmented the
// free node subnets are. Computed from the state when asked, never kept up
// to date on the hot path.
import { PoolCore } from "./core.js";
import { tick } from "./nodes.js";

/** The name of a ClusterPool's one pool (Cilium's cluster-pool has one; multi-pool names more). */
export const DEFAULT_POOL = "default";

export interface CidrUsage {
  /** The pool the CIDR belongs to: "default". */
  readonly pool: string;
  readonly family: 4 | 6;
  readonly cidr: string;
  /** Node mask size of the family. */
  readonly nodeMaskSize: number;
  /** Bitmap slots (node subnets of the slot mask), as stats().pools[].subnets: `used` counts reserved slots too. */
  readonly subnets: { readonly used: number; readonly free: number; readonly reserved: number; readonly capacity: number };
  /** Pod addresses in the node subnets held now: used by pods, free, in reuse cooldown, reserved (router, reserve()), usable in all. */
  readonly addresses: { readonly used: number; readonly free: number; readonly cooldown: number; readonly reserved: number; readonly capacity: number };
  /**
   * Addresses that can still be handed out: the free ones in held node
   * subnets, plus those of the node subnets the pool can still carve
   * (aligned free runs of a node subnet's size, up to maxNodeSubnets; with
   * the 'smaller' overflow, the remaining free slots as smaller subnets).
   */
  readonly remaining: number;
  /** The largest free aligned run of slots (2^j slots from a multiple of 2^j). */
  readonly largestFreeRun: number;
  /** Node subnets of the node mask size that could still be carved here (free aligned runs), before maxNodeSubnets. */
  readonly freeNodeSubnets: number;
}

export interface PoolUsage {
  readonly pool: string;
  readonly cidrs: CidrUsage[];
  /** Nodes by status (ready and draining hold subnets; pending wait for one; failed were refused on import). */
  readonly nodes: { readonly ready: number; readonly draining: number; readonly pending: number; readonly failed: number };
}

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
