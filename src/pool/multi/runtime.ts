// Pools changing at runtime: a pool added or removed, a pool CIDR added or
// removed. Growth tops up the nodes left below their watermark (Cilium
// #41986: a pool extended must serve at once); removing what holds
// allocated addresses is refused naming the holders (Cilium #26966).
import { occupySlots } from "./reserved.js";
import { parseCidr, type Cidr } from "../../net/ip.js";
import { errors, show } from "../../errors.js";
import { checkNodeMask } from "../../alloc/cidr-set.js";
import { name as nameArg, str } from "../../args.js";
import { at } from "../options.js";
import type { PoolCidr } from "../../alloc/pool-cidr.js";
import { takenIn, type MultiCore, type Chunk, type PoolFamily } from "./state.js";
import { resolvePool, checkPoolName, checkPoolOverlaps, type IpPoolSpec } from "./options.js";
import { tick, dropChunk, settle, topUpAll, topUpNode, poolNamed } from "./chunks.js";

/** Every pool CIDR in use, with a path naming its pool, for overlap checks. */
function inUseCidrs(core: MultiCore): { path: string; cidr: Cidr }[] {
  const out: { path: string; cidr: Cidr }[] = [];
  for (const p of core.pools.values()) {
    for (const f of p.families) for (const e of f.entries) out.push({ path: `pool ${show(p.name)}`, cidr: e.cidr });
  }
  return out;
}

/**
 * Chunks of `entries` that hold allocated addresses (pods, the router
 * address, reuse cooldown; not reserve()d ones, which are no one's): IN_USE
 * naming their nodes and some owners, else undefined.
 */
function holders(core: MultiCore, chunks: readonly Chunk[], what: string): ReturnType<typeof errors.inUse> | undefined {
  const busy = chunks.filter((c) => takenIn(c) - c.reserved > 0);
  if (busy.length === 0) return undefined;
  const nodes = [...new Set(busy.map((c) => c.group.node.name))];
  const owners = new Set<string>();
  for (const c of busy) {
    const arr = c.entry.owners(c.entry.range(c.slot));
    for (let off = 0; arr !== undefined && off < c.size && owners.size < 5; off++) {
      const o = arr[off] as number;
      if (o !== 0 && c.entry.owner(c.base + off) === o) owners.add(core.owners.nameOf(o) as string);
    }
  }
  const list = (xs: string[], n: number): string => xs.slice(0, n).map((x) => JSON.stringify(x)).join(", ") + (xs.length > n ? ", ..." : "");
  return errors.inUse(what, `${nodes.length} node(s): ${list(nodes, 10)}${owners.size ? `; owners ${list([...owners], 5)}` : ""}`);
}

function chunksIn(core: MultiCore, pred: (c: Chunk) => boolean): Chunk[] {
  return [...core.chunkAt.values()].filter(pred);
}

/**
 * Adds a named pool (a CiliumPodIPPool). Nodes it selects take their
 * pre-allocation from it at once. Throws INVALID_OPTION naming the spec,
 * CIDR_COLLISION if a CIDR overlaps another pool's, UNKNOWN_POOL... never:
 * an existing name is INVALID_OPTION (use addPoolCidr to extend a pool).
 */
export function addPool(core: MultiCore, name: string, spec: IpPoolSpec): void {
  checkPoolName("addPool(name)", name);
  if (core.pools.has(name)) throw errors.invalidOption("addPool(name)", `${show(name)} is a pool already: extend it with addPoolCidr`);
  const p = resolvePool("addPool(spec)", name, spec, core.o.releaseDelayMs);
  tick(core);
  const mine = p.families.flatMap((f) => f.cidrs.map((cidr, i) => ({ path: `addPool(spec).ipv${f.family}.cidrs[${i}]`, cidr })));
  checkPoolOverlaps([...inUseCidrs(core), ...mine]);
  core.checkRoom(p.families.flatMap((f) => f.cidrs.map((cidr) => ({ cidr, maskSize: f.maskSize }))), `pool ${show(name)}`);
  const pool = core.addPool(p);
  for (const f of pool.families) for (const e of f.entries) occupySlots(core, e);
  const now = core.now();
  for (const node of core.nodes.values()) topUpNode(core, node, pool, now);
}

