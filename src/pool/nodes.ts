// Nodes: carving their subnets by policy (big holes, overflow), pending nodes, removal and draining, and tick().
import { errors, IpamError, show } from "../errors.js";
import { PoolCidr } from "../alloc/pool-cidr.js";
import { addressKey } from "./owners.js";
import { NONE } from "../core/layout.js";
import { type PlacedSubnet } from "./records.js";
import { PoolCore, Subnet, checkName, allocationOf, type NodeState, type FamilyState } from "./core.js";
import { type NodeAllocation, type NodeDetail, type RemoveNodeOptions } from "./types.js";
import { applyExpire, releaseKey } from "./release.js";
import { applyReservedIPs } from "./reserved-ips.js";
import { graceArg } from "../args.js";
import { writeMs } from "./options.js";

export function failedCount(core: PoolCore): number {
  let n = 0;
  for (const node of core.nodes.values()) if (node.status === "failed") n++;
  return n;
}

/**
 * Releases what is due: quarantined addresses past their cooldown (or
 * deep enough in the queue), draining nodes past their grace. Every
 * mutating call does this first; it costs nothing while nothing waits.
 */
export function tick(core: PoolCore): void {
  if ((core.quarantine === undefined || core.quarantine.size === 0) && core.draining === 0) return;
  if (core.replaying) return; // the journal holds what time released, as explicit records
  const now = core.now();
  if (core.quarantine?.due(now)) {
    core.quarantine.expire(now, (key, epoch) => applyExpire(core, key, epoch));
  }
  if (core.draining > 0) {
    for (const node of [...core.nodes.values()]) {
      if (node.status === "draining" && node.deadline <= now) dropNode(core, node);
    }
  }
}

/**
 * Gives the node one subnet per configured family: a big hole while fewer
 * than maxNodeSubnets are out, then by the overflow policy. Idempotent: a
 * known node gets its subnets back. With 'reject', a node that cannot be
 * served throws FULL and waits as pending; it is served as soon as space
 * frees up, in the order nodes arrived.
 */
export function addNode(core: PoolCore, name: string): NodeAllocation {
  checkName("addNode(name)", name);
  tick(core);
  const known = core.nodes.get(name);
  if (known && (known.status === "ready" || known.status === "draining")) return allocationOf(known);
  const mark = idMark(core);
  const node = known ?? newNode(core, name);
  const cursors: number[] = [];
  const placed = place(core, node, cursors);
  if (placed instanceof IpamError) {
    if (!known) core.nodes.set(name, node);
    if (!core.pending.includes(name)) core.pending.push(name);
    node.status = "pending";
    node.error = placed.detail;
    core.emit({ op: "pending", name, error: node.error });
    throw placed;
  }
  const oom = applyPlace(core, node, placed);
  if (oom !== undefined) {
    // the shared memory cannot hold the node's pod ranges: nothing of this call stays
    restoreCursors(core, cursors);
    if (!known) forgetNew(core, node, mark);
    throw oom;
  }
  return allocationOf(node);
}

/** Puts back node-bitmap cursors saved by place() as (pool index, cursor) pairs, last first. */
export function restoreCursors(core: PoolCore, cursors: readonly number[]): void {
  for (let i = cursors.length - 2; i >= 0; i -= 2) core.pools[cursors[i] as number]?.set._setCursor(cursors[i + 1] as number);
}

/** What newNode changes (ids, epoch), for forgetNew. */
export function idMark(core: PoolCore): { epoch: number; ids: number; free: number } {
  return { epoch: core.epoch, ids: core.byId.length, free: core.freeIds.length };
}

/** Undoes newNode (a call that made the node failed): its handle names nothing, and the epoch is as it was. */
export function forgetNew(core: PoolCore, node: NodeState, mark: { epoch: number; ids: number; free: number }): void {
  core.byId[node.id] = undefined;
  core.byId.length = mark.ids;
  if (core.freeIds.length < mark.free) core.freeIds.push(node.id);
  core.epoch = mark.epoch;
}

export function newNode(core: PoolCore, name: string): NodeState {
  const id = core.freeIds.pop() ?? core.byId.length;
  const node: NodeState = {
    id, name, epoch: ++core.epoch, subnets: [], v4: undefined, v6: undefined, share4: false, share6: false,
    borrowed: undefined, status: "pending", error: undefined, deadline: 0, placed: undefined,
  };
  core.byId[id] = node;
  return node;
}

/**
 * Decides a node's subnets without changing anything visible: takes slots,
 * and gives them back if a later family fails. Returns the placement or
 * the FULL error. With `cursors`, saves (pool index, cursor) of every node
 * bitmap it searches, for restoreCursors.
 */
