// A reference model of multi-pool ClusterPool, IPv4, IPv6 and dual stack,
// written from the documented semantics the slow, obvious way: arrays of
// flags, linear scans, bigint addresses, no WASM. Chunks come next-fit from
// the first pool CIDR of the family with a free one; addresses next-fit inside
// a chunk (the network and the last address of the range excluded; an IPv6
// range is capped at its first 2^16 addresses, as Cilium does); a node keeps
// at least preAllocate addresses free per pool family; a chunk completely
// free beyond that watermark (later chunks first) goes back after
// releaseDelayMs. An allocation takes one address per family of the pool
// (all or none); the numeric fast path takes IPv4 only.
//
// Addresses are bigints keyed without their family: the model's IPv6 pools
// must lie outside ::/96 (the differential test's are in fd00::/8).
import { ModelError } from "./reference-pool.js";

export { ModelError };

export interface ModelFamily {
  readonly cidrs: readonly string[];
  readonly mask: number;
}

export interface ModelPool {
  readonly name: string;
  readonly v4?: ModelFamily;
  readonly v6?: ModelFamily;
  readonly pre: number;
  readonly delay: number;
  /** Nodes must have label tier=<selector> to draw from it. */
  readonly selector?: string;
}

type F = 4 | 6;
const BITS = { 4: 32, 6: 128 } as const;
/** Cilium caps an IPv6 pod range at 2^16 addresses. */
const V6_CAP = 16;

export const fmt4 = (v: number): string => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join(".");

/** RFC 5952: lower case, no leading zeros, the longest run of two or more zero groups (the first of equals) as "::". */
export function fmt6(v: bigint): string {
  const g = Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = -1, len = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > len && j - i >= 2) { best = i; len = j - i; }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(":");
  return best < 0 ? hex(g) : `${hex(g.slice(0, best))}::${hex(g.slice(best + len))}`;
}

export function parse6(s: string): bigint {
  const [head, tail] = s.includes("::") ? s.split("::") as [string, string] : [s, undefined];
  const a = head === "" ? [] : head.split(":");
  const b = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? a : [...a, ...Array(8 - a.length - b.length).fill("0"), ...b];
  return groups.reduce((acc, x) => (acc << 16n) | BigInt(parseInt(x, 16)), 0n);
}

export const parseIp = (s: string): { family: F; v: bigint } =>
  s.includes(":") ? { family: 6, v: parse6(s) } : { family: 4, v: BigInt(s.split(".").reduce((a, o) => a * 256 + Number(o), 0)) };
export const fmtIp = (family: F, v: bigint): string => (family === 4 ? fmt4(Number(v)) : fmt6(v));
/** The family of a model address (see the head: IPv6 ones lie outside ::/96). */
export const familyOf = (v: bigint): F => (v < 2n ** 32n ? 4 : 6);
export const fmtAny = (v: bigint): string => fmtIp(familyOf(v), v);

interface Entry { readonly index: number; readonly family: F; readonly net: bigint; readonly prefix: number; readonly slots: number; readonly taken: Uint8Array; cursor: number; removed: boolean }
interface Fam { readonly pool: Pool; readonly family: F; readonly mask: number; readonly entries: Entry[]; taken: number; released: number }
interface Pool { readonly spec: ModelPool; readonly fams: Fam[] }
interface Chunk { readonly group: Group; readonly entry: Entry; readonly slot: number; serial: number; readonly net: bigint; readonly first: bigint; readonly size: number; readonly used: Uint8Array; n: number; cursor: number; excessSince: number; router: number }
interface Group { readonly node: Node; readonly fam: Fam; readonly chunks: Chunk[] }
interface Node { readonly name: string; readonly tier: string | undefined; readonly groups: Map<Fam, Group>; draining: boolean; deadline: number }
interface Reservation { readonly family: F; readonly net: bigint; readonly prefix: number }

/** Host bits of a chunk's (capped) range and its usable addresses: first offset and count. */
function geometry(family: F, mask: number): { hostBits: number; first: number; size: number } {
  const full = BITS[family] - mask;
  const hostBits = family === 6 ? Math.min(full, V6_CAP) : full;
  return hostBits <= 1 ? { hostBits, first: 0, size: 2 ** hostBits } : { hostBits, first: 1, size: 2 ** hostBits - 2 };
}

