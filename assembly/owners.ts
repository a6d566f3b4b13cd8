// The owner registry of a pool: owner names ("namespace/pod") <-> small ids,
// and the (at most two) address keys each owner holds, all in the shared
// memory. See layout.ts (OWNERS header, OWNER record) for the map.
//
// The registry never allocates: when it needs a bigger table, a records
// chunk or room for a name, it returns NEED_TABLE / NEED_RECORDS / NEED_NAMES
// having changed nothing, and TypeScript hands it a region (ownRehash,
// ownSetChunk, ownNameChunk) and calls again. So every region it uses is one
// the engine handed out and can take back when the pool goes.
//
// Table slots hold id | the top 4 bits of the name's hash (ids < 2^28), so
// a probe reads a record only when those bits match; the full hash is never
// stored: a rehash hashes the names again.
//
// Names: one bump chunk at a time; a deleted name's slot goes on a free list
// of its size class and is reused by the next name of that class. Table:
// open addressing, linear probing, slots hold ids (0 = empty), deletion
// leaves a tombstone (SLOT_TOMB; none when the next slot is empty, and the
// tombstones just before it go too), so a delete reads no other owner's
// name; an insert reuses the first tombstone on its probe. At 3/4 load
// (names + tombstones) the table is rebuilt in place when at most half of it
// would be names, else TS hands in one twice the size (ownRehash).
//
// Dormant owners: when an owner's last key goes (ownRemoveDrop), the owner
// is only marked dormant (REC_DORMANT in its len): a release touches its
// record and nothing else (no hash of its name, no table probe, no name slot:
// three cache misses fewer at a million owners). ownEnsure of the same name
// wakes it. A dormant owner is invisible (ownCount, the TS side's ids and
// nameOf skip it). ownSweep frees every dormant owner's name and id and
// rebuilds the table in one sequential pass; TS calls it before it would hand
// the registry more memory while a quarter or more of the names are dormant
// (ownSweepable), so memory never grows for dormant owners, and the pass
// costs O(1) per release amortized.
import {
  OWN_TABLE, OWN_MASK, OWN_COUNT, OWN_NEXT_ID, OWN_FREE_ID, OWN_NAME_AT, OWN_NAME_END, OWN_NAME_BYTES,
  OWN_CHUNKS, OWN_CHUNK_COUNT, OWN_FREE_NAMES, OWN_BYTES,
  REC_NAME, REC_LEN, REC_KEY0, REC_KEY1, REC_BYTES, REC_FIRST_CHUNK, REC_FREE, SLOT_TAG, SLOT_ID, SLOT_TOMB, OWN_TOMBS,
  OWN_DORMANT, OWN_EPOCH, REC_DORMANT, REC_LEN_MASK,
  NEED_TABLE, NEED_RECORDS, NEED_NAMES, KEY_EMPTY, NO_MEMORY,
} from "./layout";

// ------------------------------------------------------------------ hashing

@inline function mix(h: u32, k: u32): u32 {
  k *= 0xcc9e2d51;
  k = rotl<u32>(k, 15);
  k *= 0x1b873593;
  h ^= k;
  h = rotl<u32>(h, 13);
  return h * 5 + 0xe6546b64;
}

/** murmur3_32 of bytes [p, p + len). */
export function ownHash(p: usize, len: u32): u32 {
  let h: u32 = 0x9747b28c;
  let i: u32 = 0;
  for (; i + 4 <= len; i += 4) h = mix(h, load<u32>(p + i));
  let k: u32 = 0;
  let r = len - i;
  if (r >= 3) k ^= <u32>load<u8>(p + i + 2) << 16;
  if (r >= 2) k ^= <u32>load<u8>(p + i + 1) << 8;
  if (r >= 1) {
    k ^= <u32>load<u8>(p + i);
    k *= 0xcc9e2d51;
    k = rotl<u32>(k, 15);
    k *= 0x1b873593;
    h ^= k;
  }
  h ^= len;
  h ^= h >>> 16;
  h *= 0x85ebca6b;
  h ^= h >>> 13;
  h *= 0xc2b2ae35;
  h ^= h >>> 16;
  return h;
}

