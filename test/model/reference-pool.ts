// A reference model of ClusterPool for IPv4, written from the documented
// semantics the slow, obvious way: arrays of flags, linear scans, no WASM.
// The differential test drives it and the real pool with the same random
// operations and requires the same results.

export type Overflow = "reject" | "share" | "smaller";

export interface ModelConfig {
  readonly pools: readonly string[];
  readonly maskSize: number;
  /** Mask of a smaller overflow subnet (overflow 'smaller'). */
  readonly smaller?: number;
  readonly maxBig?: number;
  readonly overflow: Overflow;
  readonly cooldownMs?: number;
  readonly depth?: number;
  readonly router: false | "first" | "last";
}

export class ModelError extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

const ip4 = (s: string): number => s.split(".").reduce((a, o) => a * 256 + Number(o), 0);
export const fmt4 = (v: number): string => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join(".");

interface MPool {
  readonly index: number;
  readonly net: number;
  readonly prefix: number;
  readonly slots: number;
  readonly taken: Uint8Array;
  readonly reserved: Set<number>;
  cursor: number;
  removed: boolean;
}

interface MSub {
  readonly pool: MPool;
  readonly slot: number;
  readonly k: number;
  readonly big: boolean;
  readonly cidr: string;
  /** Address of pod offset 0. */
  readonly base: number;
  readonly size: number;
  readonly used: Uint8Array;
  cursor: number;
  router: number;
  quarantined: number;
}

interface MNode {
  readonly name: string;
  readonly epoch: number;
  status: "ready" | "pending" | "draining";
  deadline: number;
  sub: MSub | undefined;
  share: boolean;
  borrowed: Set<number>;
}

export class ReferencePool {
  now = 0;
  readonly pools: MPool[] = [];
  readonly nodes = new Map<string, MNode>();
  readonly pending: string[] = [];
  /** Allocated address -> owner ("" = none) and borrower. */
  readonly addrs = new Map<number, { owner: string; borrower: string | undefined }>();
  readonly owners = new Map<string, Set<number>>();
  readonly quarantine: { ip: number; epoch: number; time: number }[] = [];
  readonly reservations: string[] = [];
  big = 0;
  epoch = 0;
  readonly slotMask: number;
  readonly k: number;

  constructor(readonly cfg: ModelConfig) {
    this.slotMask = cfg.smaller ?? cfg.maskSize;
    this.k = this.slotMask - cfg.maskSize;
    for (const c of cfg.pools) this.#addPool(c);
  }

