/**
 * CidrSet: carves a cluster CIDR into node subnets, with Cilium cidrset
 * semantics (pkg/ipam/cidrset): next-fit from a cursor that starts at 0 and
 * wraps; occupy/release/isAllocated take any overlapping CIDR.
 */
import { Cidr, parseCidr, cidrArg, formatIPv4Cidr, formatIPv6, parseIPv4To } from "../net/ip.js";
import { errors, show } from "../errors.js";
import { Bitmap, NONE } from "../core/bitmap.js";
import { defaultEngine, Engine } from "../core/engine.js";
import { disposeSymbol, Held } from "../disposable.js";
import { isIndex, badIndex, str, u32Array, count as countArg, optionsObject } from "../args.js";
import { STRATEGY_CODE, FLAG_ATOMIC } from "../core/layout.js";

/** Cilium: an IPv6 node mask may be at most 16 bits longer than the cluster mask. */
export const IPV6_MAX_DIFF = 16;
/** ipcarve: an IPv4 node mask may be at most 24 bits longer (Cilium has no limit; 2^24 slots = a 2 MiB bitmap). */
export const IPV4_MAX_DIFF = 24;

const NEXT_FIT = STRATEGY_CODE["next-fit"];

export interface CidrSetOptions {
  /** Engine (shared memory) to live in. @default the process-wide engine */
  readonly engine?: Engine;
  /**
   * Updated by several threads at once (CAS on leaf words, an atomic counter).
   * Single-threaded use is faster without. @default false
   */
  readonly shared?: boolean;
}

/** Validates a node mask against a cluster CIDR; throws INVALID_MASK or SUBNET_TOO_BIG. */
export function checkNodeMask(cluster: Cidr, nodeMaskSize: unknown, what = "node mask"): number {
  const where = `${what} of ${String(cluster)}`;
  if (typeof nodeMaskSize !== "number" || !Number.isInteger(nodeMaskSize)) {
    throw errors.invalidMask(where, nodeMaskSize, "must be an integer");
  }
  if (nodeMaskSize > cluster.bits) {
    throw errors.invalidMask(where, nodeMaskSize, `must be at most ${cluster.bits} for IPv${cluster.family}`);
  }
  if (nodeMaskSize < cluster.prefix) {
    throw errors.invalidMask(where, nodeMaskSize, `must not be shorter than the cluster mask /${cluster.prefix}`);
  }
  const diff = nodeMaskSize - cluster.prefix;
  const max = cluster.family === 6 ? IPV6_MAX_DIFF : IPV4_MAX_DIFF;
  if (diff > max) {
    throw errors.subnetTooBig(
      `node mask /${nodeMaskSize} for ${String(cluster)}`,
      `it is ${diff} bits longer than the cluster mask; at most ${max} for IPv${cluster.family}`,
    );
  }
  return nodeMaskSize;
}

/**
 * Arguments (src/args.ts): a subnet index must be an integer (else
 * INVALID_ARGUMENT) from 0 to capacity - 1 (else NOT_IN_RANGE); batch arrays
 * are Uint32Arrays (an index in a release batch that is out of range is
 * skipped); a CIDR is a string (else INVALID_ARGUMENT) or a Cidr.
 */
export class CidrSet {
  /** The cluster CIDR, host bits masked. */
  readonly cidr: Cidr;
  readonly nodeMaskSize: number;
  /** Number of node subnets: 2^(nodeMask - clusterMask). */
  readonly capacity: number;
  readonly #bm: Held<Bitmap>;
  readonly #suffix: string;
  readonly #base4: number;
  readonly #step4: number;

