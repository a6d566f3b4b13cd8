// The memory map of ipcarve's shared WebAssembly.Memory, in one place.
//
// The module keeps no state of its own: no data segments, no globals that
// matter, no start function. Every structure below lives at an offset that
// the TypeScript side (src/engine.ts) chose and passes in, so any number of
// instances (one per worker thread) can work on the same memory.
//
//   0          64                                             arena top     memory end
//   +----------+----------------------------------------------+-------------+
//   | reserved | ARENA header | regions handed out by the arena, 64-aligned |
//   +----------+----------------------------------------------+-------------+
//   (offset 0 stays unused so that 0 can mean "no region")
//
// ARENA header (16 bytes, at ENGINE_ARENA):
//   +0  u32 top          next free byte; bumped with atomic.cmpxchg
//
// SCRATCH_FREE (u64 at 80, between the ARENA header and ARENA_START 128):
//   tag << 32 | head of a lock-free stack of scratch regions (the batch
//   staging area of an engine, 128 KiB) that attached engines (PoolView,
//   any thread) gave back when their last user was disposed; the next
//   attached engine pops one instead of growing the arena. TS only.
//
// BITMAP region (one per node-subnet set, one per pod range):
//   +0  u32 nbits        capacity in bits (<= 2^24)
//   +4  u32 used         set bits; decides "full"; changed atomically in ATOMIC mode
//   +8  u32 cursor       next-fit candidate (a hint)
//   +12 u32 flags        bit 0 FLAG_ATOMIC; bits 8..15 the number of summary levels (0..3)
//   +16 u32 aux          owner-id array (u32 per bit) or 0; used by pod ranges
//   +20 u32 nwords       leaf words = ceil(nbits / 64)
//   +24 u64 rng          xorshift64 state for the random strategy
//   +32 u32 level[1..3]  offsets of summary levels 1..3 (0 = absent)
//   +44 u32 base         pod ranges: pool-relative address (rel) of offset 0
//   +48 u64 leaf[nwords] bit i set = offset i taken; padding bits past nbits are 1
//   ... u64 level1[...]   bit j set = leaf word j is full (all ones); padding 1
//   ... u64 level2[...]   bit k set = level-1 word k is full
//   ... u64 level3[1]
//
//   With 2^24 bits: 262,144 leaf words, 4,096 + 64 + 1 summary words, so a
//   search never reads more than 4 + 4 words whatever the fill. A /24 pod
//   range is 48 + 32 + 8 = 88 bytes; pod ranges are 32-aligned (96 bytes
//   each), other regions 64-aligned (a cache line).
//   Summary bits are exact in plain mode; in ATOMIC mode they are hints that
//   are repaired after a race, and "full" is decided by `used` alone.
//
// POOL entry (64 bytes, one per pool CIDR, in a table of entries):
//   +0  u32 family       4 or 6 (0 = empty entry, e.g. a removed pool CIDR)
//   +4  u32 base         IPv4: network address of the pool CIDR; IPv6: 0
//   +8  u32 mask         IPv4: netmask of the pool CIDR; IPv6: 0
//   +12 u32 hostBits     an address inside the pool is rel = slot << hostBits | host
//   +16 u32 slots        slots in the pool = 2^(slotMask - clusterMask)
//   +20 u32 -            reserved
//   +24 u32 -            reserved
//   +28 u32 nodeBm       BITMAP of slots
//   +32 u32 slotTable    SLOT entries, one per slot
//   +36 u32 -            reserved
//   +40 u32 podFlags     flags for pod-range bitmaps (FLAG_ATOMIC or 0)
//   +44 u32 arena        ARENA header the pool takes regions from
//   +48 u64 free[0]      lock-free stack of recycled pod regions of size class 0: tag << 32 | head
//   +56 u64 free[1]      the same for size class 1 (smaller overflow subnets)
//
// A node subnet is an aligned run of 2^k slots (k = 0 unless big holes and
// smaller overflow subnets share the pool); every slot of the run points at
// the node and at its one pod range.
//
// SLOT entry (8 bytes):
//   +0  u32 node         node id (0 = no node holds this slot)
//   +4  u32 region       pod-range BITMAP of the node, or 0
//
// A recycled pod region keeps its owner array (aux); the stack links regions
// through their first word while they are free.

