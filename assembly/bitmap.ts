// Hierarchical bitmap over offsets 0..nbits-1. Knows nothing about IPs.
// See layout.ts for the region format.
import {
  BM_NBITS, BM_USED, BM_CURSOR, BM_FLAGS, BM_AUX, BM_NWORDS, BM_RNG, BM_LEVEL1, LEVELS_SHIFT,
  BM_HEADER, BM_BASE, FLAG_ATOMIC, NONE, STRATEGY_FIRST_FREE, STRATEGY_RANDOM,
} from "./layout";

const ALL: u64 = 0xFFFF_FFFF_FFFF_FFFF;

// ---------------------------------------------------------------- geometry

@inline function words(n: u32): u32 { return (n + 63) >>> 6; }

/** Bytes a bitmap of `nbits` bits needs, header and summary levels included. */
export function bmBytes(nbits: u32): u32 {
  let n = words(nbits);
  let total = BM_HEADER + (<usize>n << 3);
  while (n > 1) {
    n = words(n);
    total += <usize>n << 3;
  }
  return <u32>total;
}

@inline function leafBase(h: usize): usize { return h + BM_HEADER; }

/** Base of level `level` (0 = leaves). */
@inline function levelBase(h: usize, level: u32): usize {
  return level == 0 ? h + BM_HEADER : <usize>load<u32>(h + BM_LEVEL1 + ((<usize>level - 1) << 2));
}

@inline function isAtomic(h: usize): bool { return (load<u32>(h, BM_FLAGS) & FLAG_ATOMIC) != 0; }

@inline function levelsOf(h: usize): u32 { return (load<u32>(h, BM_FLAGS) >>> LEVELS_SHIFT) & 0xFF; }

/** Sets bits from..63 of the last word of a level of `items` items (padding reads as taken). */
function padLevel(base: usize, items: u32): void {
  let rem = items & 63;
  if (rem == 0) return;
  let p = base + ((<usize>items >>> 6) << 3);
  store<u64>(p, load<u64>(p) | (ALL << rem));
}

/**
 * splitmix64 of a seed: the xorshift state of the random strategy. xorshift64
 * straight from a small seed draws small numbers first (seeds 1 to 19, 12345
 * and 1000000 all gave offset 0 first); mixed, neighbouring seeds start far
 * apart. A bijection, so distinct seeds stay distinct; only one seed mixes to
 * 0 (an xorshift state must not be 0), and it gets a fixed constant instead.
 */
@inline function mixSeed(seed: u64): u64 {
  let z = seed + 0x9E37_79B9_7F4A_7C15;
  z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9;
  z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB;
  z ^= z >> 31;
  return z == 0 ? 0x9E37_79B9_7F4A_7C15 : z;
}

/**
 * Lays out an empty bitmap of `nbits` bits at `h` (bmBytes(nbits) bytes).
 * `aux` is kept as given (pod ranges recycle their owner array). The random
 * strategy's state starts at mixSeed(seed); snapshots keep the state itself
 * (bmRng / bmSetRng), so a restored range draws on where it stopped.
 */
export function bmInit(h: usize, nbits: u32, flags: u32, seed: u64, aux: u32): void {
  memory.fill(h, 0, bmBytes(nbits));
  store<u32>(h, nbits, BM_NBITS);
  store<u32>(h, flags, BM_FLAGS);
  store<u32>(h, aux, BM_AUX);
  let n = words(nbits);
  store<u32>(h, n, BM_NWORDS);
  store<u64>(h, mixSeed(seed), BM_RNG);
  padLevel(leafBase(h), nbits);
  let base = leafBase(h) + (<usize>n << 3);
  let levels: u32 = 0;
  while (n > 1) {
    let items = n;
    n = words(n);
    levels++;
    store<u32>(h + BM_LEVEL1 + ((<usize>levels - 1) << 2), <u32>base);
    padLevel(base, items);
    base += <usize>n << 3;
  }
  store<u32>(h, flags | (levels << LEVELS_SHIFT), BM_FLAGS);
}