  #addPool(c: string): void {
    const [a, p] = c.split("/");
    const prefix = Number(p);
    const slots = 2 ** (this.slotMask - prefix);
    this.pools.push({ index: this.pools.length, net: ip4(a as string), prefix, slots, taken: new Uint8Array(slots), reserved: new Set(), cursor: 0, removed: false });
  }

  // ---------------------------------------------------------------- time

  tick(): void {
    if (this.quarantine.length === 0 && ![...this.nodes.values()].some((n) => n.status === "draining")) return;
    while (this.quarantine.length > 0) {
      const head = this.quarantine[0]!;
      const byDepth = this.cfg.depth !== undefined && this.quarantine.length > this.cfg.depth;
      const byTime = this.cfg.cooldownMs !== undefined && head.time + this.cfg.cooldownMs <= this.now;
      if (!byDepth && !byTime) break;
      this.quarantine.shift();
      const where = this.#subOf(head.ip);
      if (where && where.node.epoch === head.epoch) {
        where.sub.used[head.ip - where.sub.base] = 0;
        where.sub.quarantined--;
      }
    }
    for (const n of [...this.nodes.values()]) if (n.status === "draining" && n.deadline <= this.now) this.#drop(n);
  }

  // ---------------------------------------------------------------- carving

  #findRun(pool: MPool, k: number): number {
    const size = 2 ** k;
    let start = Math.ceil(pool.cursor / size) * size;
    if (start >= pool.slots) start = 0;
    const free = (i: number): boolean => {
      for (let s = i; s < i + size; s++) if (pool.taken[s]) return false;
      return true;
    };
    for (let i = start; i + size <= pool.slots; i += size) if (free(i)) return i;
    for (let i = 0; i < start; i += size) if (free(i)) return i;
    return -1;
  }

  #take(pool: MPool, k: number): number {
    const i = this.#findRun(pool, k);
    if (i < 0) return -1;
    for (let s = i; s < i + 2 ** k; s++) pool.taken[s] = 1;
    pool.cursor = i + 2 ** k < pool.slots ? i + 2 ** k : 0;
    return i;
  }

  #live(): MPool[] {
    return this.pools.filter((p) => !p.removed);
  }

  #isFull(p: MPool): boolean {
    return p.taken.every((t) => t === 1);
  }

  /** Slot run for a node by policy, "share", or undefined. */
  #takeSubnet(): { pool: MPool; slot: number; k: number } | "share" | undefined {
    if (this.big < (this.cfg.maxBig ?? Infinity)) {
      for (const p of this.#live()) {
        if (this.#isFull(p)) continue;
        const s = this.#take(p, this.k);
        if (s >= 0) return { pool: p, slot: s, k: this.k };
      }
    }
    if (this.cfg.overflow === "smaller") {
      for (const p of this.#live()) {
        if (this.#isFull(p)) continue;
        const s = this.#take(p, 0);
        if (s >= 0) return { pool: p, slot: s, k: 0 };
      }
    }
    if (this.cfg.overflow === "share") return "share";
    return undefined;
  }

  #place(n: MNode): boolean {
    const got = this.#takeSubnet();
    if (got === undefined) return false;
    n.share = got === "share";
    n.sub = undefined;
    if (got !== "share") {
      const prefix = this.slotMask - got.k;
      const net = got.pool.net + got.slot * 2 ** (32 - this.slotMask);
      const hostBits = 32 - prefix;
      const first = hostBits <= 1 ? 0 : 1;
      const size = hostBits <= 1 ? 2 ** hostBits : 2 ** hostBits - 2;
      const sub: MSub = {
        pool: got.pool, slot: got.slot, k: got.k, big: got.k === this.k, cidr: `${fmt4(net)}/${prefix}`,
        base: net + first, size, used: new Uint8Array(size), cursor: 0, router: -1, quarantined: 0,
      };
      if (sub.big) this.big++;
      if (this.cfg.router && size > 0) {
        sub.router = this.cfg.router === "first" ? 0 : size - 1;
        sub.used[sub.router] = 1;
      }
      n.sub = sub;
    }
    n.status = "ready";
    const i = this.pending.indexOf(n.name);
    if (i >= 0) this.pending.splice(i, 1);
    return true;
  }

  addNode(name: string): string[] {
    this.tick();
    const known = this.nodes.get(name);
    if (known && known.status !== "pending") return known.sub ? [known.sub.cidr] : [];
    const n: MNode = known ?? { name, epoch: ++this.epoch, status: "pending", deadline: 0, sub: undefined, share: false, borrowed: new Set() };
    if (!this.#place(n)) {
      if (!known) this.nodes.set(name, n);
      if (!this.pending.includes(name)) this.pending.push(name);
      throw new ModelError("FULL");
    }
    this.nodes.set(name, n);
    return n.sub ? [n.sub.cidr] : [];
  }

  removeNode(name: string, graceMs: number): boolean {
    this.tick();
    const n = this.nodes.get(name);
    if (!n) return false;
    if (graceMs > 0 && n.status === "ready") {
      n.status = "draining";
      n.deadline = this.now + graceMs;
      return true;
    }
    this.#drop(n);
    return true;
  }

  #drop(n: MNode): void {
    if (n.status === "pending") this.pending.splice(this.pending.indexOf(n.name), 1);
    for (const ip of [...n.borrowed]) this.#free(ip, false);
    const sub = n.sub;
    if (sub) {
      for (let off = 0; off < sub.size; off++) {
        const ip = sub.base + off;
        const a = this.addrs.get(ip);
        if (a) {
          this.addrs.delete(ip);
          if (a.owner) this.#unown(a.owner, ip);
          if (a.borrower) this.nodes.get(a.borrower)?.borrowed.delete(ip);
        }
      }
      if (sub.big) this.big--;
      for (let s = sub.slot; s < sub.slot + 2 ** sub.k; s++) if (!sub.pool.reserved.has(s)) sub.pool.taken[s] = 0;
    }
    this.nodes.delete(n.name);
    this.#servePending();
  }

  #servePending(): void {
    while (this.pending.length > 0) {
      const n = this.nodes.get(this.pending[0]!)!;
      if (!this.#place(n)) return;
    }
  }

  // ---------------------------------------------------------------- pods

  #unown(owner: string, ip: number): void {
    const set = this.owners.get(owner);
    set?.delete(ip);
    if (set && set.size === 0) this.owners.delete(owner);
  }

  /** Node whose subnet holds ip (ready or draining), and that subnet. */
  #subOf(ip: number): { node: MNode; sub: MSub } | undefined {
    for (const node of this.nodes.values()) {
      const s = node.sub;
      if (s && ip >= s.pool.net + s.slot * 2 ** (32 - this.slotMask) && ip < s.pool.net + (s.slot + 2 ** s.k) * 2 ** (32 - this.slotMask)) return { node, sub: s };
    }
    return undefined;
  }

  #mostFree(): MSub | undefined {
    const subs = [...this.nodes.values()].map((n) => n.sub).filter((s): s is MSub => s !== undefined);
    subs.sort((a, b) => a.pool.index - b.pool.index || a.slot - b.slot);
    let best: MSub | undefined;
    let bestFree = 0;
    for (const s of subs) {
      const free = s.used.reduce((n, u) => n + (u ? 0 : 1), 0);
      if (free > bestFree) {
        best = s;
        bestFree = free;
      }
    }
    return best;
  }

  allocate(node: string, owner: string, wanted?: string): string {
    const n = this.nodes.get(node);
    if (!n || n.status === "draining") throw new ModelError("UNKNOWN_NODE");
    if (n.status === "pending") throw new ModelError("FULL");
    this.tick();
    let off = -1;
    let sub = n.sub;
    if (wanted !== undefined) {
      if (!sub) throw new ModelError("NOT_IN_RANGE");
      const o = ip4(wanted) - sub.base;
      if (o < 0 || o >= sub.size) throw new ModelError("NOT_IN_RANGE");
      if (sub.used[o]) throw new ModelError("ALREADY_ALLOCATED");
      off = o;
    } else {
      if (!sub && n.share) sub = this.#mostFree();
      if (!sub) throw new ModelError("FULL");
      const start = sub.cursor < sub.size ? sub.cursor : 0;
      for (let i = 0; i < sub.size; i++) {
        const o = (start + i) % sub.size;
        if (!sub.used[o]) {
          off = o;
          break;
        }
      }
      if (off < 0) throw new ModelError("FULL");
      sub.cursor = off + 1 < sub.size ? off + 1 : 0;
    }
    sub.used[off] = 1;
    const ip = sub.base + off;
    const borrower = sub === n.sub ? undefined : n.name;
    this.addrs.set(ip, { owner, borrower });
    if (borrower) n.borrowed.add(ip);
    let set = this.owners.get(owner);
    if (!set) this.owners.set(owner, (set = new Set()));
    set.add(ip);
    return fmt4(ip);
  }

  /** In cooldown for the node that holds the subnet now (entries of removed nodes are stale). */
  #quarantined(ip: number): boolean {
    const epoch = this.#subOf(ip)?.node.epoch;
    return this.quarantine.some((q) => q.ip === ip && q.epoch === epoch);
  }

  /** Frees an allocated address (into cooldown if `q` and configured). */
  #free(ip: number, q: boolean): boolean {
    const where = this.#subOf(ip);
    if (!where) return false;
    const off = ip - where.sub.base;
    if (off < 0 || off >= where.sub.size || !where.sub.used[off] || off === where.sub.router) return false;
    if (this.#quarantined(ip)) return false;
    const cool = q && (this.cfg.cooldownMs !== undefined || this.cfg.depth !== undefined);
    const a = this.addrs.get(ip);
    this.addrs.delete(ip);
    if (a?.owner) this.#unown(a.owner, ip);
    if (a?.borrower) this.nodes.get(a.borrower)?.borrowed.delete(ip);
    if (cool) {
      this.quarantine.push({ ip, epoch: where.node.epoch, time: this.now });
      where.sub.quarantined++;
    } else where.sub.used[off] = 0;
    return true;
  }

  release(ipText: string, owner?: string): boolean {
    this.tick();
    const ip = ip4(ipText);
    if (owner !== undefined) {
      const a = this.addrs.get(ip);
      const where = this.#subOf(ip);
      const off = where ? ip - where.sub.base : -1;
      const taken = where !== undefined && off >= 0 && off < where.sub.size && where.sub.used[off] === 1;
      if (!taken || this.#quarantined(ip)) return false;
      const holder = a?.owner ? a.owner : undefined;
      if (holder !== owner) throw new ModelError("OWNER_MISMATCH");
    }
    return this.#free(ip, true);
  }

  releaseOwner(owner: string): string[] {
    this.tick();
    const set = this.owners.get(owner);
    if (!set) return [];
    const ips = [...set].sort((a, b) => this.#key(a) - this.#key(b));
    for (const ip of ips) this.#free(ip, true);
    return ips.map(fmt4);
  }

  #key(ip: number): number {
    const p = this.#live().find((x) => ip >= x.net && ip < x.net + 2 ** (32 - x.prefix))!;
    return p.index * 2 ** 32 + (ip - p.net);
  }

  lookup(ipText: string): { node: string; podCIDR: string; owner?: string; allocated: boolean } | undefined {
    const ip = ip4(ipText);
    const where = this.#subOf(ip);
    if (!where) return undefined;
    const a = this.addrs.get(ip);
    const off = ip - where.sub.base;
    const taken = off >= 0 && off < where.sub.size && where.sub.used[off] === 1;
    const node = a?.borrower ?? where.node.name;
    return a?.owner ? { node, podCIDR: where.sub.cidr, owner: a.owner, allocated: true } : { node, podCIDR: where.sub.cidr, allocated: taken };
  }

  // ---------------------------------------------------------------- pools and reservations

  addPoolCidr(cidr: string): void {
    this.tick();
    this.#addPool(cidr);
    this.#servePending();
  }

  /** Reserves node subnets covered by `cidr` (prefix <= maskSize). */
  reserve(cidr: string): void {
    this.tick();
    const [a, p] = cidr.split("/");
    const net = ip4(a as string);
    const prefix = Number(p);
    const pool = this.#live().find((x) => net >= x.net && net < x.net + 2 ** (32 - x.prefix));
    if (!pool) throw new ModelError("NOT_IN_RANGE");
    if (this.reservations.includes(cidr)) return; // reserved already: one reservation
    const first = (net - pool.net) / 2 ** (32 - this.slotMask);
    const count = 2 ** (this.slotMask - prefix);
    for (let s = first; s < first + count; s++) {
      for (const n of this.nodes.values()) if (n.sub && n.sub.pool === pool && s >= n.sub.slot && s < n.sub.slot + 2 ** n.sub.k) throw new ModelError("IN_USE");
    }
    for (let s = first; s < first + count; s++) {
      pool.reserved.add(s);
      pool.taken[s] = 1;
    }
    this.reservations.push(cidr);
  }

  unreserve(cidr: string): void {
    this.tick();
    const i = this.reservations.indexOf(cidr);
    if (i >= 0) this.reservations.splice(i, 1);
    const [a, p] = cidr.split("/");
    const net = ip4(a as string);
    const prefix = Number(p);
    const pool = this.#live().find((x) => net >= x.net && net < x.net + 2 ** (32 - x.prefix));
    if (pool) {
      const first = (net - pool.net) / 2 ** (32 - this.slotMask);
      for (let s = first; s < first + 2 ** (this.slotMask - prefix); s++) {
        if (!pool.reserved.delete(s)) continue;
        const held = [...this.nodes.values()].some((n) => n.sub && n.sub.pool === pool && s >= n.sub.slot && s < n.sub.slot + 2 ** n.sub.k);
        if (!held) pool.taken[s] = 0;
      }
      for (const r of this.reservations) {
        const [ra, rp] = r.split("/");
        const rnet = ip4(ra as string);
        const rfirst = (rnet - pool.net) / 2 ** (32 - this.slotMask);
        const rcount = 2 ** (this.slotMask - Number(rp));
        if (rfirst + rcount <= first || rfirst >= first + 2 ** (this.slotMask - prefix)) continue;
        for (let s = rfirst; s < rfirst + rcount; s++) {
          pool.reserved.add(s);
          pool.taken[s] = 1;
        }
      }
    }
    this.#servePending();
  }

  // ---------------------------------------------------------------- views

  /** Per node: status, podCIDRs, pods used (reserved and cooldown excluded). */
  view(): { name: string; status: string; podCIDRs: string[]; used: number }[] {
    return [...this.nodes.values()].map((n) => ({
      name: n.name,
      status: n.status,
      podCIDRs: n.sub ? [n.sub.cidr] : [],
      used: n.sub ? n.sub.used.reduce((a, u) => a + u, 0) - (n.sub.router >= 0 ? 1 : 0) - n.sub.quarantined : 0,
    }));
  }
}
