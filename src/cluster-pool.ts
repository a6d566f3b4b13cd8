/**
 * ClusterPool: Cilium cluster-pool IPAM, and the lifecycle around it.
 *
 * Nodes get subnets carved from the pool CIDRs (first CIDR that is not full,
 * IPv4 then IPv6, rolled back if the second family fails); pods get
 * addresses from their node's subnets; any address can be looked up to its
 * node and owner. Beyond Cilium: a cap on big node subnets with an overflow
 * policy, reserved ranges, pool growth, graceful node removal, a reuse
 * cooldown, owner-checked release, CiliumNode import/export, snapshots and
 * an effect journal (see src/state/).
 *
 * Every mutation is decided here, applied through one `#apply*` method per
 * effect, and handed to the journal hook as a record, so replaying a
 * journal runs exactly the code that made the state.
 */
import { Cidr, parseCidr, parseIPv4, parseIp } from "./ip.js";
import { errors, IpamError } from "./errors.js";
import { Engine } from "./engine.js";
import { PoolCidr } from "./pool-cidr.js";
import { Owners, addressKey, keyPool, keyRel } from "./owners.js";
import { resolveOptions, poolCidr, at, type ClusterPoolOptions, type ResolvedOptions, type ResolvedFamily } from "./options.js";
import { checkNodeMask } from "./cidr-set.js";
import { Quarantine } from "./quarantine.js";
import { NONE, POOL_BYTES, STRATEGY_CODE, type Strategy } from "./wasm.js";
import { ciliumErrors, ciliumItems, type CiliumNode, type CiliumNodeList, type ImportResult } from "./cilium-node.js";
import type { PoolDescriptor } from "./pool-view.js";
import type { JournalRecord, PlacedSubnet } from "./state/records.js";
import { encodeSnapshot, decodeSnapshot } from "./state/snapshot.js";
import { FileStore, type FileStoreOptions } from "./state/file-store.js";

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
  /** Node that holds the address: the subnet's node, or the node that borrowed it ('share' overflow). */
  readonly node: string;
  /** The node subnet the address lies in. */
  readonly podCIDR: string;
  /** Owner the address is allocated to; absent when free, reserved, quarantined or allocated without owner. */
  readonly owner?: string;
  /** True if the address is taken (allocated, reserved or in reuse cooldown). */
  readonly allocated: boolean;
}

export type NodeStatus = "ready" | "pending" | "failed" | "draining";

export interface RangeUsage {
  readonly family: 4 | 6;
  readonly cidr: string;
  /** Addresses allocated to pods. */
  readonly used: number;
  /** Addresses that can be allocated now. */
  readonly free: number;
  /** Usable addresses of the range. */
  readonly size: number;
  /** Addresses reserved (router, reserve()). */
  readonly reserved: number;
  /** Addresses in reuse cooldown. */
  readonly cooldown: number;
  /** The router address, with reserveRouterIP. */
  readonly routerIP?: string;
}

export interface NodeDetail extends NodeAllocation {
  /** Integer handle for the numeric fast path. */
  readonly handle: number;
  readonly status: NodeStatus;
  /** Why the node is pending or failed. */
  readonly error?: string;
  /** Families in which the node borrows addresses ('share' overflow). */
  readonly sharing: (4 | 6)[];
  readonly ranges: RangeUsage[];
}

export interface PoolStats {
  readonly family: 4 | 6;
  readonly cidr: string;
  readonly nodeMaskSize: number;
  /** Node subnets in slots of the node mask (big) and of the smaller overflow mask. */
  readonly subnets: { readonly used: number; readonly free: number; readonly capacity: number; readonly reserved: number };
  readonly pods: { readonly used: number; readonly capacity: number };
}

export interface ClusterStats {
  readonly nodes: number;
  readonly pending: number;
  readonly failed: number;
  readonly owners: number;
  readonly pods: number;
  /** Addresses in reuse cooldown. */
  readonly cooldown: number;
  readonly pools: PoolStats[];
  readonly perNode: { readonly name: string; readonly podCIDRs: string[]; readonly used: number; readonly free: number }[];
}

export interface RemoveNodeOptions {
  /** Keep the node's subnets and pods this long (clock ms) before releasing them. @default 0 */
  readonly graceMs?: number;
}

interface Subnet {
  readonly pool: PoolCidr;
  readonly slot: number;
  /** Slots in the run: 2^k. */
  readonly run: number;
  readonly k: number;
  /** Region size class: 0 big, 1 smaller overflow. */
  readonly cls: 0 | 1;
  readonly cidr: string;
  readonly size: number;
  /** rel of pod offset 0. */
  readonly base: number;
  readonly format: (rel: number) => string;
  reserved: number;
  quarantined: number;
  routerIP: string | undefined;
}

interface NodeState {
  readonly id: number;
  readonly name: string;
  /** Unique per incarnation of a node id: stale quarantine entries are recognised by it. */
  readonly epoch: number;
  subnets: Subnet[];
  v4: Subnet | undefined;
  v6: Subnet | undefined;
  share4: boolean;
  share6: boolean;
  /** Keys of addresses borrowed from other nodes' subnets. */
  borrowed: Set<number> | undefined;
  status: NodeStatus;
  error: string | undefined;
  deadline: number;
  /** The placement that made the node ready (journal and snapshots). */
  placed: readonly PlacedSubnet[];
}

interface FamilyState extends ResolvedFamily {
  readonly pools: PoolCidr[];
  /** log2 of slots per big subnet. */
  readonly k: number;
  /** Big subnets held now. */
  big: number;
  /** IP-level reservations (prefix longer than a slot). */
  readonly reservedIPs: Cidr[];
}

/** Pool table capacity: pool CIDRs ever added, removed ones included. */
export const MAX_POOL_CIDRS = 256;

export class ClusterPool {
  readonly #o: ResolvedOptions;
  /** The options as JSON (no engine, no clock), for snapshots. */
  readonly #json: Record<string, unknown>;
  #store: FileStore | undefined;
  readonly #engine: Engine;
  readonly #table: number;
  readonly #pools: (PoolCidr | undefined)[] = [];
  readonly #families: FamilyState[] = [];
  readonly #nodes = new Map<string, NodeState>();
  readonly #byId: (NodeState | undefined)[] = [undefined];
  readonly #freeIds: number[] = [];
  #epoch = 0;
  readonly #pending: string[] = [];
  readonly #owners = new Owners();
  readonly #borrowed = new Map<number, number>();
  readonly #quarantine: Quarantine | undefined;
  /** Reserved slots per pool index. */
  readonly #reservedSlots = new Map<number, Set<number>>();
  readonly #reservations: string[] = [];
  /** Keys of reserved pod addresses (router IPs, IP-level reservations): release() leaves them alone. */
  readonly #reservedKeys = new Set<number>();
  /** Pool CIDRs removed at runtime, by table index (snapshots keep indices stable). */
  readonly #removedPools = new Map<number, { family: 4 | 6; cidr: string }>();
  readonly #strategy: number;
  #draining = 0;
  /** Journal hook: receives every applied effect (src/state/). */
  #log: ((r: JournalRecord) => void) | undefined;