@inline function same(a: usize, b: usize, len: u32): bool {
  let i: u32 = 0;
  for (; i + 8 <= len; i += 8) if (load<u64>(a + i) != load<u64>(b + i)) return false;
  for (; i < len; i++) if (load<u8>(a + i) != load<u8>(b + i)) return false;
  return true;
}

// ------------------------------------------------------------------ records

/** Records chunk k holds 2^(k+4) records: ids 16·2^k − 15 .. 32·2^k − 16. */
@inline function chunkOf(id: u32): u32 { return 27 - clz<u32>(id + 15); }

/** Address of the record of `id` (its chunk must exist). */
export function ownRecord(h: usize, id: u32): usize {
  let j = id + 15;
  let k = 27 - clz<u32>(j);
  return <usize>load<u32>(h + OWN_CHUNKS + (<usize>k << 2)) + (<usize>(j - (<u32>REC_FIRST_CHUNK << k)) * REC_BYTES);
}

/** Bytes of records chunk k. */
export function ownChunkBytes(k: u32): u32 { return (<u32>REC_FIRST_CHUNK << k) * <u32>REC_BYTES; }

// ------------------------------------------------------------------ names

/** Size class of a name of `len` bytes: 16, 32, 48, 64, then 96, 128, 192, 256, ... */
export function ownNameClass(len: u32): u32 {
  if (len <= 64) return len == 0 ? 0 : (len - 1) >>> 4;
  let c: u32 = 4;
  while (<u64>ownClassBytes(c) < <u64>len) c++;
  return c;
}

/** Bytes of a name slot of class c. */
export function ownClassBytes(c: u32): u32 {
  if (c < 4) return (c + 1) << 4;
  let t = c - 4;
  return (t & 1) == 0 ? <u32>96 << (t >>> 1) : <u32>128 << (t >>> 1);
}

// ------------------------------------------------------------------ setup

/** Sets up a registry at h (OWN_BYTES, zeroed) with `table` (slots·4 bytes, zeroed), slots a power of two. */
export function ownInit(h: usize, table: u32, slots: u32): void {
  memory.fill(h, 0, OWN_BYTES);
  store<u32>(h, table, OWN_TABLE);
  store<u32>(h, slots - 1, OWN_MASK);
  store<u32>(h, 1, OWN_NEXT_ID);
}

/** Owners known (dormant ones not counted). */
export function ownCount(h: usize): u32 { return load<u32>(h, OWN_COUNT) - load<u32>(h, OWN_DORMANT); }
/** Dormant owners (see ownSweep). */
export function ownDormant(h: usize): u32 { return load<u32>(h, OWN_DORMANT); }
/** Ids handed out so far are below this. */
export function ownIdEnd(h: usize): u32 { return load<u32>(h, OWN_NEXT_ID); }
/** Table slots. */
export function ownSlots(h: usize): u32 { return load<u32>(h, OWN_MASK) + 1; }

// ------------------------------------------------------------------ lookup

/** Table position of `id` whose name hashes to hv (it must be in the table). */
@inline function posOf(h: usize, id: u32, hv: u32): u32 {
  let t = <usize>load<u32>(h, OWN_TABLE);
  let mask = load<u32>(h, OWN_MASK);
  let i = hv & mask;
  while ((load<u32>(t + (<usize>i << 2)) & SLOT_ID) != id) i = (i + 1) & mask;
  return i;
}

/** Id of the name at [p, p + len), or 0. */
export function ownFind(h: usize, p: usize, len: u32): u32 {
  return findHashed(h, p, len, ownHash(p, len));
}

@inline function findHashed(h: usize, p: usize, len: u32, hv: u32): u32 {
  let t = <usize>load<u32>(h, OWN_TABLE);
  let mask = load<u32>(h, OWN_MASK);
  let i = hv & mask;
  while (true) {
    let e = load<u32>(t + (<usize>i << 2));
    if (e == 0) return 0;
    if (((e ^ hv) & SLOT_TAG) == 0 && e != SLOT_TOMB) {
      let id = e & SLOT_ID;
      let r = ownRecord(h, id);
      if ((load<u32>(r, REC_LEN) & REC_LEN_MASK) == len && same(<usize>load<u32>(r, REC_NAME), p, len)) return id;
    }
    i = (i + 1) & mask;
  }
}

