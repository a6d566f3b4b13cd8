// The numeric fast path with named pools: node handles (handle(name)), pool
// handles (poolHandle(name)) and u32 IPv4 addresses, per call and batched.
// The same chunk rules as allocate(): the first chunk of the node with a free
// address, a chunk on demand when none has one, then the watermark
// (settle). Nothing is allocated per address: no closures, no
// arrays, no strings on the success path.
import { errors, IpamError, show } from "../../errors.js";
import { isU32, str, badHandle, u32Array, count as countArg } from "../../args.js";
import { NONE } from "../../core/layout.js";
import { takenIn, type MultiCore, type Group, type Chunk, type IpPool, type PoolFamily } from "./state.js";
import { groupOf, serves, hasRoom, chunkWithRoom, takeChunk, settle, tick } from "./chunks.js";
import { DEFAULT_POOL } from "./options.js";

/** The handle of pool `name` for the fast path: an integer, stable while the pool lives (also across snapshots). UNKNOWN_POOL if there is none. */
export function poolHandle(core: MultiCore, name: string): number {
  const pool = core.pools.get(str("poolHandle(name)", name));
  if (pool === undefined) throw errors.unknownPool(name);
  return pool.id;
}

/** The pool of a pool handle (undefined: `default`). A non-integer is INVALID_ARGUMENT, an integer that is no pool's handle UNKNOWN_POOL. */
export function poolOfHandle(core: MultiCore, what: string, handle: number | undefined): IpPool {
  if (handle === undefined) {
    const p = core.pools.get(DEFAULT_POOL);
    if (p === undefined) throw errors.unknownPool(DEFAULT_POOL, "name a pool: poolHandle(name)");
    return p;
  }
  if (!isU32(handle)) {
    if (typeof handle === "number" && Number.isInteger(handle)) throw errors.unknownPool(`handle ${handle}`);
    throw errors.invalidArgument(`${what}(pool)`, handle, "a pool handle (an integer from poolHandle(name))");
  }
  const p = core.poolById[handle];
  if (p === undefined) throw errors.unknownPool(`handle ${handle}`);
  return p;
}

/**
 * The IPv4 group of node `handle` in pool `pool` for a new allocation:
 * UNKNOWN_NODE (no such node, or draining), UNKNOWN_POOL (no such pool, or
 * its node selector leaves the node out), FAMILY_MISMATCH (the pool has no
 * IPv4 CIDRs). Arguments are checked here, before anything is touched.
 */
export function v4Group(core: MultiCore, what: string, handle: number, pool: number | undefined): Group {
  if (!isU32(handle)) throw badHandle(`${what}(handle)`, handle);
  const p = poolOfHandle(core, what, pool);
  const node = core.byId[handle];
  if (node === undefined) throw errors.unknownNode(`handle ${handle}`);
  if (node.status === "draining") throw errors.unknownNode(node.name, "being removed");
  if (!serves(p, node)) throw errors.unknownPool(p.name, `its node selector does not select node ${show(node.name)}`);
  let fam: PoolFamily | undefined;
  for (let i = 0; i < p.families.length; i++) if ((p.families[i] as PoolFamily).family === 4) fam = p.families[i];
  if (fam === undefined) throw errors.familyMismatch(`pool ${show(p.name)} has no IPv4 CIDRs; ${what}`, `pool ${p.name}`, 6);
  return groupOf(node, fam);
}

/** The chunk the group's next address comes from (a new one on demand), or undefined when the family has no free chunk. Throws FULL when the memory cannot hold a new chunk's pod range. */
function nextChunk(core: MultiCore, g: Group): Chunk | undefined {
  const c = chunkWithRoom(g);
  if (c !== undefined || !hasRoom(g.fam)) return c;
  const t = takeChunk(core, g);
  if (t instanceof IpamError) throw t;
  return t;
}

/** Allocates one IPv4 address (no owner) of the group's pool on its node; returns it as u32, or -1 when the pool has no free chunk. */
export function allocateIPv4(core: MultiCore, g: Group): number {
  tick(core);
  const held = g.chunks.length;
  const c = nextChunk(core, g);
  if (c === undefined) return NONE;
  const rel = c.entry.allocateNext(c.slot, core.strategy, 0); // no owner: straight to the chunk's pod bitmap
  settle(core, g, NaN, g.chunks.length === held ? c : undefined); // lost one free address, took no chunk
  const k = g.fam.pool.counts;
  if (k !== undefined) k.pods++;
  return (c.entry.base4 + rel) >>> 0;
}

/**
 * Up to `want` IPv4 addresses (no owner) into out[0..), chunk by chunk as
 * that many allocateIPv4 calls would take them, then the watermark. Returns
 * how many (fewer: the pool has no free chunk, or the memory could not hold
 * another chunk; with none taken that is FULL).
 */
export function allocateIPv4Batch(core: MultiCore, g: Group, out: Uint32Array, want: number): number {
  tick(core);
  let done = 0;
  while (done < want) {
    let c: Chunk | undefined;
    try {
      c = nextChunk(core, g);
    } catch (e) {
      if (done === 0) throw e;
      break;
    }
    if (c === undefined) break;
    done += c.entry.allocateNextBatch(c.slot, core.strategy, out, Math.min(c.size - takenIn(c), want - done), done);
  }
  if (done > 0) settle(core, g);
  const k = g.fam.pool.counts;
  if (k !== undefined) k.pods += done;
  return done;
}

/** Checks allocateIPv4Batch's array and count; returns the count. */
export function batchArgs(out: Uint32Array, count: number | undefined): number {
  u32Array("allocateIPv4Batch(out)", out);
  return countArg("allocateIPv4Batch(count)", count, out.length);
}
