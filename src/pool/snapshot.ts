// Snapshots: the whole pool as versioned, checksummed bytes (src/state/snapshot.ts), and the rebuild from them.
import { errors } from "../errors.js";
import { keyPool, keyRel } from "./owners.js";
import { type ClusterPoolOptions, optionsFromJson, writeMs, readMs } from "./options.js";
import { type PlacedSubnet } from "./records.js";
import { encodeSnapshot } from "../state/snapshot.js";
import { PoolCore, withPlannedPools, placementOf, type NodeState } from "./core.js";
import { type NodeStatus } from "./types.js";
import { tick } from "./nodes.js";
import { lend } from "./pods.js";
import { replay } from "./replay.js";
import { addPoolCidr, removePoolCidr, keepReservation } from "./reservations.js";
import { verify } from "./stats.js";

/**
 * The whole state as versioned, checksummed bytes: the options, the pool
 * CIDRs, every node with its pod bitmaps and owner arrays, the owner
 * names, reservations and the reuse cooldown.
 */
export function snapshot(core: PoolCore, generation = 0): Uint8Array {
  tick(core);
  return encode(core, generation);
}

/** The state as it is, without releasing what is due first (compaction: every effect is journaled). */
export function encode(core: PoolCore, generation = 0): Uint8Array {
  const chunks: Uint32Array[] = [];
  let at = 0;
  const put = (chunk: Uint32Array, map?: Uint32Array): number => {
    const words = chunk.length;
    if (map !== undefined) for (let i = 0; i < chunk.length; i++) if (chunk[i] !== 0) chunk[i] = map[chunk[i] as number] ?? 0;
    chunks.push(chunk);
    const start = at;
    at += words;
    return start;
  };
  // Owners as a function of the state alone, not of its history: only owners that hold
  // addresses, numbered 1.. in the order of their lowest address, keys ascending. Two pools
  // with the same allocations give the same bytes (a journal replay, a rollback).
  const owners = [...core.owners.names()]
    .map((name) => {
      const id = core.owners.idOf(name) as number;
      return { id, name, keys: [...core.owners.keys(id)].sort((a, b) => a - b) };
    })
    .filter((o) => o.keys.length > 0)
    .sort((a, b) => (a.keys[0] as number) - (b.keys[0] as number));
  const renumber = new Uint32Array(owners.reduce((m, o) => Math.max(m, o.id), 0) + 1);
  owners.forEach((o, i) => (renumber[o.id] = i + 1));
  const meta: SnapshotMeta = {
    options: core.json,
    pools: core.pools.map((p, i) => (p ? { family: p.family, cidr: String(p.cidr), removed: false } : { ...core.removedPools.get(i)!, removed: true })),
    cursors: core.pools.map((p) => (p ? p.set._cursor() : -1)),
    reservations: [...core.reservations],
    nodes: [...core.nodes.values()].map((n) => ({
      name: n.name, status: n.status, error: n.error ?? null, deadline: writeMs(n.deadline), placed: placementOf(n), borrowed: [...(n.borrowed ?? [])],
      subnets: n.subnets.map((sub) => {
        const saved = sub.pool.saveRange(sub.pool.range(sub.slot));
        return {
          words: put(saved.words),
          owners: saved.owners === undefined ? -1 : put(saved.owners, renumber),
          cursor: saved.cursor,
          rng: String(saved.rng),
          reserved: sub.reserved,
          quarantined: sub.quarantined,
        };
      }),
    })),
    pending: [...core.pending],
    epoch: core.epoch,
    owners: owners.map((o, i) => ({ id: i + 1, name: o.name, keys: o.keys })),
    quarantine: (core.quarantine?.entries() ?? []).map((e) => {
      const pool = core.pools[keyPool(e.key)];
      const holder = pool && core.byId[pool.nodeAt(pool.slotOfRel(keyRel(e.key)))];
      return { key: e.key, node: holder && holder.epoch === e.epoch ? holder.name : null, time: e.time };
    }),
  };
  const data = new Uint32Array(at);
  let o = 0;
  for (const c of chunks) {
    data.set(c, o);
    o += c.length;
  }
  return encodeSnapshot(meta, data, generation);
}