// ---------------------------------------------------------------- summaries

/** Leaf word `wi` became full: set its bit upwards while words fill up. */
function markFull(h: usize, wi: u32): void {
  let levels = levelsOf(h);
  if (isAtomic(h)) {
    let child = leafBase(h) + (<usize>wi << 3);
    for (let level: u32 = 1; level <= levels; level++) {
      let p = levelBase(h, level) + ((<usize>wi >>> 6) << 3);
      let bit = <u64>1 << (wi & 63);
      let old = atomic.or<u64>(p, bit);
      // A release may have raced us: repair the hint if the child is no longer full.
      if (load<u64>(child) != ALL) { atomic.and<u64>(p, ~bit); return; }
      if ((old | bit) != ALL) return;
      child = p;
      wi >>>= 6;
    }
    return;
  }
  for (let level: u32 = 1; level <= levels; level++) {
    let p = levelBase(h, level) + ((<usize>wi >>> 6) << 3);
    let w = load<u64>(p) | (<u64>1 << (wi & 63));
    store<u64>(p, w);
    if (w != ALL) return;
    wi >>>= 6;
  }
}

/** Leaf word `wi` stopped being full: clear its bit upwards while words were full. */
function markNotFull(h: usize, wi: u32): void {
  let levels = levelsOf(h);
  if (isAtomic(h)) {
    let child = leafBase(h) + (<usize>wi << 3);
    for (let level: u32 = 1; level <= levels; level++) {
      let p = levelBase(h, level) + ((<usize>wi >>> 6) << 3);
      let bit = <u64>1 << (wi & 63);
      let old = atomic.and<u64>(p, ~bit);
      // An allocation may have refilled the child meanwhile: restore the hint.
      if (load<u64>(child) == ALL) { atomic.or<u64>(p, bit); return; }
      if (old != ALL) return;
      child = p;
      wi >>>= 6;
    }
    return;
  }
  for (let level: u32 = 1; level <= levels; level++) {
    let p = levelBase(h, level) + ((<usize>wi >>> 6) << 3);
    let old = load<u64>(p);
    store<u64>(p, old & ~(<u64>1 << (wi & 63)));
    if (old != ALL) return;
    wi >>>= 6;
  }
}

// ---------------------------------------------------------------- search

/**
 * First free offset >= pos, or NONE. Climbs the summary levels from `pos`
 * and descends with ctz, so it reads at most 2 words per level.
 * Returns -2 when a summary hint was stale (ATOMIC mode only).
 */
export function bmFindFrom(h: usize, pos: u32): i32 {
  let levels = levelsOf(h);
  let items = load<u32>(h, BM_NBITS);
  let level: u32 = 0;
  let idx = pos;
  let base = leafBase(h);
  while (true) {
    if (idx >= items) return NONE;
    let wi = idx >>> 6;
    let free = ~load<u64>(base + (<usize>wi << 3)) & (ALL << (idx & 63));
    if (free != 0) { idx = (wi << 6) + <u32>ctz(free); break; }
    if (level == levels) return NONE;
    items = words(items);
    idx = wi + 1;
    level++;
    base = levelBase(h, level);
  }
  while (level > 0) {
    level--;
    let free = ~load<u64>(levelBase(h, level) + (<usize>idx << 3));
    if (free == 0) return -2;
    idx = (idx << 6) + <u32>ctz(free);
  }
  return <i32>idx;
}

/** Leaf-by-leaf scan that ignores the summaries; repairs them as it goes (ATOMIC races). */
function scanLeaves(h: usize): i32 {
  let n = load<u32>(h, BM_NWORDS);
  let base = leafBase(h);
  for (let wi: u32 = 0; wi < n; wi++) {
    let w = load<u64>(base + (<usize>wi << 3));
    if (w != ALL) {
      markNotFull(h, wi);
      return <i32>((wi << 6) + <u32>ctz(~w));
    }
  }
  return NONE;
}

