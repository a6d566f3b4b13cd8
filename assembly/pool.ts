// A pool CIDR: its slots (node subnets are aligned runs of slots) and the
// pod range of each node. Addresses are pool-relative numbers:
// rel = slot << hostBits | host. IPv4 callers add the pool base; IPv6
// callers map rel to 128 bits in TS.
import {
  POOL_FAMILY, POOL_BASE, POOL_MASK, POOL_HOST_BITS, POOL_SLOTS, POOL_NODE_BM, POOL_SLOT_TABLE,
  POOL_POD_FLAGS, POOL_ARENA, POOL_FREE_REGIONS, POOL_BYTES, SLOT_NODE, SLOT_REGION, BM_AUX,
  BM_NBITS, BM_BASE, POD_REGION_ALIGN, NONE, NO_MEMORY,
} from "./layout";
import {
  bmBytes, bmInit, bmAllocateNext, bmAllocate, bmRelease, bmHas, bmAllocateBatch, bmUsed,
} from "./bitmap";
import { arenaAlloc, arenaAllocAligned, stackPush, stackPop } from "./arena";

/** Fills in a pool entry. The slot bitmap and slot table are regions TS allocated. */
export function poolInit(
  p: usize, family: u32, base: u32, mask: u32, hostBits: u32, slots: u32,
  nodeBm: u32, slotTable: u32, podFlags: u32, arena: u32,
): void {
  memory.fill(p, 0, POOL_BYTES);
  store<u32>(p, family, POOL_FAMILY);
  store<u32>(p, base, POOL_BASE);
  store<u32>(p, mask, POOL_MASK);
  store<u32>(p, hostBits, POOL_HOST_BITS);
  store<u32>(p, slots, POOL_SLOTS);
  store<u32>(p, nodeBm, POOL_NODE_BM);
  store<u32>(p, slotTable, POOL_SLOT_TABLE);
  store<u32>(p, podFlags, POOL_POD_FLAGS);
  store<u32>(p, arena, POOL_ARENA);
}

