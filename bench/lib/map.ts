/**
 * Baseline `map-ts`: the cluster-pool code a JS user would write. Node
 * subnets from a typed bitmap of slots, pods from a Uint32Array bitmap per
 * node, and two Maps: ip -> owner and owner -> ip (so an owner can be
 * released and an address's owner found). Strings in, strings out.
 */
const ctz = (x: number): number => 31 - Math.clz32(x & -x);

/** Next-fit over a bitmap of `slots` slots from `cursor`: sets the first free slot's bit and returns it, or -1 when all are taken. */
export function takeNextSlot(taken: Uint32Array, slots: number, cursor: number): number {
  for (let k = 0; k < slots; k++) {
    const s = (cursor + k) % slots;
    const w = taken[s >>> 5] as number;
    if ((w & (1 << (s & 31))) !== 0) continue;
    taken[s >>> 5] = w | (1 << (s & 31));
    return s;
  }
  return -1;
}

export class MapCluster {
  readonly base: number;
  readonly slots: number;
  readonly #taken: Uint32Array;
  #cursor = 0;
  readonly #slotOf = new Map<string, number>();
  readonly #nameOf: string[] = [];
  readonly #prefix: string[] = [];
  /** Per node slot: 8 words of pod bits (a /24: offsets 1..254 usable). */
  readonly #pods: Uint32Array;
  readonly ipOwner = new Map<string, string>();
  readonly ownerIp = new Map<string, string>();

  /** base: the pool network (u32), prefix: its length; node subnets are /24s. */
  constructor(base: number, prefix: number) {
    this.base = base >>> 0;
    this.slots = 2 ** (24 - prefix);
    this.#taken = new Uint32Array(Math.ceil(this.slots / 32));
    this.#pods = new Uint32Array(this.slots * 8);
  }

  addNode(name: string): string {
    const s = takeNextSlot(this.#taken, this.slots, this.#cursor);
    if (s >= 0) {
      this.#cursor = (s + 1) % this.slots;
      this.#slotOf.set(name, s);
      this.#nameOf[s] = name;
      const net = (this.base + s * 256) >>> 0;
      const head = `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.`;
      this.#prefix[s] = head;
      const p = s * 8;
      this.#pods[p] = 1; // network address
      this.#pods[p + 7] = 0x80000000; // broadcast
      return `${head}0/24`;
    }
    throw new Error("map-ts: no free node subnet");
  }

  allocate(node: string, owner: string): string {
    const s = this.#slotOf.get(node);
    if (s === undefined) throw new Error(`map-ts: unknown node ${node}`);
    if (this.ownerIp.has(owner)) throw new Error(`map-ts: ${owner} holds an address`);
    const p = s * 8;
    for (let i = 0; i < 8; i++) {
      const w = this.#pods[p + i] as number;
      if (w === 0xffffffff) continue;
      const bit = ctz(~w);
      this.#pods[p + i] = w | (1 << bit);
      const ip = (this.#prefix[s] as string) + ((i << 5) | bit);
      this.ipOwner.set(ip, owner);
      this.ownerIp.set(owner, ip);
      return ip;
    }
    throw new Error(`map-ts: node ${node} is full`);
  }

  /** The address as u32, or -1. */
  #parse(ip: string): number {
    let v = 0;
    let part = 0;
    let dots = 0;
    for (let i = 0; i < ip.length; i++) {
      const c = ip.charCodeAt(i);
      if (c === 46) { v = v * 256 + part; part = 0; dots++; } else part = part * 10 + (c - 48);
    }
    return dots === 3 ? (v * 256 + part) >>> 0 : -1;
  }

  lookup(ip: string): { node: string; owner: string | undefined } | undefined {
    const v = this.#parse(ip);
    const s = Math.floor((v - this.base) / 256);
    if (v < 0 || s < 0 || s >= this.slots) return undefined;
    const node = this.#nameOf[s];
    return node === undefined ? undefined : { node, owner: this.ipOwner.get(ip) };
  }

  release(ip: string): boolean {
    const owner = this.ipOwner.get(ip);
    if (owner === undefined) return false;
    this.ipOwner.delete(ip);
    this.ownerIp.delete(owner);
    const v = this.#parse(ip);
    const off = v - this.base;
    const s = off >>> 8;
    const host = off & 255;
    const i = s * 8 + (host >>> 5);
    this.#pods[i] = (this.#pods[i] as number) & ~(1 << (host & 31));
    return true;
  }
}
