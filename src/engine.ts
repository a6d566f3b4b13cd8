/**
 * An Engine is one shared WebAssembly.Memory plus this thread's instance of
 * the core over it. Regions come from the arena in the memory itself, so an
 * engine attached in a worker (Engine.attach) sees and carves the same state.
 */
import { errors } from "./errors.js";
import { instantiate, ENGINE_ARENA, ARENA_START, type WasmExports } from "./wasm.js";

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
  static create(options: EngineOptions = {}): Engine {
    const initial = options.initialPages ?? 32;
    const maximum = options.maximumPages ?? MAX_PAGES;
    if (!Number.isInteger(initial) || initial < 1) throw errors.invalidOption("options.initialPages", "must be a positive integer");
    if (!Number.isInteger(maximum) || maximum < initial || maximum > MAX_PAGES) {
      throw errors.invalidOption("options.maximumPages", `must be an integer from initialPages to ${MAX_PAGES}`);
    }
    return new Engine(new WebAssembly.Memory({ initial, maximum, shared: true }), true);
  }

  /** Another instance over an existing engine's memory (e.g. in a worker thread). */
  static attach(memory: WebAssembly.Memory): Engine {
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

  /** A zeroed, 64-aligned region of `bytes` bytes. Throws FULL when the memory cannot grow. */
  alloc(bytes: number): number {
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

  /** Gives a region back for reuse by alloc() of the same size (this thread only). */
  free(ptr: number, bytes: number): void {
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
