/**
 * One pool CIDR of a ClusterPool: its CidrSet of slots and its WASM pool
 * entry (slot table, pod ranges). A node subnet is an aligned run of 2^k
 * slots (k > 0 only when big holes and smaller overflow subnets share the
 * pool). Maps addresses to pool-relative numbers, rel = slot << hostBits | host.
 */
import { Cidr, formatIPv4, formatIPv4Cidr, formatIPv6Groups, octet } from "../net/ip.js";
import { CidrSet } from "./cidr-set.js";
import { withoutReaper } from "../core/bitmap.js";
import { rangeGeometry, IPV6_RANGE_CAP_BITS, type RangeGeometry } from "../net/range.js";
import type { Engine, Chunk } from "../core/engine.js";
import { ENGINE_ARENA, POOL_BYTES, POOL_FREE_REGIONS, SLOT_BYTES, BM_NBITS, BM_USED, BM_AUX } from "../core/layout.js";

/** Word offsets in a bitmap region's header. */
const BM_NBITS_WORD = BM_NBITS >>> 2;
const BM_AUX_WORD = BM_AUX >>> 2;

/** Where a node subnet sits in its pool and what its pod range looks like. */
export interface SubnetGeometry extends RangeGeometry {
  readonly cidr: string;
  /** rel of pod offset 0. */
  readonly base: number;
}

/**
 * Besides the geometry, the one door of src/pool/ to a pool CIDR's state in
 * the shared memory: node slots (`set`, a CidrSet), the node holding each
 * slot, the pod ranges (attach/detach, allocate/release by rel with owners,
 * offsets of a range for reserved addresses), owner arrays, counts, cursors,
 * snapshot words and the verify() recounts. A pod range is named by the
 * handle attach() (or range(slot)) returns; a rel is pool-relative
 * (slot << hostBits | host). Arguments are the pool layer's, checked there:
 * nothing here validates them again (hot paths forward to one WASM call).
 */
export class PoolCidr {
  /** Position in the pool table; also the high part of address keys. */
  readonly index: number;
  /** Offset of the WASM pool entry. */
  readonly entry: number;
  readonly family: 4 | 6;
  readonly cidr: Cidr;
  /** The slots. */
  readonly set: CidrSet;
  /** Region of the SLOT entries, one per slot. */
  readonly slotTable: number;
  /** Mask of one slot. */
  readonly slotMask: number;
  /** IPv4: the pool network as u32. */
  readonly base4: number;
  /** IPv4: the pool netmask as u32. */
  readonly mask4: number;
  /** rel units per slot: 2^hostBits. */
  readonly slotScale: number;
  readonly hostBits: number;
  readonly #slotShift: bigint;
  /** IPv6: the network as 8 groups. */
  readonly #net6: number[] = [];
  /** Pod-range geometry per run size k (the same for every subnet of that size). */
  readonly #geometry: (RangeGeometry | undefined)[] = [];
  readonly #engine: Engine;
  readonly #w: Engine["wasm"];

  constructor(engine: Engine, table: number, index: number, cidr: Cidr, slotMask: number, podFlags: number) {
    this.#engine = engine;
    this.#w = engine.wasm;
    this.index = index;
    this.entry = table + index * POOL_BYTES;
    this.family = cidr.family;
    this.cidr = cidr;
    this.slotMask = slotMask;
    // the pool frees its regions itself (ClusterPool.dispose): none of them goes to regionReaper
    this.set = withoutReaper(() => new CidrSet(String(cidr), slotMask, { engine }));
    this.base4 = cidr.family === 4 ? Number(cidr.network) : 0;
    this.hostBits = cidr.family === 4 ? 32 - slotMask : Math.min(128 - slotMask, IPV6_RANGE_CAP_BITS);
    this.slotScale = 2 ** this.hostBits;
    this.#slotShift = BigInt(cidr.bits - slotMask);
    if (cidr.family === 6) for (let i = 7, x = cidr.network; i >= 0; i--, x >>= 16n) this.#net6[i] = Number(x & 0xffffn);
    try {
      this.slotTable = engine.alloc(this.set.capacity * SLOT_BYTES);
    } catch (e) {
      this.set.dispose();
      throw e;
    }
    this.mask4 = cidr.family === 4 ? Number(BigInt.asUintN(32, ~((1n << BigInt(32 - cidr.prefix)) - 1n))) : 0;
    engine.wasm.poolInit(this.entry, cidr.family, this.base4, this.mask4, this.hostBits, this.set.capacity, this.set.region, this.slotTable, 0, ENGINE_ARENA);
  }

