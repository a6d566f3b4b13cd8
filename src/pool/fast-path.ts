// The numeric fast path: node handles and u32 IPv4 addresses, per call and batched into caller-provided typed arrays.
// Arguments are checked before anything is touched (src/args.ts): an address must be an integer
// 0..2^32-1 (a non-integer is INVALID_ARGUMENT, an integer outside NOT_IN_RANGE), a handle an
// integer, a batch array a Uint32Array, a count an integer up to its length.
import { errors } from "../errors.js";
import { isU32, badU32, badHandle, u32Array, count as countArg } from "../args.js";
import { addressKey } from "./owners.js";
import { NONE } from "../core/layout.js";
import { PoolCore, type Subnet, type NodeState } from "./core.js";
import { tick } from "./nodes.js";
import { releaseKey, dropOwnedIPv4 } from "./release.js";

/**
 * The IPv4 subnet of the node with this handle (a u32, checked by the
 * caller) for a new allocation: UNKNOWN_NODE if none, or if the node is
 * draining (being removed takes no new pods, as allocate() says).
 */
export function v4Subnet(core: PoolCore, handle: number): Subnet {
  const n = core.byId[handle];
  const s = n?.v4;
  if (s === undefined || (n as NodeState).status === "draining") throw noSubnet(handle, n);
  return s;
}

/** UNKNOWN_NODE for a handle whose node has no IPv4 subnet to allocate from (none, or draining). */
function noSubnet(handle: number, n: NodeState | undefined): Error {
  return n?.v4 === undefined ? errors.unknownNode(`handle ${handle} (no IPv4 subnet)`) : errors.unknownNode(n.name, "being removed");
}

/**
 * Allocates an IPv4 pod address (no owner) on the node; returns it as u32,
 * or -1 when the range is full. Counts a success in core.numericAllocations,
 * and a failure (FULL, or the code it throws) in core.counts when set.
 */
export function allocateIPv4(core: PoolCore, handle: number): number {
  if (!isU32(handle)) throw failed(core, badHandle("allocateIPv4(handle)", handle));
  tick(core);
  // v4Subnet's check, inline: calling v4Subnet with a flag to count its failure made this call ~3.5 ns slower (18.5 -> 22 ns)
  const n = core.byId[handle];
  const s = n?.v4;
  if (s === undefined || (n as NodeState).status === "draining") throw failed(core, noSubnet(handle, n));
  // straight to the node's pod bitmap: anonymous allocations write no owner slot
  const off = s.pool.allocateNextIndex(s.region, core.strategy);
  if (off === NONE) {
    core.counts?.failCode("pod", "FULL");
    return NONE;
  }
  if (core.log) core.emit({ op: "alloc", node: (n as NodeState).name, owner: "", keys: [addressKey(s.pool.index, s.base + off)] });
  core.numericAllocations++;
  return (s.ip0 + off) >>> 0;
}

/** Counts a failed allocateIPv4 (when counting) and gives the error back to throw. */
function failed(core: PoolCore, e: Error): Error {
  core.counts?.fail("pod", e);
  return e;
}

/** Allocates up to `count` IPv4 pod addresses on the node into out (u32). Returns how many (fewer: full). */
export function allocateIPv4Batch(core: PoolCore, handle: number, out: Uint32Array, count?: number): number {
  if (!isU32(handle)) throw badHandle("allocateIPv4Batch(handle)", handle);
  u32Array("allocateIPv4Batch(out)", out);
  const want = countArg("allocateIPv4Batch(count)", count, out.length);
  tick(core);
  const s = v4Subnet(core, handle);
  const done = s.pool.allocateNextBatch(s.slot, core.strategy, out, want);
  if (core.log && done > 0) {
    const keys = Array.from(out.subarray(0, done), (ip) => addressKey(s.pool.index, ip - s.pool.base4));
    core.emit({ op: "alloc", node: (core.byId[handle] as NodeState).name, owner: "", keys });
  }
  return done;
}

/** Releases an IPv4 pod address given as u32. Returns true if it was allocated; counts that in core.numericReleases. */
export function releaseIPv4(core: PoolCore, ip: number): boolean {
  const done = freeIPv4(core, ip);
  if (done) core.numericReleases++;
  return done;
}

function freeIPv4(core: PoolCore, ip: number): boolean {
  if (!isU32(ip)) throw badU32("releaseIPv4(ip)", ip);
  tick(core);
  if (core.quarantine !== undefined || core.borrowed.size > 0 || core.log !== undefined || core.reservedKeys.size > 0) {
    const pool = core.table.poolOfIPv4(ip);
    return pool !== undefined && releaseKey(core, addressKey(pool.index, (ip >>> 0) - pool.base4), true);
  }
  const owner = core.table.releaseIPv4(ip);
  if (owner > 0) dropOwnedIPv4(core, owner, ip);
  return owner !== NONE;
}

/** Releases the u32 IPv4 addresses in[0..count). Returns how many were allocated. */
export function releaseIPv4Batch(core: PoolCore, ips: Uint32Array, count?: number): number {
  u32Array("releaseIPv4Batch(ips)", ips);
  count = countArg("releaseIPv4Batch(count)", count, ips.length);
  tick(core);
  if (core.quarantine !== undefined || core.borrowed.size > 0 || core.log !== undefined || core.reservedKeys.size > 0) {
    let freed = 0;
    for (let k = 0; k < count; k++) if (freeIPv4(core, ips[k] as number)) freed++;
    return freed;
  }
  return core.owners.size > 0 ? core.table.releaseIPv4Batch(ips, count, dropOwnedIPv4, core) : core.table.releaseIPv4Batch(ips, count);
}

/** Handle of the node whose subnet holds the u32 IPv4 address, or 0. */
export function lookupIPv4(core: PoolCore, ip: number): number {
  if (!isU32(ip)) throw badU32("lookupIPv4(ip)", ip);
  return core.table.lookupIPv4(ip);
}

/** Writes the node handle (0 = none) of each u32 address ips[k] to out[k]. */
export function lookupIPv4Batch(core: PoolCore, ips: Uint32Array, out: Uint32Array | Int32Array, count?: number): void {
  u32Array("lookupIPv4Batch(ips)", ips);
  if (!(out instanceof Uint32Array || out instanceof Int32Array)) throw errors.invalidArgument("lookupIPv4Batch(out)", out, "a Uint32Array or an Int32Array");
  count = countArg("lookupIPv4Batch(count)", count, Math.min(ips.length, out.length));
  core.table.lookupIPv4Batch(ips, out, count);
}

// ------------------------------------------------------------------ stats