/** Marks a pool entry empty (a removed pool CIDR): lookups skip it. */
export function poolClear(p: usize): void {
  store<u32>(p, 0, POOL_FAMILY);
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
 * Gives the run of `run` slots from `slot` to node id `node`, with an empty
 * pod range of `nbits` addresses whose offset 0 is at `base` (a rel). The
 * region comes from size class `cls` (recycled if one is free). Returns the
 * region, or 0 when the memory cannot grow.
 */
export function poolAttach(p: usize, slot: u32, run: u32, node: u32, nbits: u32, base: u32, cls: u32, seed: u64): u32 {
  let stack = p + POOL_FREE_REGIONS + (<usize>(cls & 1) << 3);
  let r = stackPop(stack);
  let aux: u32 = 0;
  if (r != 0) aux = load<u32>(r, BM_AUX);
  else {
    r = arenaAllocAligned(load<u32>(p, POOL_ARENA), bmBytes(nbits), <u32>POD_REGION_ALIGN);
    if (r == 0) return 0;
  }
  bmInit(r, nbits, load<u32>(p, POOL_POD_FLAGS), seed, aux);
  store<u32>(r, base, BM_BASE);
  for (let s = slot; s < slot + run; s++) {
    let e = slotEntry(p, s);
    atomic.store<u32>(e, r, SLOT_REGION);
    atomic.store<u32>(e, node, SLOT_NODE);
  }
  return r;
}

/** Takes a run of slots away from its node; the pod range goes to size class `cls`. Returns pods that were allocated. */
export function poolDetach(p: usize, slot: u32, run: u32, cls: u32): u32 {
  let r = load<u32>(slotEntry(p, slot), SLOT_REGION);
  for (let s = slot; s < slot + run; s++) {
    let e = slotEntry(p, s);
    atomic.store<u32>(e, 0, SLOT_NODE);
    atomic.store<u32>(e, 0, SLOT_REGION);
  }
  if (r == 0) return 0;
  let pods = bmUsed(r);
  let aux = load<u32>(r, BM_AUX);
  if (aux != 0) memory.fill(aux, 0, <usize>load<u32>(r, BM_NBITS) << 2);
  stackPush(p + POOL_FREE_REGIONS + (<usize>(cls & 1) << 3), r);
  return pods;
}

@inline function slotOf(p: usize, rel: u32): u32 {
  let hostBits = load<u32>(p, POOL_HOST_BITS);
  return hostBits >= 32 ? 0 : rel >>> hostBits;
}

/** Region holding rel and rel's offset in it, packed as region << 32 | offset; 0 if rel is not a usable address of a held subnet. */
@inline function locate(p: usize, rel: u32): u64 {
  let r = poolRegion(p, slotOf(p, rel));
  if (r == 0) return 0;
  let off = rel - load<u32>(r, BM_BASE);
  if (off >= load<u32>(r, BM_NBITS)) return 0;
  return (<u64>r << 32) | <u64>off;
}

/**
 * Gives pod range r an owner array if it has none. False when the memory
 * cannot grow: owned allocations call it before they take a bit, so that an
 * allocation is never made without its owner.
 */
function ensureAux(p: usize, r: usize): bool {
  if (load<u32>(r, BM_AUX) != 0) return true;
  let aux = arenaAlloc(load<u32>(p, POOL_ARENA), load<u32>(r, BM_NBITS) << 2);
  if (aux == 0) return false;
  store<u32>(r, aux, BM_AUX);
  return true;
}

function setOwner(p: usize, r: usize, off: u32, owner: u32): void {
  let aux = <usize>load<u32>(r, BM_AUX);
  if (aux == 0) {
    if (owner == 0) return;
    aux = arenaAlloc(load<u32>(p, POOL_ARENA), load<u32>(r, BM_NBITS) << 2);
    if (aux == 0) return;
    store<u32>(r, <u32>aux, BM_AUX);
  }
  store<u32>(aux + (<usize>off << 2), owner);
}

/**
 * Allocates the next pod address of the node at `slot` by strategy for
 * `owner` (0 = none). Returns its rel, or NONE when the range is full, the
 * slot has no node, or (range not full) an owner array is needed and the
 * memory cannot grow; then nothing is taken.
 */
export function podAllocateNext(p: usize, slot: u32, strategy: u32, owner: u32): i32 {
  let r = <usize>poolRegion(p, slot);
  if (r == 0) return NONE;
  if (owner != 0 && load<u32>(r, BM_AUX) == 0) {
    // a full range makes no owner array; else make it before taking the bit
    if (bmUsed(r) >= load<u32>(r, BM_NBITS) || !ensureAux(p, r)) return NONE;
  }
  let off = bmAllocateNext(r, strategy);
  if (off < 0) return NONE;
  // a free offset's owner slot is always 0 (release and detach clear it): only owned allocations write
  if (owner != 0) setOwner(p, r, <u32>off, owner);
  return <i32>(load<u32>(r, BM_BASE) + <u32>off);
}

/**
 * Allocates rel for `owner`. Returns 1 if taken now, 0 if already taken, NONE
 * if not a usable address of a held subnet, NO_MEMORY if an owner array is
 * needed and the memory cannot grow (nothing taken).
 */
export function podAllocate(p: usize, rel: u32, owner: u32): i32 {
  let at = locate(p, rel);
  if (at == 0) return NONE;
  let r = <usize>(at >>> 32);
  let off = <u32>at;
  if (owner != 0 && load<u32>(r, BM_AUX) == 0) {
    if (bmHas(r, off)) return 0;
    if (!ensureAux(p, r)) return NO_MEMORY;
  }
  let got = bmAllocate(r, off);
  if (got == 1 && owner != 0) setOwner(p, r, off, owner);
  return got;
}

/**
 * Releases rel. Returns its owner id (0 = none) if it was allocated, NONE
 * otherwise (releasing a free or foreign address is a no-op). With `keep`,
 * the address stays taken (quarantined) and only its owner is cleared.
 */
export function podRelease(p: usize, rel: u32, keep: bool): i32 {
  let at = locate(p, rel);
  if (at == 0) return NONE;
  let r = <usize>(at >>> 32);
  let off = <u32>at;
  if (keep) { if (!bmHas(r, off)) return NONE; }
  else if (bmRelease(r, off) == 0) return NONE;
  let aux = <usize>load<u32>(r, BM_AUX);
  if (aux == 0) return 0;
  let q = aux + (<usize>off << 2);
  let owner = load<u32>(q);
  store<u32>(q, 0);
  return <i32>owner;
}

/** Owner of rel: NONE if not allocated (or not in a held subnet), 0 if allocated without owner, else the owner id. */
export function podOwner(p: usize, rel: u32): i32 {
  let at = locate(p, rel);
  if (at == 0) return NONE;
  let r = <usize>(at >>> 32);
  let off = <u32>at;
  if (!bmHas(r, off)) return NONE;
  let aux = <usize>load<u32>(r, BM_AUX);
  return aux == 0 ? 0 : <i32>load<u32>(aux + (<usize>off << 2));
}

/**
 * Allocates up to n pod addresses of the node at `slot` without owner and
 * writes each as `base + rel` (the IPv4 address for IPv4 pools, rel for
 * IPv6) to out[]. Returns how many were written.
 */
export function podAllocateBatch(p: usize, slot: u32, strategy: u32, n: u32, out: usize): u32 {
  let r = <usize>poolRegion(p, slot);
  if (r == 0) return 0;
  return bmAllocateBatch(r, strategy, n, out, load<u32>(p, POOL_BASE) + load<u32>(r, BM_BASE));
}

/** Pods allocated (quarantined and reserved included) in the node at `slot`. */
export function podUsed(p: usize, slot: u32): u32 {
  let r = <usize>poolRegion(p, slot);
  return r == 0 ? 0 : bmUsed(r);
}

/** Slot whose node's pod range has the most free addresses, or NONE (the 'share' overflow policy). */
export function poolMostFree(p: usize): i32 {
  let slots = load<u32>(p, POOL_SLOTS);
  let table = <usize>load<u32>(p, POOL_SLOT_TABLE);
  let best: i32 = NONE;
  let bestFree: u32 = 0;
  let last: u32 = 0;
  for (let s: u32 = 0; s < slots; s++) {
    let r = load<u32>(table + (<usize>s << 3), SLOT_REGION);
    if (r == 0 || r == last) continue; // a run of slots shares one region
    last = r;
    let free = load<u32>(r, BM_NBITS) - bmUsed(r);
    if (free > bestFree) { bestFree = free; best = <i32>s; }
  }
  return best;
}

