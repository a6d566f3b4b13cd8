// Pod addresses: allocate, release (with owner checks and reuse cooldown), releaseOwner, lookup.
import { parseIPv4, parseIp } from "../net/ip.js";
import { errors, IpamError, show } from "../errors.js";
import { PoolCidr } from "../alloc/pool-cidr.js";
import { addressKey, keyPool, keyRel } from "./owners.js";
import { NONE, NO_MEMORY } from "../core/layout.js";
import { PoolCore, type Subnet, type NodeState, type FamilyState } from "./core.js";
import { type PodAddresses, type LookupResult } from "./types.js";
import { releaseKey, dropOwnedIPv4, inCooldown } from "./release.js";
import { tick } from "./nodes.js";
import { name, str, wantedList } from "../args.js";

/**
 * Allocates one address per family from the node's subnets to `owner`
 * (e.g. "namespace/pod"). `wanted` asks for specific addresses (at most one
 * per family); other families get the next free one. A sharing node
 * borrows from the subnet with the most free addresses. Throws
 * UNKNOWN_NODE, FULL, NOT_IN_RANGE, ALREADY_ALLOCATED, INVALID_IP; a failed
 * call takes nothing.
 */
export function allocate(core: PoolCore, node: string, owner: string, wanted?: string | readonly string[]): PodAddresses {
  // pods tend to come in runs per node: remember the last node found
  let n = node === core.lastName ? core.lastNode : undefined;
  if (n === undefined) {
    if (typeof node !== "string") throw errors.invalidArgument("allocate(node)", node, "a node name (string)");
    n = core.nodes.get(node);
    if (n !== undefined) {
      core.lastName = node;
      core.lastNode = n;
    }
  }
  if (typeof owner !== "string" || owner === "") throw errors.invalidArgument("allocate(owner)", owner, "a non-empty string");
  const list = wanted === undefined ? undefined : wantedList(wanted);
  if (n === undefined || n.status !== "ready") throw notReady(core, node, n);
  tick(core);
  const want = list === undefined ? undefined : checkWanted(core, n, list);
  const v4 = n.v4;
  if (v4 !== undefined && n.v6 === undefined && !n.share6 && want === undefined) {
    // the common single-stack path
    const o = core.owners.ensure(owner);
    let rel = v4.pool.allocateNext(v4.slot, core.strategy, o);
    if (rel === NONE) {
      core.owners.dropIfEmpty(o);
      throw rangeFull(core, v4, node);
    }
    rel >>>= 0;
    const key = addressKey(v4.pool.index, rel);
    core.owners.add(o, key);
    if (core.log) core.emit({ op: "alloc", node, owner, keys: [key] });
    return { ipv4: v4.format(rel) };
  }
  return allocateGeneral(core, n, owner, want);
}

export function notReady(core: PoolCore, name: string, n: NodeState | undefined): IpamError {
  if (n === undefined) return errors.unknownNode(name);
  if (n.status === "draining") return errors.unknownNode(name, "being removed");
  return errors.full(`node ${show(name)} has no subnet (${n.status}: ${n.error ?? ""})`);
}

/** Why a pod allocation in `sub` found nothing: its range is full, or (the range has room) the shared memory could not grow for its owner array. */
export function rangeFull(core: PoolCore, sub: Subnet, node: string): IpamError {
  if (sub.pool.used(sub.slot) < sub.size) return memoryFull(core, `cannot record the owner of a pod of node ${show(node)}`);
  return errors.full(`pod range ${sub.cidr} of node ${show(node)}`);
}

export function memoryFull(core: PoolCore, detail: string): IpamError {
  return errors.full(`shared memory (${core.engine.memory.buffer.byteLength / 65536} pages)`, detail);
}

/**
 * Gives each subnet's pod range an owner array if it has none yet, before a
 * dual-stack allocation takes anything: once the first family is taken, the
 * second must not fail for memory. On failure gives back the arrays it made
 * (a failed call leaves the snapshot as it was) and returns the error.
 */
function ensureOwnerArrays(core: PoolCore, subs: readonly Subnet[], node: string): IpamError | undefined {
  const made: Subnet[] = [];
  for (const sub of subs) {
    const r = sub.pool.range(sub.slot);
    if (!sub.pool.needsOwners(r)) continue;
    if (!sub.pool.addOwners(r)) {
      for (const m of made) m.pool.dropOwners(m.pool.range(m.slot));
      return memoryFull(core, `cannot record the owner of a pod of node ${show(node)}`);
    }
    made.push(sub);
  }
  return undefined;
}

