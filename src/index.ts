// The public surface of ipcarve: values first, then types.
export { parseCidr, isValidCidr, Cidr, formatIPv4, parseIPv4 } from "./ip.js";
export { IpamError, isIpamError } from "./errors.js";
export { CidrSet } from "./cidr-set.js";
export { PodRange } from "./pod-range.js";
export { ClusterPool, MAX_POOL_CIDRS } from "./cluster-pool.js";
export { PoolView } from "./pool-view.js";
export { FileStore } from "./state/file-store.js";
export { Engine } from "./engine.js";

export type { IpamErrorCode } from "./errors.js";
export type { Family } from "./ip.js";
export type { Strategy } from "./wasm.js";
export type { CidrSetOptions } from "./cidr-set.js";
export type { PodRangeOptions } from "./pod-range.js";
export type { ClusterPoolOptions, FamilyOptions, OverflowPolicy } from "./options.js";
export type { ReuseOptions } from "./quarantine.js";
export type {
  NodeAllocation, PodAddresses, LookupResult, NodeStatus, NodeDetail, RangeUsage, PoolStats, ClusterStats, RemoveNodeOptions,
} from "./cluster-pool.js";
export type { CiliumNode, CiliumNodeList, ImportResult } from "./cilium-node.js";
export type { FileStoreOptions } from "./state/file-store.js";
export type { PoolDescriptor, PoolEntryDescriptor } from "./pool-view.js";