// ------------------------------------------------------------------ insert

/** Takes a name slot of class c, or returns 0 (the current chunk has no room). */
@inline function takeName(h: usize, c: u32): u32 {
  let head = h + OWN_FREE_NAMES + (<usize>c << 2);
  let s = load<u32>(head);
  if (s != 0) {
    store<u32>(head, load<u32>(s));
    return s;
  }
  let size = ownClassBytes(c);
  let at = load<u32>(h, OWN_NAME_AT);
  if (<u64>at + size > <u64>load<u32>(h, OWN_NAME_END)) return 0;
  store<u32>(h, at + size, OWN_NAME_AT);
  return at;
}

/** True if a name slot of class c is at hand (free list or room in the chunk). */
@inline function hasName(h: usize, c: u32): bool {
  if (load<u32>(h + OWN_FREE_NAMES + (<usize>c << 2)) != 0) return true;
  return <u64>load<u32>(h, OWN_NAME_AT) + ownClassBytes(c) <= <u64>load<u32>(h, OWN_NAME_END);
}

/** The id the next insert takes, or 0 if its records chunk is missing. */
@inline function nextId(h: usize): u32 {
  let id = load<u32>(h, OWN_FREE_ID);
  if (id != 0) return id;
  id = load<u32>(h, OWN_NEXT_ID);
  let k = chunkOf(id);
  if (k >= <u32>OWN_CHUNK_COUNT) return 0;
  return load<u32>(h + OWN_CHUNKS + (<usize>k << 2)) == 0 ? 0 : id;
}

/**
 * Id of the name at [p, p + len), made if new (keys empty). Returns
 * NEED_TABLE, NEED_RECORDS or NEED_NAMES, having changed nothing, when it
 * needs a region first (see ownRehash, ownSetChunk, ownNameChunk).
 */
export function ownEnsure(h: usize, p: usize, len: u32): i32 {
  let hv = ownHash(p, len);
  let found = findHashed(h, p, len, hv);
  if (found != 0) {
    let r = ownRecord(h, found);
    let l = load<u32>(r, REC_LEN);
    if ((l & REC_DORMANT) != 0) {
      store<u32>(r, l & REC_LEN_MASK, REC_LEN);
      store<u32>(h, load<u32>(h, OWN_DORMANT) - 1, OWN_DORMANT);
    }
    return <i32>found;
  }
  return insert(h, p, len, hv, 0);
}

/** Makes the name with id `want` (0: any free id). Preconditions checked by the callers. */
function insert(h: usize, p: usize, len: u32, hv: u32, want: u32): i32 {
  let count = load<u32>(h, OWN_COUNT);
  let mask = load<u32>(h, OWN_MASK);
  if (!room(h)) return NEED_TABLE;
  let id = want;
  if (id == 0) {
    id = nextId(h);
    if (id == 0) return chunkOf(load<u32>(h, OWN_NEXT_ID)) >= <u32>OWN_CHUNK_COUNT ? NO_MEMORY : NEED_RECORDS;
  }
  let c = ownNameClass(len);
  if (!hasName(h, c)) return NEED_NAMES;
  // everything is at hand: from here on nothing fails
  if (want == 0) {
    if (id == load<u32>(h, OWN_FREE_ID)) store<u32>(h, load<u32>(ownRecord(h, id), REC_NAME), OWN_FREE_ID);
    else store<u32>(h, id + 1, OWN_NEXT_ID);
  }
  let s = takeName(h, c);
  memory.copy(s, p, len);
  let r = ownRecord(h, id);
  store<u32>(r, s, REC_NAME);
  store<u32>(r, len, REC_LEN);
  store<f64>(r, KEY_EMPTY, REC_KEY0);
  store<f64>(r, KEY_EMPTY, REC_KEY1);
  let t = <usize>load<u32>(h, OWN_TABLE);
  let i = hv & mask;
  while (true) {
    let e = load<u32>(t + (<usize>i << 2));
    if (e == 0) break;
    if (e == SLOT_TOMB) {
      store<u32>(h, load<u32>(h, OWN_TOMBS) - 1, OWN_TOMBS);
      break;
    }
    i = (i + 1) & mask;
  }
  store<u32>(t + (<usize>i << 2), id | (hv & SLOT_TAG));
  store<u32>(h, count + 1, OWN_COUNT);
  store<u32>(h, load<u32>(h, OWN_NAME_BYTES) + ownClassBytes(c), OWN_NAME_BYTES);
  return <i32>id;
}

