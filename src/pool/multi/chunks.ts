// Chunks: a node takes CIDRs of a pool's maskSize (next-fit in the pool's
// first CIDR that has one free), keeps at least preAllocate addresses free per
// pool family (the watermark), and gives back a chunk that has been completely
// free beyond the watermark for the pool's releaseDelayMs.
import { errors, show } from "../../errors.js";
import { addressKey, keyPool, keyRel } from "../owners.js";
import { NONE } from "../../core/layout.js";
import { occupyReserved } from "./reserved.js";
import { takenIn, type MultiCore, type Group, type Chunk, type MNode, type PoolFamily, type IpPool } from "./state.js";
import { selects, DEFAULT_POOL } from "./options.js";
import { name as nameArg, optionsObject } from "../../args.js";

/** Free addresses of a group: the sum over its chunks. */
export function freeOf(core: MultiCore, g: Group): number {
  let free = 0;
  for (const c of g.chunks) free += c.size - takenIn(c);
  return free;
}

/** True if some pool CIDR of the family has a free chunk. */
export function hasRoom(fam: PoolFamily): boolean {
  const list = fam.entries;
  for (let i = 0; i < list.length; i++) if (!(list[i] as Chunk["entry"]).set.isFull()) return true;
  return false;
}

/** The group's first chunk (in the order it took them) with a free address, or undefined: where the next allocation goes. */
export function chunkWithRoom(g: Group): Chunk | undefined {
  const list = g.chunks;
  for (let i = 0; i < list.length; i++) {
    const c = list[i] as Chunk;
    if (takenIn(c) < c.size) return c;
  }
  return undefined;
}

/** The node's group in `fam`, made empty if it has none yet. */
export function groupOf(node: MNode, fam: PoolFamily): Group {
  let g = node.groups.get(fam);
  if (g === undefined) node.groups.set(fam, (g = { node, fam, chunks: [], marked: 0, slack: Infinity }));
  return g;
}

/** True if the pool may serve the node (its node selector matches the node's labels). */
export function serves(pool: IpPool, node: MNode): boolean {
  return selects(pool.nodeSelector, node.labels);
}

/**
 * Takes the next free chunk of the family for the group's node: the first
 * pool CIDR with a free one, next-fit inside it (Cilium's cidrset). Returns
 * the chunk, undefined when the family has no free chunk, or the FULL error
 * when the shared memory cannot hold its pod range (nothing taken then).
 */
export function takeChunk(core: MultiCore, g: Group): Chunk | undefined | ReturnType<typeof errors.full> {
  for (const e of g.fam.entries) {
    if (e.set.isFull()) continue;
    const slot = e.set.allocateNextIndex();
    if (slot < 0) continue;
    return attachChunk(core, g, e, slot);
  }
  return undefined;
}

/** Gives the (already taken) slot to the group's node with an empty pod range; FULL when the memory cannot grow (the slot is given back). */
export function attachChunk(core: MultiCore, g: Group, e: Chunk["entry"], slot: number): Chunk | ReturnType<typeof errors.full> {
  const geo = e.subnet(slot, 0);
  const node = g.node;
  const seed = core.o.podStrategy === "random" ? BigInt.asUintN(64, core.o.seed + BigInt(node.epoch) * 0x9e3779b97f4a7c15n + BigInt(e.index * 65536 + slot)) : 0n;
  if (!core.ownEngine) e.reuseRegion(0, geo.size);
  const region = e.attach(slot, 1, node.id, geo.size, geo.base, 0, seed);
  if (region === 0) {
    e.set.releaseIndex(slot);
    return errors.full(`shared memory (${core.engine.memory.buffer.byteLength / 65536} pages)`, `cannot give node ${show(node.name)} a chunk of pool ${show(g.fam.pool.name)}`);
  }
  const used = e.usedCounter(region);
  const c: Chunk = {
    group: g, entry: e, slot, cidr: geo.cidr, size: geo.size, base: geo.base, format: e.formatter(slot, geo.hostBits), excessSince: -1,
    serial: ++core.serial, router: -1, cooldown: 0, reserved: 0, words: used.words, usedAt: used.at,
  };
  g.chunks.push(c);
  core.chunkAt.set(addressKey(e.index, slot), c);
  (core.chunkSlots[e.index] ??= [])[slot] = c;
  core.chunksTaken++;
  g.fam.chunksTaken++;
  if (!core.rebuilding) {
    if (core.o.reserveRouterIP !== false && g.fam.pool.name === DEFAULT_POOL && !g.chunks.some((x) => x.router >= 0) && c.size > 0) {
      // the node's router address (cilium_host): one per node and family, from its first chunk of pool default
      reserveRouter(core, c, c.base + (core.o.reserveRouterIP === "first" ? 0 : c.size - 1));
    }
    occupyReserved(core, c);
  }
  return c;
}