// ---- arena ----
@inline export const ENGINE_ARENA: usize = 64;
/** The stack of scratch regions that attached engines gave back (u64 tagged head). */
@inline export const SCRATCH_FREE: usize = 80;
/** The first region the arena hands out. */
@inline export const ARENA_START: usize = 128;
@inline export const ARENA_TOP: usize = 0;
@inline export const ARENA_BYTES: usize = 16;
@inline export const REGION_ALIGN: usize = 64;
@inline export const POD_REGION_ALIGN: usize = 32;

// ---- bitmap ----
@inline export const BM_NBITS: usize = 0;
@inline export const BM_USED: usize = 4;
@inline export const BM_CURSOR: usize = 8;
@inline export const BM_FLAGS: usize = 12;
@inline export const BM_AUX: usize = 16;
@inline export const BM_NWORDS: usize = 20;
@inline export const BM_RNG: usize = 24;
@inline export const BM_LEVEL1: usize = 32;
@inline export const BM_BASE: usize = 44;
@inline export const BM_HEADER: usize = 48;
/** flags >> LEVELS_SHIFT & 0xFF: the number of summary levels. */
@inline export const LEVELS_SHIFT: u32 = 8;
@inline export const BM_MAX_BITS: u32 = 1 << 24;

@inline export const FLAG_ATOMIC: u32 = 1;

// find-free strategies
@inline export const STRATEGY_NEXT_FIT: u32 = 0;
@inline export const STRATEGY_FIRST_FREE: u32 = 1;
@inline export const STRATEGY_RANDOM: u32 = 2;

// ---- pool entry ----
@inline export const POOL_FAMILY: usize = 0;
@inline export const POOL_BASE: usize = 4;
@inline export const POOL_MASK: usize = 8;
@inline export const POOL_HOST_BITS: usize = 12;
@inline export const POOL_SLOTS: usize = 16;
@inline export const POOL_NODE_BM: usize = 28;
@inline export const POOL_SLOT_TABLE: usize = 32;
@inline export const POOL_POD_FLAGS: usize = 40;
@inline export const POOL_ARENA: usize = 44;
@inline export const POOL_FREE_REGIONS: usize = 48;
@inline export const POOL_BYTES: usize = 64;

// ---- slot entry ----
@inline export const SLOT_NODE: usize = 0;
@inline export const SLOT_REGION: usize = 4;
@inline export const SLOT_BYTES: usize = 8;

// ---- results ----
/** Returned by find and allocate calls when nothing is free. */
@inline export const NONE: i32 = -1;
/** Returned by podAllocate when an owned allocation needs an owner array and the memory cannot grow. */
@inline export const NO_MEMORY: i32 = -2;

