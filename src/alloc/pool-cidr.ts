/**
 * One pool CIDR of a ClusterPool: its CidrSet of slots and its WASM pool
 * entry (slot table, pod ranges). A node subnet is an aligned run of 2^k
 * slots (k > 0 only when big holes and smaller overflow subnets share the
 * pool). Maps addresses to pool-relative numbers, rel = slot << hostBits | host.
 */
import { Cidr, formatIPv4, formatIPv6Groups, octet } from "../net/ip.js";
import { CidrSet } from "./cidr-set.js";
import { withoutReaper } from "../core/bitmap.js";
import { rangeGeometry, IPV6_RANGE_CAP_BITS, type RangeGeometry } from "../net/range.js";
import type { Engine } from "../core/engine.js";
import { ENGINE_ARENA, POOL_BYTES, POOL_FREE_REGIONS, SLOT_BYTES } from "../core/layout.js";

/** Where a node subnet sits in its pool and what its pod range looks like. */
export interface SubnetGeometry extends RangeGeometry {
  readonly cidr: string;
  /** rel of pod offset 0. */
  readonly base: number;
}

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

  constructor(engine: Engine, table: number, index: number, cidr: Cidr, slotMask: number, podFlags: number) {
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

  /**
   * Gives every region of this pool CIDR back to `engine`: the pod ranges
   * (held by a slot, owner arrays zeroed, or recycled in the entry's stacks of
   * size class 0 and 1, whose ranges have `bits0` and `bits1` addresses), the
   * slot table and the slot bitmap. The entry must not be used afterwards.
   */
  release(engine: Engine, bits0: number, bits1: number): void {
    const w = engine.wasm;
    const u32 = engine.u32();
    const table = this.slotTable >>> 2;
    let last = 0;
    for (let s = 0; s < this.set.capacity; s++) {
      const r = u32[table + s * 2 + 1] as number; // SLOT entry +4: region
      if (r === 0 || r === last) continue; // a run of slots shares one region
      last = r;
      const nbits = u32[r >>> 2] as number; // BITMAP +0 nbits
      const aux = u32[(r >>> 2) + 4] as number; // BITMAP +16 aux
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
      ? `${formatIPv4((this.base4 + slot * this.slotScale) >>> 0)}/${this.slotMask - k}`
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
  formatter(slot: number, g: SubnetGeometry): (rel: number) => string {
    if (this.family === 4) {
      if (g.hostBits <= 8) {
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
