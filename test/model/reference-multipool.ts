// A reference model of multi-pool ClusterPool for IPv4, written from the
// documented semantics the slow, obvious way: arrays of flags, linear scans,
// no WASM. Chunks come next-fit from the first pool CIDR with a free one;
// addresses next-fit inside a chunk (network and broadcast excluded); a node
// keeps at least preAllocate addresses free per pool; a chunk completely free
// beyond that watermark (later chunks first) goes back after releaseDelayMs.
import { ModelError } from "./reference-pool.js";

export { ModelError };

export interface ModelPool {
  readonly name: string;
  readonly cidrs: readonly string[];
  readonly mask: number;
  readonly pre: number;
  readonly delay: number;
  /** Nodes must have label tier=<selector> to draw from it. */
  readonly selector?: string;
}

const ip4 = (s: string): number => s.split(".").reduce((a, o) => a * 256 + Number(o), 0);
export const fmt4 = (v: number): string => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join(".");

interface Entry { readonly index: number; readonly net: number; readonly prefix: number; readonly slots: number; readonly taken: Uint8Array; cursor: number; removed: boolean }
interface Pool { readonly spec: ModelPool; readonly entries: Entry[] }
interface Chunk { readonly group: Group; readonly entry: Entry; readonly slot: number; readonly net: number; readonly size: number; readonly used: Uint8Array; cursor: number; excessSince: number; router: number }
interface Group { readonly node: Node; readonly pool: Pool; readonly chunks: Chunk[] }
interface Node { readonly name: string; readonly tier: string | undefined; readonly groups: Map<Pool, Group>; draining: boolean; deadline: number }

export class ReferenceMultiPool {
  now = 0;
  readonly pools = new Map<string, Pool>();
  readonly entries: Entry[] = [];
  readonly nodes = new Map<string, Node>();
  /** Allocated address -> owner (undefined: allocateIPv4, no owner). */
  readonly addrs = new Map<number, string | undefined>();
  readonly excess = new Set<Chunk>();
  readonly short = new Set<Group>();
  /** Reuse cooldown (options.reuse.cooldownMs), undefined: none. Released addresses wait here, oldest first. */
  readonly cooldownMs: number | undefined;
  readonly cooling: { ip: number; chunk: Chunk; time: number }[] = [];
  /** options.reserveRouterIP. */
  readonly router: "first" | "last" | false;
  /** Router addresses and reserved addresses: taken, never a pod's. */
  readonly reservedIps = new Set<number>();
  /** reserve()d CIDRs in order: [network, prefix]. */
  readonly reservations: [number, number][] = [];

  constructor(pools: readonly ModelPool[], o: { cooldownMs?: number; router?: "first" | "last" | false } = {}) {
    this.cooldownMs = o.cooldownMs;
    this.router = o.router ?? false;
    for (const p of pools) {
      const pool: Pool = { spec: p, entries: [] };
      this.pools.set(p.name, pool);
      for (const c of p.cidrs) this.#entry(pool, c);
    }
  }