@inline function nextRandom(h: usize): u64 {
  let s = load<u64>(h, BM_RNG);
  s ^= s << 13; s ^= s >> 7; s ^= s << 17;
  store<u64>(h, s, BM_RNG);
  return s;
}

/** Where a search by `strategy` starts. */
@inline function startOf(h: usize, strategy: u32, nbits: u32): u32 {
  if (strategy == STRATEGY_FIRST_FREE) return 0;
  if (strategy == STRATEGY_RANDOM) return <u32>(((nextRandom(h) >>> 32) * <u64>nbits) >>> 32);
  let c = load<u32>(h, BM_CURSOR);
  return c < nbits ? c : 0;
}

/** A free offset by strategy, wrapping to 0, or NONE. Does not take it. */
function findFree(h: usize, start: u32): i32 {
  let i = bmFindFrom(h, start);
  if (i == NONE && start != 0) i = bmFindFrom(h, 0);
  if (i == -2) i = scanLeaves(h);
  return i;
}

// ---------------------------------------------------------------- counters

/** ATOMIC mode: reserve k of the free count, or fewer if fewer are free. Returns how many. */
function reserve(h: usize, k: u32): u32 {
  let nbits = load<u32>(h, BM_NBITS);
  while (true) {
    let used = load<u32>(h, BM_USED);
    let avail = nbits - used;
    let take = k < avail ? k : avail;
    if (take == 0) return 0;
    if (atomic.cmpxchg<u32>(h + BM_USED, used, used + take) == used) return take;
  }
}

// ---------------------------------------------------------------- single bits

/** Takes offset i if free. Returns true if this call took it. Does not touch `used`. */
function claimBit(h: usize, i: u32): bool {
  let p = leafBase(h) + ((<usize>i >>> 6) << 3);
  let bit = <u64>1 << (i & 63);
  let w: u64;
  if (isAtomic(h)) {
    let old = load<u64>(p);
    while (true) {
      if (old & bit) return false;
      let seen = atomic.cmpxchg<u64>(p, old, old | bit);
      if (seen == old) break;
      old = seen;
    }
    w = old | bit;
  } else {
    let old = load<u64>(p);
    if (old & bit) return false;
    w = old | bit;
    store<u64>(p, w);
  }
  if (w == ALL) markFull(h, i >>> 6);
  return true;
}

/** Frees offset i if taken. Returns true if this call freed it. Does not touch `used`. */
function dropBit(h: usize, i: u32): bool {
  let p = leafBase(h) + ((<usize>i >>> 6) << 3);
  let bit = <u64>1 << (i & 63);
  let old: u64;
  if (isAtomic(h)) {
    old = load<u64>(p);
    while (true) {
      if (!(old & bit)) return false;
      let seen = atomic.cmpxchg<u64>(p, old, old & ~bit);
      if (seen == old) break;
      old = seen;
    }
  } else {
    old = load<u64>(p);
    if (!(old & bit)) return false;
    store<u64>(p, old & ~bit);
  }
  if (old == ALL) markNotFull(h, i >>> 6);
  return true;
}

