/**
 * Baseline `map-multi-ts`: the multi-pool code a JS user would write, after
 * Cilium's multi-pool agent. One pool of /27 chunks carved from an IPv4
 * CIDR (a typed bitmap of chunk slots, next-fit); per node an array of its
 * chunks, each one 32-bit word of address bits (network and broadcast set,
 * so 30 usable as in ipcarve); a node takes another chunk when fewer than
 * `preAllocate` addresses are free (the watermark). Two Maps, ip -> owner
 * and owner -> ip, and one Map chunk slot -> owning node's chunk index.
 * Chunks never go back (the benchmark runs on a stopped clock, where
 * ipcarve's release delay never ends either).
 */
import { takeNextSlot } from "./map.js";

const ctz = (x: number): number => 31 - Math.clz32(x & -x);
const EMPTY = 0x80000001; // .0 (network) and .31 (broadcast) of a /27

interface MapNode {
  readonly slots: number[];
  free: number;
}

export class MapMultiPool {
  readonly base: number;
  readonly slots: number;
  readonly preAllocate: number;
  readonly #taken: Uint32Array;
  /** Address bits per chunk slot. */
  readonly #bits: Uint32Array;
  /** Text of each taken chunk's first three octets plus the fourth's base, e.g. "10.0.0." and 32. */
  readonly #head: string[] = [];
  readonly #low: Uint8Array;
  readonly #owner: (MapNode | undefined)[] = [];
  #cursor = 0;
  readonly #nodes = new Map<string, MapNode>();
  readonly ipOwner = new Map<string, string>();
  readonly ownerIp = new Map<string, string>();

  /** base: the pool network (u32), prefix: its length; chunks are /27s. */
  constructor(base: number, prefix: number, preAllocate: number) {
    this.base = base >>> 0;
    this.slots = 2 ** (27 - prefix);
    this.preAllocate = preAllocate;
    this.#taken = new Uint32Array(Math.ceil(this.slots / 32));
    this.#bits = new Uint32Array(this.slots);
    this.#low = new Uint8Array(this.slots);
  }

  #takeChunk(node: MapNode): void {
    const s = takeNextSlot(this.#taken, this.slots, this.#cursor);
    if (s >= 0) {
      this.#cursor = (s + 1) % this.slots;
      const net = (this.base + s * 32) >>> 0;
      this.#head[s] = `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.`;
      this.#low[s] = net & 255;
      this.#bits[s] = EMPTY;
      this.#owner[s] = node;
      node.slots.push(s);
      node.free += 30;
      return;
    }
    throw new Error("map-multi-ts: no free chunk");
  }

  addNode(name: string): void {
    const node: MapNode = { slots: [], free: 0 };
    this.#nodes.set(name, node);
    while (node.free < this.preAllocate) this.#takeChunk(node);
  }

  allocate(name: string, owner: string): string {
    const node = this.#nodes.get(name);
    if (node === undefined) throw new Error(`map-multi-ts: unknown node ${name}`);
    if (this.ownerIp.has(owner)) throw new Error(`map-multi-ts: ${owner} holds an address`);
    if (node.free === 0) this.#takeChunk(node);
    for (const s of node.slots) {
      const w = this.#bits[s] as number;
      if (w === 0xffffffff) continue;
      const bit = ctz(~w);
      this.#bits[s] = w | (1 << bit);
      node.free--;
      if (node.free < this.preAllocate) this.#takeChunk(node);
      const ip = (this.#head[s] as string) + ((this.#low[s] as number) + bit);
      this.ipOwner.set(ip, owner);
      this.ownerIp.set(owner, ip);
      return ip;
    }
    throw new Error(`map-multi-ts: node ${name} is full`);
  }

  release(ip: string): boolean {
    const owner = this.ipOwner.get(ip);
    if (owner === undefined) return false;
    this.ipOwner.delete(ip);
    this.ownerIp.delete(owner);
    let v = 0;
    let part = 0;
    for (let i = 0; i < ip.length; i++) {
      const c = ip.charCodeAt(i);
      if (c === 46) { v = v * 256 + part; part = 0; } else part = part * 10 + (c - 48);
    }
    const off = (v * 256 + part - this.base) >>> 0;
    const s = off >>> 5;
    this.#bits[s] = (this.#bits[s] as number) & ~(1 << (off & 31));
    (this.#owner[s] as MapNode).free++;
    return true;
  }
}
