// Address -> pool -> node slot -> node id and owner id.
import { POOL_FAMILY, POOL_BASE, POOL_MASK, POOL_HOST_BITS, POOL_BYTES, BM_NBITS, BM_BASE, BM_AUX, BM_HEADER, NONE } from "./layout";
import { poolNodeAt, poolRegion, podOwner, podRelease } from "./pool";
import { bmReleaseMask } from "./bitmap";
import { ownRemoveDrop } from "./owners";

/** The IPv4 pool entry of `table` (count entries) that contains ip, or 0. */
@inline function pool4(table: usize, count: u32, ip: u32): usize {
  for (let k: u32 = 0; k < count; k++) {
    let p = table + <usize>k * POOL_BYTES;
    if (load<u32>(p, POOL_FAMILY) == 4 && ((ip ^ load<u32>(p, POOL_BASE)) & load<u32>(p, POOL_MASK)) == 0) return p;
  }
  return 0;
}

@inline function slot4(p: usize, ip: u32): u32 {
  let hostBits = load<u32>(p, POOL_HOST_BITS);
  let rel = ip - load<u32>(p, POOL_BASE);
  return hostBits >= 32 ? 0 : rel >>> hostBits;
}

/** Index of the IPv4 pool entry that contains ip, or NONE. */
export function findPool4(table: usize, count: u32, ip: u32): i32 {
  let p = pool4(table, count, ip);
  return p == 0 ? NONE : <i32>((p - table) / POOL_BYTES);
}

/** Node id whose subnet contains the IPv4 address, or 0. */
export function lookup4(table: usize, count: u32, ip: u32): u32 {
  let p = pool4(table, count, ip);
  return p == 0 ? 0 : poolNodeAt(p, slot4(p, ip));
}

/** Owner of an IPv4 address: NONE if not allocated, 0 if allocated without owner, else the owner id. */
export function owner4(table: usize, count: u32, ip: u32): i32 {
  let p = pool4(table, count, ip);
  return p == 0 ? NONE : podOwner(p, ip - load<u32>(p, POOL_BASE));
}

/**
 * Everything lookup needs of an IPv4 address in one call: writes the node
 * id (0 = none) at out and the owner (as owner4) at out + 4. Returns the
 * index of the pool entry that contains ip, or NONE (then nothing written).
 */
export function lookup4Own(table: usize, count: u32, ip: u32, out: usize): i32 {
  let p = pool4(table, count, ip);
  if (p == 0) return NONE;
  store<u32>(out, poolNodeAt(p, slot4(p, ip)));
  store<i32>(out, podOwner(p, ip - load<u32>(p, POOL_BASE)), 4);
  return <i32>((p - table) / POOL_BYTES);
}

/** Releases an IPv4 pod address. Returns its owner id (0 = none), or NONE if it was not allocated. */
export function release4(table: usize, count: u32, ip: u32): i32 {
  let p = pool4(table, count, ip);
  return p == 0 ? NONE : podRelease(p, ip - load<u32>(p, POOL_BASE), false);
}

/**
 * Releases an IPv4 pod address and, if it had an owner, removes its key
 * (pool index · 2^32 + offset in the pool) from the owner's record in the
 * registry at `owners`, forgetting the owner if it then holds nothing (the
 * caller keeps no further keys of any owner). Returns as release4.
 */
export function release4Own(table: usize, count: u32, ip: u32, owners: usize): i32 {
  let p = pool4(table, count, ip);
  if (p == 0) return NONE;
  let rel = ip - load<u32>(p, POOL_BASE);
  let o = podRelease(p, rel, false);
  if (o > 0) ownRemoveDrop(owners, <u32>o, <f64>((p - table) / POOL_BYTES) * 4294967296.0 + <f64>rel, 0);
  return o;
}

/** For each in[k] writes the node id (0 = none) to outNode[k] and, if outOwner != 0, the owner result. */
export function lookup4Batch(table: usize, count: u32, n: u32, inp: usize, outNode: usize, outOwner: usize): void {
  for (let k: u32 = 0; k < n; k++) {
    let ip = load<u32>(inp + (<usize>k << 2));
    let p = pool4(table, count, ip);
    let node: u32 = 0;
    if (p != 0) node = poolNodeAt(p, slot4(p, ip));
    store<u32>(outNode + (<usize>k << 2), node);
    if (outOwner != 0) store<i32>(outOwner + (<usize>k << 2), p == 0 ? NONE : podOwner(p, ip - load<u32>(p, POOL_BASE)));
  }
}

/**
 * Releases each IPv4 address in[k]; writes the owner result (as release4)
 * to outOwner[k] if outOwner != 0. Returns how many were allocated.
 * Consecutive addresses of one pod range are cleared one leaf word at a
 * time; an address given twice counts once.
 */
export function release4Batch(table: usize, count: u32, n: u32, inp: usize, outOwner: usize): u32 {
  let freed: u32 = 0;
  let r: usize = 0; // the pod range the run is in
  let ip0: u32 = 0; // address of its offset 0
  let nbits: u32 = 0;
  let aux: usize = 0;
  let wi: u32 = 0xFFFF_FFFF;
  let word: u64 = 0; // leaf word wi as it was before this run
  let mask: u64 = 0; // bits of word wi released by this run
  for (let k: u32 = 0; k < n; k++) {
    let ip = load<u32>(inp + (<usize>k << 2));
    let off = ip - ip0;
    if (r == 0 || off >= nbits) {
      if (mask != 0) bmReleaseMask(r, wi, mask);
      mask = 0;
      wi = 0xFFFF_FFFF;
      r = 0;
      let p = pool4(table, count, ip);
      if (p != 0) {
        let rel = ip - load<u32>(p, POOL_BASE);
        let hostBits = load<u32>(p, POOL_HOST_BITS);
        r = poolRegion(p, hostBits >= 32 ? 0 : rel >>> hostBits);
      }
      if (r != 0) {
        ip0 = load<u32>(p, POOL_BASE) + load<u32>(r, BM_BASE);
        nbits = load<u32>(r, BM_NBITS);
        aux = <usize>load<u32>(r, BM_AUX);
        off = ip - ip0;
      }
      if (r == 0 || off >= nbits) {
        r = 0;
        if (outOwner != 0) store<i32>(outOwner + (<usize>k << 2), NONE);
        continue;
      }
    }
    let w = off >>> 6;
    if (w != wi) {
      if (mask != 0) bmReleaseMask(r, wi, mask);
      mask = 0;
      wi = w;
      word = load<u64>(r + BM_HEADER + (<usize>w << 3));
    }
    let bit = <u64>1 << (off & 63);
    let o: i32 = NONE;
    if ((word & bit) != 0 && (mask & bit) == 0) {
      mask |= bit;
      freed++;
      o = 0;
      if (aux != 0) {
        let q = aux + (<usize>off << 2);
        o = <i32>load<u32>(q);
        store<u32>(q, 0);
      }
    }
    if (outOwner != 0) store<i32>(outOwner + (<usize>k << 2), o);
  }
  if (mask != 0) bmReleaseMask(r, wi, mask);
  return freed;
}