/** Allocates the next free offset by strategy, or NONE when full. */
export function bmAllocateNext(h: usize, strategy: u32): i32 {
  let nbits = load<u32>(h, BM_NBITS);
  let flags = load<u32>(h, BM_FLAGS);
  if ((flags & FLAG_ATOMIC) == 0 && strategy != STRATEGY_RANDOM) {
    // Fast path: a free bit in the word under the start position.
    let c: u32 = strategy == STRATEGY_FIRST_FREE ? 0 : load<u32>(h, BM_CURSOR);
    let p = leafBase(h) + ((<usize>c >>> 6) << 3);
    let w = load<u64>(p);
    let free = ~w & (ALL << (c & 63));
    if (free != 0 && c < nbits) {
      let bit = ctz(free);
      let i: u32 = (c & ~63) + <u32>bit;
      w |= <u64>1 << bit;
      store<u64>(p, w);
      if (w == ALL) markFull(h, c >>> 6);
      store<u32>(h, load<u32>(h, BM_USED) + 1, BM_USED);
      store<u32>(h, i + 1 < nbits ? i + 1 : 0, BM_CURSOR);
      return <i32>i;
    }
  }
  let i: i32;
  if (isAtomic(h)) {
    if (reserve(h, 1) == 0) return NONE;
    let start = startOf(h, strategy, nbits);
    while (true) {
      i = findFree(h, start);
      if (i < 0) i = scanLeaves(h);
      if (i >= 0 && claimBit(h, <u32>i)) break;
      start = i < 0 ? 0 : <u32>i;
    }
  } else {
    let used = load<u32>(h, BM_USED);
    if (used >= nbits) return NONE;
    i = findFree(h, startOf(h, strategy, nbits));
    if (i < 0) return NONE; // counter and bits disagree: report full, never hand out a taken bit
    claimBit(h, <u32>i);
    store<u32>(h, used + 1, BM_USED);
  }
  let next = <u32>i + 1;
  store<u32>(h, next < nbits ? next : 0, BM_CURSOR);
  return i;
}

/** Allocates offset i. Returns 1 if taken now, 0 if it was already taken, NONE if out of range. */
export function bmAllocate(h: usize, i: u32): i32 {
  if (i >= load<u32>(h, BM_NBITS)) return NONE;
  if (isAtomic(h)) {
    while (true) {
      if (bmHas(h, i)) return 0;
      if (reserve(h, 1) == 1) break;
      // Full by the counter while bit i reads free: another thread holds a reservation for it.
    }
    if (claimBit(h, i)) return 1;
    atomic.sub<u32>(h + BM_USED, 1);
    return 0;
  }
  if (!claimBit(h, i)) return 0;
  store<u32>(h, load<u32>(h, BM_USED) + 1, BM_USED);
  return 1;
}

/** Releases offset i. Returns 1 if it was taken, 0 otherwise (a no-op, also out of range). */
export function bmRelease(h: usize, i: u32): i32 {
  if (i >= load<u32>(h, BM_NBITS)) return 0;
  if ((load<u32>(h, BM_FLAGS) & FLAG_ATOMIC) == 0) {
    let p = leafBase(h) + ((<usize>i >>> 6) << 3);
    let old = load<u64>(p);
    let bit = <u64>1 << (i & 63);
    if (!(old & bit)) return 0;
    store<u64>(p, old ^ bit);
    if (old == ALL) markNotFull(h, i >>> 6);
    store<u32>(h, load<u32>(h, BM_USED) - 1, BM_USED);
    return 1;
  }
  if (!dropBit(h, i)) return 0;
  if (isAtomic(h)) atomic.sub<u32>(h + BM_USED, 1);
  else store<u32>(h, load<u32>(h, BM_USED) - 1, BM_USED);
  return 1;
}

/** True if offset i is taken (false out of range). */
export function bmHas(h: usize, i: u32): bool {
  if (i >= load<u32>(h, BM_NBITS)) return false;
  return (load<u64>(leafBase(h) + ((<usize>i >>> 6) << 3)) & (<u64>1 << (i & 63))) != 0;
}

// ---------------------------------------------------------------- batches

/**
 * Allocates up to n offsets by strategy and writes `offset + add` as u32 to out[0..].
 * Takes whole runs of free bits in a word with one store (one CAS in ATOMIC mode).
 * Returns how many were written; fewer than n means the bitmap is now full.
 */
