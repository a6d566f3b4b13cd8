/**
 * PodRange: the pod IPs of one subnet, with Cilium ipallocator semantics
 * (pkg/ipam/service/ipallocator): offsets 0..size-1 map to the usable
 * addresses, network and broadcast excluded, IPv6 capped at 2^16.
 */
import { Cidr, parseCidr, parseIPv4, parseIp, formatIPv4, formatIPv6 } from "../net/ip.js";
import { errors, show } from "../errors.js";
import { Bitmap, NONE } from "../core/bitmap.js";
import { checkStrategy, checkSeed } from "./strategy.js";
import { rangeGeometry } from "../net/range.js";
import { defaultEngine, Engine } from "../core/engine.js";
import { disposeSymbol, Held } from "../disposable.js";
import { isIndex, badIndex, str, u32Array, count as countArg, optionsObject } from "../args.js";
import { STRATEGY_CODE, type Strategy } from "../core/layout.js";

export interface PodRangeOptions {
  /** How allocateNext picks: Cilium's agent uses 'random'. @default 'next-fit' */
  readonly strategy?: Strategy;
  /** Seed of the 'random' strategy, for reproducible runs. @default a fixed seed */
  readonly seed?: number | bigint;
  /** Engine (shared memory) to live in. @default the process-wide engine */
  readonly engine?: Engine;
}

/**
 * Arguments (src/args.ts): an offset must be an integer (else
 * INVALID_ARGUMENT) from 0 to size - 1 (else NOT_IN_RANGE); an address a
 * string (else INVALID_ARGUMENT); batch arrays Uint32Arrays.
 */
export class PodRange {
  readonly cidr: Cidr;
  /** Usable addresses. */
  readonly size: number;
  readonly strategy: Strategy;
  readonly #bm: Held<Bitmap>;
  readonly #code: number;
  /** Host offset of offset 0 from the network address. */
  readonly #first: number;
  /** IPv4: network as u32 + first, so ip = #base4 + offset. */
  readonly #base4: number;
  readonly #name: string;

  constructor(cidr: string, options?: PodRangeOptions) {
    this.cidr = parseCidr(str("new PodRange(cidr)", cidr));
    const g = rangeGeometry(this.cidr);
    this.size = g.size;
    this.#first = g.first;
    const o = optionsObject("options", options, ["strategy", "seed", "engine"]);
    this.strategy = checkStrategy("options.strategy", o.strategy);
    this.#code = STRATEGY_CODE[this.strategy];
    const seed = checkSeed("options.seed", o.seed);
    if (o.engine !== undefined && !(o.engine instanceof Engine)) throw errors.invalidOption("options.engine", `must be an Engine (got ${show(o.engine)})`);
    const bm = new Bitmap((o.engine as Engine | undefined) ?? defaultEngine(), this.size, { atomic: false, seed });
    this.#bm = new Held(bm, "PodRange", "pod range", (b) => b.dispose());
    this.#base4 = this.cidr.family === 4 ? Number(this.cidr.network) + g.first : 0;
    this.#name = `pod range ${String(this.cidr)}`;
  }