/** `runtime` holds only clock and engine (validated by ClusterPool.restore): the pool options are the snapshot's. */
export function rebuild(meta: SnapshotMeta, data: Uint32Array, runtime: Pick<ClusterPoolOptions, "clock" | "engine">): PoolCore {
  const options = { ...optionsFromJson(meta.options), ...runtime };
  // a pool with an engine of its own sizes its memory for every pool CIDR of the snapshot
  const core = withPlannedPools(Array.isArray(meta.pools) ? meta.pools : [], () => new PoolCore(options));
  try {
    fill(core, meta, data);
  } catch (e) {
    core.release(); // its regions go back to a shared engine
    throw e;
  }
  return core;
}

function fill(core: PoolCore, meta: SnapshotMeta, data: Uint32Array): void {
  core.replaying = true; // the snapshot says which nodes are served and what has expired
  // pool CIDRs, in table order, removed ones included so indices match
  meta.pools.forEach((p, i) => {
    if (i >= core.pools.length) addPoolCidr(core, p.cidr, p.family);
    const live = core.pools[i];
    if (live === undefined || String(live.cidr) !== p.cidr) throw new Error(`pool CIDR ${i} is ${String(live?.cidr)}, snapshot says ${p.cidr}`);
    if (p.removed) removePoolCidr(core, p.cidr);
  });
  for (const r of meta.reservations) keepReservation(core, r); // also those whose pool CIDR was removed
  const word = (i: number): number => {
    if (i < 0 || i >= data.length) throw new Error(`data offset ${i} out of range`);
    return i;
  };
  for (const m of meta.nodes) {
    if (m.status === "ready" || m.status === "draining") {
      replay(core, { op: "node", name: m.name, placed: m.placed });
      const node = core.nodes.get(m.name) as NodeState;
      node.subnets.forEach((sub, i) => {
        const sm = m.subnets[i];
        if (!sm) throw new Error(`node ${m.name} lost subnet ${i}`);
        const r = sub.pool.range(sub.slot);
        const words = sub.pool.rangeWords(r);
        sub.pool.loadRange(r, data.subarray(word(sm.words), word(sm.words) + words), sm.cursor, BigInt(sm.rng));
        if (sm.owners >= 0) sub.pool.loadOwners(r, data.subarray(word(sm.owners), word(sm.owners) + sub.size));
        sub.reserved = sm.reserved;
        sub.quarantined = sm.quarantined;
      });
      if (m.status === "draining") {
        node.status = "draining";
        node.deadline = readMs(m.deadline);
        core.draining++;
      }
      for (const key of m.borrowed) lend(core, node, key);
    } else {
      replay(core, m.status === "failed" ? { op: "failed", name: m.name, error: m.error ?? "" } : { op: "pending", name: m.name, error: m.error ?? "" });
    }
  }
  core.pending.length = 0;
  core.pending.push(...meta.pending);
  for (const o of meta.owners) core.owners.adopt(o.id, o.name, o.keys);
  for (const q of meta.quarantine) core.quarantine?.push(q.key, q.node === null ? 0 : (core.nodes.get(q.node)?.epoch ?? 0), q.time);
  meta.cursors.forEach((c, i) => {
    const p = core.pools[i];
    if (p && c >= 0) p.set._setCursor(c);
  });
  core.epoch = Math.max(core.epoch, meta.epoch ?? 0); // nodes added later seed their pod ranges as they would have
  core.replaying = false;
  const problems = verify(core);
  if (problems.length > 0) throw errors.corrupt("snapshot", problems.slice(0, 5).join("; "));
}

export interface SnapshotMeta {
  options: unknown;
  pools: { family: 4 | 6; cidr: string; removed: boolean }[];
  cursors: number[];
  reservations: string[];
  nodes: {
    name: string;
    status: NodeStatus;
    error: string | null;
    /** Clock ms; "Infinity" (or null, as JSON wrote Infinity before) for a grace period that never ends. */
    deadline: number | "Infinity" | null;
    placed: readonly PlacedSubnet[];
    borrowed: number[];
    subnets: { words: number; owners: number; cursor: number; rng: string; reserved: number; quarantined: number }[];
  }[];
  pending: string[];
  /** Node incarnations so far (seeds of nodes added after a restore). */
  epoch?: number;
  owners: { id: number; name: string; keys: number[] }[];
  quarantine: { key: number; node: string | null; time: number }[];
}
