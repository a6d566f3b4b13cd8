// The public surface of ipcarve: values first, then types.
export { parseCidr, isValidCidr, Cidr, formatIPv4, parseIPv4 } from "./net/ip.js";
export { IpamError, isIpamError } from "./errors.js";
export { CidrSet } from "./alloc/cidr-set.js";
export { PodRange } from "./alloc/pod-range.js";
export { ClusterPool, MAX_POOL_CIDRS } from "./pool/cluster-pool.js";
export { PoolView } from "./alloc/pool-view.js";
export { FileStore } from "./pool/file-store.js";
export { SharedPool } from "./shared/shared-pool.js";
export { Engine } from "./core/engine.js";
export { loadPodIPPools, parsePodIPPools, parsePreAllocation } from "./config/pod-ip-pool.js";
export { registerMetrics } from "./metrics/prometheus.js";

export type { IpamErrorCode } from "./errors.js";
export type { Family } from "./net/ip.js";
export type { Strategy } from "./alloc/strategy.js";
export type { CidrSetOptions } from "./alloc/cidr-set.js";
export type { PodRangeOptions } from "./alloc/pod-range.js";
/** Options of a single-pool ClusterPool (Cilium cluster-pool), and of SharedPool. */
export type { ClusterPoolOptions as SinglePoolOptions, FamilyOptions, OverflowPolicy } from "./pool/options.js";
import type { ClusterPoolOptions as SinglePoolOptions } from "./pool/options.js";
import type { MultiPoolOptions } from "./pool/multi/options.js";
/** What `new ClusterPool(options)` and `ClusterPool.open` take: single-pool options, or named pools (`pools`). */
export type ClusterPoolOptions = SinglePoolOptions | MultiPoolOptions;
export type { ReuseOptions } from "./pool/quarantine.js";
export type {
  NodeAllocation, PodAddresses, LookupResult, NodeStatus, NodeDetail, RangeUsage, PoolStats, ClusterStats, RemoveNodeOptions,
} from "./pool/cluster-pool.js";
export type { CiliumNode, CiliumNodeList, ImportResult } from "./pool/cilium-node.js";
export type { MultiPoolOptions, IpPoolSpec, IpPoolFamily, LabelSelector } from "./pool/multi/options.js";
export type {
  MultiNodeAllocation, MultiLookupResult, MultiNodeDetail, PoolAllocation, AddNodeOptions, AllocateOptions, PoolCidrOptions, IpPoolStats, NodePoolUsage,
} from "./pool/multi/types.js";
export type { MultiClusterStats } from "./pool/multi/stats.js";
export type { LoadedPodIPPools, PodIPPoolOptions } from "./config/pod-ip-pool.js";
export type { FileStoreOptions } from "./pool/file-store.js";
export type { SharedStoreOptions } from "./shared/shared-pool.js";
export type { CheckOptions, CheckReport, StaleNode, StaleOwner, OrphanAddress, CounterMismatch } from "./pool/cluster-pool.js";
export type { PoolMetrics, PromRegistry } from "./metrics/prometheus.js";
export type { PoolDescriptor, PoolEntryDescriptor } from "./alloc/pool-view.js";
