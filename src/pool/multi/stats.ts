// stats(), node detail and verify() of a multi-pool ClusterPool.
import type { ClusterStats, PoolStats } from "../types.js";
import { takenIn, type MultiCore, type MNode, type Chunk, type PoolFamily } from "./state.js";
import type { IpPoolStats, MultiNodeDetail } from "./types.js";
import { allocationOf } from "./pods.js";
import { freeOf } from "./chunks.js";
import { slotReserved } from "./reserved.js";
import { keyPool, keyRel } from "../owners.js";

/** Taken addresses of a chunk: pods, its router address, reserved ones and those in reuse cooldown. */
const takenOf = (c: Chunk): number => takenIn(c);
/** Addresses taken aside from pods: the router address, reserve(), reuse cooldown. */
const asideOf = (c: Chunk): number => c.reserved + (c.router >= 0 ? 1 : 0) + c.cooldown;
/** Pod addresses of a chunk. */
const usedOf = (c: Chunk): number => takenOf(c) - asideOf(c);

export interface MultiClusterStats extends ClusterStats {
  /** Per named pool and family. */
  readonly ipPools: IpPoolStats[];
  /** Chunks taken from and given back to the pools since the pool was made. */
  readonly chunksTaken: number;
  readonly chunksReleased: number;
}

export function multiStats(core: MultiCore): MultiClusterStats {
  const pools: PoolStats[] = [];
  let pods = 0;
  for (const e of core.entries) {
    if (e === undefined) continue;
    const held = [...core.chunkAt.values()].filter((c) => c.entry === e);
    const used = held.reduce((n, c) => n + usedOf(c), 0);
    let reservedSlots = 0;
    if (core.reservations.length > 0) for (let s = 0; s < e.set.capacity; s++) if (core.chunkOf(e, s) === undefined && slotReserved(core, e, s)) reservedSlots++;
    pods += used;
    const size = e.subnet(0, 0).size;
    pools.push({
      family: e.family, cidr: String(e.cidr), nodeMaskSize: e.slotMask,
      subnets: { used: held.length, free: e.set.capacity - held.length - reservedSlots, capacity: e.set.capacity, reserved: reservedSlots },
      pods: { used, capacity: e.set.capacity * size },
    });
  }
  const ipPools: IpPoolStats[] = [];
  for (const p of core.pools.values()) {
    for (const f of p.families) {
      let used = 0, free = 0, chunks = 0, capacity = 0, releasing = 0, short = 0;
      const nodes = new Set<MNode>();
      for (const e of f.entries) capacity += e.set.capacity;
      for (const node of core.nodes.values()) {
        const g = node.groups.get(f);
        if (g === undefined) continue;
        if (core.short.has(g)) short++;
        if (g.chunks.length > 0) nodes.add(node);
        for (const c of g.chunks) {
          chunks++;
          used += usedOf(c);
          free += c.size - takenOf(c);
          if (c.excessSince >= 0) releasing++;
        }
      }
      const size = f.entries[0]?.subnet(0, 0).size ?? 0;
      ipPools.push({
        pool: p.name, family: f.family, cidrs: f.entries.map((e) => String(e.cidr)), maskSize: f.maskSize, preAllocate: p.preAllocate,
        chunks: { used: chunks, free: capacity - chunks, capacity },
        addresses: { used, free, capacity: capacity * size },
        nodes: nodes.size, releasing, short, chunksTaken: f.chunksTaken, chunksReleased: f.chunksReleased,
      });
    }
  }
  const perNode = [...core.nodes.values()].map((n) => {
    let used = 0, free = 0;
    for (const g of n.groups.values()) for (const c of g.chunks) { used += usedOf(c); free += c.size - takenOf(c); }
    return { name: n.name, podCIDRs: allocationOf(n).podCIDRs, used, free };
  });
  return {
    nodes: core.nodes.size, pending: 0, failed: 0, owners: [...core.owners.ids()].length, pods, cooldown: [...core.chunkAt.values()].reduce((n, c) => n + c.cooldown, 0),
    pools, perNode, ipPools, chunksTaken: core.chunksTaken, chunksReleased: core.chunksReleased,
  };
}

export function multiNodeDetail(core: MultiCore, node: MNode): MultiNodeDetail {
  const usage = [...node.groups.values()].map((g) => {
    const free = freeOf(core, g);
    const size = g.chunks.reduce((n, c) => n + c.size, 0);
    return { pool: g.fam.pool.name, family: g.fam.family, cidrs: g.chunks.map((c) => c.cidr), used: size - free, free, short: core.short.has(g) };
  });
  const ranges = [...node.groups.values()].flatMap((g) => g.chunks.map((c) => {
    const reserved = c.reserved + (c.router >= 0 ? 1 : 0);
    return {
      family: g.fam.family, cidr: c.cidr, used: usedOf(c), free: c.size - takenOf(c), size: c.size, reserved, cooldown: c.cooldown,
      ...(c.router >= 0 ? { routerIP: c.format(c.router) } : {}),
    };
  }));
  return { ...allocationOf(node), handle: node.id, status: node.status, sharing: [], ranges, labels: node.labels, usage };
}

