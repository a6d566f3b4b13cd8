/**
 * Baseline 1: the same operations in plain TypeScript over typed arrays, no
 * WASM. Honest, decent code: 32-bit words, a hierarchical "word is full"
 * summary for large bitmaps (the same idea as the core), ctz via Math.clz32,
 * flat arrays for a cluster of per-node ranges. It shows what the WASM core
 * buys over well-written JS.
 */
const ALL = 0xffffffff;

/** ctz of a non-zero 32-bit value. */
const ctz = (x: number): number => 31 - Math.clz32(x & -x);

export const NEXT_FIT = 0;
export const FIRST_FREE = 1;
export const RANDOM = 2;

/** Hierarchical bitmap over 32-bit words: leaves plus summary levels (bit set = word below full). */
export class TypedBitmap {
  readonly size: number;
  readonly levels: Uint32Array[];
  used = 0;
  cursor = 0;
  #rng = 0x9e3779b9;

  constructor(size: number) {
    this.size = size;
    this.levels = [];
    let items = size;
    do {
      const words = (items + 31) >>> 5;
      const w = new Uint32Array(words);
      if (items & 31) w[words - 1] = (ALL << (items & 31)) >>> 0; // padding reads as taken
      this.levels.push(w);
      items = words;
    } while (items > 1);
  }

  /** Bytes of state. */
  get bytes(): number {
    return this.levels.reduce((n, l) => n + l.byteLength, 0) + 16;
  }

  #markFull(wi: number): void {
    for (let l = 1; l < this.levels.length; l++) {
      const lv = this.levels[l] as Uint32Array;
      const j = wi >>> 5;
      const w = ((lv[j] as number) | (1 << (wi & 31))) >>> 0;
      lv[j] = w;
      if (w !== ALL) return;
      wi = j;
    }
  }

  #markNotFull(wi: number): void {
    for (let l = 1; l < this.levels.length; l++) {
      const lv = this.levels[l] as Uint32Array;
      const j = wi >>> 5;
      const old = lv[j] as number;
      lv[j] = old & ~(1 << (wi & 31));
      if (old !== ALL) return;
      wi = j;
    }
  }

  /** First free offset >= pos, or -1. */
  findFrom(pos: number): number {
    const levels = this.levels;
    const top = levels.length - 1;
    let level = 0;
    let idx = pos;
    let items = this.size;
    for (;;) {
      if (idx >= items) return -1;
      const wi = idx >>> 5;
      const free = ~(levels[level] as Uint32Array)[wi]! & (ALL << (idx & 31));
      if (free !== 0) { idx = (wi << 5) + ctz(free); break; }
      if (level === top) return -1;
      items = (items + 31) >>> 5;
      idx = wi + 1;
      level++;
    }
    while (level > 0) {
      level--;
      idx = (idx << 5) + ctz(~(levels[level] as Uint32Array)[idx]!);
    }
    return idx;
  }

  allocateNext(strategy: number): number {
    if (this.used >= this.size) return -1;
    let start = 0;
    if (strategy === NEXT_FIT) start = this.cursor;
    else if (strategy === RANDOM) {
      let s = this.#rng;
      s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
      this.#rng = s;
      start = Math.floor(((s >>> 0) / 4294967296) * this.size);
    }
    let i = this.findFrom(start);
    if (i < 0) i = this.findFrom(0);
    const leaf = this.levels[0] as Uint32Array;
    const wi = i >>> 5;
    const w = ((leaf[wi] as number) | (1 << (i & 31))) >>> 0;
    leaf[wi] = w;
    if (w === ALL) this.#markFull(wi);
    this.used++;
    this.cursor = i + 1 < this.size ? i + 1 : 0;
    return i;
  }

  release(i: number): boolean {
    if (i < 0 || i >= this.size) return false;
    const leaf = this.levels[0] as Uint32Array;
    const wi = i >>> 5;
    const old = leaf[wi] as number;
    const bit = 1 << (i & 31);
    if ((old & bit) === 0) return false;
    leaf[wi] = old & ~bit;
    if (old === ALL) this.#markNotFull(wi);
    this.used--;
    return true;
  }

  has(i: number): boolean {
    return i >= 0 && i < this.size && (((this.levels[0] as Uint32Array)[i >>> 5] as number) & (1 << (i & 31))) !== 0;
  }
}

/**
 * A cluster in plain TS: a node-subnet bitmap, and per node slot a pod
 * range of `podSize` usable addresses (network and broadcast skipped) kept
 * as `wpn` 32-bit words in one flat array, scanned word by word.
 */
