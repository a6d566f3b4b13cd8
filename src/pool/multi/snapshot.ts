// Snapshots of a multi-pool ClusterPool: the same framing as single-pool ones
// (src/state/snapshot.ts), with a description of kind "multipool": the pools,
// the table entries in table order (removed ones included, so address keys
// keep their meaning), every node with its chunks in the order it took them,
// each chunk's pod bitmap, owner array, cursor and random state, and the owners.
import { parseCidr } from "../../net/ip.js";
import { errors, IpamError } from "../../errors.js";
import { encodeSnapshot } from "../../state/snapshot.js";
import type { PoolCidr } from "../../alloc/pool-cidr.js";
import { MultiCore, type PoolFamily, type Chunk } from "./state.js";
import { resolveMultiOptions, multiOptionsJson, type ResolvedPool, type IpPoolSpec } from "./options.js";
import { groupOf, attachChunk, tick, reserveRouter } from "./chunks.js";
import { markReserved, occupySlots } from "./reserved.js";
import { keyPool, keyRel } from "../owners.js";
import { multiVerify } from "./stats.js";

export const MULTIPOOL_KIND = "multipool";

interface ChunkMeta { entry: number; slot: number; words: number; owners: number; cursor: number; rng: string; excessSince: number; router?: number; cooldown?: number; reserved?: number }
export interface MultiSnapshotMeta {
  kind: typeof MULTIPOOL_KIND;
  options: Record<string, unknown>;
  /** Pool names in the order they were added. */
  order: string[];
  entries: { pool: string; family: 4 | 6; cidr: string; maskSize: number; removed: boolean; cursor: number }[];
  /** Pool handles (poolHandle), in `order`'s order; left out by older snapshots (0, 1, ...). */
  poolIds?: number[];
  /** Per node: its handle (id; older snapshots: 1, 2, ... in order) and, while it drains, its deadline ("Infinity" for Infinity). */
  nodes: { name: string; id?: number; drain?: number | "Infinity"; labels: Record<string, string>; epoch: number; groups: { pool: string; family: 4 | 6; chunks: ChunkMeta[] }[] }[];
  /** Handles of removed nodes, in the order the next nodes take them (a stack). */
  freeIds?: number[];
  /** Groups below their watermark, [node, pool, family], in the order they are topped up. */
  short: [string, string, 4 | 6][];
  owners: { id: number; name: string; keys: number[] }[];
  /** Reuse cooldown, oldest first: address key, release time, and whether it still waits in the chunk it was released in (a stale entry only counts toward minFreeBeforeReuse). */
  quarantine?: { key: number; time: number; live: boolean }[];
  /** reserve()d CIDRs, in order. */
  reservations?: string[];
  epoch: number;
  chunksTaken: number;
  chunksReleased: number;
  /**
   * Per pool family, [pool, family, taken, released] (stats().ipPools[].chunksTaken/chunksReleased).
   * Left out by older snapshots: each family then counts the chunks its nodes hold as taken, none as given back.
   */
  moved?: [string, 4 | 6, number, number][];
}

/** The pools as they are now, as resolved pools (CIDRs in use, in order). */
function currentPools(core: MultiCore): ResolvedPool[] {
  return [...core.pools.values()].map((p) => ({
    name: p.name, preAllocate: p.preAllocate, releaseDelayMs: p.releaseDelayMs, nodeSelector: p.nodeSelector,
    families: p.families.map((f) => ({ family: f.family, maskSize: f.maskSize, cidrs: f.entries.map((e) => e.cidr) })),
  }));
}

/** The whole state as versioned, checksummed bytes (what is due is released first). */
export function multiSnapshot(core: MultiCore, generation = 0): Uint8Array {
  tick(core);
  return multiEncode(core, generation);
}

