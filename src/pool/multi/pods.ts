// Nodes and pods with named pools: addNode (labels, pre-allocation),
// removeNode, allocate from a pool (a chunk on demand), release,
// releaseOwner, lookup.
import { parseIp } from "../../net/ip.js";
import { errors, IpamError, show } from "../../errors.js";
import { addressKey, keyPool, keyRel } from "../owners.js";
import { NONE } from "../../core/layout.js";
import { name as nameArg, optionsObject, str, wantedList, graceArg } from "../../args.js";
import type { PoolCidr } from "../../alloc/pool-cidr.js";
import type { PodAddresses } from "../types.js";
import type { MultiCore, MNode, Group, Chunk, IpPool, PoolFamily } from "./state.js";
import type { AddNodeOptions, AllocateOptions, MultiNodeAllocation, MultiLookupResult, PoolAllocation } from "./types.js";
import { DEFAULT_POOL } from "./options.js";
import { untake } from "./moves.js";
import { attachChunk, tick, groupOf, serves, settle, evaluate, takeChunk, dropNode, hasRoom, chunkWithRoom, topUpAll, topUpNode, poolByName } from "./chunks.js";

/** The node's CIDRs per pool (pools in name order, IPv4 chunks first, each family in address order), as CiliumNode spec.ipam.pools.allocated. */
export function poolAllocations(node: MNode): PoolAllocation[] {
  const names = [...new Set([...node.groups.values()].filter((g) => g.chunks.length > 0).map((g) => g.fam.pool.name))].sort();
  return names.map((name) => {
    const cidrs: string[] = [];
    for (const fam of [4, 6] as const) {
      const cs: Chunk[] = [];
      for (const g of node.groups.values()) if (g.fam.pool.name === name && g.fam.family === fam) cs.push(...g.chunks);
      cs.sort((a, b) => a.entry.index - b.entry.index || a.slot - b.slot);
      cidrs.push(...cs.map((c) => c.cidr));
    }
    return { pool: name, cidrs };
  });
}

export function allocationOf(node: MNode): MultiNodeAllocation {
  const pools = poolAllocations(node);
  const v4 = pools.flatMap((p) => p.cidrs.filter((c) => !c.includes(":")));
  const v6 = pools.flatMap((p) => p.cidrs.filter((c) => c.includes(":")));
  return { name: node.name, podCIDRs: [...v4, ...v6], pools };
}

/** Validates addNode's options: { labels?: { [key]: string } }. */
export function labelsArg(options: unknown): Readonly<Record<string, string>> {
  if (options === undefined) return Object.freeze({});
  const o = optionsObject("addNode(options)", options, ["labels"]);
  if (o.labels === undefined) return Object.freeze({});
  if (typeof o.labels !== "object" || o.labels === null || Array.isArray(o.labels)) {
    throw errors.invalidArgument("addNode(options.labels)", o.labels, "an object of label: value strings");
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o.labels)) {
    if (typeof v !== "string") throw errors.invalidArgument(`addNode(options.labels.${k})`, v, "a string");
    out[k] = v;
  }
  return Object.freeze(out);
}

/**
 * Adds a node with its labels: it is ready at once. For each pool that
 * selects it with a pre-allocation, it takes chunks until that many
 * addresses are free per family; a pool without a free chunk leaves it short
 * (never an error, never a wait: Cilium #46867), and it is topped up when
 * the pool gains room. A pool with preAllocate 0 gives it nothing until an
 * allocation needs it. Idempotent: a known node is returned as it is.
 */
export function addNode(core: MultiCore, name: string, options?: AddNodeOptions): MultiNodeAllocation {
  nameArg("addNode(name)", name);
  const labels = labelsArg(options);
  tick(core);
  const known = core.nodes.get(name);
  if (known !== undefined) return allocationOf(known);
  const id = core.freeIds.pop() ?? core.byId.length;
  const node = core.newNode(id, name, labels, ++core.epoch);
  core.nodes.set(name, node);
  const now = core.now();
  for (const pool of core.pools.values()) topUpNode(core, node, pool, now);
  return allocationOf(node);
}

/**
 * Releases all of a node's chunks and addresses; with graceMs, only after
 * that long (as the single pool: the node drains, takes no new allocation
 * and no top-up; Infinity: until it is removed again without grace).
 * Returns false for an unknown node (a no-op).
 */