/** True if one more name needs a bigger table: past 3/4 load even without the tombstones, or more than half full of names. */
@inline function full(h: usize): bool {
  let count = load<u32>(h, OWN_COUNT);
  let slots = load<u32>(h, OWN_MASK) + 1;
  let tombs = load<u32>(h, OWN_TOMBS);
  if ((count + tombs + 1) * 4 <= slots * 3) return false;
  return (count + 1) * 2 > slots;
}

/** True if the table has room for one more name, rebuilt first without its tombstones if they crowd it; false: a bigger table is needed. */
@inline function room(h: usize): bool {
  let slots = load<u32>(h, OWN_MASK) + 1;
  if ((load<u32>(h, OWN_COUNT) + load<u32>(h, OWN_TOMBS) + 1) * 4 <= slots * 3) return true;
  if (full(h)) return false;
  purge(h);
  return true;
}

/** Rebuilds the table in place without tombstones (ids in order, as ownRehash). */
function purge(h: usize): void {
  let t = <usize>load<u32>(h, OWN_TABLE);
  let mask = load<u32>(h, OWN_MASK);
  memory.fill(t, 0, (<usize>mask + 1) << 2);
  fill(h, t, mask);
}

/** Puts every id in the (empty) table t of mask + 1 slots; no tombstones then. */
function fill(h: usize, t: usize, mask: u32): void {
  let end = load<u32>(h, OWN_NEXT_ID);
  for (let id: u32 = 1; id < end; id++) {
    let r = ownRecord(h, id);
    let len = load<u32>(r, REC_LEN);
    if (len == REC_FREE) continue;
    let hv = ownHash(<usize>load<u32>(r, REC_NAME), len & REC_LEN_MASK);
    let i = hv & mask;
    while (load<u32>(t + (<usize>i << 2)) != 0) i = (i + 1) & mask;
    store<u32>(t + (<usize>i << 2), id | (hv & SLOT_TAG));
  }
  store<u32>(h, 0, OWN_TOMBS);
}

/**
 * Makes the name at [p, p + len) with the given id (snapshot restore). Returns
 * the id; 0 if the id is taken or the name known under another id; NEED_* as
 * ownEnsure. Ids skipped below it go on the free list.
 */
export function ownAdopt(h: usize, id: u32, p: usize, len: u32): i32 {
  if (id == 0 || id >= (<u32>REC_FIRST_CHUNK << <u32>OWN_CHUNK_COUNT) - 15) return 0;
  let hv = ownHash(p, len);
  if (findHashed(h, p, len, hv) != 0) return 0; // TS sweeps the dormant owners first (Owners.adopt)
  let end = load<u32>(h, OWN_NEXT_ID);
  // the records chunks up to id must exist
  let top = id >= end ? id : end - 1;
  for (let k: u32 = 0; k <= chunkOf(top); k++) if (load<u32>(h + OWN_CHUNKS + (<usize>k << 2)) == 0) return NEED_RECORDS;
  if (id < end) {
    // it must be free: unlink it from the free list
    let prev: u32 = 0;
    let cur = load<u32>(h, OWN_FREE_ID);
    while (cur != 0 && cur != id) {
      prev = cur;
      cur = load<u32>(ownRecord(h, cur), REC_NAME);
    }
    if (cur == 0) return 0;
    let c = ownNameClass(len);
    if (!room(h)) return NEED_TABLE;
    if (!hasName(h, c)) return NEED_NAMES;
    let next = load<u32>(ownRecord(h, id), REC_NAME);
    if (prev == 0) store<u32>(h, next, OWN_FREE_ID);
    else store<u32>(ownRecord(h, prev), next, REC_NAME);
    return insert(h, p, len, hv, id);
  }
  let c = ownNameClass(len);
  if (!room(h)) return NEED_TABLE;
  if (!hasName(h, c)) return NEED_NAMES;
  for (let j = end; j < id; j++) freeId(h, j);
  store<u32>(h, id + 1, OWN_NEXT_ID);
  return insert(h, p, len, hv, id);
}