/** Removes a pool. Refused (IN_USE, naming nodes and owners) while any address of it is allocated; its empty chunks go back. */
export function removePool(core: MultiCore, name: string): void {
  nameArg("removePool(name)", name);
  tick(core);
  const pool = core.pools.get(name);
  if (pool === undefined) throw errors.unknownPool(name);
  const mine = chunksIn(core, (c) => c.group.fam.pool === pool);
  const e = holders(core, mine, `pool ${show(name)}`);
  if (e) throw e;
  for (const c of mine) dropChunk(core, c);
  for (const fam of pool.families) for (const entry of [...fam.entries]) core.removeEntry(entry);
  for (const node of core.nodes.values()) {
    for (const fam of pool.families) {
      const g = node.groups.get(fam);
      if (g) core.short.delete(g);
      node.groups.delete(fam);
    }
  }
  core.pools.delete(name);
  core.poolById[pool.id] = undefined;
}

/**
 * Adds a CIDR to a pool's family (the CIDR's), at the end of its list;
 * nodes below their watermark are topped up from it. Throws UNKNOWN_POOL,
 * FAMILY_MISMATCH (the pool has no such family), CIDR_COLLISION naming the
 * pool CIDR it overlaps, INVALID_MASK (the pool's maskSize does not fit it).
 */
export function addPoolCidr(core: MultiCore, cidr: string, options?: unknown): void {
  const c = parseCidr(str("addPoolCidr(cidr)", cidr));
  const pool = poolNamed(core, options, "addPoolCidr");
  const fam = pool.families.find((f) => f.family === c.family);
  if (fam === undefined) throw errors.familyMismatch(`pool ${show(pool.name)} has no IPv${c.family} CIDRs; pool CIDR`, cidr, c.family === 4 ? 6 : 4);
  at("addPoolCidr(cidr)", () => checkNodeMask(c, fam.maskSize, `chunk mask /${fam.maskSize} of pool ${show(pool.name)}`));
  tick(core);
  checkPoolOverlaps([...inUseCidrs(core), { path: "addPoolCidr(cidr)", cidr: c }]);
  core.checkRoom([{ cidr: c, maskSize: fam.maskSize }], `pool CIDR ${String(c)}`);
  occupySlots(core, core.addEntry(fam, c));
  topUpAll(core);
}

/**
 * Removes a CIDR from a pool. Refused (IN_USE, naming nodes and owners)
 * while any address in it is allocated; its empty chunks go back, and the
 * nodes that held them top up from the pool's other CIDRs. Reservations in
 * it stay (unreserve() ends them): they hold again in a pool CIDR added over
 * them later, as with a single pool.
 */
export function removePoolCidr(core: MultiCore, cidr: string, options?: unknown): void {
  const c = parseCidr(str("removePoolCidr(cidr)", cidr));
  const pool = poolNamed(core, options, "removePoolCidr");
  tick(core);
  const fam = pool.families.find((f) => f.family === c.family);
  const entry = fam?.entries.find((e) => String(e.cidr) === String(c));
  if (fam === undefined || entry === undefined) throw errors.notInRange(cidr, `the pool CIDRs of pool ${show(pool.name)}`);
  const mine = chunksIn(core, (x) => x.entry === entry);
  const e = holders(core, mine, `pool CIDR ${String(c)} of pool ${show(pool.name)}`);
  if (e) throw e;
  const groups = new Set(mine.map((x) => x.group));
  for (const x of mine) dropChunk(core, x);
  core.removeEntry(entry as PoolCidr);
  const now = core.now();
  for (const g of groups) {
    settle(core, g, now);
  }
}

/** The pools as { name, families: { family, cidrs, maskSize } }. */
export function poolList(core: MultiCore): { name: string; preAllocate: number; families: { family: 4 | 6; cidrs: string[]; maskSize: number }[] }[] {
  return [...core.pools.values()].map((p) => ({
    name: p.name,
    preAllocate: p.preAllocate,
    families: p.families.map((f: PoolFamily) => ({ family: f.family, cidrs: f.entries.map((e) => String(e.cidr)), maskSize: f.maskSize })),
  }));
}
