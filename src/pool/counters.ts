// Operation counters for metrics: kept by the ClusterPool facade only while
// someone reads them (registerMetrics), so a pool without metrics pays one
// field test per call. A success (allocation, release, node removal) is one
// integer increment; a failure, a Map update keyed by its error code
// (failures are the cold path).
import { IpamError } from "../errors.js";
import type { OpCounts } from "./types.js";

/** What was allocated: a pod address (allocate, allocateIPv4, allocateIPv4Batch) or a node's subnets (addNode). */
export type AllocationKind = "pod" | "node";

/** The counters of one pool label. */
export class AllocationCounters implements OpCounts {
  /** Pod allocations that succeeded (one per allocate() call; one per address of the numeric path). */
  pods = 0;
  /** Pod addresses released: one per address release(), releaseIPv4() and releaseIPv4Batch() freed; releaseOwner() counts every address it freed. */
  releases = 0;
  /** addNode() calls that returned the node's subnets. */
  nodes = 0;
  /** removeNode() calls that removed a node (or started its drain, with graceMs). */
  removals = 0;
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

/**
 * The counters of a ClusterPool by pool label. A single-pool ClusterPool
 * counts everything under "default". With named pools, pod allocations and
 * releases count under their pool, and node calls (addNode, removeNode),
 * which belong to no one pool, under "" (no pool label in Prometheus).
 */
export class PoolCounters {
  readonly byPool = new Map<string, AllocationCounters>();
  /** The pool label of node calls: "default" (single pool) or "" (named pools). */
  readonly nodePool: string;
  /** Where node calls count: byPool's entry of nodePool. */
  readonly nodes: AllocationCounters;

  constructor(nodePool: string) {
    this.nodePool = nodePool;
    this.nodes = this.of(nodePool);
  }

  /** The counters of pool `name`, made at first use. */
  of(name: string): AllocationCounters {
    let c = this.byPool.get(name);
    if (c === undefined) this.byPool.set(name, (c = new AllocationCounters()));
    return c;
  }
}