export function removeNode(core: MultiCore, name: string, options?: unknown): boolean {
  nameArg("removeNode(name)", name);
  const graceMs = graceArg(options);
  tick(core);
  const node = core.nodes.get(name);
  if (node === undefined) return false;
  if (graceMs > 0 && node.status === "ready") {
    node.status = "draining";
    node.deadline = core.now() + graceMs;
    core.draining++;
    if (node.deadline < core.nextDrain) core.nextDrain = node.deadline;
    for (const g of node.groups.values()) core.short.delete(g);
    return true;
  }
  dropNode(core, node);
  topUpAll(core);
  return true;
}

/**
 * allocate's options: undefined, or an object with `pool` and `ips` only
 * (INVALID_OPTION otherwise, as optionsObject says it). Checked and read
 * with nothing allocated: this is on every allocation that names a pool.
 */
function allocateOptions(options: unknown): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null || Array.isArray(options)) throw errors.invalidOption("allocate(options)", "must be an object");
  for (const k in options) {
    if (k !== "pool" && k !== "ips" && Object.hasOwn(options, k)) throw errors.invalidOption(`allocate(options).${k}`, "is not a known option");
  }
}

/** Own property `key` of checked allocate options, or undefined. */
function ownOption(options: unknown, key: "pool" | "ips"): unknown {
  return options !== undefined && Object.hasOwn(options as object, key) ? (options as Record<string, unknown>)[key] : undefined;
}

/** The pool allocate's options name (default `default`), for the node: UNKNOWN_POOL if there is none or its selector does not match. */
function poolFor(core: MultiCore, node: MNode, options: unknown): IpPool {
  const named = ownOption(options, "pool");
  const name = named === undefined ? DEFAULT_POOL : nameArg("allocate(options.pool)", named);
  const pool = poolByName(core, name);
  if (!serves(pool, node)) throw errors.unknownPool(pool.name, `its node selector does not select node ${show(node.name)}`);
  return pool;
}

/** One family's part of an allocation: the group, the chunk (undefined: take one), the free slot to take it at (a wanted address), the wanted rel. */
/** One family's part of an allocation: the chunk (and wanted chunk slot and rel, else -1), then the rel it got. */
interface Pick { g: Group; c: Chunk | undefined; e: PoolCidr | undefined; slot: number; rel: number; got: number }

/** Fills p: the group, the chunk (undefined: take one), the wanted chunk slot and rel (else -1); got -1 until allocated. */
function setPick(p: Pick, g: Group, c: Chunk | undefined, e: PoolCidr | undefined, slot: number, rel: number): void {
  p.g = g;
  p.c = c;
  p.e = e;
  p.slot = slot;
  p.rel = rel;
  p.got = -1;
}

const blankPick = (): Pick => ({ g: undefined as unknown as Group, c: undefined, e: undefined, slot: -1, rel: -1, got: -1 });

/**
 * The picks of the allocation in progress, one per family of its pool (two
 * at most), kept from call to call so that an allocation makes no object
 * for them (nothing allocate() calls allocates again).
 */
const PICKS: readonly Pick[] = [blankPick(), blankPick()];

/** Chunks an allocation took on demand, and the next-fit cursors before it: what a failed call puts back. */
interface Taken { readonly fresh: Chunk[]; readonly cursors: [PoolCidr, number][] }

/** Gives back the chunks a failed allocation took, and puts the cursors back: a failed call changes nothing. */
function undoTaken(core: MultiCore, t: Taken | undefined): void {
  if (t === undefined) return;
  untake(core, t.fresh);
  for (let i = t.cursors.length - 1; i >= 0; i--) (t.cursors[i] as [PoolCidr, number])[0].set._setCursor((t.cursors[i] as [PoolCidr, number])[1]);
}

type Wanted = { text: string; family: 4 | 6; value: bigint };
const NO_WANTED: readonly Wanted[] = Object.freeze([]);

/** allocate's options.ips (or the single pool's `wanted`), parsed: at most one per family. INVALID_ARGUMENT, INVALID_IP. */
function wantedIps(ips: unknown): readonly Wanted[] {
  if (ips === undefined) return NO_WANTED;
  const list = wantedList(ips) ?? [];
  const out: Wanted[] = [];
  for (const text of list) {
    const p = parseIp(text);
    if (out.some((w) => w.family === p.family)) throw errors.invalidArgument("allocate(wanted)", list, `at most one address per family (it asks for two IPv${p.family}, ${show(text)})`);
    out.push({ text, family: p.family, value: p.value });
  }
  return out;
}

