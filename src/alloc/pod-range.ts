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
import { disposeSymbol } from "../disposable.js";
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
  /** undefined once disposed. */
  #bm: Bitmap | undefined;
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
    this.#bm = new Bitmap((o.engine as Engine | undefined) ?? defaultEngine(), this.size, { atomic: false, seed });
    this.#base4 = this.cidr.family === 4 ? Number(this.cidr.network) + g.first : 0;
    this.#name = `pod range ${String(this.cidr)}`;
  }

  /** The bitmap, or INVALID_ARGUMENT naming `method` once disposed. */
  #b(method: string): Bitmap {
    const bm = this.#bm;
    if (bm === undefined) throw errors.disposed(`PodRange.${method}`, "pod range");
    return bm;
  }

  /**
   * Gives the bitmap back to its engine. Any later call throws
   * INVALID_ARGUMENT; disposing again is a no-op. Undisposed ones are
   * freed when garbage collected.
   */
  dispose(): void {
    const bm = this.#bm;
    if (bm === undefined) return;
    this.#bm = undefined;
    bm.dispose();
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

  /** Numeric path: next free offset, or -1 when full. */
  allocateNextOffset(): number { return this.#b("allocateNextOffset").allocateNext(this.#code); }
  /** Numeric path: releases offset i; true if it was allocated. */
  releaseOffset(i: number): boolean {
    this.#b("releaseOffset");
    if (!isIndex(i, this.size)) throw badIndex("releaseOffset(i)", i, this.size, `offsets of ${this.#name}`);
    return this.#b("releaseOffset").release(i);
  }
  /** Numeric path: true if offset i is allocated. */
  hasOffset(i: number): boolean {
    this.#b("hasOffset");
    if (!isIndex(i, this.size)) throw badIndex("hasOffset(i)", i, this.size, `offsets of ${this.#name}`);
    return this.#b("hasOffset").has(i);
  }

  /**
   * Numeric path (IPv4): allocates up to `count` addresses and writes them as
   * u32 to out. Returns how many (fewer: the range is now full).
   */
  allocateNextBatchIPv4(out: Uint32Array, count?: number): number {
    this.#b("allocateNextBatchIPv4");
    u32Array("allocateNextBatchIPv4(out)", out);
    const n = countArg("allocateNextBatchIPv4(count)", count, out.length);
    if (this.cidr.family !== 4) throw errors.familyMismatch("pod range", String(this.cidr), 4);
    return this.#b("allocateNextBatchIPv4").allocateBatch(this.#code, out, n, this.#base4);
  }

  /** Numeric path (IPv4): releases the u32 addresses in[0..count). Returns how many were allocated. */
  releaseBatchIPv4(inp: Uint32Array, count?: number): number {
    this.#b("releaseBatchIPv4");
    u32Array("releaseBatchIPv4(inp)", inp);
    const n = countArg("releaseBatchIPv4(count)", count, inp.length);
    if (this.cidr.family !== 4) throw errors.familyMismatch("pod range", String(this.cidr), 4);
    return this.#b("releaseBatchIPv4").releaseBatch(inp, n, this.#base4);
  }
}
