/**
 * Baseline 3: a TypeScript transcription of Cilium's algorithm, written from
 * its description (not from Cilium's code):
 * - node subnets: one bitmap per pool CIDR; allocateNext scans one bit at a
 *   time from nextCandidate, wrapping modulo max, sets the bit and moves
 *   nextCandidate to candidate + 1; release clears the bit;
 * - pod ranges: a bitmap; allocateNext picks a random start and scans
 *   forward one bit at a time (wrapping). Next-fit and first-free variants
 *   scan the same way from the cursor or from 0.
 * Numbers in, numbers out (no CIDR objects), so it isolates the algorithm.
 */
export const NEXT_FIT = 0;
export const FIRST_FREE = 1;
export const RANDOM = 2;

export class CiliumBitmap {
  readonly max: number;
  readonly bits: Uint32Array;
  used = 0;
  nextCandidate = 0;
  #rng = 0x9e3779b9;

  constructor(max: number) {
    this.max = max;
    this.bits = new Uint32Array((max + 31) >>> 5);
  }

  get bytes(): number { return this.bits.byteLength + 16; }

  #test(i: number): boolean {
    return (((this.bits[i >>> 5] as number) >>> (i & 31)) & 1) !== 0;
  }

  #set(i: number): void {
    this.bits[i >>> 5] = (this.bits[i >>> 5] as number) | (1 << (i & 31));
  }

  /** Next free offset scanning bit by bit from `start` by strategy; -1 when full. */
  allocateNext(strategy: number): number {
    const max = this.max;
    if (this.used >= max) return -1;
    let start = this.nextCandidate;
    if (strategy === FIRST_FREE) start = 0;
    else if (strategy === RANDOM) {
      let s = this.#rng;
      s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
      this.#rng = s;
      start = (s >>> 0) % max;
    }
    for (let i = 0; i < max; i++) {
      const candidate = (start + i) % max;
      if (!this.#test(candidate)) {
        this.#set(candidate);
        this.used++;
        if (strategy === NEXT_FIT) this.nextCandidate = candidate + 1;
        return candidate;
      }
    }
    return -1;
  }

  release(i: number): boolean {
    if (i < 0 || i >= this.max || !this.#test(i)) return false;
    this.bits[i >>> 5] = (this.bits[i >>> 5] as number) & ~(1 << (i & 31));
    this.used--;
    return true;
  }

  has(i: number): boolean {
    return i >= 0 && i < this.max && this.#test(i);
  }
}

/**
 * A Cilium-style cluster: a CIDR set of node subnets and one pod-range
 * bitmap per node (an object per node, as Cilium keeps one allocator per
 * node range), random-start pod allocation.
 */
export class CiliumCluster {
  readonly base: number;
  readonly hostBits: number;
  readonly nodes: CiliumBitmap;
  readonly ranges: (CiliumBitmap | undefined)[];
  readonly podSize: number;
  readonly strategy: number;

  constructor(base: number, clusterPrefix: number, nodePrefix: number, strategy = RANDOM) {
    this.base = base >>> 0;
    this.hostBits = 32 - nodePrefix;
    this.nodes = new CiliumBitmap(2 ** (nodePrefix - clusterPrefix));
    this.ranges = new Array<CiliumBitmap | undefined>(this.nodes.max);
    this.podSize = 2 ** this.hostBits - 2;
    this.strategy = strategy;
  }

  get bytes(): number {
    let n = this.nodes.bytes + this.ranges.length * 8;
    for (const r of this.ranges) if (r) n += r.bytes + 32;
    return n;
  }

  addNode(): number {
    const slot = this.nodes.allocateNext(NEXT_FIT);
    if (slot >= 0) this.ranges[slot] = new CiliumBitmap(this.podSize);
    return slot;
  }

  removeNode(slot: number): void {
    this.ranges[slot] = undefined;
    this.nodes.release(slot);
  }

  allocate(slot: number): number {
    const r = this.ranges[slot];
    if (r === undefined) return -1;
    const off = r.allocateNext(this.strategy);
    return off < 0 ? -1 : (this.base + (slot << this.hostBits) + 1 + off) >>> 0;
  }

  release(ip: number): boolean {
    const rel = (ip - this.base) >>> 0;
    const r = this.ranges[rel >>> this.hostBits];
    return r !== undefined && r.release((rel & ((1 << this.hostBits) - 1)) - 1);
  }
}