export class ReferenceMultiPool {
  now = 0;
  readonly pools = new Map<string, Pool>();
  readonly entries: Entry[] = [];
  readonly nodes = new Map<string, Node>();
  /** Allocated address -> owner (undefined: allocateIPv4, no owner, or in cooldown). */
  readonly addrs = new Map<bigint, string | undefined>();
  readonly excess = new Set<Chunk>();
  readonly short = new Set<Group>();
  /** Reuse cooldown (options.reuse.cooldownMs), undefined: none. Released addresses wait here, oldest first. */
  readonly cooldownMs: number | undefined;
  readonly cooling: { ip: bigint; chunk: Chunk; time: number }[] = [];
  /** options.reserveRouterIP. */
  readonly router: "first" | "last" | false;
  /** Router addresses and reserved addresses: taken, never a pod's. */
  readonly reservedIps = new Set<bigint>();
  /** reserve()d CIDRs in order. */
  readonly reservations: Reservation[] = [];
  /** Chunks taken and given back in all pools (removed ones included). */
  taken = 0;
  /** The order chunks were taken in (after a snapshot: the order it lists them), which removePoolCidr tops their groups up in. */
  serial = 0;
  released = 0;

  constructor(pools: readonly ModelPool[], o: { cooldownMs?: number; router?: "first" | "last" | false } = {}) {
    this.cooldownMs = o.cooldownMs;
    this.router = o.router ?? false;
    for (const p of pools) {
      const pool: Pool = { spec: p, fams: [] };
      this.pools.set(p.name, pool);
      for (const [family, f] of [[4, p.v4], [6, p.v6]] as const) {
        if (f === undefined) continue;
        const fam: Fam = { pool, family, mask: f.mask, entries: [], taken: 0, released: 0 };
        pool.fams.push(fam);
        for (const c of f.cidrs) this.#entry(fam, c);
      }
    }
  }

