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
  /** Named pools only: chunks taken from and given back to the pools so far. */
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
}
