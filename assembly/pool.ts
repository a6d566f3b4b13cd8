// A pool CIDR: its node subnets (slots) and the pod range of each slot.
// Addresses are pool-relative numbers: rel = slot << hostBits | host.
// IPv4 callers add the pool base; IPv6 callers map rel to 128 bits in TS.
import {
  POOL_FAMILY, POOL_BASE, POOL_MASK, POOL_HOST_BITS, POOL_SLOTS, POOL_FIRST, POOL_POD_BITS,
  POOL_NODE_BM, POOL_SLOT_TABLE, POOL_REGION_BYTES, POOL_POD_FLAGS, POOL_ARENA, POOL_FREE_REGIONS,
  POOL_BYTES, SLOT_NODE, SLOT_REGION, BM_AUX, NONE,
} from "./layout";
import {
  bmBytes, bmInit, bmAllocateNext, bmAllocate, bmRelease, bmHas, bmAllocateBatch, bmUsed,
} from "./bitmap";
import { arenaAlloc, stackPush, stackPop } from "./arena";

/** Fills in a pool entry. The node bitmap and slot table are regions TS allocated. */
export function poolInit(
  p: usize, family: u32, base: u32, mask: u32, hostBits: u32, slots: u32, first: u32,
  podBits: u32, nodeBm: u32, slotTable: u32, podFlags: u32, arena: u32,
): void {
  memory.fill(p, 0, POOL_BYTES);
  store<u32>(p, family, POOL_FAMILY);
  store<u32>(p, base, POOL_BASE);
  store<u32>(p, mask, POOL_MASK);
  store<u32>(p, hostBits, POOL_HOST_BITS);
  store<u32>(p, slots, POOL_SLOTS);
  store<u32>(p, first, POOL_FIRST);
  store<u32>(p, podBits, POOL_POD_BITS);
  store<u32>(p, nodeBm, POOL_NODE_BM);
  store<u32>(p, slotTable, POOL_SLOT_TABLE);
  store<u32>(p, bmBytes(podBits), POOL_REGION_BYTES);
  store<u32>(p, podFlags, POOL_POD_FLAGS);
  store<u32>(p, arena, POOL_ARENA);
}

@inline function slotEntry(p: usize, slot: u32): usize {
  return <usize>load<u32>(p, POOL_SLOT_TABLE) + (<usize>slot << 3);
}

/** The pod-range bitmap of a slot, or 0. */
export function poolRegion(p: usize, slot: u32): u32 {
  if (slot >= load<u32>(p, POOL_SLOTS)) return 0;
  return load<u32>(slotEntry(p, slot), SLOT_REGION);
}

/** The node id that holds a slot, or 0. */
export function poolNodeAt(p: usize, slot: u32): u32 {
  if (slot >= load<u32>(p, POOL_SLOTS)) return 0;
  return load<u32>(slotEntry(p, slot), SLOT_NODE);
}

/**
 * Gives `slot` to node id `node` with an empty pod range (a recycled region
 * if one is free). Returns the region, or 0 when the memory cannot grow.
 */
export function poolAttach(p: usize, slot: u32, node: u32, seed: u64): u32 {
  let r = stackPop(p + POOL_FREE_REGIONS);
  let aux: u32 = 0;
  if (r != 0) aux = load<u32>(r, BM_AUX);
  else {
    r = arenaAlloc(load<u32>(p, POOL_ARENA), load<u32>(p, POOL_REGION_BYTES));
    if (r == 0) return 0;
  }
  bmInit(r, load<u32>(p, POOL_POD_BITS), load<u32>(p, POOL_POD_FLAGS), seed, aux);
  let e = slotEntry(p, slot);
  atomic.store<u32>(e, r, SLOT_REGION);
  atomic.store<u32>(e, node, SLOT_NODE);
  return r;
}

/** Takes the slot's node and pod range away; the region is recycled. Returns pods that were allocated. */
export function poolDetach(p: usize, slot: u32): u32 {
  let e = slotEntry(p, slot);
  let r = load<u32>(e, SLOT_REGION);
  atomic.store<u32>(e, 0, SLOT_NODE);
  atomic.store<u32>(e, 0, SLOT_REGION);
  if (r == 0) return 0;
  let pods = bmUsed(r);
  let aux = load<u32>(r, BM_AUX);
  if (aux != 0) memory.fill(aux, 0, <usize>load<u32>(p, POOL_POD_BITS) << 2);
  stackPush(p + POOL_FREE_REGIONS, r);
  return pods;
}

/** rel of pod offset `off` in `slot`. */
@inline function relOf(p: usize, slot: u32, off: u32): u32 {
  return (slot << load<u32>(p, POOL_HOST_BITS)) + load<u32>(p, POOL_FIRST) + off;
}