// ---- owner registry (assembly/owners.ts) ----
//
// OWNERS header (OWN_BYTES, one per ClusterPool, a region TS allocates):
//   +0   u32 table        open-addressing table of u32 slots (see TABLE slot)
//   +4   u32 mask         slots - 1 (slots a power of two; rehash at 3/4 load)
//   +8   u32 count        names in the table
//   +12  u32 nextId       ids below it have been handed out (starts at 1; 0 = no owner)
//   +16  u32 freeId       head of the free-id list, linked through the records' name field
//   +20  u32 nameAt       next free byte of the current names chunk
//   +24  u32 nameEnd      end of the current names chunk
//   +28  u32 nameBytes    bytes of name slots in use
//   +32  u32 chunks[24]   records chunk k: 2^(k+4) records, ids 2^(k+4)-15 .. 2^(k+5)-16; 0 = not yet
//   +128 u32 freeNames[48] heads of free name slots per size class (16, 32, 48, 64, 96, 128, 192, ...)
//   +320 u32 tombs        deleted-slot markers (SLOT_TOMB) in the table
//   +324 u32 dormant      owners that hold nothing but are still named (REC_DORMANT); counted in count
//   +328 u32 epoch        seqlock for readers on other threads (PoolView): odd while name slots are
//                         being freed (ownDelete, ownSweep), bumped (atomically) before and after
//
//   A records chunk never moves, so the record of an id stays put while the
//   registry grows; chunks double, so at n ids at most ~n/2 records are spare.
//   Tables, records chunks and names chunks are regions TS hands in when a
//   call returns NEED_TABLE / NEED_RECORDS / NEED_NAMES (the call changed
//   nothing): the engine can take them all back when the pool goes.
//
// OWNER record (24 bytes):
//   +0  u32 name          offset of the name's UTF-8 bytes; while the id is free: the next free id
//   +4  u32 len           its length in bytes (< 2^24), | REC_DORMANT while the owner holds nothing;
//                         REC_FREE (0xFFFFFFFF) while the id is free
//   +8  f64 key0          address key pool * 2^32 + rel, or -1
//   +16 f64 key1          a second key (dual stack), or -1; third and later keys: TS side
//
// TABLE slot (u32): id | (murmur3_32(name) & SLOT_TAG); 0 = empty; SLOT_TOMB =
// deleted (probes go on past it, inserts reuse it). The hash itself is not
// kept: a rehash hashes names again; deletion reads no other owner's name.
@inline export const OWN_TABLE: usize = 0;
@inline export const OWN_MASK: usize = 4;
@inline export const OWN_COUNT: usize = 8;
@inline export const OWN_NEXT_ID: usize = 12;
@inline export const OWN_FREE_ID: usize = 16;
@inline export const OWN_NAME_AT: usize = 20;
@inline export const OWN_NAME_END: usize = 24;
@inline export const OWN_NAME_BYTES: usize = 28;
@inline export const OWN_CHUNKS: usize = 32;
@inline export const OWN_CHUNK_COUNT: usize = 24;
@inline export const OWN_FREE_NAMES: usize = 128;
@inline export const OWN_NAME_CLASSES: usize = 48;
@inline export const OWN_TOMBS: usize = 320;
@inline export const OWN_DORMANT: usize = 324;
@inline export const OWN_EPOCH: usize = 328;
@inline export const OWN_BYTES: usize = 384;
@inline export const REC_NAME: usize = 0;
@inline export const REC_LEN: usize = 4;
@inline export const REC_KEY0: usize = 8;
@inline export const REC_KEY1: usize = 16;
@inline export const REC_BYTES: usize = 24;
/** REC_LEN of a free id. */
@inline export const REC_FREE: u32 = 4294967295;
/** REC_LEN flag of a dormant owner (it holds no key; its name and id go at the next ownSweep). */
@inline export const REC_DORMANT: u32 = 2147483648;
@inline export const REC_LEN_MASK: u32 = 2147483647;
/** Table slot: hash bits kept beside the id, and the id bits (ids < 2^28). */
@inline export const SLOT_TAG: u32 = 4026531840;
@inline export const SLOT_ID: u32 = 268435455;
/** A deleted table slot (its id bits are no id: ids stay below 2^28 - 16). */
@inline export const SLOT_TOMB: u32 = 4294967295;
/** Records in chunk 0 (chunk k holds REC_FIRST_CHUNK << k). */
@inline export const REC_FIRST_CHUNK: usize = 16;
/** Returned (negative) by ownEnsure / ownAdopt when a region is needed first. */
@inline export const NEED_TABLE: i32 = -3;
@inline export const NEED_RECORDS: i32 = -4;
@inline export const NEED_NAMES: i32 = -5;
/** An empty key slot. */
@inline export const KEY_EMPTY: f64 = -1;