@inline function freeId(h: usize, id: u32): void {
  let r = ownRecord(h, id);
  store<u32>(r, REC_FREE, REC_LEN);
  store<f64>(r, KEY_EMPTY, REC_KEY0);
  store<f64>(r, KEY_EMPTY, REC_KEY1);
  store<u32>(r, load<u32>(h, OWN_FREE_ID), REC_NAME);
  store<u32>(h, id, OWN_FREE_ID);
}

// ------------------------------------------------------------------ regions from TypeScript

/**
 * Moves every id into `table` (slots·4 bytes, zeroed; slots a power of two),
 * hashing the names again in id order (records and names are read in the
 * order they were written). Returns the old table.
 */
export function ownRehash(h: usize, table: u32, slots: u32): u32 {
  let old = <usize>load<u32>(h, OWN_TABLE);
  let mask = slots - 1;
  fill(h, <usize>table, mask);
  store<u32>(h, table, OWN_TABLE);
  store<u32>(h, mask, OWN_MASK);
  return <u32>old;
}

/** The records chunk the next new id needs (its index k), or -1 if it exists. */
export function ownNeededChunk(h: usize): i32 {
  let k = chunkOf(load<u32>(h, OWN_NEXT_ID));
  return load<u32>(h + OWN_CHUNKS + (<usize>k << 2)) == 0 ? <i32>k : -1;
}

/** Installs records chunk k (ownChunkBytes(k) bytes). */
export function ownSetChunk(h: usize, k: u32, chunk: u32): void {
  store<u32>(h + OWN_CHUNKS + (<usize>k << 2), chunk);
}

/** Records chunk k, or 0. */
export function ownChunk(h: usize, k: u32): u32 {
  return load<u32>(h + OWN_CHUNKS + (<usize>k << 2));
}

/** Makes [chunk, chunk + bytes) the names chunk; what is left of the old one is given up. */
export function ownNameChunk(h: usize, chunk: u32, bytes: u32): void {
  store<u32>(h, chunk, OWN_NAME_AT);
  store<u32>(h, chunk + bytes, OWN_NAME_END);
}

/** Bytes of name slots in use. */
export function ownNameBytes(h: usize): u32 { return load<u32>(h, OWN_NAME_BYTES); }

// ------------------------------------------------------------------ delete

/** Forgets owner `id`: its table entry, name slot and keys; the id goes on the free list. Returns 0 if it was not known. */
export function ownDelete(h: usize, id: u32): u32 {
  if (id == 0 || id >= load<u32>(h, OWN_NEXT_ID)) return 0;
  let r = ownRecord(h, id);
  if (load<u32>(r, REC_LEN) == REC_FREE) return 0;
  atomic.add<u32>(h + OWN_EPOCH, 1); // odd: readers on other threads retry
  forget(h, id, r);
  atomic.add<u32>(h + OWN_EPOCH, 1);
  return 1;
}

function forget(h: usize, id: u32, r: usize): void {
  let len = load<u32>(r, REC_LEN);
  if ((len & REC_DORMANT) != 0) {
    len &= REC_LEN_MASK;
    store<u32>(h, load<u32>(h, OWN_DORMANT) - 1, OWN_DORMANT);
  }
  let name = load<u32>(r, REC_NAME);
  let t = <usize>load<u32>(h, OWN_TABLE);
  let mask = load<u32>(h, OWN_MASK);
  let i = posOf(h, id, ownHash(<usize>name, len));
  if (load<u32>(t + (<usize>((i + 1) & mask) << 2)) != 0) {
    store<u32>(t + (<usize>i << 2), SLOT_TOMB);
    store<u32>(h, load<u32>(h, OWN_TOMBS) + 1, OWN_TOMBS);
  } else {
    // the end of a run: it and the tombstones just before it become empty
    store<u32>(t + (<usize>i << 2), 0);
    let tombs = load<u32>(h, OWN_TOMBS);
    i = (i - 1) & mask;
    while (load<u32>(t + (<usize>i << 2)) == SLOT_TOMB) {
      store<u32>(t + (<usize>i << 2), 0);
      tombs--;
      i = (i - 1) & mask;
    }
    store<u32>(h, tombs, OWN_TOMBS);
  }
  let c = ownNameClass(len);
  let head = h + OWN_FREE_NAMES + (<usize>c << 2);
  store<u32>(name, load<u32>(head));
  store<u32>(head, name);
  store<u32>(h, load<u32>(h, OWN_NAME_BYTES) - ownClassBytes(c), OWN_NAME_BYTES);
  store<u32>(h, load<u32>(h, OWN_COUNT) - 1, OWN_COUNT);
  freeId(h, id);
}

