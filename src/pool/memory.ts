// How much shared memory a pool can ever take, so that a pool with an engine of
// its own reserves about that (assembly/layout.ts has what the regions hold).
import { Cidr } from "../net/ip.js";
import { rangeGeometry } from "../net/range.js";
import { MAX_PAGES, SCRATCH_BYTES } from "../core/engine.js";
import { ARENA_START, bitmapBytes } from "../core/layout.js";

const PAGE = 65536;
/**
 * A pool's own memory is never smaller than this (16 MiB, reserved, not
 * committed), so small pools have room to grow: a /16 added to a small pool
 * fits, owner registry included.
 */
export const MIN_POOL_PAGES = 256;
/** Bytes the largest memory (MAX_PAGES) holds. */
export const MAX_BYTES = MAX_PAGES * PAGE;

/** What one arena allocation of `bytes` can move the arena top by: the size rounded to its alignment, plus padding. */
const region = (bytes: number, align = 64): number => Math.ceil(bytes / align) * align + align;

/**
 * Owner registry bytes per pod address (assembly/owners.ts), each address
 * held by an owner of its own: a 24-byte record in chunks that double (48),
 * table slots of 4 bytes at 3/8..3/4 load, the tables a rehash left behind
 * (about 22), and a name slot with the chunk it came from (names up to 64
 * bytes of UTF-8 fit; longer ones take more, and a pool of such owners
 * fills its own memory sooner: give it an engine to grow up to 4 GiB).
 */
export const OWNER_BYTES_PER_ADDRESS = 160;

/** One pod range at `mask` in `cidr`: its bitmap, a full owner array and the registry entries of its owners. */
function podRangeBytes(cidr: Cidr, mask: number): number {
  const size = rangeGeometry(new Cidr(cidr.family, cidr.network, mask)).size;
  return region(bitmapBytes(size), 32) + region(size * 4) + size * OWNER_BYTES_PER_ADDRESS;
}

/**
 * Upper bound of the arena bytes a pool CIDR ever takes: its slot bitmap and
 * slot table, and every pod range it can have at once (held or recycled),
 * each with an owner array: one per aligned run of 2^(slotMask - maskSize)
 * slots for big node subnets, plus one per slot for smaller overflow subnets.
 */
export function poolCidrBytes(cidr: Cidr, maskSize: number, slotMask: number): number {
  const slots = 2 ** (slotMask - cidr.prefix);
  const k = slotMask - maskSize;
  let total = region(bitmapBytes(slots)) + region(slots * 8);
  total += (slots / 2 ** k) * podRangeBytes(cidr, maskSize);
  if (k > 0) total += slots * podRangeBytes(cidr, slotMask);
  return total;
}

/** Bytes an engine takes before any pool CIDR: the reserved start, its scratch and a pool table of `tableBytes`. */
export function engineBytes(tableBytes: number): number {
  return ARENA_START + region(SCRATCH_BYTES) + region(tableBytes);
}

/**
 * Pages of a pool's own memory: what the engine and the pool CIDRs can take
 * (`bytes`), and as much again for pool CIDRs added later (addPoolCidr),
 * at least MIN_POOL_PAGES and at most MAX_PAGES.
 */
export function poolPages(fixed: number, pools: number): number {
  return Math.min(MAX_PAGES, Math.max(MIN_POOL_PAGES, Math.ceil((fixed + 2 * pools) / PAGE)));
}
