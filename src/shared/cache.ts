/**
 * SharedPool's cache: a ClusterPool with the same options, plus a mirror of
 * the keys it was built from (value and mod revision of each). Keys read
 * from etcd (a ranged read, a watch event, the failure branch of a
 * transaction) are applied only when newer than the mirror's revision, so a
 * key is never applied twice or backwards, whatever the order they come in.
 *
 * Applying is state-based: a block's entries are made equal to the value
 * read (addresses freed and allocated in the cache through the effect
 * records of src/pool/records.ts), a node is placed, made pending or
 * dropped as its key says. Blocks are applied lazily: a block read is kept
 * in the mirror and marked stale, and settled into the cache before a call
 * that may touch it runs (SharedPool settles the blocks of the nodes a batch
 * allocates on, or all of them), so a process allocating on its own nodes
 * does not decode every other process's blocks. What cannot be applied key by key (a node whose
 * slots the cache still gives to another node, a block whose node the
 * cache does not have) marks the cache dirty: SharedPool then rebuilds it
 * from one ranged read.
 */
import { ClusterPool } from "../pool/cluster-pool.js";
import type { ClusterPoolOptions } from "../pool/options.js";
import * as fx from "../pool/effects.js";
import type { NodeRecord } from "../pool/effects.js";
import type { KeyValue } from "./etcd.js";
import { Keys, decodeNode, decodeBlock, decodePoolOps, stateOf, emptyBlockState, holdsSubnets, type BlockState, type PoolOp, type StoredNode } from "./keys.js";

/** What the mirror knows of one key: its mod revision (0: absent) and the value's text. */
export interface Known {
  readonly rev: number;
  readonly text: string | undefined;
}

export class Cache {
  pool: ClusterPool;
  readonly keys: Keys;
  readonly #options: ClusterPoolOptions;
  /** key -> what was applied. An absent key with rev > 0 is a tombstone (deleted at that revision or later). */
  readonly mirror = new Map<string, Known>();
  /** Set when a key could not be applied on its own: rebuild from a ranged read. */
  dirty = false;
  /** Revision of the last full read: anything at or below it is in the mirror already (or was deleted before it). */
  floor = 0;
  /**
   * Draining nodes -> the clock ms their removal completes (Infinity: never
   * by itself). The cache's ClusterPool holds them with no deadline
   * (fx.holdDrain): SharedPool completes each in a transaction of its own.
   */
  readonly drains = new Map<string, number>();
  /** The pool-level records applied, in order (the pool key's, then this process's own not yet written). */
  poolOps: PoolOp[] = [];
  /** Block keys whose mirror value is newer than the cache's entries (see settle). */
  readonly #stale = new Set<string>();

  constructor(options: ClusterPoolOptions, keys: Keys) {
    this.#options = options;
    this.keys = keys;
    this.pool = new ClusterPool(options);
  }

  /** Mod revision of a key as known (0: absent): what a transaction compares. */
  rev(key: string): number {
    const k = this.mirror.get(key);
    return k === undefined || k.text === undefined ? 0 : k.rev;
  }

  text(key: string): string | undefined {
    return this.mirror.get(key)?.text;
  }

  /** Records a key this process wrote (its transaction committed at `rev`): the cache has it already. */
  wrote(key: string, text: string | undefined, rev: number): void {
    this.mirror.set(key, { rev, text });
    this.#stale.delete(key);
  }

