// Journal replay: re-applies recorded effects (src/pool/records.ts) with the code that made them.
import { PoolCidr } from "../alloc/pool-cidr.js";
import { keyPool, keyRel } from "./owners.js";
import { Quarantine } from "./quarantine.js";
import { NONE, NO_MEMORY } from "../core/layout.js";
import { show } from "../errors.js";
import { readMs } from "./options.js";
import { type JournalRecord } from "./records.js";
import { PoolCore } from "./core.js";
import { applyPlace, dropNode, newNode } from "./nodes.js";
import { lend, memoryFull } from "./pods.js";
import { applyExpire } from "./release.js";
import { addPoolCidr, removePoolCidr, reserve, unreserve } from "./reservations.js";

export function replay(core: PoolCore, r: JournalRecord): void {
  switch (r.op) {
    case "node": {
      const node = core.nodes.get(r.name) ?? newNode(core, r.name);
      for (const p of r.placed) {
        if (p.pool < 0) continue;
        const pool = core.pools[p.pool] as PoolCidr;
        pool.set._occupyRange(p.slot, p.slot + (1 << p.k) - 1);
        // a carved placement moved the cursor past it; an occupied one (an import) moved none
        if (r.occupied !== true) pool.set._setCursor((p.slot + (1 << p.k)) % pool.set.capacity);
      }
      const oom = applyPlace(core, node, r.placed);
      if (oom !== undefined) throw oom;
      return;
    }
    case "pending": {
      const node = core.nodes.get(r.name) ?? newNode(core, r.name);
      core.nodes.set(r.name, node);
      if (!core.pending.includes(r.name)) core.pending.push(r.name);
      node.status = "pending";
      node.error = r.error;
      return;
    }
    case "failed": {
      const node = core.nodes.get(r.name) ?? newNode(core, r.name);
      core.nodes.set(r.name, node);
      node.status = "failed";
      node.error = r.error;
      return;
    }
    case "drain": {
      const node = core.nodes.get(r.name);
      if (node && node.status === "ready") { node.status = "draining"; node.deadline = readMs(r.deadline); core.draining++; }
      return;
    }
    case "drop": {
      const node = core.nodes.get(r.name);
      if (node) dropNode(core, node);
      return;
    }
    case "alloc": {
      const node = core.nodes.get(r.node);
      const o = r.owner === "" ? 0 : core.owners.ensure(r.owner);
      for (const key of r.keys) {
        const pool = core.pools[keyPool(key)] as PoolCidr;
        const rel = keyRel(key);
        expireThrough(core, key);
        if (pool.allocate(rel, o) === NO_MEMORY) throw memoryFull(core, `cannot record the owner ${show(r.owner)}`);
        // a next-fit allocation: its range's cursor moves past it, as it did live; an asked-for address moved none
        if (r.wanted !== true && !r.wanted?.includes(key)) pool.moveCursorPast(rel);
        if (o !== 0) core.owners.add(o, key);
        const holder = core.byId[pool.nodeAt(pool.slotOfRel(rel))];
        if (node && holder !== node) lend(core, node, key);
      }
      return;
    }
    case "free": {
      for (const key of r.keys) {
        const pool = core.pools[keyPool(key)];
        if (!pool) continue;
        const q = r.q !== undefined && core.quarantine !== undefined;
        const o = pool.release(keyRel(key), q);
        if (o > 0) core.owners.removeKey(o, key);
        const borrower = core.borrowed.get(key);
        if (borrower !== undefined) { core.borrowed.delete(key); core.byId[borrower]?.borrowed?.delete(key); }
        if (q && o !== NONE) {
          const rel = keyRel(key);
          const holder = core.byId[pool.nodeAt(pool.slotOfRel(rel))];
          const sub = holder?.subnets.find((s) => s.pool === pool && rel >= s.base && rel < s.base + s.size);
          if (sub) sub.quarantined++;
          (core.quarantine as Quarantine).push(key, holder?.epoch ?? 0, r.q as number);
        }
      }
      return;
    }
    case "reserve": return reserve(core, r.cidr);
    case "unreserve": return unreserve(core, r.cidr);
    case "addPool": return addPoolCidr(core, r.cidr, r.family);
    case "removePool": return removePoolCidr(core, r.cidr);
  }
}

/** Replay: an address being re-allocated while in quarantine had left it, with everything before it. */
export function expireThrough(core: PoolCore, key: number): void {
  const q = core.quarantine;
  if (!q || q.size === 0) return;
  const entries = q.entries();
  const i = entries.findIndex((e) => e.key === key);
  if (i < 0) return;
  let n = 0;
  q.expire(Infinity, (k, epoch) => {
    if (n++ <= i) applyExpire(core, k, epoch);
  });
  // put back what was after it
  for (const e of entries.slice(i + 1)) q.push(e.key, e.epoch, e.time);
}


// ------------------------------------------------------------------ snapshots and durable state

/**
 * Re-applies a record made elsewhere (a journal being recovered, another
 * process's change): journals nothing and serves no pending node by itself
 * (the records hold each serve as its own "node" record).
 */
export function replayRecord(core: PoolCore, r: JournalRecord): void {
  const log = core.log;
  core.log = undefined;
  core.replaying = true;
  try {
    replay(core, r);
  } finally {
    core.log = log;
    core.replaying = false;
  }
}
