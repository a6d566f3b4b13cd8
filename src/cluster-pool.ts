/**
 * ClusterPool: Cilium cluster-pool IPAM. Nodes get subnets carved from the
 * pool CIDRs (first CIDR that is not full, IPv4 then IPv6, rolled back if
 * the second family fails); pods get addresses from their node's subnets;
 * any address can be looked up to its node and owner.
 */
import { parseIPv4, parseIp } from "./ip.js";
import { errors } from "./errors.js";
import { Engine } from "./engine.js";
import { PoolCidr } from "./pool-cidr.js";
import { Owners, addressKey, keyPool, keyRel } from "./owners.js";
import { resolveOptions, type ClusterPoolOptions } from "./options.js";
import { NONE, POOL_BYTES, STRATEGY_CODE, type Strategy } from "./wasm.js";
import type { PoolDescriptor } from "./pool-view.js";

/** What addNode returns: the node and its pod CIDRs (IPv4 first). */
export interface NodeAllocation {
  readonly name: string;
  readonly podCIDRs: string[];
}

/** Pod addresses handed to one owner by allocate(). */
export interface PodAddresses {
  ipv4?: string;
  ipv6?: string;
}

export interface LookupResult {
  /** Node whose subnet holds the address. */
  readonly node: string;
  /** That node subnet. */
  readonly podCIDR: string;
  /** Owner the address is allocated to; absent when free or allocated without owner. */
  readonly owner?: string;
  /** True if the address is allocated. */
  readonly allocated: boolean;
}

export interface RangeUsage {
  readonly family: 4 | 6;
  readonly cidr: string;
  readonly used: number;
  readonly free: number;
  readonly size: number;
}

export interface NodeDetail extends NodeAllocation {
  /** Integer handle for the numeric fast path. */
  readonly handle: number;
  readonly ranges: RangeUsage[];
}

export interface PoolStats {
  readonly family: 4 | 6;
  readonly cidr: string;
  readonly nodeMaskSize: number;
  readonly subnets: { readonly used: number; readonly free: number; readonly capacity: number };
  readonly pods: { readonly used: number; readonly capacity: number };
}

export interface ClusterStats {
  readonly nodes: number;
  readonly owners: number;
  readonly pods: number;
  readonly pools: PoolStats[];
  readonly perNode: { readonly name: string; readonly podCIDRs: string[]; readonly used: number; readonly free: number }[];
}

interface Subnet {
  readonly pool: PoolCidr;
  readonly slot: number;
  readonly cidr: string;
  readonly format: (rel: number) => string;
}

interface NodeState {
  readonly id: number;
  readonly name: string;
  readonly subnets: Subnet[];
  readonly v4: Subnet | undefined;
  readonly v6: Subnet | undefined;
}

const TABLE_ENTRIES = 64;

export class ClusterPool {
  readonly #engine: Engine;
  readonly #table: number;
  readonly #pools: PoolCidr[] = [];
  readonly #families: { family: 4 | 6; pools: PoolCidr[] }[] = [];
  readonly #nodes = new Map<string, NodeState>();
  readonly #byId: (NodeState | undefined)[] = [undefined];
  readonly #freeIds: number[] = [];
  readonly #owners = new Owners();
  readonly #strategy: number;
  readonly #seed: bigint;
  readonly #count: number;
  /** Staging for batch calls; see Engine.scratch. */
  readonly #scratch: number;