/** Takes rel of the chunk as its node's router address (no owner; release() leaves it alone). */
export function reserveRouter(core: MultiCore, c: Chunk, rel: number): void {
  c.entry.allocate(rel, 0);
  c.router = rel;
  core.reservedKeys.add(addressKey(c.entry.index, rel));
}


/** Gives a chunk back to its pool: its addresses (and their owners' keys) go with it. */
export function dropChunk(core: MultiCore, c: Chunk): void {
  const e = c.entry;
  const owners = e.owners(e.range(c.slot));
  if (owners !== undefined) {
    for (let off = 0; off < c.size; off++) {
      const o = owners[off] as number;
      if (o !== 0) core.owners.removeKey(o, addressKey(e.index, c.base + off));
    }
  }
  if (c.router >= 0) core.reservedKeys.delete(addressKey(e.index, c.router));
  if (c.reserved > 0) for (let rel = c.base; rel < c.base + c.size; rel++) core.reservedKeys.delete(addressKey(e.index, rel));
  e.detach(c.slot, 1, 0);
  e.set.releaseIndex(c.slot);
  const list = c.group.chunks;
  list.splice(list.indexOf(c), 1);
  core.chunkAt.delete(addressKey(e.index, c.slot));
  (core.chunkSlots[e.index] as (Chunk | undefined)[])[c.slot] = undefined;
  if (core.excess.delete(c)) c.group.marked--;
  c.group.slack = -1; // the other marks hold (a marked chunk going leaves a consistent set), their spare addresses are not known
  core.chunksReleased++;
  c.group.fam.chunksReleased++;
}

/** Scratch: the used addresses of each chunk of the group being settled, read once per call (no reentry: nothing below calls back). */
let usedOf = new Int32Array(64);

/** usedOf with room for n chunks (what it held kept). */
function useRoom(n: number): void {
  if (usedOf.length >= n) return;
  const more = new Int32Array(n * 2);
  more.set(usedOf);
  usedOf = more;
}

/** How many chunks the last readUse found empty. */
let emptyChunks = 0;

/** Reads each chunk's used count into usedOf (from the shared memory), counts the empty ones in emptyChunks; returns the group's free addresses. */
function readUse(g: Group): number {
  const list = g.chunks;
  useRoom(list.length);
  let free = 0;
  let empty = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i] as Chunk;
    const u = takenIn(c);
    usedOf[i] = u;
    free += c.size - u;
    if (u === 0) empty++;
  }
  emptyChunks = empty;
  return free;
}

/**
 * Tops the group up to its watermark: takes chunks while fewer than
 * preAllocate addresses are free and the family has room (a family without
 * room leaves it short; a later addPoolCidr or released chunk tops it up).
 * Then marks the chunks completely free beyond the watermark (see evaluate).
 * What every change to a group's addresses ends with; each chunk's use is
 * read once. `allocatedIn`: since the group was last marked it lost one
 * free address, in that chunk, and took no chunk (an allocation). Then no
 * chunk can have become completely free beyond the watermark, and the marks
 * hold if that chunk was not one and every marked chunk had a free address
 * to spare (Group.slack): nothing to mark.
 */
export function settle(core: MultiCore, g: Group, now = NaN, allocatedIn?: Chunk): void {
  let free = readUse(g);
  const pre = g.fam.pool.preAllocate;
  if (core.short.size > 0) core.short.delete(g);
  if (pre > 0 && g.node.status !== "draining") { // a draining node takes nothing more
    while (free < pre) {
      const c = takeChunk(core, g);
      if (c === undefined || !("group" in c)) {
        core.short.add(g);
        break;
      }
      allocatedIn = undefined;
      useRoom(g.chunks.length);
      const u = takenIn(c); // its router address and reserved addresses are not free
      usedOf[g.chunks.length - 1] = u;
      free += c.size - u;
    }
  }
  if (allocatedIn !== undefined && allocatedIn.excessSince < 0 && g.slack >= 1) {
    g.slack--;
    return;
  }
  mark(core, g, free, now);
}

/**
 * Marks which chunks of the group are completely free beyond the watermark
 * (later chunks first, as Cilium's agent releases them): a chunk whose
 * release would still leave preAllocate addresses free. A chunk that becomes
 * such starts its release delay now; one that stops being such stops it.
 * For a group that only gained free addresses since it was last marked (a
 * release, an address out of cooldown, an unreserve): a mark stays true
 * with more free addresses, so when every empty chunk is marked already
 * there is nothing to do.
 */
export function evaluate(core: MultiCore, g: Group, now = NaN): void {
  const free = readUse(g);
  if (emptyChunks === g.marked) return;
  mark(core, g, free, now);
}