export function allocateGeneral(core: PoolCore, n: NodeState, owner: string, want: [number | undefined, number | undefined] | undefined): PodAddresses {
  // Decide first, take after: with two families, a failure after the first was taken would
  // have moved its next-fit cursor (and random state), which no rollback of the bit undoes.
  const subs: Subnet[] = [];
  for (const fam of core.families) {
    const f = fam.family;
    const own = f === 4 ? n.v4 : n.v6;
    const sub = own ?? ((f === 4 ? n.share4 : n.share6) ? mostFree(core, fam) : undefined);
    if (sub === undefined) throw errors.full(`IPv${f} pool: no subnet to borrow from for node ${show(n.name)}`);
    if (core.families.length > 1 && want?.[f === 4 ? 0 : 1] === undefined && sub.pool.used(sub.slot) >= sub.size) {
      throw errors.full(`pod range ${sub.cidr} of node ${show(n.name)}`);
    }
    subs.push(sub);
  }
  if (subs.length > 1) {
    const e = ensureOwnerArrays(core, subs, n.name);
    if (e !== undefined) throw e;
  }
  const o = core.owners.ensure(owner);
  const taken: { sub: Subnet; rel: number; borrowed: boolean }[] = [];
  const fail = (e: IpamError): IpamError => {
    for (const t of taken) t.sub.pool.release(t.rel, false);
    core.owners.dropIfEmpty(o);
    return e;
  };
  for (let i = 0; i < subs.length; i++) {
    const sub = subs[i] as Subnet;
    const f = sub.pool.family;
    const at = want?.[f === 4 ? 0 : 1];
    let rel: number;
    if (at !== undefined) {
      const got = sub.pool.allocate(at, o);
      if (got === NO_MEMORY) throw fail(memoryFull(core, `cannot record the owner of a pod of node ${show(n.name)}`));
      rel = got === 1 ? at : NONE;
    } else {
      rel = sub.pool.allocateNext(sub.slot, core.strategy, o);
    }
    // decided above: only the first (or only) family can get here, with nothing taken yet
    if (rel === NONE) throw fail(rangeFull(core, sub, n.name));
    taken.push({ sub, rel: rel >>> 0, borrowed: sub !== (f === 4 ? n.v4 : n.v6) });
  }
  const out: PodAddresses = {};
  const keys: number[] = [];
  const asked: number[] = []; // keys of addresses asked for: their range's next-fit cursor did not move
  for (const t of taken) {
    const key = addressKey(t.sub.pool.index, t.rel);
    keys.push(key);
    if (want?.[t.sub.pool.family === 4 ? 0 : 1] !== undefined) asked.push(key);
    core.owners.add(o, key);
    if (t.borrowed) lend(core, n, key);
    if (t.sub.pool.family === 4) out.ipv4 = t.sub.format(t.rel);
    else out.ipv6 = t.sub.format(t.rel);
  }
  if (asked.length === 0) core.emit({ op: "alloc", node: n.name, owner, keys });
  else core.emit({ op: "alloc", node: n.name, owner, keys, wanted: asked.length === keys.length ? true : asked });
  return out;
}

export function lend(core: PoolCore, n: NodeState, key: number): void {
  core.borrowed.set(key, n.id);
  (n.borrowed ??= new Set()).add(key);
}

/** The subnet of the family with the most free addresses ('share' overflow). */
export function mostFree(core: PoolCore, fam: FamilyState): Subnet | undefined {
  let best: Subnet | undefined;
  let bestFree = 0;
  for (const pool of fam.pools) {
    const slot = pool.mostFree();
    if (slot === NONE) continue;
    const holder = core.byId[pool.nodeAt(slot)];
    const sub = holder?.subnets.find((s) => s.pool === pool && s.slot <= slot && slot < s.slot + s.run);
    if (sub === undefined) continue;
    const free = sub.size - pool.used(sub.slot);
    if (free > bestFree) { best = sub; bestFree = free; }
  }
  return best;
}

/** Validates the wanted addresses against the node: rel per family (index 0 = IPv4, 1 = IPv6). */
export function checkWanted(core: PoolCore, n: NodeState, list: readonly string[]): [number | undefined, number | undefined] {
  const out: [number | undefined, number | undefined] = [undefined, undefined];
  for (const text of list) {
    const p = parseIp(text);
    const sub = p.family === 4 ? n.v4 : n.v6;
    const k = p.family === 4 ? 0 : 1;
    if (out[k] !== undefined) throw errors.invalidArgument("allocate(wanted)", list, `at most one address per family (it asks for two IPv${p.family}, ${show(text)})`);
    if (sub === undefined) throw errors.notInRange(text, `node ${JSON.stringify(n.name)} (it has no IPv${p.family} subnet)`);
    const rel = usableRel(core, sub, p.value);
    if (rel === NONE) throw errors.notInRange(text, `pod range ${sub.cidr} of node ${JSON.stringify(n.name)}`);
    if (sub.pool.owner(rel) !== NONE) throw errors.alreadyAllocated(text);
    out[k] = rel;
  }
  return out;
}