/**
 * Where a wanted address of the group's family goes: a chunk the node holds,
 * or the free chunk of the pool that holds it (taken for the node). Throws
 * NOT_IN_RANGE (outside the pool's CIDRs, in another node's chunk, not a
 * usable address of its chunk), ALREADY_ALLOCATED.
 */
function wantedPick(core: MultiCore, g: Group, text: string, value: bigint, p: Pick): void {
  const fam = g.fam;
  const pool = fam.pool.name;
  const entry = fam.entries.find((e) => e.cidr.containsValue(value));
  if (entry === undefined) {
    throw errors.notInRange(text, `pool ${show(pool)} (IPv${fam.family} ${fam.entries.map((e) => String(e.cidr)).join(", ") || "none"})`);
  }
  const slot = entry.slotOfValue(value);
  const rel = entry.relOf(value);
  const held = core.chunkOf(entry, slot);
  if (held !== undefined && held.group !== g) {
    throw errors.notInRange(text, `node ${show(g.node.name)}'s chunks of pool ${show(pool)} (${held.cidr} is node ${show(held.group.node.name)}'s)`);
  }
  const geo = held ?? entry.subnet(slot, 0);
  if (rel < geo.base || rel >= geo.base + geo.size) {
    throw errors.notInRange(text, held !== undefined ? `pod range ${geo.cidr} of node ${show(g.node.name)}` : `pod range ${geo.cidr} (a free chunk of pool ${show(pool)})`);
  }
  if (held === undefined) {
    if (entry.set.hasIndex(slot)) throw errors.notInRange(text, `pool ${show(pool)} (its chunk ${geo.cidr} is reserved)`);
    // taking the chunk would take the address first: the node's router address, or a reserved one
    const router = core.o.reserveRouterIP;
    const isRouter = router !== false && pool === DEFAULT_POOL && !g.chunks.some((x) => x.router >= 0) && rel === geo.base + (router === "first" ? 0 : geo.size - 1);
    if (isRouter || core.reservations.some((r) => r.family === fam.family && r.prefix > fam.maskSize && r.containsValue(value))) throw errors.alreadyAllocated(text);
    setPick(p, g, undefined, entry, slot, rel);
    return;
  }
  if (entry.owner(rel) !== NONE) throw errors.alreadyAllocated(text);
  setPick(p, g, held, entry, -1, rel);
}

/**
 * Allocates one address per family of the pool to `owner` on the node. A
 * node with no free address in the pool takes another chunk on the spot
 * (Cilium's agent asks the operator and retries); then it tops up to the
 * watermark. `options.ips` asks for specific addresses (at most one per
 * family; other families get the next free one): in a chunk the node
 * holds, or in a free chunk of the pool, which the node takes. Throws
 * UNKNOWN_NODE (also draining), UNKNOWN_POOL, FULL (the pool has no free
 * chunk, or the memory cannot grow), NOT_IN_RANGE, ALREADY_ALLOCATED,
 * INVALID_IP; a failed call takes nothing.
 */