  /** Validates options (IpamError naming the option) and lays the pools out in a shared memory. */
  constructor(options: ClusterPoolOptions) {
    this.#o = resolveOptions(options);
    const { engine: _e, clock: _c, seed, ...rest } = options;
    this.#json = { ...rest, ...(seed !== undefined ? { seed: String(seed) } : {}) };
    this.#engine = this.#o.engine ?? Engine.create();
    this.#strategy = STRATEGY_CODE[this.#o.podStrategy];
    this.#quarantine = this.#o.reuse && new Quarantine(this.#o.reuse);
    this.#table = this.#engine.alloc(MAX_POOL_CIDRS * POOL_BYTES);
    for (const f of this.#o.families) {
      const fam: FamilyState = { ...f, pools: [], k: f.slotMask - f.maskSize, big: 0, reservedIPs: [] };
      this.#families.push(fam);
      for (const c of f.cidrs) fam.pools.push(this.#newPool(c, fam));
    }
  }

  #newPool(c: Cidr, fam: FamilyState): PoolCidr {
    const p = new PoolCidr(this.#engine, this.#table, this.#pools.length, c, fam.slotMask, 0);
    this.#pools.push(p);
    return p;
  }

  /** The engine (shared memory) holding this pool's state. */
  get engine(): Engine { return this.#engine; }
  /** Nodes that hold subnets (ready or draining). */
  get nodeCount(): number { return this.#nodes.size - this.#pending.length - this.#failedCount(); }
  /** Pod strategy in use. */
  get podStrategy(): Strategy { return this.#o.podStrategy; }
  /** The options this pool was made with (validated). */
  get options(): ResolvedOptions { return this.#o; }

  #failedCount(): number {
    let n = 0;
    for (const node of this.#nodes.values()) if (node.status === "failed") n++;
    return n;
  }

  #now(): number { return this.#o.clock(); }

  /**
   * Releases what is due: quarantined addresses past their cooldown (or
   * deep enough in the queue), draining nodes past their grace. Every
   * mutating call does this first; it costs nothing while nothing waits.
   */
  tick(): void {
    if ((this.#quarantine === undefined || this.#quarantine.size === 0) && this.#draining === 0) return;
    const now = this.#now();
    if (this.#quarantine?.due(now)) {
      this.#quarantine.expire(now, (key, epoch) => this.#applyExpire(key, epoch));
    }
    if (this.#draining > 0) {
      for (const node of [...this.#nodes.values()]) {
        if (node.status === "draining" && node.deadline <= now) this.#dropNode(node);
      }
    }
  }

  /**
   * What a worker thread needs to open a PoolView on this pool's memory.
   * Structured-cloneable: post it to a worker; the memory is shared, not copied.
   */
  describe(): PoolDescriptor {
    const live = this.#pools.filter((p): p is PoolCidr => p !== undefined);
    return {
      memory: this.#engine.memory,
      table: this.#table,
      tableEntries: this.#pools.length,
      podStrategy: this.podStrategy,
      pools: live.map((p) => {
        const g = p.subnet(0, this.#family(p.family).k);
        return {
          index: p.index, entry: p.entry, family: p.family, cidr: String(p.cidr), nodeMask: p.slotMask,
          base4: p.base4, hostBits: p.hostBits, first: g.first, podBits: g.size,
          slots: p.set.capacity, nodeBitmap: p.set.region,
        };
      }),
    };
  }

  #family(f: 4 | 6): FamilyState {
    return this.#families.find((x) => x.family === f) as FamilyState;
  }

  // ------------------------------------------------------------------ nodes

  /**
   * Gives the node one subnet per configured family: a big hole while fewer
   * than maxNodeSubnets are out, then by the overflow policy. Idempotent: a
   * known node gets its subnets back. With 'reject', a node that cannot be
   * served throws FULL and waits as pending; it is served as soon as space
   * frees up, in the order nodes arrived.
   */
  addNode(name: string): NodeAllocation {
    checkName("node name", name);
    this.tick();
    const known = this.#nodes.get(name);
    if (known && (known.status === "ready" || known.status === "draining")) return allocationOf(known);
    const node = known ?? this.#newNode(name);
    const placed = this.#place(node);
    if (placed instanceof IpamError) {
      if (!known) this.#nodes.set(name, node);
      if (!this.#pending.includes(name)) this.#pending.push(name);
      node.status = "pending";
      node.error = placed.message.replace(/^ipcarve: /, "");
      this.#emit({ op: "pending", name, error: node.error });
      throw placed;
    }
    this.#applyPlace(node, placed);
    return allocationOf(node);
  }

  #newNode(name: string): NodeState {
    const id = this.#freeIds.pop() ?? this.#byId.length;
    const node: NodeState = {
      id, name, epoch: ++this.#epoch, subnets: [], v4: undefined, v6: undefined, share4: false, share6: false,
      borrowed: undefined, status: "pending", error: undefined, deadline: 0, placed: [],
    };
    this.#byId[id] = node;
    return node;
  }

  /**
   * Decides a node's subnets without changing anything visible: takes slots,
   * and gives them back if a later family fails. Returns the placement or
   * the FULL error.
   */
  #place(node: NodeState): PlacedSubnet[] | IpamError {
    const placed: PlacedSubnet[] = [];
    const undo = (): void => {
      for (const p of placed) if (p.pool >= 0) this.#releaseSlots(this.#pools[p.pool] as PoolCidr, p.slot, 1 << p.k);
    };
    for (const fam of this.#families) {
      const got = this.#takeSubnet(fam);
      if (got === undefined) {
        undo();
        const list = fam.pools.map((p) => String(p.cidr)).join(", ");
        const cap = Number.isFinite(fam.maxBig) && fam.big >= fam.maxBig ? ` (maxNodeSubnets ${fam.maxBig} reached)` : "";
        return errors.full(`IPv${fam.family} pool (${list || "no CIDRs"}) of /${fam.maskSize} node subnets${cap}`, `cannot add node ${JSON.stringify(node.name)}`);
      }
      placed.push(got);
    }
    return placed;
  }

  /** Takes slots for one family by policy; pool -1 means "share". */
  #takeSubnet(fam: FamilyState): PlacedSubnet | undefined {
    const w = this.#engine.wasm;
    if (fam.big < fam.maxBig) {
      for (const pool of fam.pools) {
        if (pool.set.isFull()) continue;
        const slot = w.bmAllocateRun(pool.set.region, fam.k);
        if (slot !== NONE) return { pool: pool.index, slot, k: fam.k };
      }
    }
    if (fam.overflow === "smaller") {
      for (const pool of fam.pools) {
        if (pool.set.isFull()) continue;
        const slot = w.bmAllocateRun(pool.set.region, 0);
        if (slot !== NONE) return { pool: pool.index, slot, k: 0 };
      }
    }
    if (fam.overflow === "share") return { pool: -1, slot: 0, k: 0 };
    return undefined;
  }

  /** Frees slots unless they are reserved (an explicitly occupied reserved subnet goes back to reserved). */
  #releaseSlots(pool: PoolCidr, slot: number, run: number): void {
    const reserved = this.#reservedSlots.get(pool.index);
    for (let s = slot; s < slot + run; s++) {
      if (!reserved?.has(s)) this.#engine.wasm.bmRelease(pool.set.region, s);
    }
  }

  /** Makes a node ready with the given (already taken) slots. */
  #applyPlace(node: NodeState, placed: readonly PlacedSubnet[]): void {
    const w = this.#engine.wasm;
    const subnets: Subnet[] = [];
    for (const p of placed) {
      if (p.pool < 0) continue;
      const pool = this.#pools[p.pool] as PoolCidr;
      const fam = this.#family(pool.family);
      const g = pool.subnet(p.slot, p.k);
      const cls = p.k === fam.k ? 0 : 1;
      const seed = BigInt.asUintN(64, this.#o.seed + BigInt(node.epoch) * 0x9e3779b97f4a7c15n);
      if (w.poolAttach(pool.entry, p.slot, 1 << p.k, node.id, g.size, g.base, cls, seed) === 0) {
        for (const s of subnets) this.#detach(s);
        for (const q of placed) if (q.pool >= 0) this.#releaseSlots(this.#pools[q.pool] as PoolCidr, q.slot, 1 << q.k);
        throw errors.full("shared memory", `cannot add node ${JSON.stringify(node.name)}`);
      }
      const sub: Subnet = {
        pool, slot: p.slot, run: 1 << p.k, k: p.k, cls, cidr: g.cidr, size: g.size, base: g.base,
        format: pool.formatter(p.slot, g), reserved: 0, quarantined: 0, routerIP: undefined,
      };
      if (cls === 0) fam.big++;
      this.#applyReservedIPs(sub, fam);
      if (this.#o.reserveRouterIP && g.size > 0) {
        const off = this.#o.reserveRouterIP === "first" ? 0 : g.size - 1;
        if (w.podAllocate(pool.entry, g.base + off, 0) === 1) {
          sub.reserved++;
          this.#reservedKeys.add(addressKey(pool.index, g.base + off));
        }
        sub.routerIP = pool.addressOf(g.base + off);
      }
      subnets.push(sub);
    }
    node.subnets = subnets;
    node.placed = [...placed];
    node.v4 = subnets.find((s) => s.pool.family === 4);
    node.v6 = subnets.find((s) => s.pool.family === 6);
    node.share4 = placed.some((p) => p.pool < 0 && this.#families[placed.indexOf(p)]?.family === 4);
    node.share6 = placed.some((p) => p.pool < 0 && this.#families[placed.indexOf(p)]?.family === 6);
    if (node.status === "pending") {
      const i = this.#pending.indexOf(node.name);
      if (i >= 0) this.#pending.splice(i, 1);
    }
    node.status = "ready";
    node.error = undefined;
    this.#nodes.set(node.name, node);
    this.#emit({ op: "node", name: node.name, placed: [...placed] });
  }

  /**
   * Releases the node's subnets and all its pod addresses; with graceMs,
   * only after that long (the node drains: no new pods). Returns false for
   * an unknown node (a no-op).
   */
  removeNode(name: string, options: RemoveNodeOptions = {}): boolean {
    const graceMs = options.graceMs ?? 0;
    if (typeof graceMs !== "number" || !(graceMs >= 0)) throw errors.invalidOption("options.graceMs", `must be a non-negative number (got ${String(graceMs)})`);
    this.tick();
    const node = this.#nodes.get(name);
    if (!node) return false;
    if (graceMs > 0 && node.status === "ready") {
      node.status = "draining";
      node.deadline = this.#now() + graceMs;
      this.#draining++;
      this.#emit({ op: "drain", name, deadline: node.deadline });
      return true;
    }
    this.#dropNode(node);
    return true;
  }

  #dropNode(node: NodeState): void {
    if (node.status === "draining") this.#draining--;
    if (node.status === "pending") this.#pending.splice(this.#pending.indexOf(node.name), 1);
    for (const key of node.borrowed ?? []) this.#releaseKey(key, false);
    for (const s of node.subnets) this.#detach(s);
    this.#nodes.delete(node.name);
    this.#byId[node.id] = undefined;
    this.#freeIds.push(node.id);
    this.#emit({ op: "drop", name: node.name });
    this.#servePending();
  }

  /** Empties a subnet (owners, borrowers) and frees its slots. */
  #detach(s: Subnet): void {
    const w = this.#engine.wasm;
    const region = w.poolRegion(s.pool.entry, s.slot);
    const aux = region === 0 ? 0 : w.bmAux(region) >>> 0;
    if (aux !== 0 || this.#borrowed.size > 0 || this.#reservedKeys.size > 0) {
      const view = this.#engine.u32();
      for (let off = 0; off < s.size; off++) {
        const key = addressKey(s.pool.index, s.base + off);
        this.#reservedKeys.delete(key);
        const owner = aux === 0 ? 0 : (view[(aux >>> 2) + off] as number);
        if (owner !== 0) this.#owners.removeKey(owner, key);
        const borrower = this.#borrowed.get(key);
        if (borrower !== undefined) {
          this.#borrowed.delete(key);
          this.#byId[borrower]?.borrowed?.delete(key);
        }
      }
    }
    w.poolDetach(s.pool.entry, s.slot, s.run, s.cls);
    if (s.cls === 0) this.#family(s.pool.family).big--;
    this.#releaseSlots(s.pool, s.slot, s.run);
  }

  /** Gives subnets to pending nodes, first come first served, while they fit. */
  #servePending(): void {
    while (this.#pending.length > 0) {
      const node = this.#nodes.get(this.#pending[0] as string) as NodeState;
      const placed = this.#place(node);
      if (placed instanceof IpamError) return;
      this.#applyPlace(node, placed);
    }
  }

  /** The node's subnets, status and usage, or undefined. */
  node(name: string): NodeDetail | undefined {
    const node = this.#nodes.get(name);
    return node && this.#detail(node);
  }

  #detail(node: NodeState): NodeDetail {
    const w = this.#engine.wasm;
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
        const taken = w.podUsed(s.pool.entry, s.slot);
        return {
          family: s.pool.family, cidr: s.cidr, used: taken - s.reserved - s.quarantined, free: s.size - taken, size: s.size,
          reserved: s.reserved, cooldown: s.quarantined, ...(s.routerIP !== undefined ? { routerIP: s.routerIP } : {}),
        };
      }),
    };
  }