  constructor(cidr: string, nodeMaskSize: number, options?: CidrSetOptions) {
    this.cidr = parseCidr(str("new CidrSet(cidr)", cidr));
    this.nodeMaskSize = checkNodeMask(this.cidr, nodeMaskSize);
    this.capacity = 2 ** (this.nodeMaskSize - this.cidr.prefix);
    const o = optionsObject("options", options, ["engine", "shared"]);
    if (o.engine !== undefined && !(o.engine instanceof Engine)) throw errors.invalidOption("options.engine", `must be an Engine (got ${show(o.engine)})`);
    if (o.shared !== undefined && typeof o.shared !== "boolean") throw errors.invalidOption("options.shared", `must be true or false (got ${show(o.shared)})`);
    const bm = new Bitmap((o.engine as Engine | undefined) ?? defaultEngine(), this.capacity, { atomic: o.shared === true, seed: 0n });
    this.#bm = new Held(bm, "CidrSet", "CIDR set", (b) => b.dispose());
    this.#suffix = `/${this.nodeMaskSize}`;
    this.#base4 = this.cidr.family === 4 ? Number(this.cidr.network) : 0;
    this.#step4 = 2 ** (32 - this.nodeMaskSize);
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

  /** The engine region of the node bitmap (for pools built on this set). */
  get region(): number { return this.#b("region").h; }

  /** From now on, safe to update from several threads at once (see CidrSetOptions.shared). */
  share(): void { this.#b("share").setFlags(FLAG_ATOMIC); }
  get engine(): Engine { return this.#b("engine").engine; }

  get used(): number { return this.#b("used").used; }
  get free(): number { return this.capacity - this.#b("free").used; }
  /** True when every node subnet is taken (decided by the counter, as Cilium does). */
  isFull(): boolean { return this.#b("isFull").used === this.capacity; }

  /** The subnet at index i: first is the cluster network, then ascending. */
  indexToCidr(i: number): string {
    this.#b("indexToCidr");
    if (!isIndex(i, this.capacity)) throw badIndex("indexToCidr(i)", i, this.capacity, `subnet indices of ${String(this.cidr)}`);
    return this.#cidrAt(i);
  }

  /** The text of subnet i (a valid index). */
  #cidrAt(i: number): string {
    if (this.cidr.family === 4) return formatIPv4Cidr((this.#base4 + i * this.#step4) >>> 0, this.nodeMaskSize);
    return formatIPv6(this.cidr.network + (BigInt(i) << BigInt(128 - this.nodeMaskSize))) + this.#suffix;
  }

  /** Index of the subnet holding address value v (same family, inside the cluster CIDR). */
  #indexOfValue(v: bigint): number {
    return Number((v - this.cidr.network) >> BigInt(this.cidr.bits - this.nodeMaskSize));
  }

  /** Next free subnet, next-fit. Throws FULL. */
  allocateNext(): string {
    const i = this.#b("allocateNext").allocateNext(NEXT_FIT);
    if (i === NONE) throw errors.full(`CIDR set ${String(this.cidr)} (${this.capacity} subnets of /${this.nodeMaskSize})`);
    return this.#cidrAt(i);
  }

  // ------------------------------------------------------------ numeric path: subnet indices
  // allocateNextIndex, allocateIndex, releaseIndex, hasIndex and their batches (src/alloc: one verb set).

  /** Subnet index i, or throws naming `what` (INVALID_ARGUMENT, NOT_IN_RANGE). */
  #index(what: string, i: number): number {
    if (!isIndex(i, this.capacity)) throw badIndex(what, i, this.capacity, `subnet indices of ${String(this.cidr)}`);
    return i;
  }

  /** Next free subnet index (next-fit), taken; -1 when full. */
  allocateNextIndex(): number {
    return this.#b("allocateNextIndex").allocateNext(NEXT_FIT);
  }

  /** Takes subnet i. Returns true if it was free (false: already taken). */
  allocateIndex(i: number): boolean {
    const bm = this.#b("allocateIndex");
    return bm.allocate(this.#index("allocateIndex(i)", i)) === 1;
  }

  /** Releases subnet i. Returns true if it was allocated. */
  releaseIndex(i: number): boolean {
    const bm = this.#b("releaseIndex");
    return bm.release(this.#index("releaseIndex(i)", i));
  }

  /** True if subnet i is allocated. */
  hasIndex(i: number): boolean {
    const bm = this.#b("hasIndex");
    return bm.has(this.#index("hasIndex(i)", i));
  }

  /** Allocates up to `count` (default out.length) subnets, next-fit, and writes their indices to out. Returns how many (fewer: full). */
  allocateNextIndexBatch(out: Uint32Array, count?: number): number {
    return this.#allocateNextBatch("allocateNextIndexBatch", out, count);
  }

  /** Takes the subnet indices inp[0, count) (out of range ones are skipped). Returns how many were free. */
  allocateIndexBatch(inp: Uint32Array, count?: number): number {
    const bm = this.#b("allocateIndexBatch");
    u32Array("allocateIndexBatch(inp)", inp);
    return bm.allocateEachBatch(inp, countArg("allocateIndexBatch(count)", count, inp.length), 0);
  }

  /** Releases the subnet indices inp[0, count) (out of range ones are skipped). Returns how many were allocated. */
  releaseIndexBatch(inp: Uint32Array, count?: number): number {
    return this.#releaseBatch("releaseIndexBatch", inp, count);
  }

  /** Writes 1 (allocated) or 0 to out[k] for each subnet index inp[k], k < count (out of range: 0). Returns how many are allocated. */
  hasIndexBatch(inp: Uint32Array, out: Uint32Array, count?: number): number {
    const bm = this.#b("hasIndexBatch");
    u32Array("hasIndexBatch(inp)", inp);
    u32Array("hasIndexBatch(out)", out);
    return bm.hasBatch(inp, out, countArg("hasIndexBatch(count)", count, Math.min(inp.length, out.length)), 0);
  }

  /** @deprecated use allocateNextIndexBatch (same arguments, same result) */
  allocateNextBatch(out: Uint32Array, count?: number): number {
    return this.#allocateNextBatch("allocateNextBatch", out, count);
  }

  /** @deprecated use releaseIndexBatch (same arguments, same result) */
  releaseBatch(inp: Uint32Array, count?: number): number {
    return this.#releaseBatch("releaseBatch", inp, count);
  }

  #allocateNextBatch(method: string, out: Uint32Array, count: number | undefined): number {
    const bm = this.#b(method);
    u32Array(`${method}(out)`, out);
    return bm.allocateBatch(NEXT_FIT, out, countArg(`${method}(count)`, count, out.length), 0);
  }

  #releaseBatch(method: string, inp: Uint32Array, count: number | undefined): number {
    const bm = this.#b(method);
    u32Array(`${method}(inp)`, inp);
    return bm.releaseBatch(inp, countArg(`${method}(count)`, count, inp.length), 0);
  }

  // ------------------------------------------------------------ for the pool layer (src/pool/)

  /** @internal Next-fit cursor: the index the next search starts from. */
  _cursor(): number { return this.#b("_cursor").cursor; }
  /** @internal Puts the next-fit cursor at index c (a value _cursor() returned, or one past a run taken on replay). */
  _setCursor(c: number): void { this.#b("_setCursor").cursor = c; }
  /** @internal Takes the next free aligned run of 2^k subnets (next-fit; k 0 to 24). Returns its first index, or -1. */
  _allocateRun(k: number): number { return this.#b("_allocateRun").allocateRun(k); }
  /** @internal Takes subnets first..last (indices, checked by the caller); taken ones stay so. */
  _occupyRange(first: number, last: number): void { this.#b("_occupyRange").occupyRange(first, last); }
  /** @internal verify(): problems of the counter and summaries against a recount, each named with `what`. */
  _verify(what: string): string[] {
    const bm = this.#b("_verify");
    const problems: string[] = [];
    if (bm.used !== bm.recount()) problems.push(`slot counter of ${what} != recount`);
    if (!bm.summariesOk()) problems.push(`slot summaries of ${what} are wrong`);
    return problems;
  }

  /** @internal check(): the slot counter and a recount of the bitmap. */
  _recount(): { used: number; recount: number } {
    const bm = this.#b("_recount");
    return { used: bm.used, recount: bm.recount() };
  }

  /**
   * @internal Read-only (metrics): the largest free aligned run of subnets
   * (2^j subnets from an index that is a multiple of 2^j), and how many
   * free aligned runs of 2^k subnets there are (what _allocateRun(k) could
   * still take). A buddy split that descends only into blocks that are
   * partly taken: a few calls for an empty or full set, at most
   * 2 x capacity counts for the most scattered one.
   */
  _freeRuns(k: number): { largest: number; runs: number } {
    const bm = this.#b("_freeRuns");
    const want = 2 ** k;
    let largest = 0;
    let runs = 0;
    const visit = (a: number, n: number): void => {
      const taken = bm.countRange(a, a + n - 1);
      if (taken === n) return;
      if (taken === 0) {
        if (n > largest) largest = n;
        if (n >= want) runs += n / want;
        return;
      }
      const h = n / 2; // n > 1 here: a single subnet is either taken or free
      visit(a, h);
      visit(a + h, h);
    };
    visit(0, this.capacity);
    return { largest, runs };
  }

  /** True if the CIDR overlaps the cluster CIDR (either contains the other). */
  inRange(cidr: string | Cidr): boolean {
    this.#b("inRange");
    return this.cidr.overlaps(cidrArg("inRange(cidr)", cidr));
  }

  /**
   * First and last subnet index a CIDR covers: all of them for a prefix at
   * most the cluster's, else those from its first to its last address.
   * Throws FAMILY_MISMATCH or NOT_IN_RANGE.
   */
  indices(cidr: string | Cidr): [number, number] {
    this.#b("indices");
    const c = cidrArg("cidr", cidr);
    if (c.family !== this.cidr.family) throw errors.familyMismatch("CIDR", String(c), this.cidr.family);
    if (!this.cidr.overlaps(c)) throw errors.notInRange(String(c), `cluster CIDR ${String(this.cidr)}`);
    if (c.prefix <= this.cidr.prefix) return [0, this.capacity - 1];
    return [this.#indexOfValue(c.network), this.#indexOfValue(c.last)];
  }

  /** Marks every subnet the CIDR covers as allocated (already allocated ones stay so). */
  occupy(cidr: string | Cidr): void {
    this.#b("occupy");
    const [a, b] = this.indices(cidr);
    this.#b("occupy").occupyRange(a, b);
  }

  /** Frees every subnet the CIDR covers. Releasing what is not allocated is a no-op. */
  release(cidr: string | Cidr): void {
    const bm = this.#b("release");
    if (typeof cidr === "string" && this.cidr.family === 4 && this.#range4(cidr)) {
      const a = this.#a;
      const b = this.#z;
      if (a === b) bm.release(a);
      else bm.releaseRange(a, b);
      return;
    }
    const [a, b] = this.indices(cidr);
    bm.releaseRange(a, b);
  }

  /** First and last index of #range4. */
  #a = 0;
  #z = 0;

  /**
   * IPv4 fast path of indices() for plain "a.b.c.d/p" text (no BigInt, no
   * Cidr object): sets #a and #z and returns true, or returns false for
   * anything else (other spellings, errors), which indices() then handles.
   */
  #range4(s: string): boolean {
    const n = s.length;
    const slash = n - (s.charCodeAt(n - 2) === 47 ? 2 : 3);
    if (slash < 7 || s.charCodeAt(slash) !== 47) return false;
    const d0 = s.charCodeAt(slash + 1) - 48;
    if (d0 < 0 || d0 > 9) return false;
    let p = d0;
    if (slash + 3 === n) {
      const d1 = s.charCodeAt(slash + 2) - 48;
      if (d0 === 0 || d1 < 0 || d1 > 9) return false;
      p = d0 * 10 + d1;
    }
    if (p > 32) return false;
    const ip = parseIPv4To(s, slash);
    if (ip < 0) return false;
    // u32 bit arithmetic only (a float % or / costs more than the whole parse)
    const mask = p === 0 ? 0 : (-1 << (32 - p)) >>> 0;
    const net = (ip & mask) >>> 0;
    const cp = this.cidr.prefix;
    if (p <= cp) {
      if (net !== ((this.#base4 & mask) >>> 0)) return false;
      this.#a = 0;
      this.#z = this.capacity - 1;
      return true;
    }
    const cmask = cp === 0 ? 0 : (-1 << (32 - cp)) >>> 0;
    if (((net & cmask) >>> 0) !== this.#base4) return false;
    const shift = 32 - this.nodeMaskSize; // a node subnet spans 2^shift addresses (shift < 32)
    const off = net - this.#base4; // < 2^(32 - cp)
    this.#a = off >>> shift;
    this.#z = (off + (~mask >>> 0)) >>> shift; // the CIDR's last address; < 2^32 since p > cp
    return true;
  }

  /** True if every subnet the CIDR covers is allocated. */
  isAllocated(cidr: string | Cidr): boolean {
    this.#b("isAllocated");
    const [a, b] = this.indices(cidr);
    return this.#b("isAllocated").countRange(a, b) === b - a + 1;
  }

  /** Index of the subnet that holds the given CIDR's first address. */
  indexOf(cidr: string | Cidr): number {
    this.#b("indexOf");
    return this.indices(cidr)[0];
  }
}
