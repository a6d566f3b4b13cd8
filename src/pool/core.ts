// The state of one ClusterPool, shared by the modules of src/pool/. The
// public facade (src/pool/cluster-pool.ts) holds one PoolCore in a private field;
// nothing outside src/pool/ and the facade touches it.
import { type Cidr, parseCidr } from "../net/ip.js";
import { errors } from "../errors.js";
import { Engine } from "../core/engine.js";
import { PoolCidr } from "../alloc/pool-cidr.js";
import { PoolTable } from "../alloc/pool-table.js";
import { Owners } from "./owners.js";
import { resolveOptions, optionsJson, MAX_POOL_CIDRS, type ClusterPoolOptions, type ResolvedOptions, type ResolvedFamily } from "./options.js";
import { name as nameArg } from "../args.js";
import { Quarantine } from "./quarantine.js";
import { POOL_BYTES, STRATEGY_CODE } from "../core/layout.js";
import { poolCidrBytes, engineBytes, poolPages, MAX_BYTES } from "./memory.js";
import type { JournalRecord, PlacedSubnet } from "./records.js";
import type { FileStore } from "../state/file-store.js";
import type { NodeAllocation, NodeStatus } from "./types.js";
import type { AllocationCounters } from "./counters.js";

/** One subnet a node holds: where it lies, its pod range, and counters. */
export class Subnet {
  /** Slots in the run: 2^k. */
  readonly run: number;
  /** IPv4: the address of pod offset 0, as u32. */
  readonly ip0: number;
  reserved = 0;
  quarantined = 0;
  routerIP: string | undefined = undefined;
  #format: ((rel: number) => string) | undefined = undefined;

  constructor(
    readonly pool: PoolCidr,
    readonly slot: number,
    readonly k: number,
    /** Region size class: 0 big, 1 smaller overflow. */
    readonly cls: 0 | 1,
    readonly cidr: string,
    readonly size: number,
    /** rel of pod offset 0. */
    readonly base: number,
    readonly hostBits: number,
    /** Pod-range bitmap region (stable while the node holds the subnet). */
    readonly region: number,
  ) {
    this.run = 1 << k;
    this.ip0 = (pool.base4 + base) >>> 0;
  }

  /** The text of pod address rel; the formatter is made by the first pod (a node that never has one costs none). */
  format(rel: number): string {
    return (this.#format ??= this.pool.formatter(this.slot, this.hostBits))(rel);
  }
}

export interface NodeState {
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
  /**
   * The placement that made the node ready (snapshots), when a family
   * shares ('share' overflow: its place in the list is kept); undefined
   * when it is the subnets in order (placementOf).
   */
  placed: readonly PlacedSubnet[] | undefined;
}

export interface FamilyState extends ResolvedFamily {
  readonly pools: PoolCidr[];
  /** log2 of slots per big subnet. */
  readonly k: number;
  /** Big subnets held now. */
  big: number;
  /** IP-level reservations (prefix longer than a slot). */
  readonly reservedIPs: Cidr[];
}

/** Pool table capacity: pool CIDRs ever added, removed ones included. */
export { MAX_POOL_CIDRS };

let planned: readonly { family: 4 | 6; cidr: string }[] = [];
/**
 * Runs `make` with the pool CIDRs a pool made by it will have (a snapshot's,
 * in table order, removed ones included), so that a pool with an engine of
 * its own sizes its memory for all of them, not only for its options.
 */
export function withPlannedPools<T>(pools: readonly { family: 4 | 6; cidr: string }[], make: () => T): T {
  planned = pools;
  try {
    return make();
  } finally {
    planned = [];
  }
}

export class PoolCore {
  readonly o: ResolvedOptions;
  /** The options as JSON (no engine, no clock), for snapshots. */
  readonly json: Record<string, unknown>;
  store: FileStore | undefined;
  readonly engine: Engine;
  /** True when the pool made its engine (no options.engine): the engine goes when the pool does. */
  readonly ownEngine: boolean;
  /** Set once the engine or its memory was handed out (engine getter, describe()): it is then never reused. */
  escaped = false;
  /** Own engine: upper bound of the arena bytes the pool CIDRs so far can take (see pool/memory.ts). */
  memoryBound = 0;
  /** Own engine: bytes of its memory at most; addPoolCidr is refused (FULL) past it. */
  readonly memoryCap: number;
  /** The pool table: IPv4 lookups and releases by u32 address. Its `pools` are this.pools. */
  readonly table: PoolTable;
  readonly pools: (PoolCidr | undefined)[] = [];
  /** Every pool CIDR ever added, removed ones included (their regions go back on dispose). */
  readonly allPools: PoolCidr[] = [];
  readonly families: FamilyState[] = [];
  readonly nodes = new Map<string, NodeState>();
  readonly byId: (NodeState | undefined)[] = [undefined];
  readonly freeIds: number[] = [];
  epoch = 0;
  readonly pending: string[] = [];
  readonly owners: Owners;
  readonly borrowed = new Map<number, number>();
  readonly quarantine: Quarantine | undefined;
  /** Reserved slots per pool index. */
  readonly reservedSlots = new Map<number, Set<number>>();
  readonly reservations: string[] = [];
  /** Keys of reserved pod addresses (router IPs, IP-level reservations): release() leaves them alone. */
  readonly reservedKeys = new Set<number>();
  /** Pool CIDRs removed at runtime, by table index (snapshots keep indices stable). */
  readonly removedPools = new Map<number, { family: 4 | 6; cidr: string }>();
  readonly strategy: number;
  draining = 0;
  /** Journal hook: receives every applied effect (src/state/). */
  log: ((r: JournalRecord) => void) | undefined;
  /** The node allocate() looked up last (cleared whenever a node goes). */
  lastName: string | undefined;
  lastNode: NodeState | undefined;
  /**
   * Where allocateIPv4 (src/pool/fast-path.ts) counts its failures while
   * metrics are read (ClusterPool._countAllocations), else undefined.
   */
  counts: AllocationCounters | undefined;
  /**
   * allocateIPv4 calls that returned an address, always counted: one add,
   * which costs what testing whether to count costs, so a pool with metrics
   * runs the very code a pool without runs (a counted second call site in
   * the facade is not inlined by V8: +4 ns a call, bench/RESULTS.md). The
   * facade folds it into its counters when they are read.
   */
  numericAllocations = 0;
  /** releaseIPv4 calls that freed an address, always counted, as numericAllocations. */
  numericReleases = 0;
  /** True while a journal or snapshot is being replayed: no implicit serving or expiry. */
  replaying = false;