/**
 * Checks every chunk's pod range (counter against a recount, summaries),
 * that every chunk's slot is taken and points at its node, that every slot
 * taken in a pool CIDR is a chunk, that every owned address is allocated to
 * that owner and that every owner array entry is known to its owner.
 * Returns the problems found (empty when consistent).
 */
export function multiVerify(core: MultiCore): string[] {
  const out: string[] = [];
  const held = new Map<number, number>();
  for (const c of core.chunkAt.values()) {
    const e = c.entry;
    const node = c.group.node;
    held.set(e.index, (held.get(e.index) ?? 0) + 1);
    if (core.nodes.get(node.name) !== node) out.push(`chunk ${c.cidr} belongs to node ${node.name}, which is gone`);
    if (!e.set.hasIndex(c.slot)) out.push(`chunk ${c.cidr} of node ${node.name} is free in ${String(e.cidr)}`);
    if (e.nodeAt(c.slot) !== node.id) out.push(`chunk ${c.cidr} points at node id ${e.nodeAt(c.slot)}, not ${node.id} (${node.name})`);
    const r = e.range(c.slot);
    if (r === 0) {
      out.push(`chunk ${c.cidr} of node ${node.name} has no pod range`);
      continue;
    }
    const chk = e.checkRange(r);
    if (!chk.counter) out.push(`chunk ${c.cidr}: used counter differs from a recount`);
    if (!chk.summaries) out.push(`chunk ${c.cidr}: summary bits differ from the leaves`);
    const owners = e.owners(r);
    for (let off = 0; owners !== undefined && off < c.size; off++) {
      const o = owners[off] as number;
      if (o === 0 || e.owner(c.base + off) !== o) continue;
      if (!core.owners.keys(o).includes(e.index * 2 ** 32 + c.base + off)) out.push(`${c.format(c.base + off)} is held by owner id ${o}, who does not list it`);
    }
  }
  for (const e of core.entries) {
    if (e === undefined) continue;
    let taken = 0;
    for (let s = 0; s < e.set.capacity; s++) if (e.set.hasIndex(s)) taken++;
    let reserved = 0;
    for (let s = 0; s < e.set.capacity; s++) if (core.chunkOf(e, s) === undefined && slotReserved(core, e, s)) reserved++;
    if (taken !== (held.get(e.index) ?? 0) + reserved) out.push(`${String(e.cidr)}: ${taken} slots taken, ${held.get(e.index) ?? 0} chunks held and ${reserved} reserved`);
  }
  for (const id of core.owners.ids()) {
    for (const key of core.owners.keys(id)) {
      const e = core.entries[keyPool(key)];
      if (e === undefined || e.owner(keyRel(key)) !== id) out.push(`owner ${core.owners.nameOf(id)} lists an address it does not hold (key ${key})`);
    }
  }
  for (const c of core.excess) if (takenIn(c) !== 0) out.push(`chunk ${c.cidr} waits for release but holds addresses`);
  // per pool family: the chunks taken minus those given back are the chunks held
  const heldBy = new Map<PoolFamily, number>();
  for (const c of core.chunkAt.values()) heldBy.set(c.group.fam, (heldBy.get(c.group.fam) ?? 0) + 1);
  for (const pool of core.pools.values()) {
    for (const f of pool.families) {
      const held = heldBy.get(f) ?? 0;
      if (f.chunksTaken - f.chunksReleased !== held) out.push(`pool ${pool.name} IPv${f.family}: ${f.chunksTaken} chunks taken and ${f.chunksReleased} given back, but ${held} held`);
    }
  }
  for (const node of core.nodes.values()) {
    for (const g of node.groups.values()) {
      const where = `node ${node.name}, pool ${g.fam.pool.name} IPv${g.fam.family}`;
      const waiting = g.chunks.filter((c) => c.excessSince >= 0 && core.excess.has(c)).length;
      if (g.marked !== waiting) out.push(`${where}: ${g.marked} chunks counted as waiting for release, ${waiting} wait`);
      // the chunks that wait are the ones a marking from scratch picks: empty, later ones first, while preAllocate stay free
      let free = g.chunks.reduce((n, c) => n + c.size - takenIn(c), 0);
      for (let i = g.chunks.length - 1; i >= 0; i--) {
        const c = g.chunks[i] as Chunk;
        const due = takenIn(c) === 0 && free - c.size >= g.fam.pool.preAllocate;
        if (due) free -= c.size;
        if (due !== c.excessSince >= 0) out.push(`${where}: chunk ${c.cidr} ${due ? "does not wait" : "waits"} for release, but is ${due ? "" : "not "}free beyond the watermark`);
      }
    }
  }
  return out;
}
