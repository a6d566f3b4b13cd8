/**
 * The numbers of the memory map (assembly/layout.ts) that TypeScript needs,
 * and the codes the core's calls take and return. test/layout.test.ts
 * checks each against assembly/layout.ts. Importing this file is not
 * importing the WASM bindings (src/core/wasm.ts): any layer may.
 */
/** Returned by WASM calls when nothing was found or nothing is free. */
export const NONE = -1;
/** Returned by podAllocate when the owner array cannot be made (the memory cannot grow). */
export const NO_MEMORY = -2;
export const FLAG_ATOMIC = 1;
/** Bytes of a pool entry and of a slot entry (assembly/layout.ts). */
export const POOL_BYTES = 64;
export const SLOT_BYTES = 8;
/** Where the arena header sits and where regions start (assembly/layout.ts). */
export const ENGINE_ARENA = 64;
export const ARENA_START = 128;
/** Tagged head (u64) of the stack of scratch regions that attached engines gave back (assembly/layout.ts). */
export const SCRATCH_FREE = 80;
/** Offset of a pool entry's stack of recycled pod regions of size class 0; class 1 follows (assembly/layout.ts). */
export const POOL_FREE_REGIONS = 48;
/** Byte offsets in a bitmap region's header (assembly/layout.ts BITMAP): bits, bits taken, owner array. */
export const BM_NBITS = 0;
export const BM_USED = 4;
export const BM_AUX = 16;

export type Strategy = "next-fit" | "first-free" | "random";
export const STRATEGY_CODE: Readonly<Record<Strategy, number>> = { "next-fit": 0, "first-free": 1, random: 2 };

/** Bytes of a bitmap region of `nbits` bits, header and summary levels included (assembly/bitmap.ts bmBytes). */
export function bitmapBytes(nbits: number): number {
  let n = Math.ceil(nbits / 64);
  let total = 48 + n * 8;
  while (n > 1) {
    n = Math.ceil(n / 64);
    total += n * 8;
  }
  return total;
}
/** Owner registry (assembly/owners.ts): header bytes, record layout, and the "a region is needed first" results. */
export const OWN_BYTES = 384;
export const OWN_MASK = 4;
export const OWN_NEXT_ID = 12;
export const OWN_CHUNKS = 32;
export const OWN_CHUNK_COUNT = 24;
export const OWN_EPOCH = 328;
export const REC_NAME = 0;
export const REC_LEN = 4;
export const REC_KEY0 = 8;
export const REC_KEY1 = 16;
export const REC_BYTES = 24;
/** REC_LEN flag of a dormant owner (holds nothing; freed by ownSweep); REC_FREE has it too. */
export const REC_DORMANT = 0x8000_0000;
/** REC_LEN of a free id. */
export const REC_FREE = 0xffffffff;
export const NEED_TABLE = -3;
export const NEED_RECORDS = -4;
export const NEED_NAMES = -5;
/** An empty key slot of an owner record. */
export const KEY_EMPTY = -1;