export function allocate(core: MultiCore, nodeName: string, owner: string, options?: AllocateOptions): PodAddresses {
  str("allocate(node)", nodeName);
  if (typeof owner !== "string" || owner === "") throw errors.invalidArgument("allocate(owner)", owner, "a non-empty string");
  allocateOptions(options);
  const wanted = wantedIps(ownOption(options, "ips"));
  let node = core.lastNode;
  if (node === undefined || core.lastName !== nodeName) {
    node = core.nodes.get(nodeName); // pods come node by node: the last node is looked up by a string comparison
    if (node === undefined) throw errors.unknownNode(nodeName);
    core.lastName = nodeName;
    core.lastNode = node;
  }
  if (node.status === "draining") throw errors.unknownNode(nodeName, "being removed");
  const pool = poolFor(core, node, options);
  for (const w of wanted) {
    if (!pool.families.some((f) => f.family === w.family)) throw errors.notInRange(w.text, `pool ${show(pool.name)} (it has no IPv${w.family} CIDRs)`);
  }
  tick(core);
  // decide every family first: a wanted address, a chunk with a free address, or room for a new one
  const fams = pool.families;
  const n = fams.length;
  const picks = PICKS;
  for (let i = 0; i < n; i++) {
    const fam = fams[i] as PoolFamily;
    const g = groupOf(node, fam);
    const p = picks[i] as Pick;
    const w = wanted.length === 0 ? undefined : wanted.find((x) => x.family === fam.family);
    if (w !== undefined) {
      wantedPick(core, g, w.text, w.value, p);
      continue;
    }
    const c = chunkWithRoom(g);
    if (c === undefined && !hasRoom(fam)) {
      throw errors.full(`IP pool ${show(pool.name)} (IPv${fam.family} ${fam.entries.map((e) => String(e.cidr)).join(", ") || "no CIDRs"})`, `no free /${fam.maskSize} for node ${show(node.name)}`);
    }
    setPick(p, g, c, undefined, -1, -1);
  }
  let taken: Taken | undefined; // made only when a chunk is taken on demand
  for (let i = 0; i < n; i++) {
    const p = picks[i] as Pick;
    if (p.c !== undefined) continue;
    taken ??= { fresh: [], cursors: [] };
    for (const e of p.g.fam.entries) taken.cursors.push([e, e.set._cursor()]);
    let c: Chunk | IpamError | undefined;
    if (p.slot >= 0) {
      // the chunk that holds the wanted address (checked free above)
      const e = p.e as PoolCidr;
      c = e.set.allocateIndex(p.slot) ? attachChunk(core, p.g, e, p.slot) : undefined;
    } else {
      c = takeChunk(core, p.g);
    }
    if (c === undefined || c instanceof IpamError) {
      undoTaken(core, taken);
      throw c ?? errors.full(`IP pool ${show(pool.name)}`, `no free chunk for node ${show(node.name)}`);
    }
    taken.fresh.push(c);
    p.c = c;
  }
  const o = core.owners.ensure(owner);
  for (let i = 0; i < n; i++) {
    const p = picks[i] as Pick;
    const c = p.c as Chunk;
    let rel: number;
    if (p.rel >= 0) {
      const got = c.entry.allocate(p.rel, o);
      rel = got === 1 ? p.rel : NONE; // 0 (taken) and -1 were ruled out above; NO_MEMORY: the owner array
    } else {
      rel = c.entry.allocateNext(c.slot, core.strategy, o);
    }
    if (rel === NONE) {
      for (let j = 0; j < i; j++) { const q = picks[j] as Pick; (q.c as Chunk).entry.release(q.got, false); }
      core.owners.dropIfEmpty(o);
      undoTaken(core, taken);
      throw errors.full(`shared memory (${core.engine.memory.buffer.byteLength / 65536} pages)`, `cannot record the owner of a pod of node ${show(node.name)}`);
    }
    p.got = rel >>> 0;
  }
  const out: PodAddresses = {};
  for (let i = 0; i < n; i++) {
    const p = picks[i] as Pick;
    const c = p.c as Chunk;
    core.owners.add(o, addressKey(c.entry.index, p.got));
    if (c.entry.family === 4) out.ipv4 = c.format(p.got);
    else out.ipv6 = c.format(p.got);
  }
  // the clock is read (once per call: MultiCore.now) only if a chunk starts its release wait
  for (let i = 0; i < n; i++) {
    const p = picks[i] as Pick;
    settle(core, p.g, NaN, taken === undefined ? p.c : undefined); // lost one free address, took no chunk
  }
  const k = pool.counts;
  if (k !== undefined) k.pods++;
  return out;
}

/** The held chunk an address lies in, with its rel, or undefined (outside every chunk, or not a usable address of it). */
export function chunkOfAddress(core: MultiCore, ip: string): { c: Chunk; rel: number } | undefined {
  const loc = core.table.locate(ip);
  if (loc === undefined || loc.rel === NONE) return undefined;
  const c = core.chunkOf(loc.pool, loc.slot);
  if (c === undefined || loc.rel < c.base || loc.rel >= c.base + c.size) return undefined;
  return { c, rel: loc.rel };
}

/** Releases one held address by chunk and rel; the chunk's group is re-evaluated against its watermark. */
function releaseAt(core: MultiCore, c: Chunk, rel: number, now = NaN): boolean {
  if (core.reservedKeys.size > 0 && core.reservedKeys.has(addressKey(c.entry.index, rel))) return false; // a router address or reserve(): not a pod's
  const q = core.quarantine;
  if (q !== undefined) {
    const key = addressKey(c.entry.index, rel);
    // reuse cooldown: the address stays taken, without owner, until it leaves the queue (tick)
    if (q.epochOf(key) === c.serial) return false; // already waiting: as a free address
    const o = c.entry.release(rel, true);
    if (o === NONE) return false;
    if (o > 0) core.owners.removeKey(o, key);
    q.push(key, c.serial, now === now ? now : core.now());
    c.cooldown++;
    const k = c.group.fam.pool.counts;
    if (k !== undefined) k.releases++;
    return true;
  }
  const o = c.entry.release(rel, false);
  if (o === NONE) return false;
  if (o > 0) core.owners.removeKey(o, addressKey(c.entry.index, rel));
  const k = c.group.fam.pool.counts;
  if (k !== undefined) k.releases++;
  evaluate(core, c.group, now);
  return true;
}

