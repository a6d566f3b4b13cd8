/**
 * One pool CIDR of a ClusterPool: its CidrSet of node subnets and its WASM
 * pool entry (slot table, pod ranges). Maps addresses to pool-relative
 * numbers, rel = slot << hostBits | host, and back.
 */
import { type Cidr, parseCidr, formatIPv4, formatIPv6Groups, octet } from "./ip.js";
import { CidrSet } from "./cidr-set.js";
import { rangeGeometry, type RangeGeometry } from "./range.js";
import type { Engine } from "./engine.js";
import { ENGINE_ARENA, POOL_BYTES, SLOT_BYTES } from "./wasm.js";

export class PoolCidr {
  /** Position in the pool table; also the high part of address keys. */
  readonly index: number;
  /** Offset of the WASM pool entry. */
  readonly entry: number;
  readonly family: 4 | 6;
  readonly cidr: Cidr;
  readonly set: CidrSet;
  readonly nodeMask: number;
  /** Geometry of each node subnet's pod range. */
  readonly pods: RangeGeometry;
  /** IPv4: the pool network as u32. */
  readonly base4: number;
  readonly #hostScale: number;
  readonly #nodeShift: bigint;

  constructor(engine: Engine, table: number, index: number, cidr: Cidr, nodeMask: number, podFlags: number) {
    this.index = index;
    this.entry = table + index * POOL_BYTES;
    this.family = cidr.family;
    this.cidr = cidr;
    this.nodeMask = nodeMask;
    this.set = new CidrSet(String(cidr), nodeMask, { engine });
    this.pods = rangeGeometry(parseCidr(this.set.indexToCidr(0)));
    this.base4 = cidr.family === 4 ? Number(cidr.network) : 0;
    this.#hostScale = 2 ** this.pods.hostBits;
    this.#nodeShift = BigInt(cidr.bits - nodeMask);
    const slotTable = engine.alloc(this.set.capacity * SLOT_BYTES);
    const mask4 = cidr.family === 4 ? Number(BigInt.asUintN(32, ~((1n << BigInt(32 - cidr.prefix)) - 1n))) : 0;
    engine.wasm.poolInit(
      this.entry, cidr.family, this.base4, mask4, this.pods.hostBits, this.set.capacity, this.pods.first,
      this.pods.size, this.set.region, slotTable, 0, ENGINE_ARENA,
    );
  }

  /** The node subnet at `slot`. */
  subnet(slot: number): string {
    return this.set.indexToCidr(slot);
  }

  /** rel of an address inside this pool CIDR, or -1 if it lies beyond its slot's (capped) range. */
  relOf(value: bigint): number {
    if (this.family === 4) return Number(value) - this.base4;
    const d = value - this.cidr.network;
    const slot = Number(d >> this.#nodeShift);
    const host = d - (BigInt(slot) << this.#nodeShift);
    return host < BigInt(this.#hostScale) ? slot * this.#hostScale + Number(host) : -1;
  }

  slotOfRel(rel: number): number {
    return Math.floor(rel / this.#hostScale);
  }

  /** Text of the address at rel. */
  addressOf(rel: number): string {
    if (this.family === 4) return formatIPv4((this.base4 + rel) >>> 0);
    const slot = Math.floor(rel / this.#hostScale);
    const v = this.cidr.network + (BigInt(slot) << this.#nodeShift) + BigInt(rel - slot * this.#hostScale);
    const g: number[] = [];
    for (let i = 7, x = v; i >= 0; i--, x >>= 16n) g[i] = Number(x & 0xffffn);
    return formatIPv6Groups(g);
  }

  /**
   * A formatter for the pod addresses of one slot that allocates only the
   * result string: IPv4 subnets of /24 or longer reuse the first three
   * octets; IPv6 ones patch the last group.
   */
  formatter(slot: number): (rel: number) => string {
    if (this.family === 4) {
      const net = (this.base4 + slot * this.#hostScale) >>> 0;
      if (this.pods.hostBits <= 8) {
        const head = formatIPv4(net).replace(/\d+$/, "");
        return (rel) => head + octet((this.base4 + rel) & 255);
      }
      return (rel) => formatIPv4((this.base4 + rel) >>> 0);
    }
    const v = this.cidr.network + (BigInt(slot) << this.#nodeShift);
    const g: number[] = [];
    for (let i = 7, x = v; i >= 0; i--, x >>= 16n) g[i] = Number(x & 0xffffn);
    const last = g[7] as number;
    const origin = slot * this.#hostScale;
    return (rel) => {
      g[7] = last + (rel - origin);
      return formatIPv6Groups(g);
    };
  }
}