  /** Validates options (IpamError naming the option) and lays the pools out in a shared memory. */
  constructor(options: ClusterPoolOptions) {
    const o = resolveOptions(options);
    this.#engine = o.engine ?? Engine.create();
    this.#strategy = STRATEGY_CODE[o.podStrategy];
    this.#seed = o.seed;
    const total = o.families.reduce((n, f) => n + f.cidrs.length, 0);
    this.#table = this.#engine.alloc(Math.max(TABLE_ENTRIES, total) * POOL_BYTES);
    for (const f of o.families) {
      const pools = f.cidrs.map((c) => {
        const p = new PoolCidr(this.#engine, this.#table, this.#pools.length, c, f.maskSize, 0);
        this.#pools.push(p);
        return p;
      });
      this.#families.push({ family: f.family, pools });
    }
    this.#count = this.#pools.length;
    this.#scratch = this.#engine.scratch;
  }

  /** The engine (shared memory) holding this pool's state. */
  get engine(): Engine { return this.#engine; }
  /** Number of nodes. */
  get nodeCount(): number { return this.#nodes.size; }
  /** Pod strategy in use. */
  get podStrategy(): Strategy {
    return (Object.keys(STRATEGY_CODE) as Strategy[]).find((k) => STRATEGY_CODE[k] === this.#strategy) as Strategy;
  }

  /**
   * What a worker thread needs to open a PoolView on this pool's memory.
   * Structured-cloneable: post it to a worker; the memory is shared, not copied.
   */
  describe(): PoolDescriptor {
    return {
      memory: this.#engine.memory,
      table: this.#table,
      podStrategy: this.podStrategy,
      pools: this.#pools.map((p) => ({
        index: p.index, entry: p.entry, family: p.family, cidr: String(p.cidr), nodeMask: p.nodeMask,
        base4: p.base4, hostBits: p.pods.hostBits, first: p.pods.first, podBits: p.pods.size,
        slots: p.set.capacity, nodeBitmap: p.set.region,
      })),
    };
  }

  // ------------------------------------------------------------------ nodes

  /**
   * Gives the node one subnet per configured family, from the first pool
   * CIDR that is not full. Idempotent: a known node gets its subnets back.
   * Throws FULL (and takes nothing) when a family has no subnet left.
   */
  addNode(name: string): NodeAllocation {
    checkName("node name", name);
    const known = this.#nodes.get(name);
    if (known) return allocationOf(known);
    const id = this.#freeIds.pop() ?? this.#byId.length;
    const subnets: Subnet[] = [];
    const undo = (): void => {
      for (const s of subnets) {
        this.#engine.wasm.poolDetach(s.pool.entry, s.slot);
        s.pool.set.releaseIndex(s.slot);
      }
      this.#freeIds.push(id);
    };
    for (const { family, pools } of this.#families) {
      let taken: Subnet | undefined;
      for (const pool of pools) {
        if (pool.set.isFull()) continue;
        const slot = pool.set.allocateNextIndex();
        if (slot === NONE) continue;
        const seed = BigInt.asUintN(64, this.#seed + BigInt(id) * 0x9e3779b97f4a7c15n);
        if (this.#engine.wasm.poolAttach(pool.entry, slot, id, seed) === 0) {
          pool.set.releaseIndex(slot);
          undo();
          throw errors.full(`shared memory, while adding node ${JSON.stringify(name)}`);
        }
        taken = { pool, slot, cidr: pool.subnet(slot), format: pool.formatter(slot) };
        break;
      }
      if (!taken) {
        undo();
        const list = pools.map((p) => String(p.cidr)).join(", ");
        throw errors.full(`IPv${family} pool (${list}) with /${pools[0]?.nodeMask} node subnets, while adding node ${JSON.stringify(name)}`);
      }
      subnets.push(taken);
    }
    const node: NodeState = {
      id, name, subnets,
      v4: subnets.find((s) => s.pool.family === 4),
      v6: subnets.find((s) => s.pool.family === 6),
    };
    this.#nodes.set(name, node);
    this.#byId[id] = node;
    return allocationOf(node);
  }

  /** Releases the node's subnets and all its pod addresses. Returns false for an unknown node (a no-op). */
  removeNode(name: string): boolean {
    const node = this.#nodes.get(name);
    if (!node) return false;
    for (const s of node.subnets) {
      this.#forgetOwners(s);
      this.#engine.wasm.poolDetach(s.pool.entry, s.slot);
      s.pool.set.releaseIndex(s.slot);
    }
    this.#nodes.delete(name);
    this.#byId[node.id] = undefined;
    this.#freeIds.push(node.id);
    return true;
  }

  /** Drops the owner records of every owned address in a subnet. */
  #forgetOwners(s: Subnet): void {
    const w = this.#engine.wasm;
    const region = w.poolRegion(s.pool.entry, s.slot);
    const aux = region === 0 ? 0 : w.bmAux(region) >>> 0;
    if (aux === 0) return;
    const view = this.#engine.u32();
    const origin = s.slot * 2 ** s.pool.pods.hostBits + s.pool.pods.first;
    for (let off = 0, base = aux >>> 2; off < s.pool.pods.size; off++) {
      const owner = view[base + off] as number;
      if (owner !== 0) this.#owners.removeKey(owner, addressKey(s.pool.index, origin + off));
    }
  }

  /** The node's subnets and usage, or undefined. */
  node(name: string): NodeDetail | undefined {
    const node = this.#nodes.get(name);
    return node && this.#detail(node);
  }

  #detail(node: NodeState): NodeDetail {
    return {
      ...allocationOf(node),
      handle: node.id,
      ranges: node.subnets.map((s) => {
        const used = this.#engine.wasm.podUsed(s.pool.entry, s.slot);
        return { family: s.pool.family, cidr: s.cidr, used, free: s.pool.pods.size - used, size: s.pool.pods.size };
      }),
    };
  }