export function bmAllocateBatch(h: usize, strategy: u32, n: u32, out: usize, add: u32): u32 {
  let nbits = load<u32>(h, BM_NBITS);
  let atomicMode = isAtomic(h);
  let want: u32;
  if (atomicMode) want = reserve(h, n);
  else {
    let avail = nbits - load<u32>(h, BM_USED);
    want = n < avail ? n : avail;
  }
  let got: u32 = 0;
  let pos = startOf(h, strategy, nbits);
  let base = leafBase(h);
  while (got < want) {
    if (strategy == STRATEGY_RANDOM && got > 0) pos = startOf(h, strategy, nbits);
    let i = findFree(h, pos);
    if (i < 0) i = scanLeaves(h);
    if (i < 0) break; // plain mode only: counter and bits disagree
    let wi = <u32>i >>> 6;
    let p = base + (<usize>wi << 3);
    let old = load<u64>(p);
    let take: u64;
    while (true) {
      let free = ~old & (ALL << (<u32>i & 63));
      if (strategy == STRATEGY_RANDOM) free &= ~free + 1; // one bit per random draw
      take = 0;
      let need = want - got;
      while (free != 0 && need > 0) { let b = free & (~free + 1); take |= b; free ^= b; need--; }
      if (take == 0) break;
      if (!atomicMode) { store<u64>(p, old | take); break; }
      let seen = atomic.cmpxchg<u64>(p, old, old | take);
      if (seen == old) break;
      old = seen;
    }
    if (take == 0) { pos = <u32>i; continue; } // lost the race for this word: search again
    if ((old | take) == ALL) markFull(h, wi);
    let last: u32 = 0;
    while (take != 0) {
      let bit = <u32>ctz(take);
      take &= take - 1;
      last = (wi << 6) + bit;
      store<u32>(out + (<usize>got << 2), last + add);
      got++;
    }
    pos = last + 1 < nbits ? last + 1 : 0;
  }
  if (atomicMode) {
    if (got < want) atomic.sub<u32>(h + BM_USED, want - got);
  } else store<u32>(h, load<u32>(h, BM_USED) + got, BM_USED);
  if (got > 0) store<u32>(h, pos, BM_CURSOR);
  return got;
}

/**
 * Clears the bits of `mask` in leaf word wi. Returns how many were set.
 * Batch releases group offsets by word and call this once per word.
 */
export function bmReleaseMask(h: usize, wi: u32, mask: u64): u32 {
  let p = leafBase(h) + (<usize>wi << 3);
  let old: u64;
  if (isAtomic(h)) old = atomic.and<u64>(p, ~mask);
  else { old = load<u64>(p); store<u64>(p, old & ~mask); }
  let cleared = <u32>popcnt(old & mask);
  if (cleared == 0) return 0;
  if (old == ALL) markNotFull(h, wi);
  if (isAtomic(h)) atomic.sub<u32>(h + BM_USED, cleared);
  else store<u32>(h, load<u32>(h, BM_USED) - cleared, BM_USED);
  return cleared;
}

/** Releases the n offsets `in[k] - sub` (out of range ones are skipped), one write per leaf word touched. Returns how many were taken before. */
export function bmReleaseBatch(h: usize, n: u32, inp: usize, sub: u32): u32 {
  let nbits = load<u32>(h, BM_NBITS);
  let freed: u32 = 0;
  let wi: u32 = 0xFFFF_FFFF;
  let mask: u64 = 0;
  for (let k: u32 = 0; k < n; k++) {
    let i = load<u32>(inp + (<usize>k << 2)) - sub;
    if (i >= nbits) continue;
    let w = i >>> 6;
    if (w != wi) {
      if (mask != 0) freed += bmReleaseMask(h, wi, mask);
      wi = w;
      mask = 0;
    }
    mask |= <u64>1 << (i & 63);
  }
  if (mask != 0) freed += bmReleaseMask(h, wi, mask);
  return freed;
}

/** Sets a bitmap's flags (e.g. FLAG_ATOMIC once worker threads share it). */
export function bmSetFlags(h: usize, flags: u32): void {
  store<u32>(h, (load<u32>(h, BM_FLAGS) & ~(<u32>0xFF)) | (flags & 0xFF), BM_FLAGS);
}