  #entry(fam: Fam, cidr: string): void {
    const [a, b] = cidr.split("/");
    const prefix = Number(b);
    const slots = 2 ** (fam.mask - prefix);
    const e: Entry = { index: this.entries.length, family: fam.family, net: parseIp(a as string).v, prefix, slots, taken: new Uint8Array(slots), cursor: 0, removed: false };
    this.entries.push(e);
    fam.entries.push(e);
    for (const r of this.reservations) this.#reserveSlots(fam, e, r);
  }

  #end(e: Entry): bigint { return e.net + 2n ** BigInt(BITS[e.family] - e.prefix); }
  #chunkSpan(f: Fam): bigint { return 2n ** BigInt(BITS[f.family] - f.mask); }

  /** Slots of entry e a reservation covers (prefix up to the family's mask), [from, to]; from > to: none. */
  #slotsOf(fam: Fam, e: Entry, r: Reservation): [number, number] {
    if (r.family !== e.family || r.prefix > fam.mask) return [1, 0];
    const size = 2n ** BigInt(BITS[e.family] - r.prefix);
    if (r.net + size <= e.net || r.net >= this.#end(e)) return [1, 0];
    const span = this.#chunkSpan(fam);
    const lo = r.net > e.net ? r.net : e.net;
    const hi = (r.net + size < this.#end(e) ? r.net + size : this.#end(e)) - 1n;
    return [Number((lo - e.net) / span), Number((hi - e.net) / span)];
  }

  #reserveSlots(fam: Fam, e: Entry, r: Reservation): void {
    const [a, b] = this.#slotsOf(fam, e, r);
    for (let s = a; s <= b; s++) if (!e.taken[s]) e.taken[s] = 2; // 2: reserved, no chunk
  }

  /** Usable offsets of chunk c an address-level reservation covers, [from, to]: none when its network lies past the chunk's capped range. */
  #offsOf(c: Chunk, r: Reservation): [number, number] {
    const fam = c.group.fam;
    if (r.family !== fam.family || r.prefix <= fam.mask) return [1, 0];
    if (r.net < c.net || r.net >= c.net + this.#chunkSpan(fam)) return [1, 0]; // its network is in another chunk
    const capped = 2n ** BigInt(geometry(fam.family, fam.mask).hostBits);
    if (r.net - c.net >= capped) return [1, 0];
    const size = 2n ** BigInt(BITS[fam.family] - r.prefix);
    const lo = Number(r.net - c.first);
    const hi = r.net + size - 1n - c.first;
    return [Math.max(lo, 0), hi >= BigInt(c.size) ? c.size - 1 : Number(hi)];
  }

  #covered(c: Chunk, off: number): boolean {
    return this.reservations.some((r) => {
      const [a, b] = this.#offsOf(c, r);
      return off >= a && off <= b;
    });
  }

  #cidrOf(c: Chunk): string { return `${fmtIp(c.group.fam.family, c.net)}/${c.group.fam.mask}`; }
  #free(g: Group): number { return g.chunks.reduce((n, c) => n + c.size - c.n, 0); }
  #room(f: Fam): boolean { return f.entries.some((e) => e.taken.some((t) => t === 0)); }
  #serves(p: Pool, n: Node): boolean { return p.spec.selector === undefined || n.tier === p.spec.selector; }
  #group(n: Node, f: Fam): Group {
    let g = n.groups.get(f);
    if (!g) n.groups.set(f, (g = { node: n, fam: f, chunks: [] }));
    return g;
  }
  #mark(c: Chunk, off: number): void {
    if (!c.used[off]) c.n++;
    c.used[off] = 1;
  }
  #unmark(c: Chunk, off: number): void {
    if (c.used[off]) c.n--;
    c.used[off] = 0;
  }

  /** Next-fit slot in the first pool CIDR of the family with a free one. */
  #take(g: Group): Chunk | undefined {
    for (const e of g.fam.entries) {
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
    const geo = geometry(g.fam.family, g.fam.mask);
    const net = e.net + BigInt(s) * this.#chunkSpan(g.fam);
    const hadRouter = g.chunks.some((x) => x.router >= 0);
    const c: Chunk = { group: g, entry: e, slot: s, serial: ++this.serial, net, first: net + BigInt(geo.first), size: geo.size, used: new Uint8Array(geo.size), n: 0, cursor: 0, excessSince: -1, router: -1 };
    g.chunks.push(c);
    g.fam.taken++;
    this.taken++;
    if (this.router !== false && g.fam.pool.spec.name === "default" && !hadRouter && geo.size > 0) {
      // the node's router address: one per node and family, from its first chunk of pool default
      c.router = this.router === "first" ? 0 : geo.size - 1;
      this.#mark(c, c.router);
      this.reservedIps.add(c.first + BigInt(c.router));
    }
    for (const r of this.reservations) {
      const [a, b] = this.#offsOf(c, r);
      for (let off = a; off <= b; off++) {
        if (c.used[off]) continue;
        this.#mark(c, off);
        this.reservedIps.add(c.first + BigInt(off));
      }
    }
    return c;
  }

  /** reserve(cidr): IN_USE (a chunk in a covered slot), ALREADY_ALLOCATED (a taken address), NOT_IN_RANGE (no pool CIDR of its family). */
  reserve(cidr: string): void {
    this.tick();
    const [a, b] = cidr.split("/");
    const ip = parseIp(a as string);
    const r: Reservation = { family: ip.family, net: ip.v, prefix: Number(b) };
    const size = 2n ** BigInt(BITS[r.family] - r.prefix);
    const hit: [Fam, Entry][] = [];
    for (const p of this.pools.values()) for (const f of p.fams) for (const e of f.entries) if (e.family === r.family && r.net < this.#end(e) && r.net + size > e.net) hit.push([f, e]);
    if (hit.length === 0) throw new ModelError("NOT_IN_RANGE");
    if (this.reservations.some((x) => x.family === r.family && x.net === r.net && x.prefix === r.prefix)) return;
    const chunks = this.#chunks();
    for (const [f, e] of hit) {
      const [s0, s1] = this.#slotsOf(f, e, r);
      for (let s = s0; s <= s1; s++) if (chunks.some((c) => c.entry === e && c.slot === s)) throw new ModelError("IN_USE");
      for (const c of chunks) {
        if (c.entry !== e) continue;
        const [o0, o1] = this.#offsOf(c, r);
        for (let off = o0; off <= o1; off++) if (c.used[off] && !this.reservedIps.has(c.first + BigInt(off))) throw new ModelError("ALREADY_ALLOCATED");
      }
    }
    this.reservations.push(r);
    for (const [f, e] of hit) {
      this.#reserveSlots(f, e, r);
      for (const c of chunks) {
        if (c.entry !== e) continue;
        const [o0, o1] = this.#offsOf(c, r);
        if (o0 > o1) continue;
        for (let off = o0; off <= o1; off++) {
          if (c.used[off]) continue;
          this.#mark(c, off);
          this.reservedIps.add(c.first + BigInt(off));
        }
        this.#refill(c.group);
        this.#evaluate(c.group);
      }
    }
  }

  unreserve(cidr: string): void {
    this.tick();
    const [a, b] = cidr.split("/");
    const ip = parseIp(a as string);
    const r: Reservation = { family: ip.family, net: ip.v, prefix: Number(b) };
    const i = this.reservations.findIndex((x) => x.family === r.family && x.net === r.net && x.prefix === r.prefix);
    if (i < 0) return;
    this.reservations.splice(i, 1);
    const chunks = this.#chunks();
    for (const p of this.pools.values()) {
      for (const f of p.fams) {
        for (const e of f.entries) {
          const [s0, s1] = this.#slotsOf(f, e, r);
          for (let s = s0; s <= s1; s++) {
            if (e.taken[s] !== 2) continue;
            if (!this.reservations.some((x) => { const [lo, hi] = this.#slotsOf(f, e, x); return s >= lo && s <= hi; })) e.taken[s] = 0;
          }
          for (const c of chunks) {
            if (c.entry !== e) continue;
            const [o0, o1] = this.#offsOf(c, r);
            for (let off = o0; off <= o1; off++) {
              const at = c.first + BigInt(off);
              if (off === c.router || this.#covered(c, off) || !this.reservedIps.delete(at)) continue;
              this.#unmark(c, off);
            }
            if (o0 <= o1) this.#evaluate(c.group);
          }
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

  #drop(c: Chunk): void {
    for (let i = 0; i < c.size; i++) {
      const at = c.first + BigInt(i);
      if (c.used[i]) this.addrs.delete(at);
      this.reservedIps.delete(at);
    }
    c.entry.taken[c.slot] = 0;
    c.group.chunks.splice(c.group.chunks.indexOf(c), 1);
    c.group.fam.released++;
    this.released++;
    this.excess.delete(c);
  }

  #refill(g: Group): void {
    this.short.delete(g);
    const pre = g.fam.pool.spec.pre;
    if (pre === 0 || g.node.draining) return; // a draining node takes nothing more
    let free = this.#free(g);
    while (free < pre) {
      const c = this.#take(g);
      if (!c) {
        this.short.add(g);
        return;
      }
      free += c.size - c.n;
    }
  }

  #evaluate(g: Group): void {
    const pre = g.fam.pool.spec.pre;
    let free = this.#free(g);
    for (let i = g.chunks.length - 1; i >= 0; i--) {
      const c = g.chunks[i] as Chunk;
      if (c.n === 0 && free - c.size >= pre) {
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
      if (!this.#room(g.fam)) continue;
      this.#refill(g);
      this.#evaluate(g);
    }
  }

  tick(): void {
    // cooldown first: an address whose chunk is still held (the same one) is free again
    while (this.cooling.length > 0 && (this.cooling[0] as { time: number }).time + (this.cooldownMs as number) <= this.now) {
      const q = this.cooling.shift() as { ip: bigint; chunk: Chunk };
      const c = q.chunk;
      if (!c.group.chunks.includes(c)) continue; // the chunk went back (node removed): a stale entry
      this.#unmark(c, Number(q.ip - c.first));
      this.addrs.delete(q.ip);
      this.#evaluate(c.group);
    }
    let n = 0;
    for (const c of [...this.excess]) {
      if (this.now - c.excessSince >= c.group.fam.pool.spec.delay) {
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

  /** The node's CIDRs: IPv4 then IPv6; in each, pools in name order, each pool's chunks in (entry, slot) order. */
  cidrs(name: string): string[] {
    const n = this.nodes.get(name);
    if (!n) return [];
    const out: string[] = [];
    for (const family of [4, 6] as const) {
      const gs = [...n.groups.values()].filter((g) => g.fam.family === family).sort((a, b) => (a.fam.pool.spec.name < b.fam.pool.spec.name ? -1 : 1));
      for (const g of gs) out.push(...[...g.chunks].sort((a, b) => a.entry.index - b.entry.index || a.slot - b.slot).map((c) => this.#cidrOf(c)));
    }
    return out;
  }

  /** Per pool family in pool order: [pool, family, chunks taken, given back, held]. */
  moved(): [string, F, number, number, number][] {
    const out: [string, F, number, number, number][] = [];
    for (const p of this.pools.values()) {
      for (const f of p.fams) {
        let held = 0;
        for (const n of this.nodes.values()) held += n.groups.get(f)?.chunks.length ?? 0;
        out.push([p.spec.name, f.family, f.taken, f.released, held]);
      }
    }
    return out;
  }

  /** An address of one of the pool family's CIDRs, for wanted addresses: in a chunk `node` holds or one of the first chunks, now and then near a capped chunk's 2^16 limit; undefined if it has none. */
  sample(pool: string, family: F, r: () => number, node?: string): string | undefined {
    const f = this.pools.get(pool)?.fams.find((x) => x.family === family);
    const live = f?.entries.filter((e) => !e.removed) ?? [];
    if (f === undefined || live.length === 0) return undefined;
    const span = this.#chunkSpan(f);
    const mine = (node !== undefined && this.nodes.get(node)?.groups.get(f)?.chunks) || [];
    if (mine.length > 0 && r() < 0.5) {
      // in a chunk the node holds
      const c = mine[Math.floor(r() * mine.length)] as Chunk;
      return fmtIp(family, c.net + BigInt(Math.floor(r() * Math.min(c.size + 2, 64))));
    }
    const e = live[Math.floor(r() * live.length)] as Entry;
    const slot = BigInt(Math.floor(r() * Math.min(e.slots, 6)));
    const within = span > 0x10000n && r() < 0.2 ? 0xfff0n + BigInt(Math.floor(r() * 0x20)) : BigInt(Math.floor(r() * Number(span < 64n ? span : 64n)));
    return fmtIp(family, e.net + slot * span + within);
  }

  addNode(name: string, tier: string | undefined): string[] {
    this.tick();
    if (!this.nodes.has(name)) {
      const n: Node = { name, tier, groups: new Map(), draining: false, deadline: Infinity };
      this.nodes.set(name, n);
      for (const p of this.pools.values()) {
        if (!this.#serves(p, n)) continue;
        for (const f of p.fams) {
          const g = this.#group(n, f);
          this.#refill(g);
          this.#evaluate(g);
        }
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

  /**
   * allocate(node, owner, { pool, ips }): one address per family of the pool,
   * all or none. A wanted address lies in a chunk the node holds, or in a
   * free chunk of the pool, which the node takes; it moves no next-fit cursor
   * (neither the entry's nor the chunk's). Other families get the next free
   * address, from a chunk taken on demand when the node's are full.
   */
  allocate(node: string, owner: string, pool: string, ips: readonly string[] = []): { ipv4?: string; ipv6?: string } {
    const n = this.nodes.get(node);
    if (!n || n.draining) throw new ModelError("UNKNOWN_NODE");
    const p = this.pools.get(pool);
    if (!p || !this.#serves(p, n)) throw new ModelError("UNKNOWN_POOL");
    const wanted = ips.map(parseIp);
    for (const w of wanted) if (!p.fams.some((f) => f.family === w.family)) throw new ModelError("NOT_IN_RANGE");
    this.tick();
    // decide every family first
    const picks = p.fams.map((f) => {
      const g = this.#group(n, f);
      const w = wanted.find((x) => x.family === f.family);
      if (w !== undefined) return { g, ...this.#wantedPick(g, w.v) };
      const c = g.chunks.find((x) => x.n < x.size);
      if (!c && !this.#room(f)) throw new ModelError("FULL");
      return { g, c, e: undefined, slot: -1, off: -1 };
    });
    for (const k of picks) {
      if (k.c) continue;
      k.c = k.e !== undefined ? this.#takeSlot(k.g, k.e, k.slot) : (this.#take(k.g) as Chunk);
    }
    const out: { ipv4?: string; ipv6?: string } = {};
    for (const k of picks) {
      const c = k.c as Chunk;
      const off = k.off >= 0 ? k.off : this.#nextFit(c);
      this.#mark(c, off);
      const ip = c.first + BigInt(off);
      this.addrs.set(ip, owner);
      out[k.g.fam.family === 4 ? "ipv4" : "ipv6"] = fmtIp(k.g.fam.family, ip);
    }
    for (const k of picks) {
      this.#refill(k.g);
      this.#evaluate(k.g);
    }
    return out;
  }

  /** The chunk's next free offset after its cursor (which moves past it). */
  #nextFit(c: Chunk): number {
    const start = c.cursor < c.size ? c.cursor : 0;
    for (let k = 0; k < c.size; k++) {
      const o = (start + k) % c.size;
      if (!c.used[o]) {
        c.cursor = o + 1 < c.size ? o + 1 : 0;
        return o;
      }
    }
    throw new Error("model: no free offset in a chunk with room");
  }

  /** Where a wanted address goes: NOT_IN_RANGE (no pool CIDR, another node's chunk, not usable, a reserved slot), ALREADY_ALLOCATED. */
  #wantedPick(g: Group, ip: bigint): { c: Chunk | undefined; e: Entry | undefined; slot: number; off: number } {
    const f = g.fam;
    const e = f.entries.find((x) => ip >= x.net && ip < this.#end(x));
    if (!e) throw new ModelError("NOT_IN_RANGE");
    const slot = Number((ip - e.net) / this.#chunkSpan(f));
    const held = this.#chunkAt(ip);
    if (held && held.group !== g) throw new ModelError("NOT_IN_RANGE");
    const geo = geometry(f.family, f.mask);
    const first = e.net + BigInt(slot) * this.#chunkSpan(f) + BigInt(geo.first);
    if (ip < first || ip - first >= BigInt(geo.size)) throw new ModelError("NOT_IN_RANGE");
    const off = Number(ip - first);
    if (held) {
      if (held.used[off]) throw new ModelError("ALREADY_ALLOCATED");
      return { c: held, e: undefined, slot: -1, off };
    }
    if (e.taken[slot]) throw new ModelError("NOT_IN_RANGE"); // a reserved slot
    // taking the chunk would take the address first: the node's router address, or a reserved one
    const routerOff = this.router !== false && f.pool.spec.name === "default" && !g.chunks.some((x) => x.router >= 0) ? (this.router === "first" ? 0 : geo.size - 1) : -1;
    const reserved = this.reservations.some((r) => r.family === f.family && r.prefix > f.mask && ip >= r.net && ip < r.net + 2n ** BigInt(BITS[f.family] - r.prefix));
    if (off === routerOff || reserved) throw new ModelError("ALREADY_ALLOCATED");
    return { c: undefined, e, slot, off };
  }

  /** allocateIPv4: no owner, IPv4 only; -1 when the pool has no free IPv4 chunk. */
  allocateIPv4(node: string, pool: string): number {
    // the handles are looked up first: handle(node), then poolHandle(pool), then the call checks draining, the selector and the family
    if (this.nodes.has(node) && !this.pools.has(pool)) throw new ModelError("UNKNOWN_POOL");
    const n = this.nodes.get(node);
    if (!n || n.draining) throw new ModelError("UNKNOWN_NODE");
    const p = this.pools.get(pool);
    if (!p || !this.#serves(p, n)) throw new ModelError("UNKNOWN_POOL");
    const f = p.fams.find((x) => x.family === 4);
    if (!f) throw new ModelError("FAMILY_MISMATCH");
    this.tick();
    const g = this.#group(n, f);
    let c = g.chunks.find((x) => x.n < x.size);
    if (!c && !this.#room(f)) return -1;
    c ??= this.#take(g) as Chunk;
    const off = this.#nextFit(c);
    this.#mark(c, off);
    const ip = c.first + BigInt(off);
    this.addrs.set(ip, undefined);
    this.#refill(g);
    this.#evaluate(g);
    return Number(ip);
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

  #chunkAt(ip: bigint): Chunk | undefined {
    for (const n of this.nodes.values()) {
      for (const g of n.groups.values()) for (const c of g.chunks) if (ip >= c.net && ip < c.net + this.#chunkSpan(g.fam)) return c;
    }
    return undefined;
  }

  release(ipText: string, owner?: string): boolean {
    this.tick();
    const ip = parseIp(ipText).v;
    const c = this.#chunkAt(ip);
    if (!c) return false;
    const off = ip - c.first;
    if (off < 0n || off >= BigInt(c.size) || !c.used[Number(off)]) return false;
    if (this.#aside(c, ip)) return false; // a router address, reserved, or in cooldown: no pod's
    if (owner !== undefined && this.addrs.get(ip) !== owner) throw new ModelError("OWNER_MISMATCH");
    this.#releaseAt(c, ip);
    this.tick();
    return true;
  }

  #aside(c: Chunk, ip: bigint): boolean {
    return this.reservedIps.has(ip) || this.cooling.some((q) => q.ip === ip && q.chunk === c);
  }

  /** Frees a pod's address, or with a cooldown lets it wait (taken, no owner). */
  #releaseAt(c: Chunk, ip: bigint): void {
    if (this.cooldownMs !== undefined) {
      this.addrs.set(ip, undefined);
      this.cooling.push({ ip, chunk: c, time: this.now });
      return;
    }
    this.#unmark(c, Number(ip - c.first));
    this.addrs.delete(ip);
    this.#evaluate(c.group);
  }

  /** Releases every address of the owner in (pool CIDR, address) order. */
  releaseOwner(owner: string): string[] {
    this.tick();
    const mine = [...this.addrs.entries()].filter(([, o]) => o === owner).map(([ip]) => ({ ip, c: this.#chunkAt(ip) as Chunk }));
    mine.sort((a, b) => a.c.entry.index - b.c.entry.index || (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
    for (const { ip, c } of mine) this.#releaseAt(c, ip);
    this.tick();
    return mine.map(({ ip, c }) => fmtIp(c.group.fam.family, ip));
  }

  /** The pool family's CIDRs now, in order. */
  poolCidrs(pool: string, family: F): string[] {
    const f = this.pools.get(pool)?.fams.find((x) => x.family === family);
    return f?.entries.map((e) => `${fmtIp(family, e.net)}/${e.prefix}`) ?? [];
  }

  /**
   * removePoolCidr: IN_USE while a chunk in it holds an address that is not
   * reserve()d (a pod's, the router address, one in reuse cooldown); else its
   * chunks go back and their groups top up from the family's other CIDRs, in
   * the order the chunks were taken. Reservations stay.
   */
  removePoolCidr(pool: string, cidr: string): void {
    this.tick();
    const family: F = cidr.includes(":") ? 6 : 4;
    const f = this.pools.get(pool)?.fams.find((x) => x.family === family);
    const e = f?.entries.find((x) => `${fmtIp(family, x.net)}/${x.prefix}` === cidr);
    if (f === undefined || e === undefined) throw new ModelError("NOT_IN_RANGE");
    const mine = this.#chunks().filter((c) => c.entry === e).sort((a, b) => a.serial - b.serial);
    for (const c of mine) {
      for (let off = 0; off < c.size; off++) {
        if (c.used[off] && (off === c.router || !this.reservedIps.has(c.first + BigInt(off)))) throw new ModelError("IN_USE");
      }
    }
    const groups = [...new Set(mine.map((c) => c.group))];
    for (const c of mine) this.#drop(c);
    e.removed = true;
    f.entries.splice(f.entries.indexOf(e), 1);
    for (const g of groups) {
      this.#refill(g);
      this.#evaluate(g);
    }
  }

  /** After a snapshot round trip: chunks are listed node by node (in the order nodes were added), group by group, each group's in the order taken. */
  restored(): void {
    for (const n of this.nodes.values()) for (const g of n.groups.values()) for (const c of g.chunks) c.serial = ++this.serial;
  }

  addPoolCidr(pool: string, cidr: string): void {
    this.tick();
    const family: F = cidr.includes(":") ? 6 : 4;
    this.#entry((this.pools.get(pool) as Pool).fams.find((f) => f.family === family) as Fam, cidr);
    this.#topUp();
  }

  lookup(ipText: string): unknown {
    const ip = parseIp(ipText).v;
    const c = this.#chunkAt(ip);
    if (!c) return undefined;
    const off = ip - c.first;
    const allocated = off >= 0n && off < BigInt(c.size) && c.used[Number(off)] === 1;
    const base = { node: c.group.node.name, pool: c.group.fam.pool.spec.name, podCIDR: this.#cidrOf(c) };
    return allocated ? { ...base, owner: this.addrs.get(ip), allocated } : { ...base, allocated };
  }
}
