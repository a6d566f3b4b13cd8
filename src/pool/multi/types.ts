// Public result types of a multi-pool ClusterPool.
import type { NodeAllocation, LookupResult, NodeDetail } from "../types.js";

/** CIDRs a node holds from one pool: CiliumNode spec.ipam.pools.allocated[]. */
export interface PoolAllocation {
  readonly pool: string;
  readonly cidrs: string[];
}

/** addNode's result with pools: podCIDRs lists every chunk (IPv4 first), pools the same per pool. */
export interface MultiNodeAllocation extends NodeAllocation {
  readonly pools: PoolAllocation[];
}

/** lookup's result with pools: the pool the address came from. */
export interface MultiLookupResult extends LookupResult {
  readonly pool: string;
}

/** Options of addNode. */
export interface AddNodeOptions {
  /** The node's labels, matched against the pools' node selectors. Taken when the node is first added. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** Options of allocate with pools. */
export interface AllocateOptions {
  /** The pool to draw from (the pod's or namespace's ipam.cilium.io/ip-pool annotation). @default 'default' */
  readonly pool?: string;
  /**
   * Specific addresses, at most one per family (as the single pool's
   * `wanted`): in a chunk the node holds, or in a free chunk of the pool,
   * which the node takes. NOT_IN_RANGE, ALREADY_ALLOCATED otherwise.
   */
  readonly ips?: string | readonly string[];
}

/** Options naming the pool of addPoolCidr / removePoolCidr. */
export interface PoolCidrOptions {
  /** @default 'default' */
  readonly pool?: string;
}

export type { IpPoolStats } from "../types.js";

/** One node's use of one pool family. */
export interface NodePoolUsage {
  readonly pool: string;
  readonly family: 4 | 6;
  readonly cidrs: string[];
  readonly used: number;
  readonly free: number;
  /** True while below the watermark for want of a free chunk. */
  readonly short: boolean;
}

/** node() with pools: NodeDetail (one range per chunk) plus the pools, labels and per-pool usage. */
export interface MultiNodeDetail extends NodeDetail {
  readonly pools: PoolAllocation[];
  readonly status: "ready" | "draining";
  readonly labels: Readonly<Record<string, string>>;
  readonly usage: NodePoolUsage[];
}