/** Writes 1 or 0 to out[k] (u8) for each offset `in[k] - sub`. Returns how many are taken. */
export function bmHasBatch(h: usize, n: u32, inp: usize, sub: u32, out: usize): u32 {
  let taken: u32 = 0;
  for (let k: u32 = 0; k < n; k++) {
    let t = <u32>bmHas(h, load<u32>(inp + (<usize>k << 2)) - sub);
    store<u8>(out + k, <u8>t);
    taken += t;
  }
  return taken;
}

// ---------------------------------------------------------------- aligned runs

/** Bits at every multiple of 2^k in a word (k <= 6). */
@inline function alignedBits(k: u32): u64 {
  let pattern: u64 = 1;
  for (let s: u32 = 1 << k; s < 64; s <<= 1) pattern |= pattern << s;
  return pattern;
}

/** Start of the first free aligned run of 2^k offsets at or after `pos` (a multiple of 2^k), or NONE. */
function findRun(h: usize, pos: u32, k: u32): i32 {
  let nbits = load<u32>(h, BM_NBITS);
  let size: u32 = 1 << k;
  let base = leafBase(h);
  while (pos < nbits) {
    let f = bmFindFrom(h, pos); // skips full words through the summaries
    if (f == -2) f = <i32>pos; // stale hint: look word by word from here
    if (f < 0) return NONE;
    let cand = <u32>f & ~(size - 1);
    if (<u64>cand + size > <u64>nbits) return NONE;
    if (k <= 6) {
      let wi = cand >>> 6;
      let x = ~load<u64>(base + (<usize>wi << 3));
      for (let s: u32 = 1; s < size; s <<= 1) x &= x >> s; // bit j: j .. j+size-1 all free
      x &= alignedBits(k) & (ALL << (cand & 63));
      if (x != 0) return <i32>((wi << 6) + <u32>ctz(x));
      pos = (wi + 1) << 6;
    } else {
      let free = true;
      for (let wi = cand >>> 6; wi < (cand + size) >>> 6; wi++) {
        if (load<u64>(base + (<usize>wi << 3)) != 0) { free = false; break; }
      }
      if (free) return <i32>cand;
      pos = cand + size;
    }
  }
  return NONE;
}

/** Takes the run [i, i + 2^k) if it is all free. Returns true on success. */
function claimRun(h: usize, i: u32, k: u32): bool {
  let size: u32 = 1 << k;
  let base = leafBase(h);
  let atomicMode = isAtomic(h);
  if (k <= 6) {
    let p = base + ((<usize>i >>> 6) << 3);
    let mask = (size == 64 ? ALL : ((<u64>1 << size) - 1)) << (i & 63);
    let old = load<u64>(p);
    if (old & mask) return false;
    if (atomicMode) { if (atomic.cmpxchg<u64>(p, old, old | mask) != old) return false; }
    else store<u64>(p, old | mask);
    if ((old | mask) == ALL) markFull(h, i >>> 6);
    return true;
  }
  let first = i >>> 6;
  let end = (i + size) >>> 6;
  for (let wi = first; wi < end; wi++) {
    let p = base + (<usize>wi << 3);
    let ok = atomicMode ? atomic.cmpxchg<u64>(p, 0, ALL) == 0 : load<u64>(p) == 0;
    if (!ok) { // undo the words taken so far
      for (let u = first; u < wi; u++) {
        if (atomicMode) atomic.store<u64>(base + (<usize>u << 3), 0); else store<u64>(base + (<usize>u << 3), 0);
        markNotFull(h, u);
      }
      return false;
    }
    if (!atomicMode) store<u64>(p, ALL);
    markFull(h, wi);
  }
  return true;
}

/**
 * Allocates an aligned run of 2^k offsets, next-fit from the cursor
 * (aligned up), wrapping. Returns its first offset, or NONE if no aligned
 * run is free. k = 0 is bmAllocateNext.
 */