  /** Region of the node-slot bitmap (for PoolView descriptors). */
  get nodeBitmap(): number { return this.set.region; }

  // ------------------------------------------------------------ slots and the nodes holding them

  /** Node id holding `slot`, or 0. */
  nodeAt(slot: number): number { return this.#w.poolNodeAt(this.entry, slot); }

  /**
   * Gives the run of `run` slots from `slot` to node id `node` with an
   * empty pod range of `nbits` addresses whose offset 0 is rel `base`, from
   * size class `cls` (0 big, 1 smaller overflow), its random strategy
   * seeded with `seed` (u64). Returns the range's handle, or 0 when the
   * memory cannot grow.
   */
  attach(slot: number, run: number, node: number, nbits: number, base: number, cls: number, seed: bigint): number {
    return this.#w.poolAttach(this.entry, slot, run, node, nbits, base, cls, seed) >>> 0;
  }

  /** Empties the run's pod range (back to size class `cls`) and unlinks its slots from the node. Returns the pods that were allocated. */
  detach(slot: number, run: number, cls: number): number { return this.#w.poolDetach(this.entry, slot, run, cls); }

  /** Forgets every slot (the pool CIDR is removed); the regions stay until dispose(). */
  clear(): void { this.#w.poolClear(this.entry); }

  /** Slot whose node's pod range has the most free addresses, or -1 ('share' overflow). */
  mostFree(): number { return this.#w.poolMostFree(this.entry); }

  /**
   * Before a pod range of `nbits` addresses and size class `cls` is attached:
   * when this entry has no recycled range of that class, takes one a
   * disposed pool left on the engine (Engine._freePodRegion), if any.
   */
  reuseRegion(cls: number, nbits: number): void {
    const head = this.entry + POOL_FREE_REGIONS + cls * 8;
    if (this.#engine.u32()[head >>> 2] !== 0) return; // the entry has one of its own
    const r = this.#engine._takePodRegion(nbits);
    if (r !== undefined) this.#w.stackPush(head, r);
  }

  // ------------------------------------------------------------ pods by rel (owners: 0 = none)

  /** Takes the next free address of the pod range at `slot` by strategy for `owner`. Returns its rel, or -1 (full, no node, or no memory for the owner array). */
  allocateNext(slot: number, strategy: number, owner: number): number { return this.#w.podAllocateNext(this.entry, slot, strategy, owner); }

  /** Takes rel for `owner`: 1 taken now, 0 already taken, -1 not a usable address of a held range, NO_MEMORY (no owner array). */
  allocate(rel: number, owner: number): number { return this.#w.podAllocate(this.entry, rel, owner); }

  /** Releases rel (with `keep`, it stays taken and only loses its owner). Returns its owner (0 = none), or -1 if it was not allocated. */
  release(rel: number, keep: boolean): number { return this.#w.podRelease(this.entry, rel, keep ? 1 : 0); }

  /** Owner of rel: -1 if not allocated, 0 if allocated without owner, else the owner id. */
  owner(rel: number): number { return this.#w.podOwner(this.entry, rel); }

  /** Addresses taken (reserved and quarantined included) in the pod range at `slot`. */
  used(slot: number): number { return this.#w.podUsed(this.entry, slot); }

  /**
   * Where the pod range with handle `range` (attach(), range()) counts its
   * taken addresses: words[at] is used(slot), read with no call into WASM,
   * for as long as the range is attached (a memory that grows later leaves
   * the view valid for it). For a caller that reads it on every allocation.
   */
  usedCounter(range: number): { readonly words: Uint32Array; readonly at: number } {
    return { words: this.#engine.u32(), at: (range + BM_USED) >>> 2 };
  }

  /**
   * Up to `count` addresses of the pod range at `slot` by strategy, no
   * owner, into out[from..] (IPv4: u32 addresses; IPv6: rels). Returns how many.
   */
  allocateNextBatch(slot: number, strategy: number, out: Uint32Array, count: number, from = 0): number {
    return this.#engine._fill(out, count, allocateNextChunk, this, slot, strategy, from);
  }

  /** @internal One chunk of allocateNextBatch: up to n (<= SCRATCH_WORDS) results at scratch offset `at`. */
  _podAllocateBatch(slot: number, strategy: number, n: number, at: number): number { return this.#w.podAllocateBatch(this.entry, slot, strategy, n, at); }

  /** Replay of a next-fit allocation of rel: its pod range's cursor moves past it, as it did live. */
  moveCursorPast(rel: number): void {
    const w = this.#w;
    const r = w.poolRegion(this.entry, this.slotOfRel(rel));
    if (r === 0) return;
    const off = rel - w.bmBase(r);
    w.bmSetCursor(r, off + 1 < w.bmSize(r) ? off + 1 : 0);
  }

  // ------------------------------------------------------------ a pod range by handle: offsets (indices) without owners

  /** Handle of the pod range at `slot` (stable while a node holds it), or 0. */
  range(slot: number): number { return this.#w.poolRegion(this.entry, slot); }

  /** Next free offset of the range by strategy, taken without owner; -1 when full. */
  allocateNextIndex(range: number, strategy: number): number { return this.#w.bmAllocateNext(range, strategy); }
  /** Takes offset i (no owner). True if it was free. */
  allocateIndex(range: number, i: number): boolean { return this.#w.bmAllocate(range, i) === 1; }
  /** Frees offset i (its owner slot is left as it is). True if it was taken. */
  releaseIndex(range: number, i: number): boolean { return this.#w.bmRelease(range, i) === 1; }
  hasIndex(range: number, i: number): boolean { return this.#w.bmHas(range, i) === 1; }
  /** Offsets taken from a to b. */
  countRange(range: number, a: number, b: number): number { return this.#w.bmCountRange(range, a, b); }

  /** A view of the range's owner array (one u32 per offset), or undefined if it has none. Valid until the memory grows. */
  owners(range: number): Uint32Array | undefined {
    const aux = range === 0 ? 0 : this.#w.bmAux(range) >>> 0;
    if (aux === 0) return undefined;
    return new Uint32Array(this.#engine.memory.buffer, aux, this.#engine.u32()[(range >>> 2) + BM_NBITS_WORD] as number);
  }

  /** True if the range exists and has no owner array yet. */
  needsOwners(range: number): boolean { return range !== 0 && this.#w.bmAux(range) === 0; }

  /** Gives the range an owner array. Returns false (nothing changed) when the memory cannot grow. */
  addOwners(range: number): boolean {
    let aux: number;
    try {
      aux = this.#engine.alloc(this.#nbits(range) * 4);
    } catch {
      return false;
    }
    this.#w.bmSetAux(range, aux);
    return true;
  }

  /** Takes back an owner array addOwners gave (a rollback). */
  dropOwners(range: number): void {
    const aux = this.#w.bmAux(range) >>> 0;
    if (aux === 0) return;
    this.#w.bmSetAux(range, 0);
    this.#engine.free(aux, this.#nbits(range) * 4);
  }

  #nbits(range: number): number { return this.#engine.u32()[(range >>> 2) + BM_NBITS_WORD] as number; }

  // ------------------------------------------------------------ snapshots and verify()

  /** Next-fit cursor of the range. */
  cursorOf(range: number): number { return this.#w.bmCursor(range); }

  /** A copy of the range's state: leaf words (u32), owner array, cursor and random state (u64). */
  saveRange(range: number): { words: Uint32Array; owners: Uint32Array | undefined; cursor: number; rng: bigint } {
    const w = this.#w;
    const u32 = this.#engine.u32();
    const leaves = w.bmLeaves(range) >>> 2;
    const aux = w.bmAux(range) >>> 2;
    return {
      words: u32.slice(leaves, leaves + w.bmWords(range) * 2),
      owners: aux === 0 ? undefined : u32.slice(aux, aux + this.#nbits(range)),
      cursor: w.bmCursor(range),
      rng: BigInt.asUintN(64, w.bmRng(range)),
    };
  }

  /** u32 words of the range's leaves (what saveRange's words hold and loadRange takes). */
  rangeWords(range: number): number { return this.#w.bmWords(range) * 2; }

  /** Restores a range from saveRange's parts: leaf words, then counters and summaries are rebuilt. */
  loadRange(range: number, words: Uint32Array, cursor: number, rng: bigint): void {
    const w = this.#w;
    this.#engine.u32().set(words, w.bmLeaves(range) >>> 2);
    w.bmRebuild(range);
    w.bmSetCursor(range, cursor);
    w.bmSetRng(range, BigInt.asIntN(64, rng));
  }

  /** Restores a range's owner array (one u32 per offset), making it first if it has none. Throws FULL when the memory cannot grow. */
  loadOwners(range: number, owners: Uint32Array): void {
    let aux = this.#w.bmAux(range) >>> 0;
    if (aux === 0) {
      aux = this.#engine.alloc(this.#nbits(range) * 4);
      this.#w.bmSetAux(range, aux);
    }
    this.#engine.u32().set(owners, aux >>> 2);
  }

  /** check(): the range's counter and a recount of its bitmap. */
  recountRange(range: number): { used: number; recount: number } {
    const w = this.#w;
    return { used: w.bmUsed(range), recount: w.bmRecount(range) };
  }

  /** verify(): the range's counter against a recount, and its summaries. */
  checkRange(range: number): { counter: boolean; summaries: boolean } {
    const w = this.#w;
    return { counter: w.bmUsed(range) === w.bmRecount(range), summaries: w.bmCheckSummaries(range) === 1 };
  }

  /**
   * Gives every region of this pool CIDR back to `engine`: the pod ranges
   * (held by a slot, owner arrays zeroed, or recycled in the entry's stacks of
   * size class 0 and 1, whose ranges have `bits0` and `bits1` addresses), the
   * slot table and the slot bitmap. The entry must not be used afterwards.
   */
  dispose(engine: Engine, bits0: number, bits1: number): void {
    const w = engine.wasm;
    const u32 = engine.u32();
    const table = this.slotTable >>> 2;
    let last = 0;
    for (let s = 0; s < this.set.capacity; s++) {
      const r = u32[table + s * 2 + 1] as number; // SLOT entry +4: region
      if (r === 0 || r === last) continue; // a run of slots shares one region
      last = r;
      const nbits = u32[(r >>> 2) + BM_NBITS_WORD] as number;
      const aux = u32[(r >>> 2) + BM_AUX_WORD] as number;
      if (aux !== 0) u32.fill(0, aux >>> 2, (aux >>> 2) + nbits);
      engine._freePodRegion(nbits, r);
    }
    for (let cls = 0; cls < 2; cls++) {
      for (let r = w.stackPop(this.entry + POOL_FREE_REGIONS + cls * 8) >>> 0; r !== 0; r = w.stackPop(this.entry + POOL_FREE_REGIONS + cls * 8) >>> 0) {
        engine._freePodRegion(cls === 0 ? bits0 : bits1, r);
      }
    }
    engine.free(this.slotTable, this.set.capacity * SLOT_BYTES);
    this.set.dispose();
  }

  /** The node subnet made of 2^k slots from `slot`, and its pod range. */
  subnet(slot: number, k: number): SubnetGeometry {
    let g = this.#geometry[k];
    if (g === undefined) g = this.#geometry[k] = rangeGeometry(new Cidr(this.family, this.cidr.network, this.slotMask - k));
    const text = this.family === 4
      ? formatIPv4Cidr((this.base4 + slot * this.slotScale) >>> 0, this.slotMask - k)
      : String(new Cidr(6, this.cidr.network + (BigInt(slot) << this.#slotShift), this.slotMask - k));
    return { first: g.first, size: g.size, hostBits: g.hostBits, cidr: text, base: slot * this.slotScale + g.first };
  }

  /**
   * IPv6 without BigInt: slot and rel of an address given as 8 groups
   * (parseIPv6Groups), or undefined outside this pool CIDR; rel is -1 past
   * the slot's capped range.
   */
  locate6(g: ArrayLike<number>): { slot: number; rel: number } | undefined {
    const net = this.#net6;
    const prefix = this.cidr.prefix;
    for (let i = 0; i < 8 && prefix > i * 16; i++) {
      const bits = Math.min(16, prefix - i * 16);
      const mask = (0xffff << (16 - bits)) & 0xffff;
      if ((((g[i] as number) ^ (net[i] as number)) & mask) !== 0) return undefined;
    }
    const slot = bitsAt(g, prefix, this.slotMask - prefix);
    // past the cap: an address bit between the slot and the low hostBits is set
    const capFrom = this.slotMask;
    const capTo = 128 - this.hostBits;
    const past = capTo > capFrom && bitsAt(g, capFrom, capTo - capFrom) !== 0;
    const host = bitsAt(g, 128 - this.hostBits, this.hostBits);
    return { slot, rel: past ? -1 : slot * this.slotScale + host };
  }

  /** IPv4: true if the u32 address lies in this pool CIDR. */
  holds4(ip: number): boolean {
    return this.family === 4 && ((ip ^ this.base4) & this.mask4) === 0;
  }

  /** rel of an address inside this pool CIDR, or -1 if it lies past its slot's capped IPv6 range. */
  relOf(value: bigint): number {
    if (this.family === 4) return Number(value) - this.base4;
    const d = value - this.cidr.network;
    const slot = Number(d >> this.#slotShift);
    const host = d - (BigInt(slot) << this.#slotShift);
    return host < BigInt(this.slotScale) ? slot * this.slotScale + Number(host) : -1;
  }

  /** Slot that holds an address inside this pool CIDR. */
  slotOfValue(value: bigint): number {
    return Number((value - this.cidr.network) >> this.#slotShift);
  }

  slotOfRel(rel: number): number {
    return Math.floor(rel / this.slotScale);
  }

  /** Text of the address at rel. */
  addressOf(rel: number): string {
    if (this.family === 4) return formatIPv4((this.base4 + rel) >>> 0);
    const slot = Math.floor(rel / this.slotScale);
    const v = this.cidr.network + (BigInt(slot) << this.#slotShift) + BigInt(rel - slot * this.slotScale);
    const g: number[] = [];
    for (let i = 7, x = v; i >= 0; i--, x >>= 16n) g[i] = Number(x & 0xffffn);
    return formatIPv6Groups(g);
  }

  /**
   * A formatter for the pod addresses of the subnet at `slot` that allocates
   * only the result string: IPv4 subnets of /24 or longer reuse the first
   * three octets; IPv6 ones patch the last group.
   */
  formatter(slot: number, hostBits: number): (rel: number) => string {
    if (this.family === 4) {
      if (hostBits <= 8) {
        const net = (this.base4 + slot * this.slotScale) >>> 0;
        const head = `${octet(net >>> 24)}.${octet((net >>> 16) & 255)}.${octet((net >>> 8) & 255)}.`;
        return (rel) => head + octet((this.base4 + rel) & 255);
      }
      return (rel) => formatIPv4((this.base4 + rel) >>> 0);
    }
    const v = this.cidr.network + (BigInt(slot) << this.#slotShift);
    const groups: number[] = [];
    for (let i = 7, x = v; i >= 0; i--, x >>= 16n) groups[i] = Number(x & 0xffffn);
    const last = groups[7] as number;
    const origin = slot * this.slotScale;
    // A pod address differs from its subnet only in the last group, and a usable one has
    // a non-zero last group, so the canonical text of groups 0..6 (and where "::" goes) is
    // fixed: format it once with a stand-in last group, then append the hex of the real one.
    groups[7] = 1;
    const head = formatIPv6Groups(groups).slice(0, -1);
    return (rel) => {
      const g7 = last + (rel - origin);
      if (g7 === 0) { // only a /127 or /128 range can hand out such an address
        groups[7] = 0;
        return formatIPv6Groups(groups);
      }
      return head + g7.toString(16);
    };
  }
}

/** The `len` (<= 32) address bits from bit `from` (0 = most significant) of 8 16-bit groups. A capped span past 32 bits only needs "any set", which the callers use it for. */
function bitsAt(g: ArrayLike<number>, from: number, len: number): number {
  let v = 0;
  let any = 0;
  for (let pos = from; pos < from + len; pos++) {
    const bit = ((g[pos >> 4] as number) >> (15 - (pos & 15))) & 1;
    any |= bit;
    v = len <= 32 ? v * 2 + bit : v;
  }
  return len <= 32 ? v : any;
}

const allocateNextChunk: Chunk<PoolCidr> = (p, n, at, _out, slot, strategy) => p._podAllocateBatch(slot, strategy, n, at);