export class TypedCluster {
  readonly base: number;
  readonly hostBits: number;
  readonly slots: number;
  readonly podSize: number;
  readonly wpn: number;
  readonly nodes: TypedBitmap;
  /** Node id per slot (0 = none). */
  readonly slotNode: Int32Array;
  readonly words: Uint32Array;
  readonly podUsed: Uint16Array;
  readonly podCursor: Uint16Array;
  /** Owner id per address offset (0 = none), created on first use. */
  owners: Int32Array | undefined;
  readonly strategy: number;
  #rng = 0x2545f491;

  /** base: the pool network as u32; clusterBits/nodeBits: prefix lengths. */
  constructor(base: number, clusterPrefix: number, nodePrefix: number, strategy = NEXT_FIT) {
    this.base = base >>> 0;
    this.hostBits = 32 - nodePrefix;
    this.slots = 2 ** (nodePrefix - clusterPrefix);
    this.podSize = 2 ** this.hostBits - 2;
    this.wpn = (this.podSize + 31) >>> 5;
    this.nodes = new TypedBitmap(this.slots);
    this.slotNode = new Int32Array(this.slots);
    this.words = new Uint32Array(this.slots * this.wpn);
    this.podUsed = new Uint16Array(this.slots);
    this.podCursor = new Uint16Array(this.slots);
    this.strategy = strategy;
  }

  get bytes(): number {
    return this.nodes.bytes + this.slotNode.byteLength + this.words.byteLength + this.podUsed.byteLength +
      this.podCursor.byteLength + (this.owners?.byteLength ?? 0);
  }

  /** Carves a node slot and gives it to node id `node`; -1 when full. */
  addNode(node: number): number {
    const slot = this.nodes.allocateNext(NEXT_FIT);
    if (slot < 0) return -1;
    this.slotNode[slot] = node;
    const w0 = slot * this.wpn;
    this.words.fill(0, w0, w0 + this.wpn);
    const pad = this.podSize & 31;
    if (pad) this.words[w0 + this.wpn - 1] = (ALL << pad) >>> 0;
    this.podUsed[slot] = 0;
    this.podCursor[slot] = 0;
    return slot;
  }

  removeNode(slot: number): void {
    this.slotNode[slot] = 0;
    this.nodes.release(slot);
  }

  /** Allocates a pod address in `slot`; returns it as u32, or -1 when full. */
  allocate(slot: number): number {
    const size = this.podSize;
    const used = this.podUsed[slot] as number;
    if (used >= size) return -1;
    const words = this.words;
    const w0 = slot * this.wpn;
    let start = 0;
    if (this.strategy === NEXT_FIT) start = this.podCursor[slot] as number;
    else if (this.strategy === RANDOM) {
      let s = this.#rng;
      s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
      this.#rng = s;
      start = Math.floor(((s >>> 0) / 4294967296) * size);
    }
    let wi = start >>> 5;
    let free = ~(words[w0 + wi] as number) & (ALL << (start & 31));
    while (free === 0) {
      wi = wi + 1 === this.wpn ? 0 : wi + 1;
      free = ~(words[w0 + wi] as number);
    }
    const bit = ctz(free);
    words[w0 + wi] = (words[w0 + wi] as number) | (1 << bit);
    const off = (wi << 5) + bit;
    this.podUsed[slot] = used + 1;
    this.podCursor[slot] = off + 1 < size ? off + 1 : 0;
    return (this.base + (slot << this.hostBits) + 1 + off) >>> 0;
  }

  /** Allocates with an owner id. */
  allocateOwned(slot: number, owner: number): number {
    const ip = this.allocate(slot);
    if (ip >= 0) {
      this.owners ??= new Int32Array(this.slots << this.hostBits);
      this.owners[ip - this.base] = owner;
    }
    return ip;
  }

  /** Releases a u32 address; returns its owner id (0 = none) or -1 if it was not allocated. */
  release(ip: number): number {
    const rel = (ip - this.base) >>> 0;
    const slot = rel >>> this.hostBits;
    if (slot >= this.slots || this.slotNode[slot] === 0) return -1;
    const off = (rel & ((1 << this.hostBits) - 1)) - 1;
    if (off < 0 || off >= this.podSize) return -1;
    const i = slot * this.wpn + (off >>> 5);
    const w = this.words[i] as number;
    const bit = 1 << (off & 31);
    if ((w & bit) === 0) return -1;
    this.words[i] = w & ~bit;
    this.podUsed[slot] = (this.podUsed[slot] as number) - 1;
    const owners = this.owners;
    if (owners === undefined) return 0;
    const o = owners[rel] as number;
    owners[rel] = 0;
    return o;
  }

