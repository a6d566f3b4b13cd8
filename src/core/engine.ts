/**
 * An Engine is one shared WebAssembly.Memory plus this thread's instance of
 * the core over it. Regions come from the arena in the memory itself, so an
 * engine attached in a worker (Engine.attach) sees and carves the same state.
 */
import { errors } from "../errors.js";
import { instantiate, type WasmExports } from "./wasm.js";
import { ENGINE_ARENA, ARENA_START, SCRATCH_FREE } from "./layout.js";
import { isIndex, badIndex, optionsObject } from "../args.js";

/** alloc() and free() sizes: below 2^31, where `(bytes + 63) & ~63` stays exact. */
const MAX_REGION = 2 ** 31 - 64;

const PAGE = 65536;
/** Default upper bound of the shared memory: 4 GiB (reserved, not committed). */
export const MAX_PAGES = 65536;

export interface EngineOptions {
  /** Initial size in 64 KiB pages. @default 32 (2 MiB) */
  readonly initialPages?: number;
  /** Upper bound in 64 KiB pages. @default 65536 (4 GiB) */
  readonly maximumPages?: number;
}

/** Batch calls stage addresses here: this many u32 per chunk. */
export const SCRATCH_WORDS = 16384;
/** Bytes of one engine's scratch region (two chunks of SCRATCH_WORDS u32). */
export const SCRATCH_BYTES = SCRATCH_WORDS * 8;

/**
 * One chunk of a batch call through an engine's scratch (Engine._fill,
 * Engine._feed, Engine._map): `n` items (1 to SCRATCH_WORDS), inputs staged
 * at `inp` (the scratch's first half), a second area of n u32 at `out`;
 * `done` items went before. `a` and `b` are the caller's, passed through.
 * Returns how many results it wrote at `inp` (fill), or a count (feed, map
 * add them up). A module-level function with its context in `ctx`, so that
 * a batch call allocates no closure.
 */
export type Chunk<C> = (ctx: C, n: number, inp: number, out: number, a: number, b: number, done: number) => number;

/** Engines of this thread by memory: Engine.attach hands out one engine (one scratch) per memory object. */
const byMemory = new WeakMap<WebAssembly.Memory, Engine>();
/** Engines of disposed pools, reset and ready for the next pool made without an engine (this thread). */
const idle: Engine[] = [];
/** At most this many idle engines are kept. */
const IDLE_ENGINES = 2;
/** Only an engine whose memory stayed this small is kept for reuse (resetting it stays cheap). */
const IDLE_MAX_BYTES = 32 * PAGE;

export class Engine {
  readonly memory: WebAssembly.Memory;
  readonly wasm: WasmExports;
  /** This instance's staging area for batch calls (2 x SCRATCH_WORDS u32). */
  readonly scratch: number;
  /** The scratch's second half (SCRATCH_WORDS u32 from scratch + SCRATCH_WORDS * 4). */
  readonly scratchOut: number;
  /** Upper bound of the memory in pages, for engines made by Engine.create (undefined when attached). */
  readonly maximumPages: number | undefined;
  #u32: Uint32Array;
  #free = new Map<number, number[]>();
  /** Pod-range regions (owner array attached) given back by disposed pools, by capacity in bits. */
  #pods = new Map<number, number[]>();
  /** Attached engines: how many users (PoolViews) hold it; its scratch goes back when none does. */
  #refs = 0;

  private constructor(memory: WebAssembly.Memory, fresh: boolean, maximumPages: number | undefined) {
    this.memory = memory;
    this.maximumPages = maximumPages;
    this.wasm = instantiate(memory);
    if (fresh) this.wasm.arenaInit(ENGINE_ARENA, ARENA_START);
    this.#u32 = new Uint32Array(memory.buffer);
    // an attached engine takes a scratch region an earlier one (any thread) gave back
    const recycled = fresh ? 0 : this.wasm.stackPop(SCRATCH_FREE) >>> 0;
    this.scratch = recycled !== 0 ? recycled : this.alloc(SCRATCH_BYTES);
    this.scratchOut = this.scratch + SCRATCH_WORDS * 4;
  }

  /** A new engine over a new shared memory. */
  static create(options?: EngineOptions): Engine {
    const o = optionsObject("options", options, ["initialPages", "maximumPages"]);
    const initial = (o.initialPages ?? 32) as number;
    const maximum = (o.maximumPages ?? MAX_PAGES) as number;
    if (!Number.isInteger(initial) || initial < 1) throw errors.invalidOption("options.initialPages", "must be a positive integer");
    if (!Number.isInteger(maximum) || maximum < initial || maximum > MAX_PAGES) {
      throw errors.invalidOption("options.maximumPages", `must be an integer from initialPages to ${MAX_PAGES}`);
    }
    const engine = new Engine(new WebAssembly.Memory({ initial, maximum, shared: true }), true, maximum);
    byMemory.set(engine.memory, engine);
    return engine;
  }

