// Allocation counters for metrics: kept by the ClusterPool facade only while
// someone reads them (registerMetrics), so a pool without metrics pays one
// field test per call. A success is one integer increment; a failure, a
// Map update keyed by its error code (failures are the cold path).
import { IpamError } from "../errors.js";

/** What was allocated: a pod address (allocate, allocateIPv4, allocateIPv4Batch) or a node's subnets (addNode). */
export type AllocationKind = "pod" | "node";

export class AllocationCounters {
  /** Pod allocations that succeeded (one per allocate() call; one per address of the numeric path). */
  pods = 0;
  /** addNode() calls that returned the node's subnets. */
  nodes = 0;
  /** Failures by kind, then error code ("FULL", "UNKNOWN_NODE", ...; "ERROR" for a non-IpamError). */
  readonly failures: Record<AllocationKind, Map<string, number>> = { pod: new Map(), node: new Map() };

  /** Counts one failure of `kind` with the code of `e`. */
  fail(kind: AllocationKind, e: unknown): void {
    this.failCode(kind, e instanceof IpamError ? e.code : "ERROR");
  }

  failCode(kind: AllocationKind, code: string): void {
    const m = this.failures[kind];
    m.set(code, (m.get(code) ?? 0) + 1);
  }
}
