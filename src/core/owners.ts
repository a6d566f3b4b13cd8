/**
 * The TypeScript handle of the owner registry in the WASM core (as
 * bitmap.ts is of a bitmap); src/pool/owners.ts gives it to the pool.
 *
 * Owner names (e.g. "namespace/pod") <-> small integer ids stored beside
 * each pod address in WASM, and the addresses each owner holds, so an owner
 * can be released in one call. Address keys are poolIndex * 2^32 + rel.
 *
 * The registry lives in the engine's shared memory (assembly/owners.ts):
 * the names as UTF-8 bytes, an open-addressing table name -> id, and one
 * record per id with the first two keys (a pod holds one address per
 * family). Allocating and releasing make no JS object per owner; the name
 * is copied into the engine's scratch once per call and hashed there, and
 * turned back into a JS string only by nameOf (lookup, owner checks,
 * snapshots). A third and later key of one owner (rare: a wanted address
 * beside its own, replays) sits in a JS side map.
 *
 * An owner that comes to hold nothing is forgotten at once: its name slot
 * and id are reused by the next new owner.
 */
import { Buffer } from "node:buffer";
import { errors } from "../errors.js";
import type { Engine } from "./engine.js";
import { SCRATCH_BYTES } from "./engine.js";
import { OwnerNames } from "./owner-names.js";
import { OWN_BYTES, REC_BYTES, REC_FREE, REC_DORMANT, REC_LEN, REC_KEY0, REC_KEY1, NEED_TABLE, NEED_RECORDS, NEED_NAMES, KEY_EMPTY, NO_MEMORY } from "./layout.js";

const KEY_SCALE = 2 ** 32;
export const addressKey = (poolIndex: number, rel: number): number => poolIndex * KEY_SCALE + rel;
export const keyPool = (key: number): number => Math.floor(key / KEY_SCALE);
export const keyRel = (key: number): number => key % KEY_SCALE;

/** Table slots a registry starts with (doubled by rehash at 3/4 load). */
const INITIAL_SLOTS = 16;
/** Bytes of the first names chunk; each next one doubles, up to NAMES_CHUNK_MAX. */
const NAMES_CHUNK_MIN = 256;
const NAMES_CHUNK_MAX = 1 << 20;
/** Longest owner name in UTF-8 bytes (the size classes of the core end at 256 MiB). */
export const MAX_NAME_BYTES = 1 << 24;
/** Names up to this many UTF-16 units are copied by a plain loop while they are ASCII. */
const SHORT = 64;
/** Records chunk that holds id (assembly/owners.ts chunkOf). */
const chunkOf = (id: number): number => 27 - Math.clz32(id + 15);

export class Owners {
  readonly #engine: Engine;
  readonly #w: Engine["wasm"];
  /** The registry header in the shared memory. */
  readonly header: number;
  /** Reads names (and records) on any thread. */
  readonly reader: OwnerNames;
  /** Every region the registry was given, [ptr, bytes]: they go back to the engine in release(). */
  readonly #regions: number[] = [];
  /** Tables left behind by a rehash, [ptr, bytes]: the next names chunks. */
  readonly #spare: number[] = [];
  #chunkBytes = NAMES_CHUNK_MIN;
  /** Third and later keys by owner id. */
  readonly #more = new Map<number, Set<number>>();
  #buf: Buffer;
  /** A plain Uint8Array view for the copy loop (element stores on a Buffer were slower). */
  #u8: Uint8Array;
  #f64: Float64Array;
  #u32: Uint32Array;

  constructor(engine: Engine) {
    this.#engine = engine;
    this.#w = engine.wasm;
    this.#buf = Buffer.from(engine.memory.buffer as ArrayBuffer);
    this.#u8 = new Uint8Array(engine.memory.buffer);
    this.#f64 = new Float64Array(engine.memory.buffer);
    this.#u32 = new Uint32Array(engine.memory.buffer);
    this.header = this.#take(OWN_BYTES);
    try {
      const table = this.#take(INITIAL_SLOTS * 4);
      this.#w.ownInit(this.header, table, INITIAL_SLOTS);
      // the first records chunk (16 owners) and names chunk come with the pool, so that the
      // first owners need no region: an owned allocate near a full memory fails for its
      // owner array only, as it did when owners lived on the JS heap
      this.#supply(NEED_RECORDS, 0, 1);
      this.#supply(NEED_NAMES, 0, 1);
    } catch (e) {
      this.release();
      throw e;
    }
    this.#renew();
    this.reader = new OwnerNames(engine.memory, this.header);
  }