  /** Names of all nodes, in the order they were added. */
  nodeNames(): string[] {
    return [...this.#nodes.keys()];
  }

  // ------------------------------------------------------------------ pods

  /**
   * Allocates one address per family from the node's subnets to `owner`
   * (e.g. "namespace/pod"). `wanted` asks for specific addresses (at most one
   * per family); other families get the next free one. Throws UNKNOWN_NODE,
   * FULL, NOT_IN_RANGE, ALREADY_ALLOCATED, INVALID_IP; a failed call takes nothing.
   */
  allocate(node: string, owner: string, wanted?: string | readonly string[]): PodAddresses {
    const n = this.#nodes.get(node);
    if (n === undefined) throw errors.unknownNode(node);
    if (typeof owner !== "string" || owner === "") throw errors.invalidOption("owner", `must be a non-empty string (got ${JSON.stringify(owner)})`);
    const want = wanted === undefined ? undefined : this.#wanted(n, wanted);
    const w = this.#engine.wasm;
    const o = this.#owners.ensure(owner);
    const owners = this.#owners;
    const v4 = n.v4;
    const v6 = n.v6;
    let r4 = NONE;
    if (v4 !== undefined) {
      const at = want?.[0];
      r4 = at === undefined ? w.podAllocateNext(v4.pool.entry, v4.slot, this.#strategy, o) : w.podAllocate(v4.pool.entry, at, o) === 1 ? at : NONE;
      if (r4 === NONE) {
        owners.dropIfEmpty(o);
        throw errors.full(`pod range ${v4.cidr} of node ${JSON.stringify(node)}`);
      }
      r4 >>>= 0;
    }
    if (v6 === undefined) {
      owners.add(o, addressKey(v4!.pool.index, r4));
      return { ipv4: v4!.format(r4) };
    }
    const at6 = want?.[1];
    let r6 = at6 === undefined ? w.podAllocateNext(v6.pool.entry, v6.slot, this.#strategy, o) : w.podAllocate(v6.pool.entry, at6, o) === 1 ? at6 : NONE;
    if (r6 === NONE) {
      if (v4 !== undefined) w.podRelease(v4.pool.entry, r4);
      owners.dropIfEmpty(o);
      throw errors.full(`pod range ${v6.cidr} of node ${JSON.stringify(node)}`);
    }
    r6 >>>= 0;
    const out: PodAddresses = {};
    if (v4 !== undefined) {
      owners.add(o, addressKey(v4.pool.index, r4));
      out.ipv4 = v4.format(r4);
    }
    owners.add(o, addressKey(v6.pool.index, r6));
    out.ipv6 = v6.format(r6);
    return out;
  }

  /** Validates `wanted` against the node: rel per family (index 0 = IPv4, 1 = IPv6). */
  #wanted(n: NodeState, wanted: string | readonly string[]): [number | undefined, number | undefined] {
    const list = typeof wanted === "string" ? [wanted] : wanted;
    if (!Array.isArray(list)) throw errors.invalidOption("wanted", "must be an IP string or an array of them");
    const out: [number | undefined, number | undefined] = [undefined, undefined];
    for (const ip of list as readonly unknown[]) {
      const p = parseIp(ip);
      const text = ip as string;
      const sub = p.family === 4 ? n.v4 : n.v6;
      const k = p.family === 4 ? 0 : 1;
      if (sub === undefined) throw errors.notInRange(text, `node ${JSON.stringify(n.name)} (it has no IPv${p.family} subnet)`);
      if (out[k] !== undefined) throw errors.invalidOption("wanted", `asks for two IPv${p.family} addresses (${JSON.stringify(text)})`);
      const rel = this.#usableRel(sub, p.value);
      if (rel === NONE) throw errors.notInRange(text, `pod range ${sub.cidr} of node ${JSON.stringify(n.name)}`);
      if (this.#engine.wasm.podOwner(sub.pool.entry, rel) !== NONE) throw errors.alreadyAllocated(text);
      out[k] = rel;
    }
    return out;
  }

  /** rel of a value if it is a usable pod address of the subnet, else NONE. */
  #usableRel(sub: Subnet, value: bigint): number {
    const pool = sub.pool;
    if (!pool.cidr.containsValue(value)) return NONE;
    const rel = pool.relOf(value);
    if (rel < 0 || pool.slotOfRel(rel) !== sub.slot) return NONE;
    const off = rel - sub.slot * 2 ** pool.pods.hostBits - pool.pods.first;
    return off >= 0 && off < pool.pods.size ? rel : NONE;
  }

  /** Pool, slot and rel (NONE past an IPv6 range cap) of an address, or undefined outside every pool. */
  #locate(ip: string): { pool: PoolCidr; slot: number; rel: number } | undefined {
    const v4 = parseIPv4(ip);
    if (v4 >= 0) {
      const i = this.#engine.wasm.findPool4(this.#table, this.#count, v4);
      const pool = this.#pools[i];
      if (pool === undefined) return undefined;
      const rel = v4 - pool.base4;
      return { pool, slot: pool.slotOfRel(rel), rel };
    }
    const p = parseIp(ip);
    for (const pool of this.#pools) {
      if (pool.family !== p.family || !pool.cidr.containsValue(p.value)) continue;
      const slot = Number((p.value - pool.cidr.network) >> BigInt(pool.cidr.bits - pool.nodeMask));
      return { pool, slot, rel: pool.relOf(p.value) };
    }
    return undefined;
  }

  /**
   * Releases an address. Returns true if it was allocated; releasing a free
   * address or one outside every node subnet is a no-op. Throws INVALID_IP.
   */
  release(ip: string): boolean {
    const w = this.#engine.wasm;
    const v4 = parseIPv4(ip);
    if (v4 >= 0) {
      const owner = w.release4(this.#table, this.#count, v4);
      if (owner === NONE) return false;
      if (owner > 0) {
        const pool = this.#pools[w.findPool4(this.#table, this.#count, v4)] as PoolCidr;
        this.#owners.removeKey(owner, addressKey(pool.index, v4 - pool.base4));
      }
      return true;
    }
    const loc = this.#locate(ip);
    if (loc === undefined || loc.rel === NONE) return false;
    const owner = w.podRelease(loc.pool.entry, loc.rel);
    if (owner === NONE) return false;
    if (owner > 0) this.#owners.removeKey(owner, addressKey(loc.pool.index, loc.rel));
    return true;
  }

  /** Releases every address of an owner; returns them. An unknown owner has none. */
  releaseOwner(owner: string): string[] {
    const id = this.#owners.idOf(owner);
    if (id === undefined) return [];
    const released: string[] = [];
    for (const key of this.#owners.keys(id)) {
      const pool = this.#pools[keyPool(key)] as PoolCidr;
      const rel = keyRel(key);
      this.#engine.wasm.podRelease(pool.entry, rel);
      released.push(pool.addressOf(rel));
    }
    this.#owners.clear(id);
    return released;
  }

  /** Addresses an owner holds. */
  addressesOf(owner: string): string[] {
    const id = this.#owners.idOf(owner);
    return id === undefined ? [] : this.#owners.keys(id).map((k) => (this.#pools[keyPool(k)] as PoolCidr).addressOf(keyRel(k)));
  }

  /** Which node (and owner) holds an address; undefined outside every node subnet. Throws INVALID_IP. */
  lookup(ip: string): LookupResult | undefined {
    const loc = this.#locate(ip);
    if (loc === undefined) return undefined;
    const w = this.#engine.wasm;
    const node = this.#byId[w.poolNodeAt(loc.pool.entry, loc.slot)];
    if (node === undefined) return undefined;
    const sub = node.subnets.find((s) => s.pool === loc.pool) as Subnet;
    const o = loc.rel === NONE ? NONE : w.podOwner(loc.pool.entry, loc.rel);
    const name = o > 0 ? this.#owners.nameOf(o) : undefined;
    return name !== undefined ? { node: node.name, podCIDR: sub.cidr, owner: name, allocated: true } : { node: node.name, podCIDR: sub.cidr, allocated: o !== NONE };
  }

  // ------------------------------------------------------------------ numeric fast path

  /** Integer handle of a node for the numeric fast path. Throws UNKNOWN_NODE. Handles of removed nodes are reused. */
  handle(name: string): number {
    const n = this.#nodes.get(name);
    if (n === undefined) throw errors.unknownNode(name);
    return n.id;
  }

  /** Name of the node with this handle, or undefined. */
  nodeName(handle: number): string | undefined {
    return this.#byId[handle]?.name;
  }

  #v4(handle: number): Subnet {
    const s = this.#byId[handle]?.v4;
    if (s === undefined) throw errors.unknownNode(`handle ${handle} (no IPv4 subnet)`);
    return s;
  }

  /** Allocates an IPv4 pod address (no owner) on the node; returns it as u32, or -1 when the range is full. */
  allocateIPv4(handle: number): number {
    const s = this.#v4(handle);
    const rel = this.#engine.wasm.podAllocateNext(s.pool.entry, s.slot, this.#strategy, 0);
    return rel === NONE ? NONE : (s.pool.base4 + rel) >>> 0;
  }

  /** Allocates up to `count` IPv4 pod addresses on the node into out (u32). Returns how many (fewer: full). */
  allocateIPv4Batch(handle: number, out: Uint32Array, count: number = out.length): number {
    const s = this.#v4(handle);
    const w = this.#engine.wasm;
    const scratch = this.#scratch;
    let done = 0;
    count = Math.min(count, out.length);
    while (done < count) {
      const n = Math.min(count - done, 16384);
      const got = w.podAllocateBatch(s.pool.entry, s.slot, this.#strategy, n, scratch);
      if (got > 0) out.set(this.#engine.u32().subarray(scratch >>> 2, (scratch >>> 2) + got), done);
      done += got;
      if (got < n) break;
    }
    return done;
  }

  /** Releases an IPv4 pod address given as u32. Returns true if it was allocated. */
  releaseIPv4(ip: number): boolean {
    const owner = this.#engine.wasm.release4(this.#table, this.#count, ip);
    if (owner > 0) this.#dropOwnedIPv4(owner, ip);
    return owner !== NONE;
  }

  #dropOwnedIPv4(owner: number, ip: number): void {
    const pool = this.#pools[this.#engine.wasm.findPool4(this.#table, this.#count, ip)] as PoolCidr;
    this.#owners.removeKey(owner, addressKey(pool.index, ((ip >>> 0) - pool.base4)));
  }

  /** Releases the u32 IPv4 addresses in[0..count). Returns how many were allocated. */
  releaseIPv4Batch(ips: Uint32Array, count: number = ips.length): number {
    const w = this.#engine.wasm;
    const scratch = this.#scratch;
    const owners = scratch + 16384 * 4;
    let freed = 0;
    count = Math.min(count, ips.length);
    for (let done = 0; done < count; ) {
      const n = Math.min(count - done, 16384);
      const view = this.#engine.u32();
      view.set(ips.subarray(done, done + n), scratch >>> 2);
      freed += w.release4Batch(this.#table, this.#count, n, scratch, owners);
      if (this.#owners.size > 0) {
        for (let k = 0, o = owners >>> 2; k < n; k++) {
          const owner = view[o + k] as number;
          if (owner !== 0 && owner !== 0xffffffff) this.#dropOwnedIPv4(owner, ips[done + k] as number);
        }
      }
      done += n;
    }
    return freed;
  }

  /** Handle of the node whose subnet holds the u32 IPv4 address, or 0. */
  lookupIPv4(ip: number): number {
    return this.#engine.wasm.lookup4(this.#table, this.#count, ip);
  }

  /** Writes the node handle (0 = none) of each u32 address ips[k] to out[k]. */
  lookupIPv4Batch(ips: Uint32Array, out: Uint32Array | Int32Array, count: number = ips.length): void {
    const w = this.#engine.wasm;
    const scratch = this.#scratch;
    const res = scratch + 16384 * 4;
    count = Math.min(count, ips.length, out.length);
    for (let done = 0; done < count; ) {
      const n = Math.min(count - done, 16384);
      const view = this.#engine.u32();
      view.set(ips.subarray(done, done + n), scratch >>> 2);
      w.lookup4Batch(this.#table, this.#count, n, scratch, res, 0);
      out.set(view.subarray(res >>> 2, (res >>> 2) + n), done);
      done += n;
    }
  }

  // ------------------------------------------------------------------ stats

  /** Used and free subnets and pod addresses per pool CIDR and per node. */
  stats(): ClusterStats {
    const w = this.#engine.wasm;
    const podsByPool = new Map<PoolCidr, number>();
    const perNode = [...this.#nodes.values()].map((n) => {
      let used = 0;
      let size = 0;
      for (const s of n.subnets) {
        const u = w.podUsed(s.pool.entry, s.slot);
        podsByPool.set(s.pool, (podsByPool.get(s.pool) ?? 0) + u);
        used += u;
        size += s.pool.pods.size;
      }
      return { name: n.name, podCIDRs: n.subnets.map((s) => s.cidr), used, free: size - used };
    });
    const pools = this.#pools.map((p) => ({
      family: p.family,
      cidr: String(p.cidr),
      nodeMaskSize: p.nodeMask,
      subnets: { used: p.set.used, free: p.set.free, capacity: p.set.capacity },
      pods: { used: podsByPool.get(p) ?? 0, capacity: p.set.used * p.pods.size },
    }));
    return {
      nodes: this.#nodes.size,
      owners: this.#owners.live,
      pods: pools.reduce((n, p) => n + p.pods.used, 0),
      pools,
      perNode,
    };
  }
}

function checkName(what: string, name: unknown): void {
  if (typeof name !== "string" || name === "") throw errors.invalidOption(what, `must be a non-empty string (got ${JSON.stringify(name)})`);
}

function allocationOf(node: NodeState): NodeAllocation {
  return { name: node.name, podCIDRs: node.subnets.map((s) => s.cidr) };
}