export function bmAllocateRun(h: usize, k: u32): i32 {
  if (k == 0) return bmAllocateNext(h, 0);
  let nbits = load<u32>(h, BM_NBITS);
  let size: u32 = 1 << k;
  if (k > 24 || size > nbits) return NONE;
  let atomicMode = isAtomic(h);
  if (atomicMode) {
    let got = reserve(h, size);
    if (got != size) { if (got) atomic.sub<u32>(h + BM_USED, got); return NONE; }
  } else if (nbits - load<u32>(h, BM_USED) < size) return NONE;
  let c = load<u32>(h, BM_CURSOR);
  let start = (c + size - 1) & ~(size - 1);
  if (start >= nbits) start = 0;
  let i = findRun(h, start, k);
  if (i < 0 && start != 0) i = findRun(h, 0, k);
  while (i >= 0 && !claimRun(h, <u32>i, k)) { // lost a race: search again from there
    i = findRun(h, <u32>i, k);
    if (i < 0) i = findRun(h, 0, k);
  }
  if (i < 0) {
    if (atomicMode) atomic.sub<u32>(h + BM_USED, size);
    return NONE;
  }
  if (!atomicMode) store<u32>(h, load<u32>(h, BM_USED) + size, BM_USED);
  let next = <u32>i + size;
  store<u32>(h, next < nbits ? next : 0, BM_CURSOR);
  return i;
}

// ---------------------------------------------------------------- ranges

@inline function rangeMask(wi: u32, a: u32, b: u32): u64 {
  let lo = wi << 6;
  let from = a > lo ? a - lo : 0;
  let to = b < lo + 63 ? b - lo : 63; // inclusive
  return (ALL << from) & (ALL >> (63 - to));
}

/** Takes every offset in a..b (inclusive). Returns how many were free before. */
export function bmOccupyRange(h: usize, a: u32, b: u32): u32 {
  let nbits = load<u32>(h, BM_NBITS);
  if (a > b || a >= nbits) return 0;
  if (b >= nbits) b = nbits - 1;
  let base = leafBase(h);
  let atomicMode = isAtomic(h);
  let count: u32 = 0;
  for (let wi = a >>> 6; wi <= b >>> 6; wi++) {
    let p = base + (<usize>wi << 3);
    let mask = rangeMask(wi, a, b);
    let old = load<u64>(p);
    if (atomicMode) {
      while (true) {
        let need = <u32>popcnt(mask & ~old);
        if (need == 0) break;
        let got = reserve(h, need);
        if (got != need) {
          // Free bits here are held by other threads' reservations: let them land, then look again.
          if (got) atomic.sub<u32>(h + BM_USED, got);
          old = load<u64>(p);
          continue;
        }
        let seen = atomic.cmpxchg<u64>(p, old, old | mask);
        if (seen == old) { count += need; break; }
        atomic.sub<u32>(h + BM_USED, need);
        old = seen;
      }
    } else {
      count += <u32>popcnt(mask & ~old);
      store<u64>(p, old | mask);
    }
    if (old != ALL && (old | mask) == ALL) markFull(h, wi);
  }
  if (!atomicMode) store<u32>(h, load<u32>(h, BM_USED) + count, BM_USED);
  return count;
}

/** Frees every offset in a..b (inclusive). Returns how many were taken before. */
export function bmReleaseRange(h: usize, a: u32, b: u32): u32 {
  let nbits = load<u32>(h, BM_NBITS);
  if (a > b || a >= nbits) return 0;
  if (b >= nbits) b = nbits - 1;
  let base = leafBase(h);
  let atomicMode = isAtomic(h);
  let count: u32 = 0;
  for (let wi = a >>> 6; wi <= b >>> 6; wi++) {
    let p = base + (<usize>wi << 3);
    let mask = rangeMask(wi, a, b);
    let old: u64;
    if (atomicMode) old = atomic.and<u64>(p, ~mask);
    else { old = load<u64>(p); store<u64>(p, old & ~mask); }
    count += <u32>popcnt(old & mask);
    if (old == ALL && (old & mask) != 0) markNotFull(h, wi);
  }
  if (atomicMode) atomic.sub<u32>(h + BM_USED, count);
  else store<u32>(h, load<u32>(h, BM_USED) - count, BM_USED);
  return count;
}