export function place(core: PoolCore, node: NodeState, cursors?: number[]): PlacedSubnet[] | IpamError {
  const placed: PlacedSubnet[] = [];
  const undo = (): void => {
    for (const p of placed) if (p.pool >= 0) releaseSlots(core, core.pools[p.pool] as PoolCidr, p.slot, 1 << p.k);
  };
  for (const fam of core.families) {
    const got = takeSubnet(core, fam, cursors);
    if (got === undefined) {
      undo();
      const list = fam.pools.map((p) => String(p.cidr)).join(", ");
      const cap = Number.isFinite(fam.maxBig) && fam.big >= fam.maxBig ? ` (maxNodeSubnets ${fam.maxBig} reached)` : "";
      return errors.full(`IPv${fam.family} pool (${list || "no CIDRs"}) of /${fam.maskSize} node subnets${cap}`, `cannot add node ${show(node.name)}`);
    }
    placed.push(got);
  }
  return placed;
}

/** Takes slots for one family by policy; pool -1 means "share". */
export function takeSubnet(core: PoolCore, fam: FamilyState, cursors?: number[]): PlacedSubnet | undefined {
  if (fam.big < fam.maxBig) {
    for (const pool of fam.pools) {
      if (pool.set.isFull()) continue;
      cursors?.push(pool.index, pool.set._cursor());
      const slot = pool.set._allocateRun(fam.k);
      if (slot !== NONE) return { pool: pool.index, slot, k: fam.k };
    }
  }
  if (fam.overflow === "smaller") {
    for (const pool of fam.pools) {
      if (pool.set.isFull()) continue;
      cursors?.push(pool.index, pool.set._cursor());
      const slot = pool.set._allocateRun(0);
      if (slot !== NONE) return { pool: pool.index, slot, k: 0 };
    }
  }
  if (fam.overflow === "share") return { pool: -1, slot: 0, k: 0 };
  return undefined;
}

/** Frees slots unless they are reserved (an explicitly occupied reserved subnet goes back to reserved). */
export function releaseSlots(core: PoolCore, pool: PoolCidr, slot: number, run: number): void {
  const reserved = core.reservedSlots.get(pool.index);
  for (let s = slot; s < slot + run; s++) {
    if (!reserved?.has(s)) pool.set.releaseIndex(s);
  }
}

/**
 * Makes a node ready with the given (already taken) slots. When the shared
 * memory cannot hold its pod ranges, gives back what it attached and the
 * slots, changes nothing else and returns the FULL error.
 */
export function applyPlace(core: PoolCore, node: NodeState, placed: readonly PlacedSubnet[], occupied = false): IpamError | undefined {
  const subnets: Subnet[] = [];
  let v4: Subnet | undefined;
  let v6: Subnet | undefined;
  let share4 = false;
  let share6 = false;
  for (let i = 0; i < placed.length; i++) {
    const p = placed[i] as PlacedSubnet;
    if (p.pool < 0) {
      // 'share': the family at the same index borrows
      const f = core.families[i]?.family;
      if (f === 4) share4 = true;
      else if (f === 6) share6 = true;
      continue;
    }
    const pool = core.pools[p.pool] as PoolCidr;
    const fam = core.family(pool.family);
    const g = pool.subnet(p.slot, p.k);
    const cls = p.k === fam.k ? 0 : 1;
    // only the 'random' strategy draws from the seed: skip the u64 math otherwise
    const seed = core.o.podStrategy === "random" ? BigInt.asUintN(64, core.o.seed + BigInt(node.epoch) * 0x9e3779b97f4a7c15n) : 0n;
    core.reusePodRegion(pool, cls, g.size);
    const region = pool.attach(p.slot, 1 << p.k, node.id, g.size, g.base, cls, seed);
    if (region === 0) {
      for (const s of subnets) detach(core, s);
      for (const q of placed) if (q.pool >= 0) releaseSlots(core, core.pools[q.pool] as PoolCidr, q.slot, 1 << q.k);
      return errors.full(`shared memory (${core.engine.memory.buffer.byteLength / 65536} pages)`, `cannot add node ${show(node.name)}`);
    }
    const sub = new Subnet(pool, p.slot, p.k, cls, g.cidr, g.size, g.base, g.hostBits, region);
    if (cls === 0) fam.big++;
    applyReservedIPs(core, sub, fam);
    if (core.o.reserveRouterIP && g.size > 0) {
      const off = core.o.reserveRouterIP === "first" ? 0 : g.size - 1;
      if (pool.allocate(g.base + off, 0) === 1) {
        sub.reserved++;
        core.reservedKeys.add(addressKey(pool.index, g.base + off));
      }
      sub.routerIP = pool.addressOf(g.base + off);
    }
    subnets.push(sub);
    if (pool.family === 4) v4 ??= sub;
    else v6 ??= sub;
  }
  // exact-size copies: an array grown by push() keeps room for 17 elements (152 bytes), and a
  // node keeps these two for its lifetime
  node.subnets = subnets.slice();
  // the placement is the subnets in order unless a family shares (snapshots rebuild it then)
  node.placed = share4 || share6 ? placed.slice() : undefined;
  node.v4 = v4;
  node.v6 = v6;
  node.share4 = share4;
  node.share6 = share6;
  if (node.status === "pending") {
    const i = core.pending.indexOf(node.name);
    if (i >= 0) core.pending.splice(i, 1);
  }
  node.status = "ready";
  node.error = undefined;
  core.nodes.set(node.name, node);
  if (core.log !== undefined) core.emit(occupied ? { op: "node", name: node.name, placed: [...placed], occupied: true } : { op: "node", name: node.name, placed: [...placed] });
  return undefined;
}

