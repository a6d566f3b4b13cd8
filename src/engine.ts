/**
 * An Engine is one shared WebAssembly.Memory plus this thread's instance of
 * the core over it. Regions come from the arena in the memory itself, so an
 * engine attached in a worker (Engine.attach) sees and carves the same state.
 */
import { errors } from "./errors.js";
import { instantiate, ENGINE_ARENA, ARENA_START, type WasmExports } from "./wasm.js";
import { isIndex, badIndex, optionsObject } from "./args.js";

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

export class Engine {
  readonly memory: WebAssembly.Memory;
  readonly wasm: WasmExports;
  /** This instance's staging area for batch calls (2 x SCRATCH_WORDS u32). */
  readonly scratch: number;
  #u32: Uint32Array;
  #free = new Map<number, number[]>();

  private constructor(memory: WebAssembly.Memory, fresh: boolean) {
    this.memory = memory;
    this.wasm = instantiate(memory);
    if (fresh) this.wasm.arenaInit(ENGINE_ARENA, ARENA_START);
    this.#u32 = new Uint32Array(memory.buffer);
    this.scratch = this.alloc(SCRATCH_WORDS * 8);
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
    return new Engine(new WebAssembly.Memory({ initial, maximum, shared: true }), true);
  }

  /**
   * Another instance over an existing engine's memory (e.g. in a worker
   * thread). Anything but the shared memory of an engine (engine.memory) is
   * INVALID_ARGUMENT.
   */
  static attach(memory: WebAssembly.Memory): Engine {
    const ok = memory instanceof WebAssembly.Memory && memory.buffer instanceof SharedArrayBuffer && memory.buffer.byteLength >= ARENA_START;
    // an engine's memory has its arena set up: the top lies between the first region and the end
    const top = ok ? (new Uint32Array(memory.buffer, ENGINE_ARENA, 1)[0] as number) : 0;
    if (!ok || top < ARENA_START || top > memory.buffer.byteLength) {
      throw errors.invalidArgument("Engine.attach(memory)", memory, "the shared WebAssembly.Memory of an engine (engine.memory)");
    }
    return new Engine(memory, false);
  }

  /** A u32 view of the whole memory, renewed after the memory grew. */
  u32(): Uint32Array {
    if (this.#u32.length * 4 !== this.memory.buffer.byteLength) this.#u32 = new Uint32Array(this.memory.buffer);
    return this.#u32;
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
}

let shared: Engine | undefined;
/** The process-wide engine used by CidrSet and PodRange when none is given. */
export function defaultEngine(): Engine {
  shared ??= Engine.create();
  return shared;
}

/** Frees the regions of standalone objects once they are garbage. */
export const regionReaper = new FinalizationRegistry<{ engine: Engine; ptr: number; bytes: number }>(
  ({ engine, ptr, bytes }) => engine.free(ptr, bytes),
);
