// Usage figures, the worker-thread descriptor, and verify(): counters against a recount of the bitmaps.
import { PoolCidr } from "../alloc/pool-cidr.js";
import { keyPool, keyRel } from "./owners.js";
import { type PoolDescriptor, poolDescriptor } from "../alloc/pool-view.js";
import { PoolCore } from "./core.js";
import { type ClusterStats } from "./types.js";
import { tick } from "./nodes.js";

/**
 * What a worker thread needs to open a PoolView on this pool's memory.
 * Structured-cloneable: post it to a worker; the memory is shared, not copied.
 */
export function describe(core: PoolCore): PoolDescriptor {
  const live = core.pools.filter((p): p is PoolCidr => p !== undefined);
  return poolDescriptor(core.engine.memory, core.table.offset, core.pools.length, core.o.podStrategy, core.owners.header,
    live.map((p) => ({ p, k: core.family(p.family).k })));
}

/** Used and free subnets and pod addresses per pool CIDR and per node. */
export function stats(core: PoolCore): ClusterStats {
  tick(core);
  const podsByPool = new Map<PoolCidr, number>();
  const capByPool = new Map<PoolCidr, number>();
  const perNode: ClusterStats["perNode"] = [];
  let pending = 0;
  let failed = 0;
  for (const n of core.nodes.values()) {
    if (n.status === "pending") pending++;
    if (n.status === "failed") failed++;
    let used = 0;
    let free = 0;
    for (const s of n.subnets) {
      const taken = s.pool.used(s.slot);
      const u = taken - s.reserved - s.quarantined;
      podsByPool.set(s.pool, (podsByPool.get(s.pool) ?? 0) + u);
      capByPool.set(s.pool, (capByPool.get(s.pool) ?? 0) + s.size);
      used += u;
      free += s.size - taken;
    }
    perNode.push({ name: n.name, podCIDRs: n.subnets.map((s) => s.cidr), used, free });
  }
  const pools = core.families.flatMap((f) =>
    f.pools.map((p) => ({
      family: p.family,
      cidr: String(p.cidr),
      nodeMaskSize: f.maskSize,
      subnets: { used: p.set.used, free: p.set.free, capacity: p.set.capacity, reserved: core.reservedSlots.get(p.index)?.size ?? 0 },
      pods: { used: podsByPool.get(p) ?? 0, capacity: capByPool.get(p) ?? 0 },
    })),
  );
  return {
    nodes: core.nodes.size - pending - failed,
    pending,
    failed,
    owners: core.owners.live,
    pods: pools.reduce((n, p) => n + p.pods.used, 0),
    cooldown: core.quarantine?.size ?? 0,
    pools,
    perNode,
  };
}

/**
 * Checks that every counter matches a recount of its bitmap, that every
 * slot a node holds points at it, and that every owned address is
 * allocated. Returns the problems found (empty when consistent).
 */
export function verify(core: PoolCore): string[] {
  const problems: string[] = [];
  for (const p of core.pools) {
    if (!p) continue;
    problems.push(...p.set._verify(String(p.cidr)));
  }
  for (const n of core.nodes.values()) {
    for (const s of n.subnets) {
      const r = s.pool.range(s.slot);
      if (s.pool.nodeAt(s.slot) !== n.id || r === 0) { problems.push(`slot of ${n.name} does not point at it`); continue; }
      const check = s.pool.checkRange(r);
      if (!check.counter) problems.push(`pod counter of ${n.name} (${s.cidr}) != recount`);
      if (!check.summaries) problems.push(`pod summaries of ${n.name} are wrong`);
      for (let t = s.slot; t < s.slot + s.run; t++) if (!s.pool.set.hasIndex(t)) problems.push(`slot ${t} of ${n.name} is not taken`);
    }
  }
  for (const name of core.owners.names()) {
    const id = core.owners.idOf(name) as number;
    for (const key of core.owners.keys(id)) {
      const pool = core.pools[keyPool(key)];
      if (!pool || pool.owner(keyRel(key)) !== id) problems.push(`owner ${name} does not hold ${pool?.addressOf(keyRel(key)) ?? key}`);
    }
  }
  return problems;
}

// ------------------------------------------------------------------ journal