/** Pod offset of `rel` in its slot's range, or NONE if rel is not a usable address. */
@inline function podOffset(p: usize, rel: u32): i32 {
  let hostBits = load<u32>(p, POOL_HOST_BITS);
  let host = hostBits == 32 ? rel : rel & ((<u32>1 << hostBits) - 1);
  let off = host - load<u32>(p, POOL_FIRST);
  return off < load<u32>(p, POOL_POD_BITS) ? <i32>off : NONE;
}

@inline function slotOf(p: usize, rel: u32): u32 {
  let hostBits = load<u32>(p, POOL_HOST_BITS);
  return hostBits == 32 ? 0 : rel >>> hostBits;
}

function setOwner(p: usize, r: usize, off: u32, owner: u32): void {
  let aux = <usize>load<u32>(r, BM_AUX);
  if (aux == 0) {
    if (owner == 0) return;
    aux = arenaAlloc(load<u32>(p, POOL_ARENA), load<u32>(p, POOL_POD_BITS) << 2);
    if (aux == 0) return;
    store<u32>(r, <u32>aux, BM_AUX);
  }
  store<u32>(aux + (<usize>off << 2), owner);
}

/**
 * Allocates the next pod address of `slot` by strategy for `owner` (0 = none).
 * Returns its rel, or NONE when the range is full or the slot has no node.
 */
export function podAllocateNext(p: usize, slot: u32, strategy: u32, owner: u32): i32 {
  let r = <usize>poolRegion(p, slot);
  if (r == 0) return NONE;
  let off = bmAllocateNext(r, strategy);
  if (off < 0) return NONE;
  if (owner != 0 || load<u32>(r, BM_AUX) != 0) setOwner(p, r, <u32>off, owner);
  return <i32>relOf(p, slot, <u32>off);
}

/** Allocates rel for `owner`. Returns 1 if taken now, 0 if already taken, NONE if not a usable address of a held slot. */
export function podAllocate(p: usize, rel: u32, owner: u32): i32 {
  let off = podOffset(p, rel);
  if (off < 0) return NONE;
  let r = <usize>poolRegion(p, slotOf(p, rel));
  if (r == 0) return NONE;
  let got = bmAllocate(r, <u32>off);
  if (got == 1 && (owner != 0 || load<u32>(r, BM_AUX) != 0)) setOwner(p, r, <u32>off, owner);
  return got;
}

/**
 * Releases rel. Returns its owner id (0 = none) if it was allocated, NONE
 * otherwise (releasing a free or foreign address is a no-op).
 */
export function podRelease(p: usize, rel: u32): i32 {
  let off = podOffset(p, rel);
  if (off < 0) return NONE;
  let r = <usize>poolRegion(p, slotOf(p, rel));
  if (r == 0) return NONE;
  if (bmRelease(r, <u32>off) == 0) return NONE;
  let aux = <usize>load<u32>(r, BM_AUX);
  if (aux == 0) return 0;
  let q = aux + (<usize>off << 2);
  let owner = load<u32>(q);
  store<u32>(q, 0);
  return <i32>owner;
}

/** Owner of rel: NONE if not allocated (or not in a held slot), 0 if allocated without owner, else the owner id. */
export function podOwner(p: usize, rel: u32): i32 {
  let off = podOffset(p, rel);
  if (off < 0) return NONE;
  let r = <usize>poolRegion(p, slotOf(p, rel));
  if (r == 0 || !bmHas(r, <u32>off)) return NONE;
  let aux = <usize>load<u32>(r, BM_AUX);
  return aux == 0 ? 0 : <i32>load<u32>(aux + (<usize>off << 2));
}

/**
 * Allocates up to n pod addresses of `slot` without owner and writes each as
 * `base + rel` (the IPv4 address for IPv4 pools, rel for IPv6) to out[].
 * Returns how many were written.
 */
export function podAllocateBatch(p: usize, slot: u32, strategy: u32, n: u32, out: usize): u32 {
  let r = <usize>poolRegion(p, slot);
  if (r == 0) return 0;
  let add = load<u32>(p, POOL_BASE) + relOf(p, slot, 0);
  let got = bmAllocateBatch(r, strategy, n, out, add);
  let aux = <usize>load<u32>(r, BM_AUX);
  if (aux != 0) { // a recycled owner array may hold ids for these offsets: clear them
    for (let k: u32 = 0; k < got; k++) store<u32>(aux + (<usize>(load<u32>(out + (<usize>k << 2)) - add) << 2), 0);
  }
  return got;
}

/** Pods allocated in a slot. */
export function podUsed(p: usize, slot: u32): u32 {
  let r = <usize>poolRegion(p, slot);
  return r == 0 ? 0 : bmUsed(r);
}

export function poolNodeBitmap(p: usize): u32 { return load<u32>(p, POOL_NODE_BM); }

/** Node-subnet allocation on the pool's node bitmap: a slot, or NONE when full. */
export function poolAllocateSlot(p: usize, strategy: u32): i32 {
  return bmAllocateNext(load<u32>(p, POOL_NODE_BM), strategy);
}