/** True if rel of the chunk is a router address, reserved, or waits in reuse cooldown: taken, but no pod's. */
function notAPod(core: MultiCore, c: Chunk, rel: number): boolean {
  const key = addressKey(c.entry.index, rel);
  return core.reservedKeys.has(key) || core.quarantine?.epochOf(key) === c.serial;
}

/**
 * Releases an address. With `owner`, refuses (OWNER_MISMATCH) unless that
 * owner holds it. Returns true if it was allocated; an address that is free
 * or outside every held chunk is a no-op. A chunk left completely free
 * beyond the watermark goes back after its pool's releaseDelayMs.
 */
export function release(core: MultiCore, ip: string, owner?: string): boolean {
  str("release(ip)", ip);
  if (owner !== undefined && (typeof owner !== "string" || owner === "")) throw errors.invalidArgument("release(owner)", owner, "a non-empty string or undefined");
  tick(core);
  const at = chunkOfAddress(core, ip);
  if (at === undefined) return false;
  if (owner !== undefined) {
    const held = at.c.entry.owner(at.rel);
    if (held === NONE || notAPod(core, at.c, at.rel)) return false;
    const holder = held > 0 ? core.owners.nameOf(held) : undefined;
    if (holder !== owner) throw errors.ownerMismatch(ip, holder, owner);
  }
  const done = releaseAt(core, at.c, at.rel); // the clock is read only if something needs the time
  tick(core); // a release delay of 0 gives the chunk back now
  return done;
}

/** Releases the u32 IPv4 address (as release without owner). */
export function releaseIPv4(core: MultiCore, ip: number): boolean {
  tick(core);
  const entry = core.table.poolOfIPv4(ip);
  if (entry === undefined) return false;
  const rel = ip - entry.base4;
  const c = core.chunkOf(entry, entry.slotOfRel(rel));
  if (c === undefined || rel < c.base || rel >= c.base + c.size) return false;
  const done = releaseAt(core, c, rel);
  tick(core);
  return done;
}

/** Releases every address of an owner, in address order (pool CIDR, then address); returns them. */
export function releaseOwner(core: MultiCore, owner: string): string[] {
  nameArg("releaseOwner(owner)", owner);
  tick(core);
  const id = core.owners.idOf(owner);
  if (id === undefined) return [];
  const now = core.now();
  const out: string[] = [];
  for (const key of core.owners.keys(id).sort((a, b) => a - b)) {
    const entry = core.entries[keyPool(key)] as PoolCidr;
    const rel = keyRel(key);
    const c = core.chunkOf(entry, entry.slotOfRel(rel)) as Chunk;
    out.push(c.format(rel));
    releaseAt(core, c, rel, now);
  }
  tick(core);
  return out;
}

/** Addresses an owner holds, in the order releaseOwner releases them. */
export function addressesOf(core: MultiCore, owner: string): string[] {
  nameArg("addressesOf(owner)", owner);
  const id = core.owners.idOf(owner);
  if (id === undefined) return [];
  return core.owners.keys(id).sort((a, b) => a - b).map((k) => (core.entries[keyPool(k)] as PoolCidr).addressOf(keyRel(k)));
}

/** Which node, pool and owner hold an address; undefined outside every held chunk. Throws INVALID_IP. */
export function lookup(core: MultiCore, ip: string): MultiLookupResult | undefined {
  str("lookup(ip)", ip);
  const loc = core.table.locate(ip);
  if (loc === undefined) return undefined;
  const c = core.chunkOf(loc.pool, loc.slot);
  if (c === undefined) return undefined;
  // an IPv6 address past a chunk's capped range (rel NONE) lies in the chunk but is never allocated
  const inRange = loc.rel !== NONE && loc.rel >= c.base && loc.rel < c.base + c.size;
  const o = inRange ? c.entry.owner(loc.rel) : NONE;
  const base = { node: c.group.node.name, pool: c.group.fam.pool.name, podCIDR: c.cidr };
  const holder = o > 0 ? core.owners.nameOf(o) : undefined;
  return holder !== undefined ? { ...base, owner: holder, allocated: true } : { ...base, allocated: o !== NONE };
}