  #entry(pool: Pool, cidr: string): void {
    const [a, b] = cidr.split("/");
    const prefix = Number(b);
    const slots = 2 ** (pool.spec.mask - prefix);
    const e: Entry = { index: this.entries.length, net: ip4(a as string), prefix, slots, taken: new Uint8Array(slots), cursor: 0, removed: false };
    this.entries.push(e);
    pool.entries.push(e);
    for (const [net, prefix] of this.reservations) this.#reserveSlots(pool, e, net, prefix);
  }

  /** Slots of entry e a reservation covers (prefix up to the pool's mask), [from, to]; from > to: none. */
  #slotsOf(pool: Pool, e: Entry, net: number, prefix: number): [number, number] {
    const size = 2 ** (32 - prefix);
    if (prefix > pool.spec.mask || net + size <= e.net || net >= e.net + 2 ** (32 - e.prefix)) return [1, 0];
    const hostBits = 32 - pool.spec.mask;
    const lo = Math.max(net, e.net);
    const hi = Math.min(net + size, e.net + 2 ** (32 - e.prefix)) - 1;
    return [Math.floor((lo - e.net) / 2 ** hostBits), Math.floor((hi - e.net) / 2 ** hostBits)];
  }

  #reserveSlots(pool: Pool, e: Entry, net: number, prefix: number): void {
    const [a, b] = this.#slotsOf(pool, e, net, prefix);
    for (let s = a; s <= b; s++) if (!e.taken[s]) e.taken[s] = 2; // 2: reserved, no chunk
  }

  /** Usable offsets of chunk c an address-level reservation covers, [from, to]. */
  #offsOf(c: Chunk, net: number, prefix: number): [number, number] {
    if (prefix <= c.group.pool.spec.mask) return [1, 0];
    const size = 2 ** (32 - prefix);
    const cEnd = c.net + 2 ** (32 - c.group.pool.spec.mask);
    if (net + size <= c.net || net >= cEnd) return [1, 0];
    return [Math.max(net - this.#first(c), 0), Math.min(net + size - 1 - this.#first(c), c.size - 1)];
  }

  #covered(c: Chunk, off: number): boolean {
    return this.reservations.some(([net, prefix]) => {
      const [a, b] = this.#offsOf(c, net, prefix);
      return off >= a && off <= b;
    });
  }

  #cidrOf(c: Chunk): string { return `${fmt4(c.net)}/${c.group.pool.spec.mask}`; }
  #free(g: Group): number { return g.chunks.reduce((n, c) => n + c.size - c.used.reduce((a, x) => a + x, 0), 0); }
  #usedOf(c: Chunk): number { return c.used.reduce((a, x) => a + x, 0); }
  #room(p: Pool): boolean { return p.entries.some((e) => e.taken.some((t) => t === 0)); }
  #serves(p: Pool, n: Node): boolean { return p.spec.selector === undefined || n.tier === p.spec.selector; }
  #group(n: Node, p: Pool): Group {
    let g = n.groups.get(p);
    if (!g) n.groups.set(p, (g = { node: n, pool: p, chunks: [] }));
    return g;
  }

  /** Next-fit slot in the first pool CIDR with a free one. */
  #take(g: Group): Chunk | undefined {
    for (const e of g.pool.entries) {
      for (let k = 0; k < e.slots; k++) {
        const s = (e.cursor + k) % e.slots;
        if (e.taken[s]) continue;
        e.cursor = s + 1 < e.slots ? s + 1 : 0;
        return this.#takeSlot(g, e, s);
      }
    }
    return undefined;
  }

  /** Gives slot s of entry e to the group (the entry's next-fit cursor is the caller's). */
  #takeSlot(g: Group, e: Entry, s: number): Chunk {
    e.taken[s] = 1;
    const hostBits = 32 - g.pool.spec.mask;
    const size = hostBits <= 1 ? 2 ** hostBits : 2 ** hostBits - 2;
    const hadRouter = g.chunks.some((x) => x.router >= 0);
    const c: Chunk = { group: g, entry: e, slot: s, net: e.net + s * 2 ** hostBits, size, used: new Uint8Array(size), cursor: 0, excessSince: -1, router: -1 };
    g.chunks.push(c);
    if (this.router !== false && g.pool.spec.name === "default" && !hadRouter && size > 0) {
      c.router = this.router === "first" ? 0 : size - 1;
      c.used[c.router] = 1;
      this.reservedIps.add(this.#first(c) + c.router);
    }
    for (const [net, prefix] of this.reservations) {
      const [a, b] = this.#offsOf(c, net, prefix);
      for (let off = a; off <= b; off++) {
        if (c.used[off]) continue;
        c.used[off] = 1;
        this.reservedIps.add(this.#first(c) + off);
      }
    }
    return c;
  }

  /**
   * allocate(node, owner, { pool, ips: ip }): the address in a chunk the node
   * holds, or in a free chunk of the pool, which the node takes; no next-fit
   * cursor moves (neither the entry's nor the chunk's).
   */
  allocateWanted(node: string, owner: string, pool: string, ipText: string): string {
    const n = this.nodes.get(node);
    if (!n || n.draining) throw new ModelError("UNKNOWN_NODE");
    const p = this.pools.get(pool);
    if (!p || !this.#serves(p, n)) throw new ModelError("UNKNOWN_POOL");
    this.tick();
    const ip = ip4(ipText);
    const e = p.entries.find((x) => ip >= x.net && ip < x.net + 2 ** (32 - x.prefix));
    if (!e) throw new ModelError("NOT_IN_RANGE");
    const hostBits = 32 - p.spec.mask;
    const slot = Math.floor((ip - e.net) / 2 ** hostBits);
    const g = this.#group(n, p);
    let c = this.#chunkAt(ip);
    if (c && c.group !== g) throw new ModelError("NOT_IN_RANGE");
    const first = hostBits <= 1 ? e.net + slot * 2 ** hostBits : e.net + slot * 2 ** hostBits + 1;
    const size = hostBits <= 1 ? 2 ** hostBits : 2 ** hostBits - 2;
    const off = ip - first;
    if (off < 0 || off >= size) throw new ModelError("NOT_IN_RANGE");
    if (c && c.used[off]) throw new ModelError("ALREADY_ALLOCATED");
    if (!c && e.taken[slot]) throw new ModelError("NOT_IN_RANGE"); // a reserved slot
    if (!c) {
      // taking the chunk would take the address first: the node's router address, or a reserved one
      const routerOff = this.router !== false && p.spec.name === "default" && !g.chunks.some((x) => x.router >= 0) ? (this.router === "first" ? 0 : size - 1) : -1;
      const reserved = this.reservations.some(([rn, rp]) => rp > p.spec.mask && ip >= rn && ip < rn + 2 ** (32 - rp));
      if (off === routerOff || reserved) throw new ModelError("ALREADY_ALLOCATED");
    }
    c ??= this.#takeSlot(g, e, slot);
    c.used[off] = 1;
    this.addrs.set(ip, owner);
    this.#refill(g);
    this.#evaluate(g);
    return fmt4(ip);
  }

  /** reserve(cidr): IN_USE (a chunk in a covered slot), ALREADY_ALLOCATED (a taken address), NOT_IN_RANGE (no pool CIDR). */
  reserve(cidr: string): void {
    this.tick();
    const [a, b] = cidr.split("/");
    const net = ip4(a as string);
    const prefix = Number(b);
    const size = 2 ** (32 - prefix);
    const hit: [Pool, Entry][] = [];
    for (const p of this.pools.values()) for (const e of p.entries) if (net < e.net + 2 ** (32 - e.prefix) && net + size > e.net) hit.push([p, e]);
    if (hit.length === 0) throw new ModelError("NOT_IN_RANGE");
    if (this.reservations.some(([n, q]) => n === net && q === prefix)) return;
    const chunks = this.#chunks();
    for (const [p, e] of hit) {
      const [s0, s1] = this.#slotsOf(p, e, net, prefix);
      for (let s = s0; s <= s1; s++) if (chunks.some((c) => c.entry === e && c.slot === s)) throw new ModelError("IN_USE");
      for (const c of chunks) {
        if (c.entry !== e) continue;
        const [o0, o1] = this.#offsOf(c, net, prefix);
        for (let off = o0; off <= o1; off++) if (c.used[off] && !this.reservedIps.has(this.#first(c) + off)) throw new ModelError("ALREADY_ALLOCATED");
      }
    }
    this.reservations.push([net, prefix]);
    for (const [p, e] of hit) {
      this.#reserveSlots(p, e, net, prefix);
      for (const c of chunks) {
        if (c.entry !== e) continue;
        const [o0, o1] = this.#offsOf(c, net, prefix);
        if (o0 > o1) continue;
        for (let off = o0; off <= o1; off++) {
          if (c.used[off]) continue;
          c.used[off] = 1;
          this.reservedIps.add(this.#first(c) + off);
        }
        this.#refill(c.group);
        this.#evaluate(c.group);
      }
    }
  }

  unreserve(cidr: string): void {
    this.tick();
    const [a, b] = cidr.split("/");
    const net = ip4(a as string);
    const prefix = Number(b);
    const i = this.reservations.findIndex(([n, q]) => n === net && q === prefix);
    if (i < 0) return;
    this.reservations.splice(i, 1);
    const chunks = this.#chunks();
    for (const p of this.pools.values()) {
      for (const e of p.entries) {
        const [s0, s1] = this.#slotsOf(p, e, net, prefix);
        for (let s = s0; s <= s1; s++) {
          if (e.taken[s] !== 2) continue;
          if (!this.reservations.some(([n, q]) => { const [x, y] = this.#slotsOf(p, e, n, q); return s >= x && s <= y; })) e.taken[s] = 0;
        }
        for (const c of chunks) {
          if (c.entry !== e) continue;
          const [o0, o1] = this.#offsOf(c, net, prefix);
          let freed = false;
          for (let off = o0; off <= o1; off++) {
            const ip = this.#first(c) + off;
            if (off === c.router || this.#covered(c, off) || !this.reservedIps.delete(ip)) continue;
            c.used[off] = 0;
            freed = true;
          }
          if (freed || o0 <= o1) this.#evaluate(c.group);
        }
      }
    }
    this.#topUp();
  }

  #chunks(): Chunk[] {
    const out: Chunk[] = [];
    for (const n of this.nodes.values()) for (const g of n.groups.values()) out.push(...g.chunks);
    return out;
  }

  #first(c: Chunk): number { return 32 - c.group.pool.spec.mask <= 1 ? c.net : c.net + 1; }

  #drop(c: Chunk): void {
    for (let i = 0; i < c.size; i++) {
      if (c.used[i]) this.addrs.delete(this.#first(c) + i);
      this.reservedIps.delete(this.#first(c) + i);
    }
    c.entry.taken[c.slot] = 0;
    c.group.chunks.splice(c.group.chunks.indexOf(c), 1);
    this.excess.delete(c);
  }

  #refill(g: Group): void {
    this.short.delete(g);
    const pre = g.pool.spec.pre;
    if (pre === 0 || g.node.draining) return; // a draining node takes nothing more
    let free = this.#free(g);
    while (free < pre) {
      const c = this.#take(g);
      if (!c) {
        this.short.add(g);
        return;
      }
      free += c.size - this.#usedOf(c);
    }
  }

  #evaluate(g: Group): void {
    const pre = g.pool.spec.pre;
    let free = this.#free(g);
    for (let i = g.chunks.length - 1; i >= 0; i--) {
      const c = g.chunks[i] as Chunk;
      if (this.#usedOf(c) === 0 && free - c.size >= pre) {
        free -= c.size;
        if (c.excessSince < 0) {
          c.excessSince = this.now;
          this.excess.add(c);
        }
      } else if (c.excessSince >= 0) {
        c.excessSince = -1;
        this.excess.delete(c);
      }
    }
  }

  #topUp(): void {
    for (const g of [...this.short]) {
      if (!this.#room(g.pool)) continue;
      this.#refill(g);
      this.#evaluate(g);
    }
  }

  tick(): void {
    // cooldown first: an address whose chunk is still held (the same one) is free again
    while (this.cooling.length > 0 && (this.cooling[0] as { time: number }).time + (this.cooldownMs as number) <= this.now) {
      const q = this.cooling.shift() as { ip: number; chunk: Chunk };
      const c = q.chunk;
      if (!c.group.chunks.includes(c)) continue; // the chunk went back (node removed): a stale entry
      c.used[q.ip - this.#first(c)] = 0;
      this.addrs.delete(q.ip);
      this.#evaluate(c.group);
    }
    let n = 0;
    for (const c of [...this.excess]) {
      if (this.now - c.excessSince >= c.group.pool.spec.delay) {
        this.#drop(c);
        n++;
      }
    }
    // draining nodes whose grace ran out, in the order nodes were added
    for (const node of [...this.nodes.values()]) {
      if (node.draining && node.deadline <= this.now) {
        this.#forget(node);
        n++;
      }
    }
    if (n > 0) this.#topUp();
  }

  #forget(n: Node): void {
    for (const g of n.groups.values()) {
      for (const c of [...g.chunks]) this.#drop(c);
      this.short.delete(g);
    }
    this.nodes.delete(n.name);
  }

  /** The node's CIDRs: pools in name order, each pool's chunks in (entry, slot) order. */
  cidrs(name: string): string[] {
    const n = this.nodes.get(name);
    if (!n) return [];
    const out: string[] = [];
    for (const p of [...n.groups.keys()].sort((a, b) => (a.spec.name < b.spec.name ? -1 : 1))) {
      const cs = [...(n.groups.get(p) as Group).chunks].sort((a, b) => a.entry.index - b.entry.index || a.slot - b.slot);
      out.push(...cs.map((c) => this.#cidrOf(c)));
    }
    return out;
  }

  addNode(name: string, tier: string | undefined): string[] {
    this.tick();
    if (!this.nodes.has(name)) {
      const n: Node = { name, tier, groups: new Map(), draining: false, deadline: Infinity };
      this.nodes.set(name, n);
      for (const p of this.pools.values()) {
        if (!this.#serves(p, n)) continue;
        const g = this.#group(n, p);
        this.#refill(g);
        this.#evaluate(g);
      }
    }
    return this.cidrs(name);
  }

  removeNode(name: string, graceMs = 0): boolean {
    this.tick();
    const n = this.nodes.get(name);
    if (!n) return false;
    if (graceMs > 0 && !n.draining) {
      n.draining = true;
      n.deadline = this.now + graceMs;
      for (const g of n.groups.values()) this.short.delete(g);
      return true;
    }
    this.#forget(n);
    this.#topUp();
    return true;
  }

  allocate(node: string, owner: string, pool: string): string {
    const ip = this.#allocate(node, owner, pool);
    if (ip === undefined) throw new ModelError("FULL");
    return fmt4(ip);
  }

  /** allocateIPv4: no owner; -1 when the pool has no free chunk. */
  allocateIPv4(node: string, pool: string): number {
    // the handles are looked up first: handle(node), then poolHandle(pool), then the call checks draining and the selector
    if (this.nodes.has(node) && !this.pools.has(pool)) throw new ModelError("UNKNOWN_POOL");
    return this.#allocate(node, undefined, pool) ?? -1;
  }

  /** allocateIPv4Batch: up to `count` allocateIPv4 calls, stopping at the first -1. */
  allocateIPv4Batch(node: string, pool: string, count: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      const ip = this.allocateIPv4(node, pool);
      if (ip === -1) break;
      out.push(ip);
    }
    return out;
  }

  #allocate(node: string, owner: string | undefined, pool: string): number | undefined {
    const n = this.nodes.get(node);
    if (!n || n.draining) throw new ModelError("UNKNOWN_NODE");
    const p = this.pools.get(pool);
    if (!p || !this.#serves(p, n)) throw new ModelError("UNKNOWN_POOL");
    this.tick();
    const g = this.#group(n, p);
    let c = g.chunks.find((x) => this.#usedOf(x) < x.size);
    if (!c && !this.#room(p)) return undefined;
    c ??= this.#take(g) as Chunk;
    const start = c.cursor < c.size ? c.cursor : 0;
    let off = -1;
    for (let k = 0; k < c.size; k++) {
      const o = (start + k) % c.size;
      if (!c.used[o]) {
        off = o;
        break;
      }
    }
    c.used[off] = 1;
    c.cursor = off + 1 < c.size ? off + 1 : 0;
    const ip = this.#first(c) + off;
    this.addrs.set(ip, owner as string);
    this.#refill(g);
    this.#evaluate(g);
    return ip;
  }

  #chunkAt(ip: number): Chunk | undefined {
    for (const n of this.nodes.values()) {
      for (const g of n.groups.values()) for (const c of g.chunks) if (ip >= c.net && ip < c.net + 2 ** (32 - g.pool.spec.mask)) return c;
    }
    return undefined;
  }

  release(ipText: string, owner?: string): boolean {
    this.tick();
    const ip = ip4(ipText);
    const c = this.#chunkAt(ip);
    if (!c) return false;
    const off = ip - this.#first(c);
    if (off < 0 || off >= c.size || !c.used[off]) return false;
    if (this.#aside(c, ip)) return false; // a router address, reserved, or in cooldown: no pod's
    if (owner !== undefined && this.addrs.get(ip) !== owner) throw new ModelError("OWNER_MISMATCH");
    this.#releaseAt(c, ip);
    this.tick();
    return true;
  }

  #aside(c: Chunk, ip: number): boolean {
    return this.reservedIps.has(ip) || this.cooling.some((q) => q.ip === ip && q.chunk === c);
  }

  /** Frees a pod's address, or with a cooldown lets it wait (taken, no owner). */
  #releaseAt(c: Chunk, ip: number): void {
    if (this.cooldownMs !== undefined) {
      this.addrs.set(ip, undefined);
      this.cooling.push({ ip, chunk: c, time: this.now });
      return;
    }
    c.used[ip - this.#first(c)] = 0;
    this.addrs.delete(ip);
    this.#evaluate(c.group);
  }

  releaseOwner(owner: string): string[] {
    this.tick();
    const mine = [...this.addrs.entries()].filter(([, o]) => o === owner).map(([ip]) => ip);
    const key = (ip: number): number => (this.#chunkAt(ip) as Chunk).entry.index * 2 ** 32 + ip;
    mine.sort((a, b) => key(a) - key(b));
    for (const ip of mine) this.#releaseAt(this.#chunkAt(ip) as Chunk, ip);
    this.tick();
    return mine.map(fmt4);
  }

  addPoolCidr(pool: string, cidr: string): void {
    this.tick();
    this.#entry(this.pools.get(pool) as Pool, cidr);
    this.#topUp();
  }

  lookup(ipText: string): unknown {
    const ip = ip4(ipText);
    const c = this.#chunkAt(ip);
    if (!c) return undefined;
    const off = ip - this.#first(c);
    const allocated = off >= 0 && off < c.size && c.used[off] === 1;
    const base = { node: c.group.node.name, pool: c.group.pool.spec.name, podCIDR: this.#cidrOf(c) };
    return allocated ? { ...base, owner: this.addrs.get(ip), allocated } : { ...base, allocated };
  }
}