/**
 * Releases the node's subnets and all its pod addresses; with graceMs,
 * only after that long (the node drains: no new pods). Returns false for
 * an unknown node (a no-op).
 */
export function removeNode(core: PoolCore, name: string, options?: RemoveNodeOptions): boolean {
  checkName("removeNode(name)", name);
  const graceMs = graceArg(options);
  tick(core);
  const node = core.nodes.get(name);
  if (!node) return false;
  if (graceMs > 0 && node.status === "ready") {
    node.status = "draining";
    node.deadline = core.now() + graceMs;
    core.draining++;
    core.emit({ op: "drain", name, deadline: writeMs(node.deadline) });
    return true;
  }
  dropNode(core, node);
  return true;
}

export function dropNode(core: PoolCore, node: NodeState): void {
  if (node.status === "draining") core.draining--;
  if (node.status === "pending") core.pending.splice(core.pending.indexOf(node.name), 1);
  for (const key of node.borrowed ?? []) releaseKey(core, key, false);
  for (const s of node.subnets) detach(core, s);
  core.nodes.delete(node.name);
  core.lastName = core.lastNode = undefined;
  core.byId[node.id] = undefined;
  core.freeIds.push(node.id);
  core.emit({ op: "drop", name: node.name });
  servePending(core);
}

/** Empties a subnet (owners, borrowers) and frees its slots. */
export function detach(core: PoolCore, s: Subnet): void {
  const owners = s.pool.owners(s.pool.range(s.slot));
  if (owners !== undefined || core.borrowed.size > 0 || core.reservedKeys.size > 0) {
    for (let off = 0; off < s.size; off++) {
      const key = addressKey(s.pool.index, s.base + off);
      core.reservedKeys.delete(key);
      const owner = owners === undefined ? 0 : (owners[off] as number);
      if (owner !== 0) core.owners.removeKey(owner, key);
      const borrower = core.borrowed.get(key);
      if (borrower !== undefined) {
        core.borrowed.delete(key);
        core.byId[borrower]?.borrowed?.delete(key);
      }
    }
  }
  s.pool.detach(s.slot, s.run, s.cls);
  if (s.cls === 0) core.family(s.pool.family).big--;
  releaseSlots(core, s.pool, s.slot, s.run);
}

/** Gives subnets to pending nodes, first come first served, while they fit. */
export function servePending(core: PoolCore): void {
  if (core.replaying) return; // the journal holds each serve as its own "node" record
  while (core.pending.length > 0) {
    const node = core.nodes.get(core.pending[0] as string) as NodeState;
    const cursors: number[] = [];
    const placed = place(core, node, cursors);
    if (placed instanceof IpamError) return;
    if (applyPlace(core, node, placed) !== undefined) {
      // out of shared memory: the node keeps waiting, as if there were no space
      restoreCursors(core, cursors);
      return;
    }
  }
}

export function nodeDetail(core: PoolCore, node: NodeState): NodeDetail {
  const sharing: (4 | 6)[] = [];
  if (node.share4) sharing.push(4);
  if (node.share6) sharing.push(6);
  return {
    ...allocationOf(node),
    handle: node.id,
    status: node.status,
    ...(node.error !== undefined ? { error: node.error } : {}),
    sharing,
    ranges: node.subnets.map((s) => {
      const taken = s.pool.used(s.slot);
      return {
        family: s.pool.family, cidr: s.cidr, used: taken - s.reserved - s.quarantined, free: s.size - taken, size: s.size,
        reserved: s.reserved, cooldown: s.quarantined, ...(s.routerIP !== undefined ? { routerIP: s.routerIP } : {}),
      };
    }),
  };
}