  /** Applies the mirror's value of a stale block to the cache. */
  settle(key: string): void {
    if (!this.#stale.delete(key)) return;
    const kind = this.keys.parse(key);
    if (kind.kind !== "block") return;
    const text = this.text(key);
    const b = text === undefined ? undefined : decodeBlock(text);
    const at = fx.blockAt(this.pool, kind.pool, kind.slot);
    if (text === undefined) {
      if (at !== undefined) this.setBlock(kind.pool, kind.slot, emptyBlockState());
    } else if (b === undefined || at === undefined || at.node !== b.node) this.dirty = true;
    else this.setBlock(kind.pool, kind.slot, stateOf(b));
  }

  /** Settles every stale block. */
  settleAll(): void {
    for (const key of [...this.#stale]) this.settle(key);
  }

  /** Settles the blocks of node `name` (the ones an allocation on it touches). */
  settleNode(name: string): void {
    if (this.#stale.size === 0) return;
    const placed = fx.nodeRecord(this.pool, name)?.placed ?? [];
    // a node that shares ('share' overflow) borrows from the subnet with the most free addresses: any block
    if (placed.some((p) => p.pool < 0)) return this.settleAll();
    for (const p of placed) this.settle(this.keys.block(p.pool, p.slot));
  }

  /** Starts over from the keys of one ranged read at `revision`. */
  rebuild(kvs: readonly KeyValue[], revision: number): void {
    this.pool.dispose();
    this.pool = new ClusterPool(this.#options);
    this.mirror.clear();
    this.drains.clear();
    this.poolOps = [];
    this.#stale.clear();
    this.dirty = false;
    this.floor = revision;
    const nodes: { kv: KeyValue; name: string; rec: StoredNode }[] = [];
    const rest: KeyValue[] = [];
    let poolKv: KeyValue | undefined;
    for (const kv of kvs) {
      const kind = this.keys.parse(kv.key.toString());
      if (kind.kind === "pool") poolKv = kv;
      else if (kind.kind === "node") {
        const rec = decodeNode(kv.value.toString());
        if (rec !== undefined) nodes.push({ kv, name: kind.name, rec });
        else this.mirror.set(kv.key.toString(), { rev: Number(kv.mod_revision), text: kv.value.toString() });
      } else rest.push(kv);
    }
    // ready nodes in the order they were placed (the next-fit cursor ends after the last), then the pending queue
    // (a draining node's key was rewritten when it began to drain: those go first, in the order they were placed)
    const byCreate = (a: { kv: KeyValue }, b: { kv: KeyValue }): number => Number(a.kv.create_revision) - Number(b.kv.create_revision);
    const ready = [
      ...nodes.filter((n) => n.rec.status === "draining").sort(byCreate),
      ...nodes.filter((n) => n.rec.status === "ready").sort((a, b) => Number(a.kv.mod_revision) - Number(b.kv.mod_revision)),
    ];
    const pending = nodes.filter((n) => !holdsSubnets(n.rec)).sort(byCreate);
    // a key that cannot be applied (damaged by hand) leaves the cache dirty; verify() names it
    const put = (kv: KeyValue): void => {
      try {
        this.#put(kv.key.toString(), kv.value.toString(), Number(kv.mod_revision));
      } catch {
        this.dirty = true;
      }
    };
    // the pool as grown or shrunk since the options first: nodes may hold subnets of added pool CIDRs
    if (poolKv !== undefined) put(poolKv);
    for (const n of [...ready, ...pending]) put(n.kv);
    for (const kv of rest) put(kv);
  }

  /** Applies a key read from etcd, if newer than what the mirror has. `text` undefined: deleted (at `rev`). */
  applyKey(key: string, text: string | undefined, rev: number): void {
    const known = this.mirror.get(key);
    if (rev <= this.floor || (known !== undefined && known.rev >= rev)) return;
    if (text === undefined) this.#delete(key, rev);
    else this.#put(key, text, rev);
  }

  /** Applies a watch event or a read key-value. */
  applyKv(kv: KeyValue, deleted: boolean): void {
    this.applyKey(kv.key.toString(), deleted ? undefined : kv.value.toString(), Number(kv.mod_revision));
  }

  #put(key: string, text: string, rev: number): void {
    const kind = this.keys.parse(key);
    if (kind.kind === "node") this.#node(kind.name, decodeNode(text));
    else if (kind.kind === "pool") this.#applyPoolOps(decodePoolOps(text));
    this.mirror.set(key, { rev, text });
    if (kind.kind === "block") this.#stale.add(key); // applied by settle()
  }

  #delete(key: string, rev: number): void {
    const kind = this.keys.parse(key);
    if (kind.kind === "node") this.#node(kind.name, undefined);
    else if (kind.kind === "pool" && this.poolOps.length > 0) this.dirty = true; // deleted by hand
    else if (kind.kind === "block" && fx.blockAt(this.pool, kind.pool, kind.slot) !== undefined) {
      // the node still holds the subnet (its key goes in the same transaction, or was damaged): empty it
      this.#stale.delete(key);
      this.setBlock(kind.pool, kind.slot, emptyBlockState());
    }
    this.mirror.set(key, { rev, text: undefined });
    this.#stale.delete(key);
  }

  /** Makes the cache's node `name` what the key says (undefined: no such node). */
  #node(name: string, rec: StoredNode | undefined): void {
    const cur = fx.nodeRecord(this.pool, name);
    if (rec === undefined) {
      if (cur !== undefined) this.#drop(name, cur);
      return;
    }
    if (holdsSubnets(rec)) {
      if (holdsSubnets(cur) && samePlaced((cur as NodeRecord).placed, rec.placed)) {
        if (cur?.status === "draining" && rec.status === "ready") this.dirty = true; // not a ClusterPool transition: damaged by hand
        else if (cur?.status === "ready" && rec.status === "draining") this.#drain(name, rec);
        else if (rec.status === "draining") this.drains.set(name, rec.deadline ?? Infinity);
        return;
      }
      if (cur !== undefined && cur.status !== "pending") this.#drop(name, cur);
      if (!fx.slotsFree(this.pool, rec.placed)) {
        this.dirty = true;
        return;
      }
      try {
        const r = { op: "node" as const, name, placed: rec.placed };
        if (rec.o === true) fx.applyOccupied(this.pool, r);
        else fx.apply(this.pool, r);
        if (rec.status === "draining") this.#drain(name, rec);
      } catch {
        this.dirty = true;
      }
      return;
    }
    // pending, or failed (a CiliumNode import whose CIDRs were taken)
    if (cur?.status === rec.status) return;
    if (cur !== undefined) this.#drop(name, cur);
    fx.apply(this.pool, rec.status === "failed" ? { op: "failed", name, error: rec.error ?? "" } : { op: "pending", name, error: rec.error ?? "" });
  }

  /**
   * Replays the pool-level records the cache has not applied yet. The
   * records applied must be the first ones of the key (it only grows):
   * anything else (damaged by hand) makes the cache dirty.
   */
  #applyPoolOps(ops: PoolOp[] | undefined): void {
    const have = this.poolOps;
    if (ops === undefined || ops.length < have.length || have.some((r, i) => JSON.stringify(r) !== JSON.stringify(ops[i]))) {
      this.dirty = true;
      return;
    }
    for (const r of ops.slice(have.length)) {
      try {
        fx.apply(this.pool, r);
      } catch {
        this.dirty = true; // contradicts the cache (a node in a reserved subnet): rebuild
        return;
      }
      have.push(r);
    }
  }

  /** A ready node of the cache begins to drain: held by the cache, its deadline kept in `drains`. */
  #drain(name: string, rec: StoredNode): void {
    fx.apply(this.pool, { op: "drain", name, deadline: "Infinity" });
    this.drained(name, rec.deadline ?? Infinity);
  }

