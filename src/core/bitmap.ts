/**
 * A WASM bitmap region owned by one TS object (CidrSet, PodRange). Offsets
 * only; the owner maps them to CIDRs or IPs. Regions of garbage-collected
 * owners go back to their engine.
 */
import { type Engine, regionReaper } from "./engine.js";
import type { WasmExports } from "./wasm.js";
import { FLAG_ATOMIC, NONE } from "./layout.js";

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

  /**
   * Allocates up to `count` offsets by strategy and writes `offset + add` to
   * out[0..]. Returns how many were written (fewer: now full).
   */
  allocateBatch(strategy: number, out: Uint32Array, count: number, add: number): number {
    const scratch = this.engine.scratch;
    let done = 0;
    while (done < count) {
      const n = Math.min(count - done, 16384);
      const got = this.wasm.bmAllocateBatch(this.h, strategy, n, scratch, add);
      if (got > 0) out.set(this.engine.u32().subarray(scratch >>> 2, (scratch >>> 2) + got), done);
      done += got;
      if (got < n) break;
    }
    return done;
  }

  /** Releases offsets `in[k] - sub` for k < count. Returns how many were taken. */
  releaseBatch(inp: Uint32Array, count: number, sub: number): number {
    const scratch = this.engine.scratch;
    let freed = 0;
    for (let done = 0; done < count; ) {
      const n = Math.min(count - done, 16384);
      this.engine.u32().set(inp.subarray(done, done + n), scratch >>> 2);
      freed += this.wasm.bmReleaseBatch(this.h, n, scratch, sub);
      done += n;
    }
    return freed;
  }
}

export { NONE };