  /** Names of all known nodes (pending and failed included), in the order they were added. */
  nodeNames(): string[] {
    return [...this.#nodes.keys()];
  }

  /** Names of nodes waiting for a subnet, in the order they will be served. */
  pendingNodes(): string[] {
    return [...this.#pending];
  }

  // ------------------------------------------------------------------ pods

  /**
   * Allocates one address per family from the node's subnets to `owner`
   * (e.g. "namespace/pod"). `wanted` asks for specific addresses (at most one
   * per family); other families get the next free one. A sharing node
   * borrows from the subnet with the most free addresses. Throws
   * UNKNOWN_NODE, FULL, NOT_IN_RANGE, ALREADY_ALLOCATED, INVALID_IP; a failed
   * call takes nothing.
   */
  allocate(node: string, owner: string, wanted?: string | readonly string[]): PodAddresses {
    const n = this.#nodes.get(node);
    if (n === undefined || n.status !== "ready") throw this.#notReady(node, n);
    if (typeof owner !== "string" || owner === "") throw errors.invalidOption("owner", `must be a non-empty string (got ${JSON.stringify(owner)})`);
    this.tick();
    const want = wanted === undefined ? undefined : this.#wanted(n, wanted);
    const v4 = n.v4;
    if (v4 !== undefined && n.v6 === undefined && !n.share6 && want === undefined) {
      // the common single-stack path
      const o = this.#owners.ensure(owner);
      let rel = this.#engine.wasm.podAllocateNext(v4.pool.entry, v4.slot, this.#strategy, o);
      if (rel === NONE) {
        this.#owners.dropIfEmpty(o);
        throw errors.full(`pod range ${v4.cidr} of node ${JSON.stringify(node)}`);
      }
      rel >>>= 0;
      const key = addressKey(v4.pool.index, rel);
      this.#owners.add(o, key);
      if (this.#log) this.#emit({ op: "alloc", node, owner, keys: [key] });
      return { ipv4: v4.format(rel) };
    }
    return this.#allocateGeneral(n, owner, want);
  }

  #notReady(name: string, n: NodeState | undefined): IpamError {
    if (n === undefined) return errors.unknownNode(name);
    if (n.status === "draining") return errors.unknownNode(`${name}" (being removed; "`.replace(/"$/, ""));
    return errors.full(`node ${JSON.stringify(name)} has no subnet (${n.status}: ${n.error ?? ""})`);
  }

  #allocateGeneral(n: NodeState, owner: string, want: [number | undefined, number | undefined] | undefined): PodAddresses {
    const w = this.#engine.wasm;
    const o = this.#owners.ensure(owner);
    const taken: { sub: Subnet; rel: number; borrowed: boolean }[] = [];
    const fail = (e: IpamError): IpamError => {
      for (const t of taken) w.podRelease(t.sub.pool.entry, t.rel, 0);
      this.#owners.dropIfEmpty(o);
      return e;
    };
    for (const fam of this.#families) {
      const f = fam.family;
      const own = f === 4 ? n.v4 : n.v6;
      const at = want?.[f === 4 ? 0 : 1];
      const sub = own ?? ((f === 4 ? n.share4 : n.share6) ? this.#mostFree(fam) : undefined);
      if (sub === undefined) throw fail(errors.full(`IPv${f} pool: no subnet to borrow from for node ${JSON.stringify(n.name)}`));
      let rel: number;
      if (at !== undefined) rel = w.podAllocate(sub.pool.entry, at, o) === 1 ? at : NONE;
      else {
        rel = w.podAllocateNext(sub.pool.entry, sub.slot, this.#strategy, o);
      }
      if (rel === NONE) throw fail(errors.full(`pod range ${sub.cidr} of node ${JSON.stringify(n.name)}`));
      taken.push({ sub, rel: rel >>> 0, borrowed: own === undefined });
    }
    const out: PodAddresses = {};
    const keys: number[] = [];
    for (const t of taken) {
      const key = addressKey(t.sub.pool.index, t.rel);
      keys.push(key);
      this.#owners.add(o, key);
      if (t.borrowed) this.#lend(n, key);
      if (t.sub.pool.family === 4) out.ipv4 = t.sub.format(t.rel);
      else out.ipv6 = t.sub.format(t.rel);
    }
    this.#emit(want === undefined ? { op: "alloc", node: n.name, owner, keys } : { op: "alloc", node: n.name, owner, keys, wanted: true });
    return out;
  }

  #lend(n: NodeState, key: number): void {
    this.#borrowed.set(key, n.id);
    (n.borrowed ??= new Set()).add(key);
  }

  /** The subnet of the family with the most free addresses ('share' overflow). */
  #mostFree(fam: FamilyState): Subnet | undefined {
    const w = this.#engine.wasm;
    let best: Subnet | undefined;
    let bestFree = 0;
    for (const pool of fam.pools) {
      const slot = w.poolMostFree(pool.entry);
      if (slot === NONE) continue;
      const holder = this.#byId[w.poolNodeAt(pool.entry, slot)];
      const sub = holder?.subnets.find((s) => s.pool === pool && s.slot <= slot && slot < s.slot + s.run);
      if (sub === undefined) continue;
      const free = sub.size - w.podUsed(pool.entry, sub.slot);
      if (free > bestFree) { best = sub; bestFree = free; }
    }
    return best;
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
    const off = rel - sub.base;
    return rel >= 0 && off >= 0 && off < sub.size ? rel : NONE;
  }

  /** Pool, slot and rel (NONE past an IPv6 range cap) of an address, or undefined outside every pool. */
  #locate(ip: string): { pool: PoolCidr; slot: number; rel: number } | undefined {
    const v4 = parseIPv4(ip);
    if (v4 >= 0) {
      const pool = this.#pools[this.#engine.wasm.findPool4(this.#table, this.#pools.length, v4)];
      if (pool === undefined) return undefined;
      const rel = v4 - pool.base4;
      return { pool, slot: pool.slotOfRel(rel), rel };
    }
    const p = parseIp(ip);
    for (const pool of this.#pools) {
      if (pool === undefined || pool.family !== p.family || !pool.cidr.containsValue(p.value)) continue;
      return { pool, slot: pool.slotOfValue(p.value), rel: pool.relOf(p.value) };
    }
    return undefined;
  }

  /**
   * Releases an address. With `owner`, refuses (OWNER_MISMATCH) unless that
   * owner holds it, so a stale delete cannot free a live pod's address.
   * Returns true if it was allocated; releasing a free address or one
   * outside every node subnet is a no-op. Throws INVALID_IP.
   */
  release(ip: string, owner?: string): boolean {
    this.tick();
    const w = this.#engine.wasm;
    if (owner === undefined && this.#quarantine === undefined && this.#borrowed.size === 0 && this.#log === undefined && this.#reservedKeys.size === 0) {
      const v4 = parseIPv4(ip);
      if (v4 >= 0) {
        const o = w.release4(this.#table, this.#pools.length, v4);
        if (o > 0) this.#dropOwnedIPv4(o, v4);
        return o !== NONE;
      }
    }
    const loc = this.#locate(ip);
    if (loc === undefined || loc.rel === NONE) return false;
    const key = addressKey(loc.pool.index, loc.rel);
    if (owner !== undefined) {
      const held = w.podOwner(loc.pool.entry, loc.rel);
      if (held === NONE || this.#inCooldown(loc.pool, loc.rel, key)) return false;
      const holder = held > 0 ? this.#owners.nameOf(held) : undefined;
      if (holder !== owner) throw errors.ownerMismatch(ip, holder, owner);
    }
    return this.#releaseKey(key, true);
  }

  /** True if the address waits in reuse cooldown for the node that holds its subnet now (entries of a removed node are stale). */
  #inCooldown(pool: PoolCidr, rel: number, key: number): boolean {
    const epoch = this.#quarantine?.epochOf(key);
    if (epoch === undefined) return false;
    return this.#byId[this.#engine.wasm.poolNodeAt(pool.entry, pool.slotOfRel(rel))]?.epoch === epoch;
  }

  /** Releases one address by key; quarantines it when a reuse cooldown is set and `quarantine`. */
  #releaseKey(key: number, quarantine: boolean): boolean {
    const pool = this.#pools[keyPool(key)];
    if (pool === undefined || this.#reservedKeys.has(key)) return false;
    const rel = keyRel(key);
    const q = quarantine && this.#quarantine !== undefined;
    const o = this.#engine.wasm.podRelease(pool.entry, rel, q ? 1 : 0);
    if (o === NONE) return false;
    if (q && o === 0 && this.#inCooldown(pool, rel, key)) return false;
    if (o > 0) this.#owners.removeKey(o, key);
    const borrower = this.#borrowed.get(key);
    if (borrower !== undefined) {
      this.#borrowed.delete(key);
      this.#byId[borrower]?.borrowed?.delete(key);
    }
    let epoch = 0;
    if (q) {
      const holder = this.#byId[this.#engine.wasm.poolNodeAt(pool.entry, pool.slotOfRel(rel))];
      const sub = holder?.subnets.find((s) => s.pool === pool && rel >= s.base && rel < s.base + s.size);
      epoch = holder?.epoch ?? 0;
      if (sub) sub.quarantined++;
      const now = this.#now();
      (this.#quarantine as Quarantine).push(key, epoch, now);
      this.#emit({ op: "free", keys: [key], q: now });
    } else {
      this.#emit({ op: "free", keys: [key] });
    }
    return true;
  }

  /** A quarantined address leaves the ring: free it if its node is still the same incarnation. */
  #applyExpire(key: number, epoch: number): void {
    const pool = this.#pools[keyPool(key)];
    if (pool === undefined) return;
    const rel = keyRel(key);
    const w = this.#engine.wasm;
    const holder = this.#byId[w.poolNodeAt(pool.entry, pool.slotOfRel(rel))];
    if (holder === undefined || holder.epoch !== epoch) return;
    const sub = holder.subnets.find((s) => s.pool === pool && rel >= s.base && rel < s.base + s.size);
    if (w.podRelease(pool.entry, rel, 0) !== NONE && sub) sub.quarantined--;
  }

  /** Releases every address of an owner; returns them. An unknown owner has none. */
  releaseOwner(owner: string): string[] {
    this.tick();
    const id = this.#owners.idOf(owner);
    if (id === undefined) return [];
    const released: string[] = [];
    for (const key of this.#owners.keys(id).sort((a, b) => a - b)) {
      const pool = this.#pools[keyPool(key)] as PoolCidr;
      released.push(pool.addressOf(keyRel(key)));
      this.#releaseKey(key, true);
    }
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
    const borrower = this.#borrowed.size > 0 ? this.#byId[this.#borrowed.get(addressKey(loc.pool.index, loc.rel)) ?? 0] : undefined;
    const holder = (borrower ?? node).name;
    const name = o > 0 ? this.#owners.nameOf(o) : undefined;
    return name !== undefined ? { node: holder, podCIDR: sub.cidr, owner: name, allocated: true } : { node: holder, podCIDR: sub.cidr, allocated: o !== NONE };
  }

  // ------------------------------------------------------------------ reservations and pool growth

  /**
   * Makes a CIDR non-allocatable. A prefix as long as a node subnet or
   * shorter reserves node subnets (carving skips them; an explicit occupy,
   * e.g. a CiliumNode import, may still take them); a longer one reserves
   * pod addresses in whichever node holds that subnet, now or later.
   * Throws NOT_IN_RANGE, IN_USE (a node holds the subnet) or
   * ALREADY_ALLOCATED (a pod holds the address).
   */
  reserve(cidr: string): void {
    this.tick();
    const c = parseCidr(cidr);
    const fam = this.#families.find((f) => f.family === c.family);
    const pools = fam?.pools.filter((p) => p.cidr.overlaps(c)) ?? [];
    if (fam === undefined || pools.length === 0) throw errors.notInRange(cidr, `the IPv${c.family} pool`);
    if (c.prefix <= fam.slotMask) {
      for (const pool of pools) {
        const [a, b] = pool.set.indices(c);
        for (let s = a; s <= b; s++) {
          const holder = this.#byId[this.#engine.wasm.poolNodeAt(pool.entry, s)];
          if (holder) throw errors.inUse(`subnet ${pool.set.indexToCidr(s)}`, `node ${JSON.stringify(holder.name)}`);
        }
      }
      for (const pool of pools) {
        const [a, b] = pool.set.indices(c);
        let set = this.#reservedSlots.get(pool.index);
        if (!set) this.#reservedSlots.set(pool.index, (set = new Set()));
        for (let s = a; s <= b; s++) set.add(s);
        pool.set.occupy(c);
      }
    } else {
      const pool = pools[0] as PoolCidr;
      const holder = this.#byId[this.#engine.wasm.poolNodeAt(pool.entry, pool.slotOfValue(c.network))];
      const sub = holder?.subnets.find((s) => s.pool === pool);
      if (sub) {
        const [a, b] = this.#offsets(sub, c);
        const region = this.#engine.wasm.poolRegion(pool.entry, sub.slot);
        if (a <= b && this.#engine.wasm.bmCountRange(region, a, b) > 0) {
          for (let off = a; off <= b; off++) {
            if (this.#engine.wasm.bmHas(region, off) === 1) throw errors.alreadyAllocated(pool.addressOf(sub.base + off));
          }
        }
      }
      fam.reservedIPs.push(c);
      if (sub) this.#applyReservedIPs(sub, fam);
    }
    this.#reservations.push(String(c));
    this.#emit({ op: "reserve", cidr: String(c) });
  }

  /** Makes a reserved CIDR allocatable again. Unreserving what is not reserved is a no-op. */
  unreserve(cidr: string): void {
    this.tick();
    const c = parseCidr(cidr);
    const fam = this.#families.find((f) => f.family === c.family);
    if (fam === undefined) return;
    const i = this.#reservations.indexOf(String(c));
    if (i >= 0) this.#reservations.splice(i, 1);
    if (c.prefix <= fam.slotMask) {
      for (const pool of fam.pools) {
        if (!pool.cidr.overlaps(c)) continue;
        const set = this.#reservedSlots.get(pool.index);
        const [a, b] = pool.set.indices(c);
        for (let s = a; s <= b; s++) {
          if (!set?.delete(s)) continue;
          if (this.#engine.wasm.poolNodeAt(pool.entry, s) === 0) this.#engine.wasm.bmRelease(pool.set.region, s);
        }
      }
      // what other reservations still cover stays reserved
      for (const r of this.#reservations) {
        const rc = parseCidr(r);
        if (rc.family === c.family && rc.prefix <= fam.slotMask && rc.overlaps(c)) this.#reserveSlotsQuiet(fam, rc);
      }
    } else {
      const j = fam.reservedIPs.findIndex((r) => String(r) === String(c));
      if (j < 0) return;
      fam.reservedIPs.splice(j, 1);
      for (const pool of fam.pools) {
        if (!pool.cidr.overlaps(c)) continue;
        const holder = this.#byId[this.#engine.wasm.poolNodeAt(pool.entry, pool.slotOfValue(c.network))];
        const sub = holder?.subnets.find((s) => s.pool === pool);
        if (!sub) continue;
        const [a, b] = this.#offsets(sub, c);
        const region = this.#engine.wasm.poolRegion(pool.entry, sub.slot);
        for (let off = a; off <= b; off++) {
          const key = addressKey(pool.index, sub.base + off);
          if (key === (sub.routerIP !== undefined ? addressKey(pool.index, pool.relOf(parseIp(sub.routerIP).value)) : -1)) continue;
          if (this.#reservedKeys.delete(key) && this.#engine.wasm.bmRelease(region, off) === 1) sub.reserved--;
        }
        this.#applyReservedIPs(sub, fam);
      }
    }
    this.#emit({ op: "unreserve", cidr: String(c) });
    this.#servePending();
  }

  #reserveSlotsQuiet(fam: FamilyState, c: Cidr): void {
    for (const pool of fam.pools) {
      if (!pool.cidr.overlaps(c)) continue;
      let set = this.#reservedSlots.get(pool.index);
      if (!set) this.#reservedSlots.set(pool.index, (set = new Set()));
      const [a, b] = pool.set.indices(c);
      for (let s = a; s <= b; s++) {
        set.add(s);
        this.#engine.wasm.bmAllocate(pool.set.region, s);
      }
    }
  }

  /** Pod offsets of a subnet that a CIDR covers, clamped; a > b when none. */
  #offsets(sub: Subnet, c: Cidr): [number, number] {
    const lo = sub.pool.relOf(c.network < sub.pool.cidr.network ? sub.pool.cidr.network : c.network);
    const hiRel = sub.pool.relOf(c.last > sub.pool.cidr.last ? sub.pool.cidr.last : c.last);
    const a = Math.max(0, lo - sub.base);
    const b = Math.min(sub.size - 1, (hiRel < 0 ? sub.base + sub.size : hiRel) - sub.base);
    return [a, b];
  }

  /** Takes the reserved addresses that fall in a subnet. */
  #applyReservedIPs(sub: Subnet, fam: FamilyState): void {
    const region = this.#engine.wasm.poolRegion(sub.pool.entry, sub.slot);
    for (const c of fam.reservedIPs) {
      if (!sub.pool.cidr.overlaps(c) || sub.pool.slotOfValue(c.network) < sub.slot || sub.pool.slotOfValue(c.network) >= sub.slot + sub.run) continue;
      const [a, b] = this.#offsets(sub, c);
      if (a > b) continue;
      for (let off = a; off <= b; off++) {
        if (this.#engine.wasm.bmAllocate(region, off) === 1) {
          sub.reserved++;
          this.#reservedKeys.add(addressKey(sub.pool.index, sub.base + off));
        }
      }
    }
  }

  /** Adds a pool CIDR at runtime; pending nodes are served from it. Throws CIDR_COLLISION naming the overlap. */
  addPoolCidr(family: 4 | 6, cidr: string): void {
    this.tick();
    const fam = this.#families.find((f) => f.family === family);
    if (fam === undefined) throw errors.invalidOption(`ipv${family}`, "is not configured: pool CIDRs can only be added to a configured family");
    const c = poolCidr("pool CIDR", cidr, family);
    const clash = fam.pools.find((p) => p.cidr.overlaps(c));
    if (clash) throw errors.collision("pool CIDR", String(c), `pool CIDR ${String(clash.cidr)}`);
    at("pool CIDR", () => checkNodeMask(c, fam.slotMask, `node mask of ${String(c)}`));
    if (this.#pools.length >= MAX_POOL_CIDRS) throw errors.invalidOption("pool CIDR", `cannot be added: at most ${MAX_POOL_CIDRS} pool CIDRs over a pool's life`);
    fam.pools.push(this.#newPool(c, fam));
    this.#emit({ op: "addPool", family, cidr: String(c) });
    this.#servePending();
  }

  /** Removes an empty pool CIDR. Refused (IN_USE, naming the nodes) while any node holds a subnet in it. */
  removePoolCidr(cidr: string): void {
    this.tick();
    const c = parseCidr(cidr);
    const fam = this.#families.find((f) => f.family === c.family);
    const pool = fam?.pools.find((p) => String(p.cidr) === String(c));
    if (fam === undefined || pool === undefined) throw errors.notInRange(cidr, "the configured pool CIDRs");
    const holders = [...this.#nodes.values()].filter((n) => n.subnets.some((s) => s.pool === pool) || [...(n.borrowed ?? [])].some((k) => keyPool(k) === pool.index));
    if (holders.length > 0) {
      const names = holders.slice(0, 10).map((n) => JSON.stringify(n.name)).join(", ");
      throw errors.inUse(`pool CIDR ${String(c)}`, `${holders.length} node(s): ${names}${holders.length > 10 ? ", ..." : ""}`);
    }
    this.#engine.wasm.poolClear(pool.entry);
    fam.pools.splice(fam.pools.indexOf(pool), 1);
    this.#pools[pool.index] = undefined;
    this.#removedPools.set(pool.index, { family: pool.family, cidr: String(pool.cidr) });
    this.#reservedSlots.delete(pool.index);
    this.#emit({ op: "removePool", cidr: String(c) });
  }

  /** The pool CIDRs in use, per family. */
  poolCidrs(): { family: 4 | 6; cidrs: string[] }[] {
    return this.#families.map((f) => ({ family: f.family, cidrs: f.pools.map((p) => String(p.cidr)) }));
  }

  // ------------------------------------------------------------------ CiliumNode import / export

  /** A pool built from options, then restored from CiliumNodes (see importCiliumNodes). */
  static fromCiliumNodes(list: unknown, options: ClusterPoolOptions): ClusterPool {
    const pool = new ClusterPool(options);
    pool.importCiliumNodes(list);
    return pool;
  }

  /**
   * Restores nodes from `kubectl get ciliumnodes -o json`, in list order,
   * occupying their podCIDRs before any node without CIDRs is served, as
   * Cilium's operator does. A CIDR outside every pool or already taken fails
   * its node (never reassigned) with Cilium's message.
   */
  importCiliumNodes(list: unknown): ImportResult[] {
    const items = ciliumItems(list);
    this.tick();
    const results = new Map<string, ImportResult>();
    for (const it of items) {
      if (it.podCIDRs.length === 0) continue;
      const known = this.#nodes.get(it.name);
      if (known && (known.status === "ready" || known.status === "draining")) {
        const same = allocationOf(known).podCIDRs.join() === it.podCIDRs.map((c) => (isCidr(c) ? String(parseCidr(c)) : c)).join();
        results.set(it.name, same
          ? { name: it.name, podCIDRs: allocationOf(known).podCIDRs, outcome: "restored" }
          : { name: it.name, podCIDRs: allocationOf(known).podCIDRs, outcome: "failed", error: ciliumErrors.allocated(it.podCIDRs.join(", ")) });
        continue;
      }
      const placed = this.#claim(it.podCIDRs);
      const node = known ?? this.#newNode(it.name);
      if (typeof placed === "string") {
        if (node.status === "pending") this.#pending.splice(this.#pending.indexOf(node.name), 1);
        node.status = "failed";
        node.error = placed;
        this.#nodes.set(it.name, node);
        this.#emit({ op: "failed", name: it.name, error: placed });
        results.set(it.name, { name: it.name, podCIDRs: [], outcome: "failed", error: placed });
        continue;
      }
      this.#applyPlace(node, placed);
      results.set(it.name, { name: it.name, podCIDRs: allocationOf(node).podCIDRs, outcome: "restored" });
    }
    for (const it of items) {
      if (it.podCIDRs.length > 0 || results.has(it.name)) continue;
      try {
        const a = this.addNode(it.name);
        results.set(it.name, { name: it.name, podCIDRs: a.podCIDRs, outcome: "allocated" });
      } catch (e) {
        if (!(e instanceof IpamError)) throw e;
        results.set(it.name, { name: it.name, podCIDRs: [], outcome: "failed", error: e.message.replace(/^ipcarve: /, "") });
      }
    }
    return items.map((it) => results.get(it.name) as ImportResult);
  }

  /** Takes exactly these CIDRs (all or nothing), or returns Cilium's error for the first that cannot be. */
  #claim(cidrs: readonly string[]): PlacedSubnet[] | string {
    const placed: PlacedSubnet[] = [];
    const undo = (): void => {
      for (const p of placed) this.#releaseSlots(this.#pools[p.pool] as PoolCidr, p.slot, 1 << p.k);
    };
    const seen = new Set<4 | 6>();
    for (const text of cidrs) {
      let c: Cidr;
      try {
        c = parseCidr(text);
      } catch (e) {
        undo();
        return (e as IpamError).message.replace(/^ipcarve: /, "");
      }
      const fam = this.#families.find((f) => f.family === c.family);
      const pool = fam?.pools.find((p) => p.cidr.contains(c));
      if (fam === undefined || pool === undefined || seen.has(c.family) || (c.prefix !== fam.maskSize && c.prefix !== fam.slotMask)) {
        undo();
        return ciliumErrors.notConfigured(String(c));
      }
      seen.add(c.family);
      const k = fam.slotMask - c.prefix;
      const [a, b] = pool.set.indices(c);
      const reserved = this.#reservedSlots.get(pool.index);
      let taken = false;
      for (let s = a; s <= b; s++) {
        if (this.#engine.wasm.poolNodeAt(pool.entry, s) !== 0 || (!reserved?.has(s) && this.#engine.wasm.bmHas(pool.set.region, s) === 1)) taken = true;
      }
      if (taken || (k === fam.k && fam.big >= fam.maxBig && fam.overflow !== "smaller" && false)) {
        undo();
        return ciliumErrors.allocated(String(c));
      }
      pool.set.occupy(c);
      placed.push({ pool: pool.index, slot: a, k });
    }
    for (const fam of this.#families) {
      if (!seen.has(fam.family) && fam.overflow === "share") placed.push({ pool: -1, slot: 0, k: 0 });
    }
    return placed;
  }

  /** CiliumNode objects for every node, with spec.ipam.podCIDRs and, for failed or pending nodes, status.ipam.operator-status.error. */
  exportCiliumNodes(): CiliumNodeList {
    const items: CiliumNode[] = [...this.#nodes.values()].map((n) => {
      const item: CiliumNode = {
        apiVersion: "cilium.io/v2",
        kind: "CiliumNode",
        metadata: { name: n.name },
        spec: { ipam: { podCIDRs: allocationOf(n).podCIDRs } },
      };
      if (n.error !== undefined) item.status = { ipam: { "operator-status": { error: n.error } } };
      return item;
    });
    return { apiVersion: "v1", kind: "List", items };
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
    this.tick();
    const s = this.#v4(handle);
    const rel = this.#engine.wasm.podAllocateNext(s.pool.entry, s.slot, this.#strategy, 0);
    if (rel === NONE) return NONE;
    if (this.#log) this.#emit({ op: "alloc", node: (this.#byId[handle] as NodeState).name, owner: "", keys: [addressKey(s.pool.index, rel >>> 0)] });
    return (s.pool.base4 + rel) >>> 0;
  }

  /** Allocates up to `count` IPv4 pod addresses on the node into out (u32). Returns how many (fewer: full). */
  allocateIPv4Batch(handle: number, out: Uint32Array, count: number = out.length): number {
    this.tick();
    const s = this.#v4(handle);
    const w = this.#engine.wasm;
    const scratch = this.#engine.scratch;
    let done = 0;
    count = Math.min(count, out.length);
    while (done < count) {
      const n = Math.min(count - done, 16384);
      const got = w.podAllocateBatch(s.pool.entry, s.slot, this.#strategy, n, scratch);
      if (got > 0) out.set(this.#engine.u32().subarray(scratch >>> 2, (scratch >>> 2) + got), done);
      done += got;
      if (got < n) break;
    }
    if (this.#log && done > 0) {
      const keys = Array.from(out.subarray(0, done), (ip) => addressKey(s.pool.index, ip - s.pool.base4));
      this.#emit({ op: "alloc", node: (this.#byId[handle] as NodeState).name, owner: "", keys });
    }
    return done;
  }

  /** Releases an IPv4 pod address given as u32. Returns true if it was allocated. */
  releaseIPv4(ip: number): boolean {
    this.tick();
    if (this.#quarantine !== undefined || this.#borrowed.size > 0 || this.#log !== undefined || this.#reservedKeys.size > 0) {
      const i = this.#engine.wasm.findPool4(this.#table, this.#pools.length, ip);
      const pool = this.#pools[i];
      return pool !== undefined && this.#releaseKey(addressKey(pool.index, (ip >>> 0) - pool.base4), true);
    }
    const owner = this.#engine.wasm.release4(this.#table, this.#pools.length, ip);
    if (owner > 0) this.#dropOwnedIPv4(owner, ip);
    return owner !== NONE;
  }

  #dropOwnedIPv4(owner: number, ip: number): void {
    const pool = this.#pools[this.#engine.wasm.findPool4(this.#table, this.#pools.length, ip)] as PoolCidr;
    this.#owners.removeKey(owner, addressKey(pool.index, (ip >>> 0) - pool.base4));
  }

  /** Releases the u32 IPv4 addresses in[0..count). Returns how many were allocated. */
  releaseIPv4Batch(ips: Uint32Array, count: number = ips.length): number {
    this.tick();
    count = Math.min(count, ips.length);
    if (this.#quarantine !== undefined || this.#borrowed.size > 0 || this.#log !== undefined || this.#reservedKeys.size > 0) {
      let freed = 0;
      for (let k = 0; k < count; k++) if (this.releaseIPv4(ips[k] as number)) freed++;
      return freed;
    }
    const w = this.#engine.wasm;
    const scratch = this.#engine.scratch;
    const owners = scratch + 16384 * 4;
    let freed = 0;
    for (let done = 0; done < count; ) {
      const n = Math.min(count - done, 16384);
      const view = this.#engine.u32();
      view.set(ips.subarray(done, done + n), scratch >>> 2);
      freed += w.release4Batch(this.#table, this.#pools.length, n, scratch, owners);
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
    return this.#engine.wasm.lookup4(this.#table, this.#pools.length, ip);
  }

  /** Writes the node handle (0 = none) of each u32 address ips[k] to out[k]. */
  lookupIPv4Batch(ips: Uint32Array, out: Uint32Array | Int32Array, count: number = ips.length): void {
    const w = this.#engine.wasm;
    const scratch = this.#engine.scratch;
    const res = scratch + 16384 * 4;
    count = Math.min(count, ips.length, out.length);
    for (let done = 0; done < count; ) {
      const n = Math.min(count - done, 16384);
      const view = this.#engine.u32();
      view.set(ips.subarray(done, done + n), scratch >>> 2);
      w.lookup4Batch(this.#table, this.#pools.length, n, scratch, res, 0);
      out.set(view.subarray(res >>> 2, (res >>> 2) + n), done);
      done += n;
    }
  }

  // ------------------------------------------------------------------ stats

  /** Used and free subnets and pod addresses per pool CIDR and per node. */
  stats(): ClusterStats {
    this.tick();
    const w = this.#engine.wasm;
    const podsByPool = new Map<PoolCidr, number>();
    const capByPool = new Map<PoolCidr, number>();
    const perNode: ClusterStats["perNode"] = [];
    let pending = 0;
    let failed = 0;
    for (const n of this.#nodes.values()) {
      if (n.status === "pending") pending++;
      if (n.status === "failed") failed++;
      let used = 0;
      let free = 0;
      for (const s of n.subnets) {
        const taken = w.podUsed(s.pool.entry, s.slot);
        const u = taken - s.reserved - s.quarantined;
        podsByPool.set(s.pool, (podsByPool.get(s.pool) ?? 0) + u);
        capByPool.set(s.pool, (capByPool.get(s.pool) ?? 0) + s.size);
        used += u;
        free += s.size - taken;
      }
      perNode.push({ name: n.name, podCIDRs: n.subnets.map((s) => s.cidr), used, free });
    }
    const pools = this.#families.flatMap((f) =>
      f.pools.map((p) => ({
        family: p.family,
        cidr: String(p.cidr),
        nodeMaskSize: f.maskSize,
        subnets: { used: p.set.used, free: p.set.free, capacity: p.set.capacity, reserved: this.#reservedSlots.get(p.index)?.size ?? 0 },
        pods: { used: podsByPool.get(p) ?? 0, capacity: capByPool.get(p) ?? 0 },
      })),
    );
    return {
      nodes: this.#nodes.size - pending - failed,
      pending,
      failed,
      owners: this.#owners.live,
      pods: pools.reduce((n, p) => n + p.pods.used, 0),
      cooldown: this.#quarantine?.size ?? 0,
      pools,
      perNode,
    };
  }

  /**
   * Checks that every counter matches a recount of its bitmap, that every
   * slot a node holds points at it, and that every owned address is
   * allocated. Returns the problems found (empty when consistent).
   */
  verify(): string[] {
    const w = this.#engine.wasm;
    const problems: string[] = [];
    for (const p of this.#pools) {
      if (!p) continue;
      if (w.bmUsed(p.set.region) !== w.bmRecount(p.set.region)) problems.push(`slot counter of ${String(p.cidr)} != recount`);
      if (w.bmCheckSummaries(p.set.region) !== 1) problems.push(`slot summaries of ${String(p.cidr)} are wrong`);
    }
    for (const n of this.#nodes.values()) {
      for (const s of n.subnets) {
        const r = w.poolRegion(s.pool.entry, s.slot);
        if (w.poolNodeAt(s.pool.entry, s.slot) !== n.id || r === 0) { problems.push(`slot of ${n.name} does not point at it`); continue; }
        if (w.bmUsed(r) !== w.bmRecount(r)) problems.push(`pod counter of ${n.name} (${s.cidr}) != recount`);
        if (w.bmCheckSummaries(r) !== 1) problems.push(`pod summaries of ${n.name} are wrong`);
        for (let t = s.slot; t < s.slot + s.run; t++) if (w.bmHas(s.pool.set.region, t) !== 1) problems.push(`slot ${t} of ${n.name} is not taken`);
      }
    }
    for (const name of this.#owners.names()) {
      const id = this.#owners.idOf(name) as number;
      for (const key of this.#owners.keys(id)) {
        const pool = this.#pools[keyPool(key)];
        if (!pool || w.podOwner(pool.entry, keyRel(key)) !== id) problems.push(`owner ${name} does not hold ${pool?.addressOf(keyRel(key)) ?? key}`);
      }
    }
    return problems;
  }

  // ------------------------------------------------------------------ journal

  #emit(r: JournalRecord): void {
    this.#log?.(r);
  }

  /** @internal Re-applies a journal record (recovery). */
  _replay(r: JournalRecord): void {
    const log = this.#log;
    this.#log = undefined;
    try {
      this.#replay(r);
    } finally {
      this.#log = log;
    }
  }

  #replay(r: JournalRecord): void {
    switch (r.op) {
      case "node": {
        const node = this.#nodes.get(r.name) ?? this.#newNode(r.name);
        const w = this.#engine.wasm;
        for (const p of r.placed) {
          if (p.pool < 0) continue;
          const pool = this.#pools[p.pool] as PoolCidr;
          w.bmOccupyRange(pool.set.region, p.slot, p.slot + (1 << p.k) - 1);
          w.bmSetCursor(pool.set.region, (p.slot + (1 << p.k)) % pool.set.capacity);
        }
        this.#applyPlace(node, r.placed);
        return;
      }
      case "pending": {
        const node = this.#nodes.get(r.name) ?? this.#newNode(r.name);
        this.#nodes.set(r.name, node);
        if (node.status !== "pending") { node.status = "pending"; this.#pending.push(r.name); }
        node.error = r.error;
        return;
      }
      case "failed": {
        const node = this.#nodes.get(r.name) ?? this.#newNode(r.name);
        this.#nodes.set(r.name, node);
        node.status = "failed";
        node.error = r.error;
        return;
      }
      case "drain": {
        const node = this.#nodes.get(r.name);
        if (node && node.status === "ready") { node.status = "draining"; node.deadline = r.deadline; this.#draining++; }
        return;
      }
      case "drop": {
        const node = this.#nodes.get(r.name);
        if (node) this.#dropNode(node);
        return;
      }
      case "alloc": {
        const node = this.#nodes.get(r.node);
        const o = r.owner === "" ? 0 : this.#owners.ensure(r.owner);
        for (const key of r.keys) {
          const pool = this.#pools[keyPool(key)] as PoolCidr;
          const rel = keyRel(key);
          this.#expireThrough(key);
          this.#engine.wasm.podAllocate(pool.entry, rel, o);
          if (!r.wanted) this.#moveCursor(pool, rel);
          if (o !== 0) this.#owners.add(o, key);
          const holder = this.#byId[this.#engine.wasm.poolNodeAt(pool.entry, pool.slotOfRel(rel))];
          if (node && holder !== node) this.#lend(node, key);
        }
        return;
      }
      case "free": {
        for (const key of r.keys) {
          const pool = this.#pools[keyPool(key)];
          if (!pool) continue;
          const q = r.q !== undefined && this.#quarantine !== undefined;
          const o = this.#engine.wasm.podRelease(pool.entry, keyRel(key), q ? 1 : 0);
          if (o > 0) this.#owners.removeKey(o, key);
          const borrower = this.#borrowed.get(key);
          if (borrower !== undefined) { this.#borrowed.delete(key); this.#byId[borrower]?.borrowed?.delete(key); }
          if (q && o !== NONE) {
            const rel = keyRel(key);
            const holder = this.#byId[this.#engine.wasm.poolNodeAt(pool.entry, pool.slotOfRel(rel))];
            const sub = holder?.subnets.find((s) => s.pool === pool && rel >= s.base && rel < s.base + s.size);
            if (sub) sub.quarantined++;
            (this.#quarantine as Quarantine).push(key, holder?.epoch ?? 0, r.q as number);
          }
        }
        return;
      }
      case "reserve": return this.reserve(r.cidr);
      case "unreserve": return this.unreserve(r.cidr);
      case "addPool": return this.addPoolCidr(r.family, r.cidr);
      case "removePool": return this.removePoolCidr(r.cidr);
    }
  }

  /** Replay of a next-fit allocation: the pod range's cursor moves past it, as it did live. */
  #moveCursor(pool: PoolCidr, rel: number): void {
    const w = this.#engine.wasm;
    const r = w.poolRegion(pool.entry, pool.slotOfRel(rel));
    if (r === 0) return;
    const off = rel - w.bmBase(r);
    w.bmSetCursor(r, off + 1 < w.bmSize(r) ? off + 1 : 0);
  }

  /** Replay: an address being re-allocated while in quarantine had left it, with everything before it. */
  #expireThrough(key: number): void {
    const q = this.#quarantine;
    if (!q || q.size === 0) return;
    const entries = q.entries();
    const i = entries.findIndex((e) => e.key === key);
    if (i < 0) return;
    let n = 0;
    q.expire(Infinity, (k, epoch) => {
      if (n++ <= i) this.#applyExpire(k, epoch);
    });
    // put back what was after it
    for (const e of entries.slice(i + 1)) q.push(e.key, e.epoch, e.time);
  }


  // ------------------------------------------------------------------ snapshots and durable state

  /**
   * The whole state as versioned, checksummed bytes: the options, the pool
   * CIDRs, every node with its pod bitmaps and owner arrays, the owner
   * names, reservations and the reuse cooldown.
   */
  snapshot(generation = 0): Uint8Array {
    this.tick();
    const w = this.#engine.wasm;
    const chunks: Uint32Array[] = [];
    let at = 0;
    const put = (ptr: number, words: number): number => {
      const view = this.#engine.u32();
      chunks.push(view.slice(ptr >>> 2, (ptr >>> 2) + words));
      const start = at;
      at += words;
      return start;
    };
    const meta: SnapshotMeta = {
      options: this.#json,
      pools: this.#pools.map((p, i) => (p ? { family: p.family, cidr: String(p.cidr), removed: false } : { ...this.#removedPools.get(i)!, removed: true })),
      cursors: this.#pools.map((p) => (p ? w.bmCursor(p.set.region) : -1)),
      reservations: [...this.#reservations],
      nodes: [...this.#nodes.values()].map((n) => ({
        name: n.name, status: n.status, error: n.error ?? null, deadline: n.deadline, placed: n.placed, borrowed: [...(n.borrowed ?? [])],
        subnets: n.subnets.map((sub) => {
          const r = w.poolRegion(sub.pool.entry, sub.slot);
          const aux = w.bmAux(r) >>> 0;
          return {
            words: put(w.bmLeaves(r), w.bmWords(r) * 2),
            owners: aux === 0 ? -1 : put(aux, sub.size),
            cursor: w.bmCursor(r),
            rng: String(BigInt.asUintN(64, w.bmRng(r))),
            reserved: sub.reserved,
            quarantined: sub.quarantined,
          };
        }),
      })),
      pending: [...this.#pending],
      owners: [...this.#owners.names()].map((name) => {
        const id = this.#owners.idOf(name) as number;
        return { id, name, keys: this.#owners.keys(id) };
      }),
      quarantine: (this.#quarantine?.entries() ?? []).map((e) => {
        const pool = this.#pools[keyPool(e.key)];
        const holder = pool && this.#byId[w.poolNodeAt(pool.entry, pool.slotOfRel(keyRel(e.key)))];
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

  /**
   * A pool rebuilt from snapshot bytes. `options` may only set runtime
   * parts (clock, engine); the pool options come from the snapshot. A
   * truncated, corrupted or wrong-version snapshot throws CORRUPT_STATE and
   * builds nothing.
   */
  static restore(bytes: Uint8Array, options: Pick<ClusterPoolOptions, "clock" | "engine"> = {}): ClusterPool {
    const { meta, data } = decodeSnapshot(bytes);
    try {
      return ClusterPool.#rebuild(meta as SnapshotMeta, data, options);
    } catch (e) {
      if (e instanceof IpamError && e.code === "CORRUPT_STATE") throw e;
      throw errors.corrupt("snapshot", e instanceof Error ? e.message : String(e), e);
    }
  }

  static #rebuild(meta: SnapshotMeta, data: Uint32Array, runtime: Pick<ClusterPoolOptions, "clock" | "engine">): ClusterPool {
    const options = { ...(meta.options as ClusterPoolOptions), ...runtime };
    const pool = new ClusterPool(options);
    const w = pool.#engine.wasm;
    // pool CIDRs, in table order, removed ones included so indices match
    meta.pools.forEach((p, i) => {
      if (i >= pool.#pools.length) pool.addPoolCidr(p.family, p.cidr);
      const live = pool.#pools[i];
      if (live === undefined || String(live.cidr) !== p.cidr) throw new Error(`pool CIDR ${i} is ${String(live?.cidr)}, snapshot says ${p.cidr}`);
      if (p.removed) pool.removePoolCidr(p.cidr);
    });
    for (const r of meta.reservations) pool.reserve(r);
    const word = (i: number): number => {
      if (i < 0 || i >= data.length) throw new Error(`data offset ${i} out of range`);
      return i;
    };
    for (const m of meta.nodes) {
      if (m.status === "ready" || m.status === "draining") {
        pool.#replay({ op: "node", name: m.name, placed: m.placed });
        const node = pool.#nodes.get(m.name) as NodeState;
        node.subnets.forEach((sub, i) => {
          const sm = m.subnets[i];
          if (!sm) throw new Error(`node ${m.name} lost subnet ${i}`);
          const r = w.poolRegion(sub.pool.entry, sub.slot);
          const words = w.bmWords(r) * 2;
          pool.#engine.u32().set(data.subarray(word(sm.words), word(sm.words) + words), w.bmLeaves(r) >>> 2);
          w.bmRebuild(r);
          w.bmSetCursor(r, sm.cursor);
          w.bmSetRng(r, BigInt.asIntN(64, BigInt(sm.rng)));
          if (sm.owners >= 0) {
            let aux = w.bmAux(r) >>> 0;
            if (aux === 0) {
              aux = pool.#engine.alloc(sub.size * 4);
              w.bmSetAux(r, aux);
            }
            pool.#engine.u32().set(data.subarray(word(sm.owners), word(sm.owners) + sub.size), aux >>> 2);
          }
          sub.reserved = sm.reserved;
          sub.quarantined = sm.quarantined;
        });
        if (m.status === "draining") {
          node.status = "draining";
          node.deadline = m.deadline;
          pool.#draining++;
        }
        for (const key of m.borrowed) pool.#lend(node, key);
      } else {
        pool.#replay(m.status === "failed" ? { op: "failed", name: m.name, error: m.error ?? "" } : { op: "pending", name: m.name, error: m.error ?? "" });
      }
    }
    pool.#pending.length = 0;
    pool.#pending.push(...meta.pending);
    for (const o of meta.owners) pool.#owners.adopt(o.id, o.name, o.keys);
    for (const q of meta.quarantine) pool.#quarantine?.push(q.key, q.node === null ? 0 : (pool.#nodes.get(q.node)?.epoch ?? 0), q.time);
    meta.cursors.forEach((c, i) => {
      const p = pool.#pools[i];
      if (p && c >= 0) w.bmSetCursor(p.set.region, c);
    });
    const problems = pool.verify();
    if (problems.length > 0) throw errors.corrupt("snapshot", problems.slice(0, 5).join("; "));
    return pool;
  }

  /**
   * The embedded durable default: a pool kept in a snapshot file at `path`
   * plus an append-only journal beside it (FileStore). Opens and recovers
   * what is there, or starts from `options`. Every mutation is journaled
   * before the call returns, so an allocation returned to the caller
   * survives kill -9; with fsync 'always' it also survives power loss.
   */
  static open(path: string, options: ClusterPoolOptions, store: FileStoreOptions = {}): ClusterPool {
    return new FileStore(path, store).open(options);
  }

  /** @internal Attaches the FileStore that journals this pool. */
  _attachStore(store: FileStore | undefined): void {
    this.#store = store;
    this.#log = store ? (r) => store.append(r) : undefined;
  }

  /** Writes a fresh snapshot and empties the journal (FileStore-backed pools). */
  compact(): void {
    this.#store?.compact(this);
  }

  /** Flushes and closes the FileStore of a pool made by ClusterPool.open. A no-op otherwise. */
  close(): void {
    this.#store?.close();
    this._attachStore(undefined);
  }
}

interface SnapshotMeta {
  options: unknown;
  pools: { family: 4 | 6; cidr: string; removed: boolean }[];
  cursors: number[];
  reservations: string[];
  nodes: {
    name: string;
    status: NodeStatus;
    error: string | null;
    deadline: number;
    placed: readonly PlacedSubnet[];
    borrowed: number[];
    subnets: { words: number; owners: number; cursor: number; rng: string; reserved: number; quarantined: number }[];
  }[];
  pending: string[];
  owners: { id: number; name: string; keys: number[] }[];
  quarantine: { key: number; node: string | null; time: number }[];
}

function checkName(what: string, name: unknown): void {
  if (typeof name !== "string" || name === "") throw errors.invalidOption(what, `must be a non-empty string (got ${JSON.stringify(name)})`);
}

function isCidr(s: string): boolean {
  try {
    parseCidr(s);
    return true;
  } catch {
    return false;
  }
}

function allocationOf(node: NodeState): NodeAllocation {
  return { name: node.name, podCIDRs: node.subnets.map((s) => s.cidr) };
}