  /** Node `name` of the cache drains until `deadline` (clock ms): the cache holds it, `drains` has the deadline. */
  drained(name: string, deadline: number): void {
    fx.holdDrain(this.pool, name);
    this.drains.set(name, deadline);
  }

  #drop(name: string, cur: NodeRecord): void {
    this.drains.delete(name);
    fx.apply(this.pool, { op: "drop", name });
    // the node's blocks are empty in the cache now; so are their mirrored entries
    for (const p of cur.placed) {
      const key = this.keys.block(p.pool, p.slot);
      const k = this.mirror.get(key);
      if (k?.text !== undefined) this.mirror.set(key, { rev: k.rev, text: undefined });
      this.#stale.delete(key);
    }
  }

  /**
   * Makes the cache's block at (pool, slot) what `target` says: its owners
   * (and, 'share' overflow, the node each lent address is lent to), and its
   * addresses in reuse cooldown: cooldowns that etcd no longer has end, the
   * others start with the release time etcd has (the cache's cooldown
   * queue keeps release-time order).
   */
  setBlock(poolIndex: number, slot: number, target: BlockState): void {
    const at = fx.blockAt(this.pool, poolIndex, slot);
    if (at === undefined) {
      if (target.entries.size > 0 || target.cooling.size > 0) this.dirty = true;
      return;
    }
    const cur = emptyBlockState();
    const entries = fx.blockEntries(this.pool, poolIndex, slot, cur);
    const key = (off: number): number | undefined => fx.keyInBlock(this.pool, poolIndex, slot, off);
    const same = (off: number): boolean => entries.get(off) === target.entries.get(off) && cur.lent.get(off) === target.lent.get(off);
    for (const [off, t] of cur.cooling) if (target.cooling.get(off) !== t) fx.endCooldownOf(this.pool, key(off) as number);
    const frees: number[] = [];
    for (const off of entries.keys()) if (!same(off)) frees.push(key(off) as number);
    if (frees.length > 0) fx.apply(this.pool, { op: "free", keys: frees });
    const take = (off: number, owner: string, node: string): number | undefined => {
      const k = key(off);
      if (k === undefined || fx.ownerOfKey(this.pool, k) !== undefined || fx.nodeRecord(this.pool, node) === undefined) {
        this.dirty = true; // outside the subnet, reserved in this cache (a router IP), not freed above, or lent to an unknown node
        return undefined;
      }
      fx.apply(this.pool, { op: "alloc", node, owner, keys: [k], wanted: true });
      return k;
    };
    for (const [off, owner] of target.entries) if (!same(off) || !entries.has(off)) take(off, owner, target.lent.get(off) ?? at.node);
    for (const [off, t] of target.cooling) {
      if (cur.cooling.get(off) === t) continue;
      if (!fx.hasCooldown(this.pool)) {
        this.dirty = true; // a cooldown in a pool without options.reuse: damaged by hand
        continue;
      }
      const k = take(off, "", at.node);
      if (k !== undefined) fx.apply(this.pool, { op: "free", keys: [k], q: t });
    }
  }

  /** What the mirror holds for a block (empty when absent). */
  mirrorBlock(poolIndex: number, slot: number): BlockState {
    const text = this.text(this.keys.block(poolIndex, slot));
    const b = text === undefined ? undefined : decodeBlock(text);
    return b === undefined ? emptyBlockState() : stateOf(b);
  }

  /** The node record the mirror holds. */
  mirrorNode(name: string): NodeRecord | undefined {
    const text = this.text(this.keys.node(name));
    return text === undefined ? undefined : decodeNode(text);
  }

  dispose(): void {
    this.pool.dispose();
  }
}

export function samePlaced(a: NodeRecord["placed"], b: NodeRecord["placed"]): boolean {
  return a.length === b.length && a.every((p, i) => p.pool === b[i]?.pool && p.slot === b[i]?.slot && p.k === b[i]?.k);
}