/** The state as it is, without releasing what is due first (a FileStore's compaction: every change is journaled). */
export function multiEncode(core: MultiCore, generation = 0): Uint8Array {
  const parts: Uint32Array[] = [];
  let at = 0;
  const put = (w: Uint32Array): number => {
    parts.push(w);
    const start = at;
    at += w.length;
    return start;
  };
  const entryMeta = core.entries.map((e, i) => {
    const x = core.allEntries[i] as PoolCidr;
    const fam = core.famOf.get(x) as PoolFamily;
    return { pool: fam.pool.name, family: x.family, cidr: String(x.cidr), maskSize: fam.maskSize, removed: e === undefined, cursor: e === undefined ? 0 : x.set._cursor() };
  });
  // Owners as a function of the state alone, not of its history (as single-pool snapshots do): only
  // owners that hold addresses, numbered 1.. in the order of their lowest address; owner arrays alike.
  const held = [...core.owners.ids()]
    .map((id) => ({ id, keys: core.owners.keys(id).sort((a, b) => a - b) }))
    .filter((o) => o.keys.length > 0)
    .sort((a, b) => (a.keys[0] as number) - (b.keys[0] as number));
  const renumber = new Uint32Array(held.reduce((m, o) => Math.max(m, o.id), 0) + 1);
  held.forEach((o, i) => (renumber[o.id] = i + 1));
  const chunkMeta = (c: Chunk): ChunkMeta => {
    const saved = c.entry.saveRange(c.entry.range(c.slot));
    if (saved.owners !== undefined) {
      const w = saved.owners;
      // an owner slot of a free address may keep a stale id: only allocated addresses keep theirs
      for (let i = 0; i < w.length; i++) w[i] = w[i] !== 0 && c.entry.owner(c.base + i) === w[i] ? (renumber[w[i] as number] ?? 0) : 0;
    }
    return {
      entry: c.entry.index, slot: c.slot, words: put(saved.words), owners: saved.owners === undefined ? -1 : put(saved.owners),
      cursor: saved.cursor, rng: String(saved.rng), excessSince: c.excessSince,
      ...(c.router >= 0 ? { router: c.router } : {}), ...(c.cooldown > 0 ? { cooldown: c.cooldown } : {}), ...(c.reserved > 0 ? { reserved: c.reserved } : {}),
    };
  };
  const owners = held.map((o, i) => ({ id: i + 1, name: core.owners.nameOf(o.id) as string, keys: o.keys }));
  const meta: MultiSnapshotMeta = {
    kind: MULTIPOOL_KIND,
    options: multiOptionsJson(core.o, currentPools(core)),
    order: [...core.pools.keys()],
    poolIds: [...core.pools.values()].map((p) => p.id),
    entries: entryMeta,
    freeIds: [...core.freeIds],
    nodes: [...core.nodes.values()].map((n) => ({
      name: n.name, id: n.id, ...(n.status === "draining" ? { drain: n.deadline === Infinity ? "Infinity" as const : n.deadline } : {}), labels: { ...n.labels }, epoch: n.epoch,
      groups: [...n.groups.values()].map((g) => ({ pool: g.fam.pool.name, family: g.fam.family, chunks: g.chunks.map(chunkMeta) })),
    })),
    short: [...core.short].map((g) => [g.node.name, g.fam.pool.name, g.fam.family]),
    owners,
    ...(core.quarantine !== undefined ? {
      quarantine: core.quarantine.entries().map((q) => {
        const e = core.entries[keyPool(q.key)];
        const c = e && core.chunkOf(e, e.slotOfRel(keyRel(q.key)));
        return { key: q.key, time: q.time, live: c !== undefined && c.serial === q.epoch };
      }),
    } : {}),
    ...(core.reservations.length > 0 ? { reservations: core.reservations.map(String) } : {}),
    epoch: core.epoch,
    chunksTaken: core.chunksTaken,
    chunksReleased: core.chunksReleased,
    moved: [...core.pools.values()].flatMap((p) => p.families.map((f): [string, 4 | 6, number, number] => [p.name, f.family, f.chunksTaken, f.chunksReleased])),
  };
  const data = new Uint32Array(at);
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.length;
  }
  return encodeSnapshot(meta, data, generation);
}

