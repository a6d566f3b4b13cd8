/**
 * A WASM bitmap region owned by one TS object (CidrSet, PodRange). Offsets
 * only; the owner maps them to CIDRs or IPs. Regions of garbage-collected
 * owners go back to their engine.
 */
import { type Engine, type Chunk, regionReaper } from "./engine.js";
import type { WasmExports } from "./wasm.js";
import { FLAG_ATOMIC, NONE } from "./layout.js";

export { bitmapBytes } from "./layout.js";

let reap = true;
/** Runs `make` with the regions of the bitmaps it creates left out of regionReaper (their owner frees them). */
export function withoutReaper<T>(make: () => T): T {
  reap = false;
  try {
    return make();
  } finally {
    reap = true;
  }
}

export class Bitmap {
  readonly engine: Engine;
  readonly wasm: WasmExports;
  /** Offset of the region in the engine's memory. */
  readonly h: number;
  readonly size: number;
  readonly #bytes: number;

  constructor(engine: Engine, size: number, options: { atomic: boolean; seed: bigint }) {
    this.engine = engine;
    this.wasm = engine.wasm;
    this.size = size;
    const bytes = this.wasm.bmBytes(size);
    this.#bytes = bytes;
    this.h = engine.alloc(bytes);
    this.wasm.bmInit(this.h, size, options.atomic ? FLAG_ATOMIC : 0, options.seed, 0);
    if (reap) regionReaper.register(this, { engine, ptr: this.h, bytes }, this);
  }

  /** Gives the region back to the engine. The caller must not use this bitmap afterwards. */
  dispose(): void {
    regionReaper.unregister(this);
    this.engine.free(this.h, this.#bytes);
  }

  get used(): number { return this.wasm.bmUsed(this.h); }
  /** Next offset by strategy, or NONE when full. */
  allocateNext(strategy: number): number { return this.wasm.bmAllocateNext(this.h, strategy); }
  /** 1 taken now, 0 already taken, NONE out of range. */
  allocate(i: number): number { return this.wasm.bmAllocate(this.h, i); }
  release(i: number): boolean { return this.wasm.bmRelease(this.h, i) === 1; }
  has(i: number): boolean { return this.wasm.bmHas(this.h, i) === 1; }
  occupyRange(a: number, b: number): number { return this.wasm.bmOccupyRange(this.h, a, b); }
  releaseRange(a: number, b: number): number { return this.wasm.bmReleaseRange(this.h, a, b); }
  countRange(a: number, b: number): number { return this.wasm.bmCountRange(this.h, a, b); }

  /** Next-fit: the offset the next search starts from. */
  get cursor(): number { return this.wasm.bmCursor(this.h); }
  set cursor(c: number) { this.wasm.bmSetCursor(this.h, c); }
  /** Next free aligned run of 2^k offsets (next-fit), taken; its first offset, or NONE. */
  allocateRun(k: number): number { return this.wasm.bmAllocateRun(this.h, k); }
  setFlags(flags: number): void { this.wasm.bmSetFlags(this.h, flags); }
  /** Taken offsets counted bit by bit (verify: equals `used`). */
  recount(): number { return this.wasm.bmRecount(this.h); }
  /** True if every summary level agrees with the leaves (verify). */
  summariesOk(): boolean { return this.wasm.bmCheckSummaries(this.h) === 1; }

  /**
   * Allocates up to `count` offsets by strategy and writes `offset + add` to
   * out[0..]. Returns how many were written (fewer: now full).
   */
  allocateBatch(strategy: number, out: Uint32Array, count: number, add: number): number {
    return this.engine._fill(out, count, allocateChunk, this, strategy, add);
  }

  /** Allocates offsets `in[k] - sub` for k < count (out of range ones are skipped). Returns how many were taken now. */
  allocateEachBatch(inp: Uint32Array, count: number, sub: number): number {
    let got = 0;
    for (let k = 0; k < count; k++) {
      const i = ((inp[k] as number) - sub) >>> 0;
      if (i < this.size && this.wasm.bmAllocate(this.h, i) === 1) got++;
    }
    return got;
  }

  /** Releases offsets `in[k] - sub` for k < count. Returns how many were taken. */
  releaseBatch(inp: Uint32Array, count: number, sub: number): number {
    return this.engine._feed(inp, count, releaseChunk, this, sub);
  }

  /** Writes 1 (taken) or 0 to out[k] for each offset `in[k] - sub`, k < count (out of range: 0). Returns how many are taken. */
  hasBatch(inp: Uint32Array, out: Uint32Array, count: number, sub: number): number {
    let taken = 0;
    for (let k = 0; k < count; k++) {
      const i = ((inp[k] as number) - sub) >>> 0;
      const t = i < this.size ? this.wasm.bmHas(this.h, i) : 0;
      out[k] = t;
      taken += t;
    }
    return taken;
  }
}

const allocateChunk: Chunk<Bitmap> = (bm, n, at, _out, strategy, add) => bm.wasm.bmAllocateBatch(bm.h, strategy, n, at, add);
const releaseChunk: Chunk<Bitmap> = (bm, n, at, _out, sub) => bm.wasm.bmReleaseBatch(bm.h, n, at, sub);

export { NONE };