  /** Node id of the slot holding a u32 address, or 0. */
  lookup(ip: number): number {
    const slot = ((ip - this.base) >>> 0) >>> this.hostBits;
    return slot < this.slots ? (this.slotNode[slot] as number) : 0;
  }

  /** Owner id of an address: -1 if not allocated, 0 without owner. */
  owner(ip: number): number {
    const rel = (ip - this.base) >>> 0;
    const slot = rel >>> this.hostBits;
    if (slot >= this.slots) return -1;
    const off = (rel & ((1 << this.hostBits) - 1)) - 1;
    if (off < 0 || off >= this.podSize) return -1;
    if ((((this.words[slot * this.wpn + (off >>> 5)] as number) >>> (off & 31)) & 1) === 0) return -1;
    return this.owners === undefined ? 0 : (this.owners[rel] as number);
  }
}

const OCTET: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

/** u32 -> dotted quad (table-driven, as decent TS would). */
export function formatIPv4(ip: number): string {
  return `${OCTET[ip >>> 24]}.${OCTET[(ip >>> 16) & 255]}.${OCTET[(ip >>> 8) & 255]}.${OCTET[ip & 255]}`;
}

/** Dotted quad -> u32, or -1. */
export function parseIPv4(s: string): number {
  let ip = 0;
  let part = 0;
  let dots = 0;
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0) return -1;
      ip = ip * 256 + part; part = 0; digits = 0; dots++;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      part = part * 10 + c - 48; digits++;
      if (part > 255) return -1;
    } else return -1;
  }
  return dots === 3 && digits > 0 ? ip * 256 + part : -1;
}

/** String API over TypedCluster: node names, owner names, string addresses. */
export class TypedStringPool {
  readonly cluster: TypedCluster;
  readonly #nodes = new Map<string, number>();
  readonly #ownerIds = new Map<string, number>();
  readonly #ownerNames: string[] = [""];
  readonly #nodeNames: string[] = [""];

  constructor(cluster: TypedCluster) {
    this.cluster = cluster;
    cluster.owners ??= new Int32Array(cluster.slots << cluster.hostBits);
  }

  addNode(name: string): string {
    const id = this.#nodes.size + 1;
    const slot = this.cluster.addNode(id);
    if (slot < 0) throw new Error("full");
    this.#nodes.set(name, slot);
    this.#nodeNames[id] = name;
    return this.subnet(name);
  }

  removeNode(name: string): boolean {
    const slot = this.#nodes.get(name);
    if (slot === undefined) return false;
    this.cluster.removeNode(slot);
    this.#nodes.delete(name);
    return true;
  }

  /** The node's subnet as text. */
  subnet(name: string): string {
    const slot = this.#nodes.get(name);
    return slot === undefined ? "" : `${formatIPv4((this.cluster.base + slot * 2 ** this.cluster.hostBits) >>> 0)}/${32 - this.cluster.hostBits}`;
  }

  allocate(node: string, owner: string): string {
    const slot = this.#nodes.get(node);
    if (slot === undefined) throw new Error(`unknown node ${node}`);
    let o = this.#ownerIds.get(owner);
    if (o === undefined) {
      o = this.#ownerNames.length;
      this.#ownerNames.push(owner);
      this.#ownerIds.set(owner, o);
    }
    const ip = this.cluster.allocateOwned(slot, o);
    if (ip < 0) throw new Error("full");
    return formatIPv4(ip);
  }

  release(ip: string): boolean {
    const v = parseIPv4(ip);
    if (v < 0) throw new Error(`invalid IP ${ip}`);
    return this.cluster.release(v) >= 0;
  }

  /** Node and owner names of an address (owner ids are never reused here: a released owner's name stays). */
  lookup(ip: string): { node: string; owner: string | undefined } | undefined {
    const v = parseIPv4(ip);
    if (v < 0) throw new Error(`invalid IP ${ip}`);
    const node = this.#nodeNames[this.cluster.lookup(v)];
    if (node === undefined || node === "") return undefined;
    const o = this.cluster.owner(v);
    return { node, owner: o > 0 ? this.#ownerNames[o] : undefined };
  }
}