  /**
   * This thread's engine over an existing engine's memory (e.g. in a worker
   * thread): one per memory object, shared by its users; the engine that
   * made the memory if it lives in this thread. Anything but the shared
   * memory of an engine (engine.memory) is INVALID_ARGUMENT.
   */
  static attach(memory: WebAssembly.Memory): Engine {
    let engine = byMemory.get(memory);
    if (engine === undefined) {
      const ok = memory instanceof WebAssembly.Memory && memory.buffer instanceof SharedArrayBuffer && memory.buffer.byteLength >= ARENA_START;
      // an engine's memory has its arena set up: the top lies between the first region and the end
      const top = ok ? (new Uint32Array(memory.buffer, ENGINE_ARENA, 1)[0] as number) : 0;
      if (!ok || top < ARENA_START || top > memory.buffer.byteLength) {
        throw errors.invalidArgument("Engine.attach(memory)", memory, "the shared WebAssembly.Memory of an engine (engine.memory)");
      }
      engine = new Engine(memory, false, undefined);
      byMemory.set(memory, engine);
    }
    if (engine.maximumPages === undefined) engine.#refs++;
    return engine;
  }

  /**
   * @internal A user of Engine.attach is done. When the last one of an
   * attached engine is, its scratch region goes back to the memory (for the
   * next engine attached to it, in any thread) and the next attach makes a
   * new engine. A no-op for engines made by Engine.create.
   */
  _detach(): void {
    if (this.maximumPages !== undefined || this.#refs === 0 || --this.#refs > 0) return;
    if (byMemory.get(this.memory) === this) byMemory.delete(this.memory);
    this.wasm.stackPush(SCRATCH_FREE, this.scratch);
  }

  /**
   * @internal An engine for a pool of its own with at most `maximumPages`
   * pages: one a disposed pool left (Engine._retire) if it is big enough,
   * else a new one.
   */
  static _forPool(maximumPages: number): Engine {
    for (let i = idle.length - 1; i >= 0; i--) {
      const e = idle[i] as Engine;
      if ((e.maximumPages as number) >= maximumPages) {
        idle.splice(i, 1);
        return e;
      }
    }
    return Engine.create({ maximumPages });
  }

  /**
   * @internal The pool that made this engine is disposed and nothing else
   * ever saw its memory: empty the arena (its own scratch stays) and keep the
   * engine for the next pool, if the memory stayed small. Otherwise the
   * engine is simply dropped.
   */
  _retire(): void {
    if (this.maximumPages === undefined || idle.length >= IDLE_ENGINES || idle.includes(this)) return;
    if (this.memory.buffer.byteLength > IDLE_MAX_BYTES) return;
    const start = this.scratch + SCRATCH_BYTES; // the scratch is the first region of a fresh engine
    const u32 = this.u32();
    const top = this.wasm.arenaTop(ENGINE_ARENA); // read before the header is cleared
    u32.fill(0, 0, ARENA_START >>> 2); // arena header and the scratch stack
    u32.fill(0, start >>> 2, top >>> 2);
    this.wasm.arenaInit(ENGINE_ARENA, start);
    this.#free.clear();
    this.#pods.clear();
    idle.push(this);
  }

  /** A u32 view of the whole memory, renewed after the memory grew. */
  u32(): Uint32Array {
    if (this.#u32.length * 4 !== this.memory.buffer.byteLength) this.#u32 = new Uint32Array(this.memory.buffer);
    return this.#u32;
  }

  // ------------------------------------------------------------ batch staging (@internal: for core/ and alloc/)
  // The one place that copies caller typed arrays into the scratch and back,
  // chunk by chunk (SCRATCH_WORDS items at a time). Nothing is allocated but
  // a subarray view per chunk.

  /** Copies src[from, from + n) (n <= SCRATCH_WORDS) to the scratch's first half; returns its offset. */
  _stage(src: Uint32Array, from: number, n: number): number {
    this.u32().set(n === src.length && from === 0 ? src : src.subarray(from, from + n), this.scratch >>> 2);
    return this.scratch;
  }

  /** Copies n u32 from the scratch (`at`: scratch or scratchOut) to dst[to, to + n). */
  _unstage(dst: Uint32Array | Int32Array, to: number, n: number, at: number = this.scratch): void {
    const w = at >>> 2;
    dst.set(this.u32().subarray(w, w + n), to);
  }

  /** The k-th u32 of the scratch area at `at` (scratch or scratchOut), for a Chunk reading results one by one. */
  _staged(at: number, k: number): number {
    return this.u32()[(at >>> 2) + k] as number;
  }

  /**
   * A batch call that produces up to `count` results: for each chunk,
   * call(...) writes its results at the scratch and returns how many; they
   * are copied to out[done..], from out[from] on. Stops after a short
   * chunk. Returns how many results it wrote.
   */
  _fill<C>(out: Uint32Array, count: number, call: Chunk<C>, ctx: C, a = 0, b = 0, from = 0): number {
    let done = from;
    const end = from + count;
    while (done < end) {
      const n = Math.min(end - done, SCRATCH_WORDS);
      const got = call(ctx, n, this.scratch, this.scratchOut, a, b, done);
      if (got > 0) this._unstage(out, done, got);
      done += got;
      if (got < n) break;
    }
    return done - from;
  }

  /** A batch call that consumes inp[0, count): each chunk is staged, then call(...) runs on it. Returns the sum of what the calls returned. */
  _feed<C>(inp: Uint32Array, count: number, call: Chunk<C>, ctx: C, a = 0, b = 0): number {
    let sum = 0;
    for (let done = 0; done < count; ) {
      const n = Math.min(count - done, SCRATCH_WORDS);
      this._stage(inp, done, n);
      sum += call(ctx, n, this.scratch, this.scratchOut, a, b, done);
      done += n;
    }
    return sum;
  }

  /** feed(), and after each chunk the n u32 that call(...) wrote at scratchOut are copied to out[done..]. Returns the sum of what the calls returned. */
  _map<C>(inp: Uint32Array, out: Uint32Array | Int32Array, count: number, call: Chunk<C>, ctx: C, a = 0, b = 0): number {
    let sum = 0;
    for (let done = 0; done < count; ) {
      const n = Math.min(count - done, SCRATCH_WORDS);
      this._stage(inp, done, n);
      sum += call(ctx, n, this.scratch, this.scratchOut, a, b, done);
      this._unstage(out, done, n, this.scratchOut);
      done += n;
    }
    return sum;
  }

  /** Bytes handed out by the arena so far. */
  get bytesUsed(): number {
    return this.wasm.arenaTop(ENGINE_ARENA) - ARENA_START;
  }

  /** A zeroed, 64-aligned region of `bytes` bytes (an integer below 2^31). Throws FULL when the memory cannot grow. */
  alloc(bytes: number): number {
    if (!isIndex(bytes, MAX_REGION)) throw badIndex("alloc(bytes)", bytes, MAX_REGION, "region sizes in bytes");
    const size = (bytes + 63) & ~63;
    const recycled = this.#free.get(size)?.pop();
    if (recycled !== undefined) {
      new Uint8Array(this.memory.buffer, recycled, size).fill(0);
      return recycled;
    }
    const p = this.wasm.arenaAlloc(ENGINE_ARENA, size) >>> 0;
    if (p === 0) throw errors.full(`shared memory (${this.memory.buffer.byteLength / PAGE} pages)`);
    return p;
  }

  /**
   * Gives a region that alloc() returned back for reuse by alloc() of the
   * same size (this thread only). A pointer that cannot be one (not 64-aligned,
   * outside the regions handed out) is refused; a region freed twice is not
   * detected.
   */
  free(ptr: number, bytes: number): void {
    if (!isIndex(bytes, MAX_REGION)) throw badIndex("free(bytes)", bytes, MAX_REGION, "region sizes in bytes");
    const top = this.wasm.arenaTop(ENGINE_ARENA);
    if (!isIndex(ptr, top) || ptr < ARENA_START || ptr % 64 !== 0 || ptr + bytes > top) {
      throw errors.invalidArgument("free(ptr)", ptr, `a region returned by alloc() (64-aligned, from ${ARENA_START} to ${top})`);
    }
    const size = (bytes + 63) & ~63;
    let list = this.#free.get(size);
    if (!list) this.#free.set(size, (list = []));
    list.push(ptr);
  }

  /**
   * @internal Keeps a free pod-range region of `nbits` bits (its owner
   * array, if any, zeroed and still attached) for the next pool CIDR on this
   * engine whose pod ranges have that size (this thread only).
   */
  _freePodRegion(nbits: number, region: number): void {
    let list = this.#pods.get(nbits);
    if (!list) this.#pods.set(nbits, (list = []));
    list.push(region);
  }

  /** @internal Takes a kept pod-range region of `nbits` bits (see _freePodRegion), if there is one. */
  _takePodRegion(nbits: number): number | undefined {
    return this.#pods.size === 0 ? undefined : this.#pods.get(nbits)?.pop();
  }
}

let shared: Engine | undefined;
/** The process-wide engine used by CidrSet and PodRange when none is given. */
export function defaultEngine(): Engine {
  shared ??= Engine.create();
  return shared;
}

/**
 * Frees the regions of standalone objects (CidrSet, PodRange) that were
 * never disposed, once they are garbage. Regions of a ClusterPool are not
 * registered: the pool gives them back on dispose, and its own engine must
 * not be kept alive by this registry.
 */
export const regionReaper = new FinalizationRegistry<{ engine: Engine; ptr: number; bytes: number }>(
  ({ engine, ptr, bytes }) => engine.free(ptr, bytes),
);