  /** What this object holds, or INVALID_ARGUMENT naming `method` once disposed. */
  #b(method: string): Bitmap {
    return this.#bm.get(method);
  }

  /**
   * Gives the bitmap back to its engine. Any later call throws
   * INVALID_ARGUMENT; disposing again is a no-op. Undisposed ones are
   * freed when garbage collected.
   */
  dispose(): void {
    this.#bm.dispose();
  }

  [disposeSymbol](): void { this.dispose(); }

  get used(): number { return this.#b("used").used; }
  get free(): number { return this.size - this.#b("free").used; }
  isFull(): boolean { return this.#b("isFull").used === this.size; }

  /** The address at offset i. */
  ipAt(i: number): string {
    this.#b("ipAt");
    if (!isIndex(i, this.size)) throw badIndex("ipAt(i)", i, this.size, `offsets of ${this.#name}`);
    if (this.cidr.family === 4) return formatIPv4((this.#base4 + i) >>> 0);
    return formatIPv6(this.cidr.network + BigInt(this.#first + i));
  }

  /** Offset of an address string; throws INVALID_IP or FAMILY_MISMATCH; NONE if not a usable address of the range. */
  offsetOf(ip: string): number {
    this.#b("offsetOf");
    if (typeof ip !== "string") throw errors.invalidArgument("ip", ip, "an IP address string");
    if (this.cidr.family === 4) {
      const v = parseIPv4(ip);
      if (v < 0) {
        const p = parseIp(ip); // throws INVALID_IP for garbage
        throw errors.familyMismatch("IP", String(ip), p.family === 4 ? 6 : 4);
      }
      const off = v - this.#base4;
      return off >= 0 && off < this.size ? off : NONE;
    }
    const p = parseIp(ip);
    if (p.family !== 6) throw errors.familyMismatch("IP", ip, 6);
    const d = p.value - this.cidr.network - BigInt(this.#first);
    return d >= 0n && d < BigInt(this.size) ? Number(d) : NONE;
  }

  /** Next free address by strategy. Throws FULL. */
  allocateNext(): string {
    const i = this.#b("allocateNext").allocateNext(this.#code);
    if (i === NONE) throw errors.full(this.#name);
    return this.ipAt(i);
  }

  /**
   * Allocates the given address. Throws ALREADY_ALLOCATED if taken, and
   * NOT_IN_RANGE for an address outside the range, the network or the
   * broadcast address.
   */
  allocate(ip: string): void {
    this.#b("allocate");
    const off = this.offsetOf(ip);
    if (off === NONE) throw errors.notInRange(ip, this.#name);
    if (this.#b("allocate").allocate(off) === 0) throw errors.alreadyAllocated(ip);
  }

  /** Releases an address. Releasing a free address or one out of the range is a no-op. */
  release(ip: string): void {
    this.#b("release");
    const off = this.offsetOf(ip);
    if (off !== NONE) this.#b("release").release(off);
  }

  /** True if the address is allocated (false when out of range). */
  has(ip: string): boolean {
    this.#b("has");
    const off = this.offsetOf(ip);
    return off !== NONE && this.#b("has").has(off);
  }

  // ------------------------------------------------------------ numeric path: offsets (indices) and IPv4 u32 addresses
  // allocateNextIndex, allocateIndex, releaseIndex, hasIndex and their batches (src/alloc: one verb set);
  // the IPv4 suffix where the unit is an address.

  /** Offset i, or throws naming `what` (INVALID_ARGUMENT, NOT_IN_RANGE). */
  #index(what: string, i: number): number {
    if (!isIndex(i, this.size)) throw badIndex(what, i, this.size, `offsets of ${this.#name}`);
    return i;
  }

  /** Next free offset by strategy, taken; -1 when full. */
  allocateNextIndex(): number { return this.#b("allocateNextIndex").allocateNext(this.#code); }

  /** Takes offset i. Returns true if it was free (false: already taken). */
  allocateIndex(i: number): boolean {
    const bm = this.#b("allocateIndex");
    return bm.allocate(this.#index("allocateIndex(i)", i)) === 1;
  }

  /** Releases offset i. Returns true if it was allocated. */
  releaseIndex(i: number): boolean { return this.#release("releaseIndex", i); }

  /** True if offset i is allocated. */
  hasIndex(i: number): boolean { return this.#has("hasIndex", i); }

  /** Allocates up to `count` (default out.length) offsets by strategy and writes them to out. Returns how many (fewer: full). */
  allocateNextIndexBatch(out: Uint32Array, count?: number): number {
    const bm = this.#b("allocateNextIndexBatch");
    u32Array("allocateNextIndexBatch(out)", out);
    return bm.allocateBatch(this.#code, out, countArg("allocateNextIndexBatch(count)", count, out.length), 0);
  }

  /** Takes the offsets inp[0, count) (out of range ones are skipped). Returns how many were free. */
  allocateIndexBatch(inp: Uint32Array, count?: number): number {
    const bm = this.#b("allocateIndexBatch");
    u32Array("allocateIndexBatch(inp)", inp);
    return bm.allocateEachBatch(inp, countArg("allocateIndexBatch(count)", count, inp.length), 0);
  }

  /** Releases the offsets inp[0, count) (out of range ones are skipped). Returns how many were allocated. */
  releaseIndexBatch(inp: Uint32Array, count?: number): number {
    const bm = this.#b("releaseIndexBatch");
    u32Array("releaseIndexBatch(inp)", inp);
    return bm.releaseBatch(inp, countArg("releaseIndexBatch(count)", count, inp.length), 0);
  }

  /** Writes 1 (allocated) or 0 to out[k] for each offset inp[k], k < count (out of range: 0). Returns how many are allocated. */
  hasIndexBatch(inp: Uint32Array, out: Uint32Array, count?: number): number {
    const bm = this.#b("hasIndexBatch");
    u32Array("hasIndexBatch(inp)", inp);
    u32Array("hasIndexBatch(out)", out);
    return bm.hasBatch(inp, out, countArg("hasIndexBatch(count)", count, Math.min(inp.length, out.length)), 0);
  }

  /**
   * IPv4: allocates up to `count` addresses by strategy and writes them as
   * u32 to out. Returns how many (fewer: the range is now full).
   */
  allocateNextIPv4Batch(out: Uint32Array, count?: number): number { return this.#allocateNextIPv4Batch("allocateNextIPv4Batch", out, count); }

  /** IPv4: releases the u32 addresses inp[0, count) (ones outside the range are skipped). Returns how many were allocated. */
  releaseIPv4Batch(inp: Uint32Array, count?: number): number { return this.#releaseIPv4Batch("releaseIPv4Batch", inp, count); }

  /** @deprecated use allocateNextIndex */
  allocateNextOffset(): number { return this.#b("allocateNextOffset").allocateNext(this.#code); }
  /** @deprecated use releaseIndex */
  releaseOffset(i: number): boolean { return this.#release("releaseOffset", i); }
  /** @deprecated use hasIndex */
  hasOffset(i: number): boolean { return this.#has("hasOffset", i); }
  /** @deprecated use allocateNextIPv4Batch */
  allocateNextBatchIPv4(out: Uint32Array, count?: number): number { return this.#allocateNextIPv4Batch("allocateNextBatchIPv4", out, count); }
  /** @deprecated use releaseIPv4Batch */
  releaseBatchIPv4(inp: Uint32Array, count?: number): number { return this.#releaseIPv4Batch("releaseBatchIPv4", inp, count); }

  #release(method: string, i: number): boolean {
    const bm = this.#b(method);
    return bm.release(this.#index(`${method}(i)`, i));
  }

  #has(method: string, i: number): boolean {
    const bm = this.#b(method);
    return bm.has(this.#index(`${method}(i)`, i));
  }

  #allocateNextIPv4Batch(method: string, out: Uint32Array, count: number | undefined): number {
    const bm = this.#b(method);
    u32Array(`${method}(out)`, out);
    const n = countArg(`${method}(count)`, count, out.length);
    if (this.cidr.family !== 4) throw errors.familyMismatch("pod range", String(this.cidr), 4);
    return bm.allocateBatch(this.#code, out, n, this.#base4);
  }

  #releaseIPv4Batch(method: string, inp: Uint32Array, count: number | undefined): number {
    const bm = this.#b(method);
    u32Array(`${method}(inp)`, inp);
    const n = countArg(`${method}(count)`, count, inp.length);
    if (this.cidr.family !== 4) throw errors.familyMismatch("pod range", String(this.cidr), 4);
    return bm.releaseBatch(inp, n, this.#base4);
  }
}