  #take(bytes: number): number {
    const p = this.#engine.alloc(bytes);
    this.#regions.push(p, bytes);
    return p;
  }

  /** Views over the memory as it is now (it may have grown). */
  #renew(): void {
    const b = this.#engine.memory.buffer;
    if (this.#u32.length * 4 === b.byteLength) return;
    this.#buf = Buffer.from(b as ArrayBuffer);
    this.#u8 = new Uint8Array(b);
    this.#f64 = new Float64Array(b);
    this.#u32 = new Uint32Array(b);
  }

  /** Gives every region back to the engine (a pool on a shared engine is disposed). */
  release(): void {
    for (let i = 0; i < this.#regions.length; i += 2) this.#engine.free(this.#regions[i] as number, this.#regions[i + 1] as number);
    this.#regions.length = 0;
    this.#spare.length = 0;
    this.#more.clear();
  }

  /** Owners known. */
  get size(): number { return this.#w.ownCount(this.header); }
  /** Owners holding at least one address (an owner holding none is forgotten). */
  get live(): number { return this.#w.ownCount(this.header); }

  /** True if every owner's keys sit in its record (no third keys on the JS side): the core may then drop keys and owners itself (release4Own). */
  get plain(): boolean { return this.#more.size === 0; }

  /** Bytes of the shared memory the registry holds (regions given to it). */
  get bytes(): number {
    let n = 0;
    for (let i = 1; i < this.#regions.length; i += 2) n += (this.#regions[i] as number + 63) & ~63;
    return n;
  }

  // ---------------------------------------------------------------- names in and out

  /** Copies `name` as UTF-8 into the engine's scratch (or a temporary region) and returns its byte length; `#at` says where. */
  #at = 0;
  #tmp = 0;
  #tmpBytes = 0;
  #put(name: string): number {
    const at = this.#engine.scratch;
    this.#at = at;
    const n = name.length;
    if (n <= SHORT) {
      const buf = this.#u8;
      let i = 0;
      for (; i < n; i++) {
        const c = name.charCodeAt(i);
        if (c >= 0x80) break;
        buf[at + i] = c;
      }
      if (i === n) return n;
    }
    if (n * 3 <= SCRATCH_BYTES) return this.#buf.write(name, at, "utf8");
    const bytes = Buffer.byteLength(name, "utf8");
    if (bytes > MAX_NAME_BYTES) throw errors.invalidArgument("owner", `${name.slice(0, 40)}…`, `an owner name of at most ${MAX_NAME_BYTES} bytes in UTF-8`);
    if (bytes <= SCRATCH_BYTES) return this.#buf.write(name, at, "utf8");
    this.#tmp = this.#engine.alloc(bytes);
    this.#tmpBytes = bytes;
    this.#renew();
    this.#at = this.#tmp;
    return this.#buf.write(name, this.#tmp, "utf8");
  }

  #done(): void {
    if (this.#tmp !== 0) {
      this.#engine.free(this.#tmp, this.#tmpBytes);
      this.#tmp = 0;
    }
  }

  /** Hands the registry the region a NEED_* result asked for. */
  #supply(need: number, len: number, id: number): void {
    const w = this.#w;
    const h = this.header;
    if (w.ownDormant(h) > 0 && (need === NO_MEMORY || w.ownSweepable(h))) {
      // forget the dormant owners before handing in memory (the caller tries again)
      w.ownSweep(h);
      return;
    }
    if (need === NEED_TABLE) {
      const slots = w.ownSlots(h) * 2;
      const t = this.#take(slots * 4);
      const old = w.ownRehash(h, t, slots) >>> 0;
      this.#spare.push(old, (slots / 2) * 4);
    } else if (need === NEED_RECORDS) {
      for (let k = 0; k <= chunkOf(id); k++) if (w.ownChunk(h, k) === 0) w.ownSetChunk(h, k, this.#take(w.ownChunkBytes(k)));
    } else if (need === NEED_NAMES) {
      const slot = w.ownClassBytes(w.ownNameClass(len)) >>> 0;
      for (let i = this.#spare.length - 2; i >= 0; i -= 2) {
        const bytes = this.#spare[i + 1] as number;
        if (bytes >= slot) {
          w.ownNameChunk(h, this.#spare[i] as number, bytes);
          this.#spare.splice(i, 2);
          return;
        }
      }
      const bytes = Math.max(slot, this.#chunkBytes);
      this.#chunkBytes = Math.min(this.#chunkBytes * 2, NAMES_CHUNK_MAX);
      w.ownNameChunk(h, this.#take(bytes), bytes);
    } else if (need === NO_MEMORY) {
      throw errors.full("owner registry", "no owner id left");
    } else {
      throw new Error(`owner registry: unexpected result ${need}`);
    }
    this.#renew();
  }

  /** The owner's id, or undefined. */
  idOf(name: string): number | undefined {
    const len = this.#put(name);
    try {
      const id = this.#w.ownFind(this.header, this.#at, len);
      return id === 0 || this.#dormant(id) ? undefined : id;
    } finally {
      this.#done();
    }
  }

  /** The owner's id, created if new. Throws FULL when the memory cannot grow for it (nothing changed then). */
  ensure(name: string): number {
    const len = this.#put(name);
    const w = this.#w;
    let id = w.ownEnsure(this.header, this.#at, len);
    if (id < 0) {
      try {
        while (id < 0) {
          this.#supply(id, len, w.ownIdEnd(this.header));
          id = w.ownEnsure(this.header, this.#at, len);
        }
      } finally {
        this.#done();
      }
    } else if (this.#tmp !== 0) this.#done();
    return id;
  }

  /** True if owner `id` is dormant: it holds nothing and is forgotten but for its table entry (assembly/owners.ts). */
  #dormant(id: number): boolean {
    const r = this.#record(id);
    return r !== 0 && (this.#u32[(r + REC_LEN) >>> 2] as number) >= REC_DORMANT && (this.#u32[(r + REC_LEN) >>> 2] as number) !== REC_FREE;
  }

  /** The name of owner `id`, or undefined. */
  nameOf(id: number): string | undefined {
    return this.reader.nameOf(id);
  }

  /** Address of the record of `id`, or 0 (OwnerNames.record). */
  #record(id: number): number {
    const r = this.reader.record(id);
    if (r !== 0 && r + REC_BYTES > this.#u32.length * 4) this.#renew();
    return r;
  }

  /** Restores an owner with a given id (snapshots: pod regions store these ids). */
  adopt(id: number, name: string, keys: readonly number[]): void {
    this.sweep(); // a dormant owner may hold the id or the name
    const len = this.#put(name);
    const w = this.#w;
    try {
      let got = w.ownAdopt(this.header, id, this.#at, len);
      while (got < 0) {
        this.#supply(got, len, Math.max(id, w.ownIdEnd(this.header) - 1));
        got = w.ownAdopt(this.header, id, this.#at, len);
      }
      if (got !== id) throw errors.corrupt("snapshot", `owner ${JSON.stringify(name)} cannot take id ${id}`);
    } finally {
      this.#done();
    }
    for (const k of keys) this.add(id, k);
  }

  // ---------------------------------------------------------------- keys

  /** Records that owner `id` holds address `key`. */
  add(id: number, key: number): void {
    if (this.#w.ownAdd(this.header, id, key) !== 0) return;
    const more = this.#more.get(id);
    if (more) more.add(key);
    else this.#more.set(id, new Set([key]));
  }

  /** Keys owner `id` holds. */
  keys(id: number): number[] {
    const out: number[] = [];
    const r = this.#record(id);
    if (r === 0) return out;
    const k0 = this.#f64[(r + REC_KEY0) >>> 3] as number;
    const k1 = this.#f64[(r + REC_KEY1) >>> 3] as number;
    if (k0 !== KEY_EMPTY) out.push(k0);
    if (k1 !== KEY_EMPTY) out.push(k1);
    const more = this.#more.size === 0 ? undefined : this.#more.get(id);
    if (more) out.push(...more);
    return out;
  }

  /** Removes one address key from owner `id`; forgets the owner when it holds nothing more. */
  removeKey(id: number, key: number): void {
    const more = this.#more.size === 0 ? undefined : this.#more.get(id);
    if (more === undefined) {
      this.#w.ownRemoveDrop(this.header, id, key, 0);
      return;
    }
    if (this.#w.ownRemove(this.header, id, key) === 0) {
      if (!more.delete(key)) return;
      if (more.size === 0) this.#more.delete(id);
    }
    this.dropIfEmpty(id);
  }

  /** Forgets owner `id` if it holds nothing. */
  dropIfEmpty(id: number): void {
    if (this.keys(id).length === 0) this.#w.ownDelete(this.header, id);
  }

  /** Frees the names and ids of owners that hold nothing (dormant ones; this also happens by itself before the registry takes more memory). */
  sweep(): void {
    if (this.#w.ownDormant(this.header) > 0) this.#w.ownSweep(this.header);
  }

  /** Forgets owner `id` and all its keys. */
  clear(id: number): void {
    this.#more.delete(id);
    this.#w.ownDelete(this.header, id);
  }

  /** Ids of the owners known, ascending. */
  *ids(): IterableIterator<number> {
    const h = this.header;
    const end = this.#w.ownIdEnd(h);
    for (let id = 1; id < end; id++) {
      const r = this.#record(id);
      if (r !== 0 && (this.#u32[(r + REC_LEN) >>> 2] as number) < REC_DORMANT) yield id;
    }
  }

  /** Names of the owners that hold addresses. */
  *names(): IterableIterator<string> {
    for (const id of this.ids()) yield this.nameOf(id) as string;
  }
}