  /** Validates options (IpamError naming the option) and lays the pools out in a shared memory. */
  constructor(options: ClusterPoolOptions) {
    this.o = resolveOptions(options);
    this.json = optionsJson(this.o);
    this.ownEngine = this.o.engine === undefined;
    this.memoryBound = engineBytes(MAX_POOL_CIDRS * POOL_BYTES);
    if (this.o.engine !== undefined) {
      this.engine = this.o.engine;
      this.memoryCap = Infinity;
    } else {
      // a memory for what this pool can ever take, not the 4 GiB default
      let bytes = 0;
      for (const f of this.o.families) for (const c of f.cidrs) bytes += poolCidrBytes(c, f.maskSize, f.slotMask);
      for (const p of planned.slice(this.o.families.reduce((n, f) => n + f.cidrs.length, 0))) {
        try {
          const f = this.o.families.find((x) => x.family === p.family);
          if (f) bytes += poolCidrBytes(parseCidr(p.cidr), f.maskSize, f.slotMask);
        } catch {
          // a bad CIDR fails the restore later, with its own error
        }
      }
      this.engine = Engine._forPool(poolPages(this.memoryBound, bytes));
      const cap = (this.engine.maximumPages as number) * 65536;
      // a memory as big as it gets is no smaller than before: pool CIDRs are then added until it is full
      this.memoryCap = cap >= MAX_BYTES ? Infinity : cap;
    }
    this.strategy = STRATEGY_CODE[this.o.podStrategy];
    this.quarantine = this.o.reuse && new Quarantine(this.o.reuse);
    this.table = new PoolTable(this.engine, MAX_POOL_CIDRS, this.pools);
    this.owners = new Owners(this.engine);
    try {
      for (const f of this.o.families) {
        const fam: FamilyState = { ...f, pools: [], k: f.slotMask - f.maskSize, big: 0, reservedIPs: [] };
        this.families.push(fam);
        for (const c of f.cidrs) fam.pools.push(this.newPool(c, fam, false));
      }
    } catch (e) {
      this.release();
      throw e;
    }
  }

  /**
   * Lays out pool CIDR `c` in the next table entry. With `checked` (pool
   * growth), a pool whose own memory cannot hold what the CIDR can take is
   * refused with FULL before anything changes.
   */
  newPool(c: Cidr, fam: FamilyState, checked = true): PoolCidr {
    const bytes = poolCidrBytes(c, fam.maskSize, fam.slotMask);
    if (checked && this.memoryBound + bytes > this.memoryCap) {
      const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
      throw errors.full(
        `the pool's own memory (${mib(this.memoryCap)}, sized for its pool CIDRs when it was made)`,
        `pool CIDR ${String(c)} can take ${mib(bytes)} more; give the pool an engine (options.engine: Engine.create()) to let it grow up to 4 GiB`,
      );
    }
    const p = this.table.add(c, fam.slotMask);
    this.memoryBound += bytes;
    this.allPools.push(p);
    return p;
  }

  /**
   * Before a pod range of `nbits` addresses and size class `cls` is attached
   * in `pool`: on a shared engine, when the entry has no recycled range of
   * that class, lends it one that a disposed pool left on the engine.
   */
  reusePodRegion(pool: PoolCidr, cls: number, nbits: number): void {
    if (this.ownEngine) return;
    pool.reuseRegion(cls, nbits);
  }

  /**
   * Gives back what the pool holds in its engine: an engine of its own goes
   * as a whole (kept for the next pool if nothing else ever saw it); on a
   * shared engine every region goes back for the next pool to reuse.
   */
  release(): void {
    if (this.ownEngine) {
      if (!this.escaped) this.engine._retire();
      return;
    }
    for (const p of this.allPools) {
      const fam = this.families.find((f) => f.family === p.family) as FamilyState;
      p.dispose(this.engine, p.subnet(0, fam.k).size, p.subnet(0, 0).size);
    }
    this.table.dispose();
    this.owners.release();
  }

  family(f: 4 | 6): FamilyState {
    return this.families.find((x) => x.family === f) as FamilyState;
  }

  now(): number {
    return this.o.clock();
  }

  /** Hands an applied effect to the journal, if one is attached. */
  emit(r: JournalRecord): void {
    this.log?.(r);
  }
}


/** Throws INVALID_ARGUMENT unless `name` is a non-empty string; `what` names the argument, e.g. "addNode(name)". */
export function checkName(what: string, name: unknown): void {
  nameArg(what, name);
}


/** The placement that made the node ready: pool index, slot and log2 run per family, pool -1 for 'share'. */
export function placementOf(node: NodeState): readonly PlacedSubnet[] {
  return node.placed ?? node.subnets.map((s) => ({ pool: s.pool.index, slot: s.slot, k: s.k }));
}

export function allocationOf(node: NodeState): NodeAllocation {
  return { name: node.name, podCIDRs: node.subnets.map((s) => s.cidr) };
}