/** rel of a value if it is a usable pod address of the subnet, else NONE. */
export function usableRel(core: PoolCore, sub: Subnet, value: bigint): number {
  const pool = sub.pool;
  if (!pool.cidr.containsValue(value)) return NONE;
  const rel = pool.relOf(value);
  const off = rel - sub.base;
  return rel >= 0 && off >= 0 && off < sub.size ? rel : NONE;
}

/**
 * Releases an address. With `owner`, refuses (OWNER_MISMATCH) unless that
 * owner holds it, so a stale delete cannot free a live pod's address.
 * Returns true if it was allocated; releasing a free address or one
 * outside every node subnet is a no-op. Throws INVALID_IP.
 */
export function release(core: PoolCore, ip: string, owner?: string): boolean {
  if (typeof ip !== "string") throw errors.invalidArgument("release(ip)", ip, "an IP address string");
  if (owner !== undefined && (typeof owner !== "string" || owner === "")) throw errors.invalidArgument("release(owner)", owner, "a non-empty string or undefined");
  tick(core);
  if (owner === undefined && core.quarantine === undefined && core.borrowed.size === 0 && core.log === undefined && core.reservedKeys.size === 0) {
    const v4 = parseIPv4(ip);
    if (v4 >= 0) {
      // one core call: the bit, the owner's key and the owner if it holds nothing more
      if (core.owners.plain) return core.table.releaseIPv4Own(v4, core.owners.header) !== NONE;
      const o = core.table.releaseIPv4(v4);
      if (o > 0) dropOwnedIPv4(core, o, v4);
      return o !== NONE;
    }
  }
  const loc = core.table.locate(ip);
  if (loc === undefined || loc.rel === NONE) return false;
  const key = addressKey(loc.pool.index, loc.rel);
  if (owner !== undefined) {
    const held = loc.pool.owner(loc.rel);
    if (held === NONE || inCooldown(core, loc.pool, loc.rel, key)) return false;
    const holder = held > 0 ? core.owners.nameOf(held) : undefined;
    if (holder !== owner) throw errors.ownerMismatch(ip, holder, owner);
  }
  return releaseKey(core, key, true);
}

/** Releases every address of an owner; returns them. An unknown owner has none. */
export function releaseOwner(core: PoolCore, owner: string): string[] {
  name("releaseOwner(owner)", owner);
  tick(core);
  const id = core.owners.idOf(owner);
  if (id === undefined) return [];
  const released: string[] = [];
  const keys: number[] = [];
  for (const key of core.owners.keys(id).sort((a, b) => a - b)) {
    const pool = core.pools[keyPool(key)] as PoolCidr;
    released.push(pool.addressOf(keyRel(key)));
    releaseKey(core, key, true, keys);
  }
  // one journal record for the whole pod, so a crash cannot keep half of it
  if (keys.length > 0) core.emit(core.quarantine !== undefined ? { op: "free", keys, q: core.now() } : { op: "free", keys });
  return released;
}

/** Addresses an owner holds, in the order releaseOwner releases them (pool CIDR, then address). */
export function addressesOf(core: PoolCore, owner: string): string[] {
  name("addressesOf(owner)", owner);
  const id = core.owners.idOf(owner);
  return id === undefined ? [] : core.owners.keys(id).sort((a, b) => a - b).map((k) => (core.pools[keyPool(k)] as PoolCidr).addressOf(keyRel(k)));
}

/** Which node (and owner) holds an address; undefined outside every node subnet. Throws INVALID_IP. */
export function lookup(core: PoolCore, ip: string): LookupResult | undefined {
  str("lookup(ip)", ip);
  let pool: PoolCidr;
  let rel: number;
  let node: NodeState | undefined;
  let o: number;
  const v4 = parseIPv4(ip);
  if (v4 >= 0) {
    // one core call: pool, node and owner
    const t = core.table;
    const k = t.locateIPv4(v4);
    if (k < 0) return undefined;
    pool = core.pools[k] as PoolCidr;
    rel = v4 - pool.base4;
    node = core.byId[t.foundNode];
    o = t.foundOwner;
  } else {
    const loc = core.table.locate(ip);
    if (loc === undefined) return undefined;
    pool = loc.pool;
    rel = loc.rel;
    node = core.byId[pool.nodeAt(loc.slot)];
    o = rel === NONE ? NONE : pool.owner(rel);
  }
  if (node === undefined) return undefined;
  const subs = node.subnets;
  let sub = subs[0] as Subnet;
  for (let i = 1; sub.pool !== pool && i < subs.length; i++) sub = subs[i] as Subnet;
  const borrower = core.borrowed.size > 0 ? core.byId[core.borrowed.get(addressKey(pool.index, rel)) ?? 0] : undefined;
  const holder = (borrower ?? node).name;
  const name = o > 0 ? core.owners.nameOf(o) : undefined;
  return name !== undefined ? { node: holder, podCIDR: sub.cidr, owner: name, allocated: true } : { node: holder, podCIDR: sub.cidr, allocated: o !== NONE };
}

// ------------------------------------------------------------------ reservations and pool growth