/** evaluate's marking, given the group's free count and usedOf filled for its chunks. */
function mark(core: MultiCore, g: Group, free: number, now: number): void {
  const pre = g.fam.pool.preAllocate;
  let slack = Infinity;
  for (let i = g.chunks.length - 1; i >= 0; i--) {
    const c = g.chunks[i] as Chunk;
    if (usedOf[i] === 0 && free - c.size >= pre) {
      if (free - c.size - pre < slack) slack = free - c.size - pre;
      free -= c.size;
      if (c.excessSince < 0) {
        if (now !== now) now = core.now(); // read only when needed: no boxed double on the hot path
        c.excessSince = now;
        core.excess.add(c);
        g.marked++;
        const due = now + c.group.fam.pool.releaseDelayMs;
        if (due < core.nextReclaim) core.nextReclaim = due;
      }
    } else if (c.excessSince >= 0) {
      c.excessSince = -1;
      core.excess.delete(c);
      g.marked--;
    }
  }
  g.slack = slack;
}

/** Gives back every chunk whose release delay ran out. Returns how many went back. */
export function reclaim(core: MultiCore, now: number): number {
  if (core.excess.size === 0 || now < core.nextReclaim) return 0;
  let n = 0;
  let next = Infinity;
  for (const c of [...core.excess]) {
    const delay = c.group.fam.pool.releaseDelayMs;
    if (now - c.excessSince >= delay) {
      dropChunk(core, c);
      n++;
    } else if (c.excessSince + delay < next) next = c.excessSince + delay;
  }
  core.nextReclaim = next;
  return n;
}

/**
 * What every call that changes the pool does first, and tick() does alone:
 * chunks whose delay ran out go back, then groups left below their watermark
 * (a full pool that got room) are topped up.
 */
export function tick(core: MultiCore): void {
  const q = core.quarantine;
  const waiting = q !== undefined && q.size > 0;
  if (!waiting && core.excess.size === 0 && core.draining === 0) return; // nothing waits: the hot path
  const now = core.now();
  if (waiting && q.due(now)) q.expire(now, (key, serial) => expire(core, key, serial, now));
  let n = core.excess.size > 0 && now >= core.nextReclaim ? reclaim(core, now) : 0;
  if (core.draining > 0 && now >= core.nextDrain) {
    let next = Infinity;
    for (const node of [...core.nodes.values()]) {
      if (node.status !== "draining") continue;
      if (node.deadline <= now) {
        dropNode(core, node);
        n++;
      } else if (node.deadline < next) next = node.deadline;
    }
    core.nextDrain = next;
  }
  if (n > 0) topUpAll(core);
}

/** An address leaves reuse cooldown: free it if the chunk it waited in is still held (the same serial). */
function expire(core: MultiCore, key: number, serial: number, now: number): void {
  const e = core.entries[keyPool(key)];
  if (e === undefined) return;
  const rel = keyRel(key);
  const c = core.chunkOf(e, e.slotOfRel(rel));
  if (c === undefined || c.serial !== serial) return;
  if (e.release(rel, false) !== NONE) c.cooldown--;
  evaluate(core, c.group, now);
}

/** Forgets a node: its chunks (and their addresses) go back, its handle is free for the next node. The caller tops the others up. */
export function dropNode(core: MultiCore, node: MNode): void {
  for (const g of node.groups.values()) {
    for (const c of [...g.chunks]) dropChunk(core, c);
    core.short.delete(g);
  }
  if (node.status === "draining") core.draining--;
  core.nodes.delete(node.name);
  core.byId[node.id] = undefined;
  if (core.lastNode === node) core.lastNode = core.lastName = undefined;
  core.freeIds.push(node.id);
}

/** Tops up the groups left below their watermark (in the order they fell short) once their family has room again. */
export function topUpAll(core: MultiCore): void {
  if (core.short.size === 0) return;
  const now = core.now();
  for (const g of [...core.short]) {
    if (!hasRoom(g.fam)) continue;
    settle(core, g, now);
  }
}

/** Takes chunks for `node` in every family of `pool` up to the watermark, and starts or stops each family's release wait (a node that `pool` does not serve: nothing). */
export function topUpNode(core: MultiCore, node: MNode, pool: IpPool, now: number): void {
  if (!serves(pool, node)) return;
  for (const fam of pool.families) {
    const g = groupOf(node, fam);
    settle(core, g, now);
  }
}

/** The pool named by options.pool (default `default`): UNKNOWN_POOL if there is none. `what` names the call, e.g. "allocate". */
export function poolNamed(core: MultiCore, options: unknown, what: string, keys: readonly string[] = ["pool"]): IpPool {
  let name = DEFAULT_POOL;
  if (options !== undefined) {
    const o = optionsObject(`${what}(options)`, options, keys);
    if (o.pool !== undefined) name = nameArg(`${what}(options.pool)`, o.pool);
  }
  return poolByName(core, name);
}

/** The pool named `name`: UNKNOWN_POOL if there is none. */
export function poolByName(core: MultiCore, name: string): IpPool {
  const pool = core.pools.get(name);
  if (pool === undefined) throw errors.unknownPool(name);
  return pool;
}