/** How many offsets in a..b (inclusive) are taken. */
export function bmCountRange(h: usize, a: u32, b: u32): u32 {
  let nbits = load<u32>(h, BM_NBITS);
  if (a > b || a >= nbits) return 0;
  if (b >= nbits) b = nbits - 1;
  let base = leafBase(h);
  let count: u32 = 0;
  for (let wi = a >>> 6; wi <= b >>> 6; wi++) {
    count += <u32>popcnt(load<u64>(base + (<usize>wi << 3)) & rangeMask(wi, a, b));
  }
  return count;
}

// ---------------------------------------------------------------- counts

export function bmUsed(h: usize): u32 { return load<u32>(h, BM_USED); }
export function bmSize(h: usize): u32 { return load<u32>(h, BM_NBITS); }
export function bmCursor(h: usize): u32 { return load<u32>(h, BM_CURSOR); }
export function bmSetCursor(h: usize, c: u32): void { store<u32>(h, c, BM_CURSOR); }
export function bmRng(h: usize): u64 { return load<u64>(h, BM_RNG); }
export function bmSetRng(h: usize, s: u64): void { store<u64>(h, s, BM_RNG); }
export function bmAux(h: usize): u32 { return load<u32>(h, BM_AUX); }
export function bmBase(h: usize): u32 { return load<u32>(h, BM_BASE); }
export function bmSetBase(h: usize, base: u32): void { store<u32>(h, base, BM_BASE); }
export function bmSetAux(h: usize, aux: u32): void { store<u32>(h, aux, BM_AUX); }

/** Offset of the leaf words (nwords u64), for snapshots. */
export function bmLeaves(h: usize): u32 { return <u32>leafBase(h); }
export function bmWords(h: usize): u32 { return load<u32>(h, BM_NWORDS); }

/**
 * After leaf words were written directly (a restore): sets the padding
 * bits, recomputes `used` and every summary level. Plain mode only.
 */
export function bmRebuild(h: usize): void {
  let nbits = load<u32>(h, BM_NBITS);
  let n = load<u32>(h, BM_NWORDS);
  padLevel(leafBase(h), nbits);
  let levels = levelsOf(h);
  let items = n;
  for (let level: u32 = 1; level <= levels; level++) {
    let below = levelBase(h, level - 1);
    let here = levelBase(h, level);
    let words_ = words(items);
    memory.fill(here, 0, <usize>words_ << 3);
    for (let j: u32 = 0; j < items; j++) {
      if (load<u64>(below + (<usize>j << 3)) == ALL) {
        let p = here + ((<usize>j >>> 6) << 3);
        store<u64>(p, load<u64>(p) | (<u64>1 << (j & 63)));
      }
    }
    padLevel(here, items);
    items = words_;
  }
  store<u32>(h, nbits == 0 ? 0 : bmCountRange(h, 0, nbits - 1), BM_USED);
}

/** Popcount of all leaves, padding excluded: a recount to check `used` against. */
export function bmRecount(h: usize): u32 {
  let nbits = load<u32>(h, BM_NBITS);
  return nbits == 0 ? 0 : bmCountRange(h, 0, nbits - 1);
}

/** 1 if every summary bit agrees with the words below it, else 0 (for tests). */
export function bmCheckSummaries(h: usize): i32 {
  let levels = levelsOf(h);
  let items = load<u32>(h, BM_NWORDS);
  for (let level: u32 = 1; level <= levels; level++) {
    let below = levelBase(h, level - 1);
    let here = levelBase(h, level);
    for (let j: u32 = 0; j < items; j++) {
      let full = load<u64>(below + (<usize>j << 3)) == ALL;
      let bit = (load<u64>(here + ((<usize>j >>> 6) << 3)) >>> (j & 63)) & 1;
      if (full != (bit == 1)) return 0;
    }
    items = words(items);
  }
  return 1;
}
