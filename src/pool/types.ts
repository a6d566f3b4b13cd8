// The public result and option types of ClusterPool.
/** What addNode returns: the node and its pod CIDRs (IPv4 first). */
export interface NodeAllocation {
  readonly name: string;
  readonly podCIDRs: string[];
  /** Named pools only (options.pools): the CIDRs per pool, as CiliumNode spec.ipam.pools.allocated. */
  readonly pools?: { readonly pool: string; readonly cidrs: string[] }[];
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
  /** Named pools only: the pool the address belongs to. */
  readonly pool?: string;
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
  /** Named pools only: the node's labels (matched by the pools' node selectors). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Named pools only: use per pool and family; `short` while below the watermark for want of a chunk. */
  readonly usage?: { readonly pool: string; readonly family: 4 | 6; readonly cidrs: string[]; readonly used: number; readonly free: number; readonly short: boolean }[];
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
  /** Named pools only: per pool and family (see IpPoolStats). */
  readonly ipPools?: IpPoolStats[];
  /** Named pools only: chunks taken from and given back to the pools so far, all pools (removed ones included); per pool in ipPools. */
  readonly chunksTaken?: number;
  readonly chunksReleased?: number;
}

export interface RemoveNodeOptions {
  /** Keep the node's subnets and pods this long (clock ms) before releasing them. @default 0 */
  readonly graceMs?: number;
}

/** Per pool and family: chunks and addresses. */
export interface IpPoolStats {
  readonly pool: string;
  readonly family: 4 | 6;
  readonly cidrs: string[];
  readonly maskSize: number;
  readonly preAllocate: number;
  /** Chunks held by nodes, free in the pool CIDRs, and all of them. */
  readonly chunks: { readonly used: number; readonly free: number; readonly capacity: number };
  /** Addresses allocated to pods; free in held chunks; usable in all chunks of the pool. */
  readonly addresses: { readonly used: number; readonly free: number; readonly capacity: number };
  /** Nodes that hold at least one chunk of it. */
  readonly nodes: number;
  /** Chunks completely free beyond a watermark, waiting for their release delay. */
  readonly releasing: number;
  /** Nodes below the watermark because the pool had no free chunk. */
  readonly short: number;
  /**
   * Chunks (CIDRs) of this pool family taken by nodes and given back to it
   * since the pool was added (restored with a snapshot; a snapshot from
   * before these counts restores the chunks held as taken, none given back).
   * chunksTaken - chunksReleased = chunks.used. A failed call counts nothing.
   */
  readonly chunksTaken: number;
  readonly chunksReleased: number;
}

// ------------------------------------------------------------------ check() (src/pool/check.ts, src/pool/multi/check.ts)

/** What check() compares the pool with. A category whose list is left out is not checked. */
export interface CheckOptions {
  /** Names of the nodes that exist (e.g. from `kubectl get nodes`). */
  readonly nodes?: Iterable<string>;
  /** Owners that exist, in the pool's naming (e.g. "namespace/pod" from `kubectl get pods -A`). */
  readonly owners?: Iterable<string>;
}

/** A node the pool holds subnets for (or that waits for one) but that is not live. */
export interface StaleNode {
  readonly name: string;
  readonly status: NodeStatus;
  readonly podCIDRs: string[];
  /** Pod addresses allocated in its subnets. */
  readonly pods: number;
  /** Its CIDRs per pool ("default" for a single-pool ClusterPool), pools in name order. */
  readonly pools: { readonly pool: string; readonly cidrs: string[] }[];
}

/** An owner that holds addresses but is not live. */
export interface StaleOwner {
  readonly owner: string;
  /** Its addresses, in the order releaseOwner releases them. */
  readonly addresses: string[];
  /** The pools its addresses come from, in name order. */
  readonly pools: string[];
}

