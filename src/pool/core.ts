// The state of one ClusterPool, shared by the modules of src/pool/. The
// public facade (src/cluster-pool.ts) holds one PoolCore in a private field;
// nothing outside src/pool/ and the facade touches it.
import type { Cidr } from "../ip.js";
import { Engine } from "../engine.js";
import { PoolCidr } from "../pool-cidr.js";
import { Owners } from "../owners.js";
import { resolveOptions, optionsJson, MAX_POOL_CIDRS, type ClusterPoolOptions, type ResolvedOptions, type ResolvedFamily } from "../options.js";
import { name as nameArg } from "../args.js";
import { Quarantine } from "../quarantine.js";
import { POOL_BYTES, STRATEGY_CODE } from "../wasm.js";
import type { JournalRecord, PlacedSubnet } from "../state/records.js";
import type { FileStore } from "../state/file-store.js";
import type { NodeAllocation, NodeStatus } from "./types.js";

export interface Subnet {
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
  /** Pod-range bitmap region (stable while the node holds the subnet). */
  readonly region: number;
  /** IPv4: the address of pod offset 0, as u32. */
  readonly ip0: number;
  reserved: number;
  quarantined: number;
  routerIP: string | undefined;
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
  /** The placement that made the node ready (journal and snapshots). */
  placed: readonly PlacedSubnet[];
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

export class PoolCore {
  readonly o: ResolvedOptions;
  /** The options as JSON (no engine, no clock), for snapshots. */
  readonly json: Record<string, unknown>;
  store: FileStore | undefined;
  readonly engine: Engine;
  readonly table: number;
  readonly pools: (PoolCidr | undefined)[] = [];
  readonly families: FamilyState[] = [];
  readonly nodes = new Map<string, NodeState>();
  readonly byId: (NodeState | undefined)[] = [undefined];
  readonly freeIds: number[] = [];
  epoch = 0;
  readonly pending: string[] = [];
  readonly owners = new Owners();
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
  /** True while a journal or snapshot is being replayed: no implicit serving or expiry. */
  replaying = false;

  /** Validates options (IpamError naming the option) and lays the pools out in a shared memory. */
  constructor(options: ClusterPoolOptions) {
    this.o = resolveOptions(options);
    this.json = optionsJson(this.o);
    this.engine = this.o.engine ?? Engine.create();
    this.strategy = STRATEGY_CODE[this.o.podStrategy];
    this.quarantine = this.o.reuse && new Quarantine(this.o.reuse);
    this.table = this.engine.alloc(MAX_POOL_CIDRS * POOL_BYTES);
    for (const f of this.o.families) {
      const fam: FamilyState = { ...f, pools: [], k: f.slotMask - f.maskSize, big: 0, reservedIPs: [] };
      this.families.push(fam);
      for (const c of f.cidrs) fam.pools.push(this.newPool(c, fam));
    }
  }

  newPool(c: Cidr, fam: FamilyState): PoolCidr {
    const p = new PoolCidr(this.engine, this.table, this.pools.length, c, fam.slotMask, 0);
    this.pools.push(p);
    return p;
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


export function allocationOf(node: NodeState): NodeAllocation {
  return { name: node.name, podCIDRs: node.subnets.map((s) => s.cidr) };
}