/** True if a decoded snapshot description is a multi-pool one. */
export function isMultiSnapshot(meta: unknown): meta is MultiSnapshotMeta {
  return typeof meta === "object" && meta !== null && (meta as { kind?: unknown }).kind === MULTIPOOL_KIND;
}

/**
 * Rebuilds a MultiCore from a snapshot description and its data; `runtime`
 * holds clock and engine. Throws CORRUPT_STATE when the parts do not fit
 * together (FULL when the engine's memory cannot hold the pool).
 */
export function multiRebuild(meta: MultiSnapshotMeta, data: Uint32Array, runtime: { clock?: () => number; engine?: unknown }): MultiCore {
  const opts = meta.options as { pools: Record<string, IpPoolSpec> } & Record<string, unknown>;
  // the pools are laid out from the entries below, in table order: start with none
  const o = resolveMultiOptions({
    pools: {}, ...(opts.releaseDelayMs !== undefined ? { releaseDelayMs: opts.releaseDelayMs } : {}),
    ...(opts.podStrategy !== undefined ? { podStrategy: opts.podStrategy } : {}),
    ...(opts.seed !== undefined ? { seed: BigInt(opts.seed as string) } : {}),
    ...(opts.reuse !== undefined ? { reuse: opts.reuse } : {}),
    ...(opts.reserveRouterIP !== undefined ? { reserveRouterIP: opts.reserveRouterIP } : {}),
    ...runtime,
  }, { allowNoPools: true });
  // a family may have no CIDRs left (removePoolCidr took its last)
  const all = resolveMultiOptions({ pools: opts.pools, ...(opts.releaseDelayMs !== undefined ? { releaseDelayMs: opts.releaseDelayMs } : {}) }, { allowEmptyFamilies: true });
  const byName = new Map(all.pools.map((p) => [p.name, p]));
  const planned = meta.entries.map((e) => ({ family: e.family, cidr: parseCidr(e.cidr), maskSize: e.maskSize }));
  const core = new MultiCore(o, planned);
  try {
    // pools in the order they were added, each with no CIDRs yet; then every entry in table order
    meta.order.forEach((name, i) => {
      const p = byName.get(name);
      if (p === undefined) throw errors.corrupt("snapshot", `pool ${JSON.stringify(name)} has no spec`);
      core.addPool({ ...p, families: p.families.map((f) => ({ ...f, cidrs: [] })) }, meta.poolIds?.[i] ?? i);
    });
    const removed: PoolCidr[] = [];
    for (const e of meta.entries) {
      let fam = core.pools.get(e.pool)?.families.find((f) => f.family === e.family);
      if (fam === undefined) {
        // a removed pool's entry: a stand-in family that belongs to no pool
        fam = { pool: { id: -1, name: e.pool, families: [], preAllocate: 0, releaseDelayMs: 0, nodeSelector: undefined, counts: undefined }, family: e.family, maskSize: e.maskSize, entries: [], chunksTaken: 0, chunksReleased: 0 };
      }
      const x = core.addEntry(fam, parseCidr(e.cidr));
      x.set._setCursor(e.cursor);
      if (e.removed) removed.push(x);
    }
    for (const x of removed) core.removeEntry(x);
    for (const w of meta.owners) core.owners.adopt(w.id, w.name, w.keys);
    for (const r of meta.reservations ?? []) core.reservations.push(parseCidr(r));
    core.rebuilding = true; // router addresses and reservations come from the snapshot
    for (const n of meta.nodes) {
      const id = n.id ?? core.byId.length;
      if (core.byId[id] !== undefined) throw errors.corrupt("snapshot", `node ${JSON.stringify(n.name)} has the handle of another node`);
      const node = core.newNode(id, n.name, Object.freeze({ ...n.labels }), n.epoch);
      if (n.drain !== undefined) {
        node.status = "draining";
        node.deadline = n.drain === "Infinity" ? Infinity : n.drain;
        core.draining++;
      }
      core.nodes.set(n.name, node);
      for (const g of n.groups) {
        const fam = core.pools.get(g.pool)?.families.find((f) => f.family === g.family);
        if (fam === undefined) throw errors.corrupt("snapshot", `node ${JSON.stringify(n.name)} holds chunks of unknown pool ${JSON.stringify(g.pool)}`);
        const group = groupOf(node, fam);
        for (const c of g.chunks) {
          const entry = core.entries[c.entry];
          if (entry === undefined || !entry.set.allocateIndex(c.slot)) throw errors.corrupt("snapshot", `chunk ${c.slot} of entry ${c.entry} is not free`);
          const chunk = attachChunk(core, group, entry, c.slot);
          if (chunk instanceof IpamError) throw chunk;
          const r = entry.range(c.slot);
          const words = data.subarray(c.words, c.words + entry.rangeWords(r));
          if (words.length !== entry.rangeWords(r)) throw errors.corrupt("snapshot", "its data is shorter than its description");
          entry.loadRange(r, words, c.cursor, BigInt(c.rng));
          if (c.owners >= 0) entry.loadOwners(r, data.subarray(c.owners, c.owners + chunk.size));
          chunk.excessSince = c.excessSince;
          if (c.router !== undefined) reserveRouter(core, chunk, c.router);
          chunk.cooldown = c.cooldown ?? 0;
          chunk.reserved = c.reserved ?? 0;
          if (chunk.reserved > 0) markReserved(core, chunk);
        }
      }
      for (const g of node.groups.values()) {
        for (const c of g.chunks) {
          if (c.excessSince < 0) continue;
          core.excess.add(c);
          g.marked++;
          g.slack = -1; // marked again at the next change
        }
      }
      core.nextReclaim = core.nextDrain = -Infinity; // the next tick scans once and sets them
    }
    core.rebuilding = false;
    for (const e of core.entries) if (e !== undefined) occupySlots(core, e);
    for (const q of meta.quarantine ?? []) {
      const e = core.entries[keyPool(q.key)];
      const c = e && core.chunkOf(e, e.slotOfRel(keyRel(q.key)));
      core.quarantine?.push(q.key, q.live && c !== undefined ? c.serial : -1, q.time);
    }
    for (const [name, pool, family] of meta.short) {
      const fam = core.pools.get(pool)?.families.find((f) => f.family === family);
      const node = core.nodes.get(name);
      if (fam === undefined || node === undefined) throw errors.corrupt("snapshot", `short group of node ${JSON.stringify(name)} in pool ${JSON.stringify(pool)} is unknown`);
      core.short.add(groupOf(node, fam));
    }
    if (meta.freeIds !== undefined) core.freeIds.push(...meta.freeIds);
    else for (let id = 1; id < core.byId.length; id++) if (core.byId[id] === undefined) core.freeIds.push(id);
    core.epoch = meta.epoch;
    core.chunksTaken = meta.chunksTaken;
    core.chunksReleased = meta.chunksReleased;
    // the chunks rebuilt above counted themselves as taken: what an older snapshot (no `moved`) keeps
    for (const [pool, family, taken, released] of meta.moved ?? []) {
      const fam = core.pools.get(pool)?.families.find((f) => f.family === family);
      if (fam === undefined) throw errors.corrupt("snapshot", `chunks moved of unknown pool ${JSON.stringify(pool)} IPv${family}`);
      fam.chunksTaken = taken;
      fam.chunksReleased = released;
    }
    const problems = multiVerify(core);
    if (problems.length > 0) throw errors.corrupt("snapshot", problems.slice(0, 3).join("; "));
    return core;
  } catch (e) {
    core.release();
    throw e;
  }
}