/** An allocated address that no known owner holds (not reserved, not in reuse cooldown). */
export interface OrphanAddress {
  readonly ip: string;
  readonly node: string;
  readonly podCIDR: string;
  /** The pool of the address ("default" for a single-pool ClusterPool). */
  readonly pool: string;
  /** "no owner": allocated without one (the numeric fast path); "unknown owner id N": its owner id names no owner. */
  readonly reason: string;
}

/** A counter whose value differs from a recount of what it counts. */
export interface CounterMismatch {
  /** What it counts, e.g. "slots of 10.0.0.0/8" or "pods of node \"n1\" (10.0.1.0/24)". */
  readonly counter: string;
  readonly value: number;
  readonly recount: number;
  /** The pool the counter belongs to; absent for counters of the whole ClusterPool (owners, pending nodes). */
  readonly pool?: string;
}

export interface CheckReport {
  /** Nodes holding subnets (or pending) that are not in options.nodes; empty when options.nodes is left out. */
  readonly nodes: StaleNode[];
  /** Owners holding addresses that are not in options.owners; empty when options.owners is left out. */
  readonly owners: StaleOwner[];
  /** Allocated addresses held by no known owner. */
  readonly orphans: OrphanAddress[];
  /** Counters that disagree with a recount. */
  readonly counters: CounterMismatch[];
  /** verify()'s other findings: summaries, slot links, owner keys that point at nothing. */
  readonly problems: string[];
  /** True when every list above is empty. */
  readonly ok: boolean;
}

// ------------------------------------------------------------------ metrics (src/pool/usage.ts, src/pool/counters.ts, src/pool/multi/usage.ts)

export interface CidrUsage {
  /** The pool the CIDR belongs to: "default" for a single-pool ClusterPool, else its named pool. */
  readonly pool: string;
  readonly family: 4 | 6;
  readonly cidr: string;
  /** Node mask size of the family (named pools: the pool's maskSize, one chunk per slot). */
  readonly nodeMaskSize: number;
  /** Bitmap slots (node subnets of the slot mask; named pools: chunks), as stats().pools[].subnets: `used` counts reserved slots too. */
  readonly subnets: { readonly used: number; readonly free: number; readonly reserved: number; readonly capacity: number };
  /** Pod addresses in the node subnets held now: used by pods, free, in reuse cooldown, reserved (router, reserve()), usable in all. */
  readonly addresses: { readonly used: number; readonly free: number; readonly cooldown: number; readonly reserved: number; readonly capacity: number };
  /**
   * Addresses that can still be handed out: the free ones in held node
   * subnets, plus those of the node subnets the pool can still carve
   * (aligned free runs of a node subnet's size, up to maxNodeSubnets; with
   * the 'smaller' overflow, the remaining free slots as smaller subnets).
   */
  readonly remaining: number;
  /** The largest free aligned run of slots (2^j slots from a multiple of 2^j). */
  readonly largestFreeRun: number;
  /** Node subnets of the node mask size that could still be carved here (free aligned runs), before maxNodeSubnets. */
  readonly freeNodeSubnets: number;
}

export interface PoolUsage {
  readonly pool: string;
  readonly cidrs: CidrUsage[];
  /**
   * Nodes by status (ready and draining hold subnets; pending wait for one;
   * failed were refused on import). Named pools: ready nodes hold a chunk of
   * the pool, pending ones are below its watermark for want of a free chunk
   * (stats().ipPools[].short); none drain or fail.
   */
  readonly nodes: { readonly ready: number; readonly draining: number; readonly pending: number; readonly failed: number };
  /** Named pools: per family, the chunks (CIDRs) nodes took from the pool and gave back, since the pool was made (snapshots keep them). */
  readonly chunks?: readonly { readonly family: 4 | 6; readonly taken: number; readonly released: number }[];
}

/** @internal What named pools count on their hot paths while metrics read them (src/pool/counters.ts's AllocationCounters). */
export interface OpCounts {
  pods: number;
  releases: number;
}