// ------------------------------------------------------------------ keys

/** Records that owner `id` holds `key`: 1 if it went in a key slot, 0 if both are taken (the caller keeps it). */
export function ownAdd(h: usize, id: u32, key: f64): u32 {
  let r = ownRecord(h, id);
  if (load<f64>(r, REC_KEY0) == KEY_EMPTY) { store<f64>(r, key, REC_KEY0); return 1; }
  if (load<f64>(r, REC_KEY1) == KEY_EMPTY) { store<f64>(r, key, REC_KEY1); return 1; }
  return 0;
}

/** Removes `key` from owner id's key slots: 2 if both slots are now empty, 1 if one still holds a key, 0 if neither held it. */
export function ownRemove(h: usize, id: u32, key: f64): u32 {
  let r = ownRecord(h, id);
  if (load<f64>(r, REC_KEY0) == key) store<f64>(r, KEY_EMPTY, REC_KEY0);
  else if (load<f64>(r, REC_KEY1) == key) store<f64>(r, KEY_EMPTY, REC_KEY1);
  else return 0;
  return load<f64>(r, REC_KEY0) == KEY_EMPTY && load<f64>(r, REC_KEY1) == KEY_EMPTY ? 2 : 1;
}

/**
 * Releases `key` of owner `id` and forgets the owner (makes it dormant) if
 * both key slots are then empty and `more` is 0 (the caller holds no further
 * keys of it). Returns ownRemove's result.
 */
export function ownRemoveDrop(h: usize, id: u32, key: f64, more: u32): u32 {
  let x = ownRemove(h, id, key);
  if (x == 2 && more == 0) {
    let r = ownRecord(h, id);
    store<u32>(r, load<u32>(r, REC_LEN) | REC_DORMANT, REC_LEN);
    store<u32>(h, load<u32>(h, OWN_DORMANT) + 1, OWN_DORMANT);
  }
  return x;
}

/** True if a quarter or more of the names are dormant: TS sweeps before it hands the registry more memory. */
export function ownSweepable(h: usize): bool {
  let d = load<u32>(h, OWN_DORMANT);
  return d != 0 && <u64>d * 4 >= <u64>load<u32>(h, OWN_COUNT);
}

/**
 * Forgets every dormant owner: its name slot and id are freed, and the
 * table is rebuilt without them (and without tombstones). One pass over the
 * records in id order, then one over the names. Returns how many went.
 */
export function ownSweep(h: usize): u32 {
  atomic.add<u32>(h + OWN_EPOCH, 1); // odd: readers on other threads retry
  let n = sweep(h);
  atomic.add<u32>(h + OWN_EPOCH, 1);
  return n;
}

function sweep(h: usize): u32 {
  let end = load<u32>(h, OWN_NEXT_ID);
  let n: u32 = 0;
  let bytes = load<u32>(h, OWN_NAME_BYTES);
  for (let id: u32 = 1; id < end; id++) {
    let r = ownRecord(h, id);
    let len = load<u32>(r, REC_LEN);
    if (len == REC_FREE || (len & REC_DORMANT) == 0) continue;
    let c = ownNameClass(len & REC_LEN_MASK);
    let name = load<u32>(r, REC_NAME);
    let head = h + OWN_FREE_NAMES + (<usize>c << 2);
    store<u32>(name, load<u32>(head));
    store<u32>(head, name);
    bytes -= ownClassBytes(c);
    freeId(h, id);
    n++;
  }
  store<u32>(h, bytes, OWN_NAME_BYTES);
  store<u32>(h, load<u32>(h, OWN_COUNT) - n, OWN_COUNT);
  store<u32>(h, 0, OWN_DORMANT);
  purge(h);
  return n;
}
