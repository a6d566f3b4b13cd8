/**
 * PoolView: numeric access to a ClusterPool's shared memory from any
 * thread. The ClusterPool (names, owners, policy) stays on the thread that
 * made it; a worker gets `pool.describe()` (structured-cloneable, the memory
 * is shared, not copied) and works on the same bitmaps through its own WASM
 * instance. Node slots are carved with CAS on the pool's atomic node bitmap;
 * a node's pod range must be used by one thread at a time.
 *
 * Arguments (src/args.ts) are checked before the memory is touched: `pool`
 * must be the index of one of the descriptor's pool entries, `slot` a slot of
 * that pool CIDR, `rel` a rel inside it, `node` a node id 1..2^32-1, an
 * address a u32: a non-integer is INVALID_ARGUMENT, an integer outside
 * NOT_IN_RANGE. Batch arrays are Uint32Arrays. The descriptor must match
 * the pool table in the memory it names (INVALID_ARGUMENT).
 */
import { Engine, SCRATCH_WORDS, type Chunk } from "../core/engine.js";
import { errors, type IpamError } from "../errors.js";
import { disposeSymbol, Held } from "../disposable.js";
import { NONE, STRATEGY_CODE, POOL_BYTES, OWN_BYTES, OWN_MASK, type Strategy } from "../core/layout.js";
import { OwnerNames } from "../core/owner-names.js";
import { STRATEGIES } from "./strategy.js";
import type { PoolCidr } from "./pool-cidr.js";
import { isIndex, isU32, badIndex, badU32, u32Array, count as countArg, U32_END } from "../args.js";

export interface PoolEntryDescriptor {
  readonly index: number;
  readonly entry: number;
  readonly family: 4 | 6;
  readonly cidr: string;
  readonly nodeMask: number;
  /** IPv4 network as u32 (0 for IPv6). */
  readonly base4: number;
  readonly hostBits: number;
  /** Host offset of the first usable pod address. */
  readonly first: number;
  /** Usable pod addresses per node subnet. */
  readonly podBits: number;
  /** Node subnets in this pool CIDR. */
  readonly slots: number;
  /** Region of the node-subnet bitmap. */
  readonly nodeBitmap: number;
  /** With named pools: the pool this pool CIDR belongs to (its nodeMask is the pool's chunk mask). */
  readonly pool?: string;
}

export interface PoolDescriptor {
  readonly memory: WebAssembly.Memory;
  readonly table: number;
  /** Entries in the table (removed pool CIDRs leave empty entries). */
  readonly tableEntries: number;
  readonly pools: readonly PoolEntryDescriptor[];
  readonly podStrategy: Strategy;
  /** The pool's owner registry header (0 or absent: no owner names through this view). */
  readonly owners?: number;
}

/**
 * The descriptor of pool table entries `list` (each with the run size k of
 * its node subnets and, with named pools, its pool's name). Marks their
 * node bitmaps shared: workers may carve slots concurrently from now on (CAS).
 */
export function poolDescriptor(
  memory: WebAssembly.Memory, table: number, tableEntries: number, podStrategy: PoolDescriptor["podStrategy"], owners: number,
  list: readonly { p: PoolCidr; k: number; pool?: string }[],
): PoolDescriptor {
  for (const { p } of list) p.set.share();
  return {
    memory, table, tableEntries, podStrategy, owners,
    pools: list.map(({ p, k, pool }) => {
      const g = p.subnet(0, k);
      return {
        index: p.index, entry: p.entry, family: p.family, cidr: String(p.cidr), nodeMask: p.slotMask,
        base4: p.base4, hostBits: p.hostBits, first: g.first, podBits: g.size,
        slots: p.set.capacity, nodeBitmap: p.nodeBitmap, ...(pool !== undefined ? { pool } : {}),
      };
    }),
  };
}

const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

export class PoolView {
  readonly #engine: Held<Engine>;
  readonly pools: readonly PoolEntryDescriptor[];
  readonly #table: number;
  readonly #count: number;
  readonly #byIndex: (PoolEntryDescriptor | undefined)[] = [];
  /** Per pool entry index: one past the largest rel (slots * 2^hostBits). */
  readonly #relEnd: number[] = [];
  readonly #strategy: number;
  readonly #names: OwnerNames | undefined;

  constructor(desc: PoolDescriptor) {
    if (typeof desc !== "object" || desc === null) throw errors.invalidArgument("new PoolView(desc)", desc, "a descriptor from pool.describe()");
    const memory: unknown = desc.memory;
    if (!(memory instanceof WebAssembly.Memory) || !(memory.buffer instanceof SharedArrayBuffer)) {
      throw errors.invalidArgument("new PoolView(desc).memory", memory, "the engine's shared WebAssembly.Memory");
    }
    const bad = (field: string, v: unknown, want: string): IpamError => errors.invalidArgument(`new PoolView(desc).${field}`, v, want);
    if (!isU32(desc.table) || desc.table % POOL_BYTES !== 0) throw bad("table", desc.table, "the pool table offset of pool.describe()");
    if (!isU32(desc.tableEntries)) throw bad("tableEntries", desc.tableEntries, "an integer");
    if (typeof desc.podStrategy !== "string" || !STRATEGIES.includes(desc.podStrategy)) throw bad("podStrategy", desc.podStrategy, `one of ${STRATEGIES.join(", ")}`);
    if (!Array.isArray(desc.pools)) throw bad("pools", desc.pools, "an array of pool entries");
    // every entry must be the one the memory holds: its numbers become WASM addresses.
    // Checked before Engine.attach, which takes a scratch region from the memory.
    const mem = new Uint32Array(memory.buffer);
    const pools: PoolEntryDescriptor[] = [];
    desc.pools.forEach((p: unknown, i) => {
      const e = p as Record<string, unknown> | null;
      const where = `pools[${i}]`;
      if (typeof e !== "object" || e === null) throw bad(where, p, "a pool entry of pool.describe()");
      const { index, entry, family, base4, hostBits, first, podBits, slots, nodeBitmap } = e;
      const at = desc.table + (index as number) * POOL_BYTES;
      const ok = isU32(index) && index < desc.tableEntries && entry === at && at + POOL_BYTES <= mem.length * 4
        && family === mem[at >>> 2] && (family === 4 || family === 6)
        && base4 === (family === 4 ? mem[(at >>> 2) + 1] : 0) && hostBits === mem[(at >>> 2) + 3]
        && slots === mem[(at >>> 2) + 4] && nodeBitmap === mem[(at >>> 2) + 7]
        && (first === 0 || first === 1) && isU32(podBits) && (first as number) + podBits <= 2 ** 24; // a big subnet (a run of slots) past a smaller overflow slot
      if (!ok) throw bad(where, p, "an entry of pool.describe() that matches the pool table in its memory");
      pools.push(Object.freeze({ ...(e as unknown as PoolEntryDescriptor) }));
    });
    const owners: unknown = desc.owners ?? 0;
    if (!isU32(owners) || (owners !== 0 && !(owners % 8 === 0 && owners + OWN_BYTES <= mem.length * 4 && isPow2((mem[(owners + OWN_MASK) >>> 2] as number) + 1)))) {
      throw bad("owners", owners, "the owner registry offset of pool.describe()");
    }
    this.#engine = new Held(Engine.attach(memory), "PoolView", "view", (e) => e._detach());
    this.#names = owners === 0 ? undefined : new OwnerNames(memory, owners);
    this.pools = Object.freeze(pools);
    this.#table = desc.table;
    this.#count = desc.tableEntries;
    for (const p of pools) {
      this.#byIndex[p.index] = p;
      this.#relEnd[p.index] = p.slots * 2 ** p.hostBits;
    }
    this.#strategy = STRATEGY_CODE[desc.podStrategy];
  }

  /** This thread's engine over the pool's memory. */
  get engine(): Engine { return this.#use("engine"); }

  /** What this object holds, or INVALID_ARGUMENT naming `method` once disposed. */
  #use(method: string): Engine {
    return this.#engine.get(method);
  }

  /**
   * Lets go of the engine: the last view on a memory in this thread gives
   * its scratch region back to the memory. The pool's state is untouched.
   * Any later call throws INVALID_ARGUMENT; disposing again is a no-op.
   */
  dispose(): void {
    this.#engine.dispose();
  }

  [disposeSymbol](): void { this.dispose(); }

  #pool(i: number, what: string): PoolEntryDescriptor {
    const p = isU32(i) ? this.#byIndex[i] : undefined;
    if (p !== undefined) return p;
    if (typeof i === "number" && Number.isInteger(i)) throw errors.notInRange(i, `the pool entries of this view (${this.pools.map((q) => q.index).join(", ")}), for ${what}`);
    throw errors.invalidArgument(what, i, "a pool entry index (an integer)");
  }

  /** A slot of the pool CIDR, or throws naming `what`. */
  static #slot(p: PoolEntryDescriptor, slot: number, what: string): number {
    if (!isIndex(slot, p.slots)) throw badIndex(what, slot, p.slots, `slots of ${p.cidr}`);
    return slot;
  }

  // ------------------------------------------------------------ node slots

  /** Carves the next node subnet (next-fit, CAS-safe) of pool entry `pool` (its table index). Returns the slot, or -1 when full. */
  allocateNextSlot(pool: number): number { return this.#allocateNextSlot("allocateNextSlot", pool); }

  /** Carves up to `count` (default out.length) node subnets of pool entry `pool` into out (slots). Returns how many (fewer: full). */
  allocateNextSlotBatch(pool: number, out: Uint32Array, count?: number): number {
    const engine = this.#use("allocateNextSlotBatch");
    const p = this.#pool(pool, "allocateNextSlotBatch(pool)");
    u32Array("allocateNextSlotBatch(out)", out);
    return engine._fill(out, countArg("allocateNextSlotBatch(count)", count, out.length), carveChunk, engine.wasm, p.nodeBitmap);
  }

  /**
   * Frees a carved slot that no node holds (e.g. after attach() found no
   * memory). Returns true if it was carved. A slot a node holds is IN_USE:
   * detach() empties and frees it.
   */
  releaseSlot(pool: number, slot: number): boolean {
    const engine = this.#use("releaseSlot");
    const p = this.#pool(pool, "releaseSlot(pool)");
    PoolView.#slot(p, slot, "releaseSlot(slot)");
    const holder = engine.wasm.poolNodeAt(p.entry, slot);
    if (holder !== 0) throw errors.inUse(`slot ${slot} of ${p.cidr}`, `node ${holder}`);
    return engine.wasm.bmRelease(p.nodeBitmap, slot) === 1;
  }

  /** True if the slot is carved (with or without a node). */
  hasSlot(pool: number, slot: number): boolean {
    const engine = this.#use("hasSlot");
    const p = this.#pool(pool, "hasSlot(pool)");
    return engine.wasm.bmHas(p.nodeBitmap, PoolView.#slot(p, slot, "hasSlot(slot)")) === 1;
  }

  /** @deprecated use allocateNextSlot */
  carveSlot(pool: number): number { return this.#allocateNextSlot("carveSlot", pool); }

  /** @deprecated use allocateNextSlotBatch (carveSlots takes at most 16,384 per call) */
  carveSlots(pool: number, out: Uint32Array, count?: number): number {
    const engine = this.#use("carveSlots");
    const p = this.#pool(pool, "carveSlots(pool)");
    u32Array("carveSlots(out)", out);
    const n = Math.min(countArg("carveSlots(count)", count, out.length), SCRATCH_WORDS);
    return engine._fill(out, n, carveChunk, engine.wasm, p.nodeBitmap);
  }

  #allocateNextSlot(method: string, pool: number): number {
    const engine = this.#use(method);
    return engine.wasm.bmAllocateNext(this.#pool(pool, `${method}(pool)`).nodeBitmap, 0);
  }

  /**
   * Gives a carved slot to node id `node` (1..2^32-1) with an empty pod
   * range, its random strategy seeded with `seed` (a u64: a bigint or a
   * non-negative safe integer). Returns false when memory is exhausted.
   * A slot that is not carved is INVALID_ARGUMENT; one a node holds, IN_USE.
   */
  attach(pool: number, slot: number, node: number, seed: bigint | number = 0n): boolean {
    const engine = this.#use("attach");
    const p = this.#pool(pool, "attach(pool)");
    PoolView.#slot(p, slot, "attach(slot)");
    if (!isU32(node) || node === 0) {
      if (typeof node === "number" && Number.isInteger(node)) throw errors.notInRange(node, "node ids, 1 to 4294967295, of attach(node)");
      throw errors.invalidArgument("attach(node)", node, "a node id (an integer from 1 to 2^32-1)");
    }
    let s: bigint;
    if (typeof seed === "bigint" && seed >= 0n && seed < 1n << 64n) s = seed;
    else if (typeof seed === "number" && Number.isSafeInteger(seed) && seed >= 0) s = BigInt(seed);
    else throw errors.invalidArgument("attach(seed)", seed, "a u64 (a bigint from 0 to 2^64-1 or a non-negative safe integer)");
    const w = engine.wasm;
    const holder = w.poolNodeAt(p.entry, slot);
    if (holder !== 0) throw errors.inUse(`slot ${slot} of ${p.cidr}`, `node ${holder}`);
    if (w.bmHas(p.nodeBitmap, slot) !== 1) throw errors.invalidArgument("attach(slot)", slot, `a slot carved by allocateNextSlot (slot ${slot} of ${p.cidr} is free)`);
    return w.poolAttach(p.entry, slot, 1, node, p.podBits, slot * 2 ** p.hostBits + p.first, 0, s < 0x8000000000000000n ? s : BigInt.asIntN(64, s)) !== 0;
  }

  /** Empties a slot's pod range and frees the slot. Returns the pods that were allocated. */
  detach(pool: number, slot: number): number {
    const engine = this.#use("detach");
    const p = this.#pool(pool, "detach(pool)");
    PoolView.#slot(p, slot, "detach(slot)");
    const pods = engine.wasm.poolDetach(p.entry, slot, 1, 0);
    engine.wasm.bmRelease(p.nodeBitmap, slot);
    return pods;
  }

  // ------------------------------------------------------------ pod addresses by rel (index) and IPv4 u32
  // allocateNextIndex, allocateIndex, releaseIndex, hasIndex and their batches (src/alloc: one verb set);
  // a rel is pool-relative (slot * 2^hostBits + host), from 0 to slots * 2^hostBits - 1.

  /** A rel of the pool CIDR, or throws naming `what`. */
  #rel(p: PoolEntryDescriptor, rel: number, what: string): number {
    const end = this.#relEnd[p.index] as number;
    if (!isIndex(rel, end)) throw badIndex(what, rel, Math.min(end, U32_END), `rels of ${p.cidr}`);
    return rel;
  }

  /** Allocates one pod address in a slot (by the pool's strategy); returns its rel (IPv4: add base4), or -1 when full. */
  allocateNextIndex(pool: number, slot: number): number { return this.#allocateNext("allocateNextIndex", pool, slot); }

  /** Allocates up to `count` (default out.length) pod addresses in a slot and writes their rels to out. Returns how many (fewer: full). */
  allocateNextIndexBatch(pool: number, slot: number, out: Uint32Array, count?: number): number {
    const engine = this.#use("allocateNextIndexBatch");
    const p = this.#pool(pool, "allocateNextIndexBatch(pool)");
    PoolView.#slot(p, slot, "allocateNextIndexBatch(slot)");
    u32Array("allocateNextIndexBatch(out)", out);
    const got = engine._fill(out, countArg("allocateNextIndexBatch(count)", count, out.length), podChunk, engine.wasm, p.entry, slot | (this.#strategy << 28));
    // the core writes base4 + rel (IPv4 addresses); rels start at 0
    if (p.base4 !== 0) for (let k = 0; k < got; k++) out[k] = (out[k] as number) - p.base4;
    return got;
  }

  /** IPv4 pools: allocates up to `count` (default out.length) pod addresses in a slot into out as u32 addresses. Returns how many (fewer: full). */
  allocateNextIPv4Batch(pool: number, slot: number, out: Uint32Array, count?: number): number {
    return this.#allocateNextBatch("allocateNextIPv4Batch", pool, slot, out, count, true);
  }

  /** Takes rel (no owner). Returns true if it was free; false if taken, or not an address of a slot's pod range. */
  allocateIndex(pool: number, rel: number): boolean {
    const engine = this.#use("allocateIndex");
    const p = this.#pool(pool, "allocateIndex(pool)");
    return engine.wasm.podAllocate(p.entry, this.#rel(p, rel, "allocateIndex(rel)"), 0) === 1;
  }

  /** Releases a pod address by rel. Returns true if it was allocated. */
  releaseIndex(pool: number, rel: number): boolean { return this.#release("releaseIndex", pool, rel); }

  /** True if the pod address at rel is allocated. */
  hasIndex(pool: number, rel: number): boolean {
    const engine = this.#use("hasIndex");
    const p = this.#pool(pool, "hasIndex(pool)");
    return engine.wasm.podOwner(p.entry, this.#rel(p, rel, "hasIndex(rel)")) !== NONE;
  }

  /** Takes the rels inp[0, count) (no owner; rels out of range are skipped). Returns how many were free. */
  allocateIndexBatch(pool: number, inp: Uint32Array, count?: number): number {
    const engine = this.#use("allocateIndexBatch");
    const p = this.#pool(pool, "allocateIndexBatch(pool)");
    u32Array("allocateIndexBatch(inp)", inp);
    const n = countArg("allocateIndexBatch(count)", count, inp.length);
    const end = this.#relEnd[p.index] as number;
    const w = engine.wasm;
    let got = 0;
    for (let k = 0; k < n; k++) {
      const rel = inp[k] as number;
      if (rel < end && w.podAllocate(p.entry, rel, 0) === 1) got++;
    }
    return got;
  }

  /** Releases the rels inp[0, count) (rels out of range are skipped). Returns how many were allocated. */
  releaseIndexBatch(pool: number, inp: Uint32Array, count?: number): number {
    const engine = this.#use("releaseIndexBatch");
    const p = this.#pool(pool, "releaseIndexBatch(pool)");
    u32Array("releaseIndexBatch(inp)", inp);
    const n = countArg("releaseIndexBatch(count)", count, inp.length);
    const end = this.#relEnd[p.index] as number;
    const w = engine.wasm;
    let freed = 0;
    for (let k = 0; k < n; k++) {
      const rel = inp[k] as number;
      if (rel < end && w.podRelease(p.entry, rel, 0) !== NONE) freed++;
    }
    return freed;
  }

  /** Writes 1 (allocated) or 0 to out[k] for each rel inp[k], k < count (out of range: 0). Returns how many are allocated. */
  hasIndexBatch(pool: number, inp: Uint32Array, out: Uint32Array, count?: number): number {
    const engine = this.#use("hasIndexBatch");
    const p = this.#pool(pool, "hasIndexBatch(pool)");
    u32Array("hasIndexBatch(inp)", inp);
    u32Array("hasIndexBatch(out)", out);
    const n = countArg("hasIndexBatch(count)", count, Math.min(inp.length, out.length));
    const end = this.#relEnd[p.index] as number;
    const w = engine.wasm;
    let taken = 0;
    for (let k = 0; k < n; k++) {
      const rel = inp[k] as number;
      const t = rel < end && w.podOwner(p.entry, rel) !== NONE ? 1 : 0;
      out[k] = t;
      taken += t;
    }
    return taken;
  }

  /** @deprecated use allocateNextIndex */
  allocate(pool: number, slot: number): number { return this.#allocateNext("allocate", pool, slot); }

  /** @deprecated use allocateNextIPv4Batch (IPv4 pools: addresses) or allocateNextIndexBatch (rels; allocateBatch wrote rels for IPv6 pools) */
  allocateBatch(pool: number, slot: number, out: Uint32Array, count?: number): number {
    return this.#allocateNextBatch("allocateBatch", pool, slot, out, count, false);
  }

  /** @deprecated use releaseIndex */
  release(pool: number, rel: number): boolean { return this.#release("release", pool, rel); }

  #allocateNext(method: string, pool: number, slot: number): number {
    const engine = this.#use(method);
    const p = this.#pool(pool, `${method}(pool)`);
    if (!isIndex(slot, p.slots)) PoolView.#slot(p, slot, `${method}(slot)`);
    const rel = engine.wasm.podAllocateNext(p.entry, slot, this.#strategy, 0);
    return rel === NONE ? NONE : rel >>> 0;
  }

  /** The core's podAllocateBatch: IPv4 addresses for IPv4 pools, rels for IPv6 ones; `ipv4Only` refuses IPv6 pools. */
  #allocateNextBatch(method: string, pool: number, slot: number, out: Uint32Array, count: number | undefined, ipv4Only: boolean): number {
    const engine = this.#use(method);
    const p = this.#pool(pool, `${method}(pool)`);
    PoolView.#slot(p, slot, `${method}(slot)`);
    u32Array(`${method}(out)`, out);
    const n = countArg(`${method}(count)`, count, out.length);
    if (ipv4Only && p.family !== 4) throw errors.familyMismatch("pool entry", p.cidr, 4);
    return engine._fill(out, n, podChunk, engine.wasm, p.entry, slot | (this.#strategy << 28));
  }

  #release(method: string, pool: number, rel: number): boolean {
    const engine = this.#use(method);
    const p = this.#pool(pool, `${method}(pool)`);
    return engine.wasm.podRelease(p.entry, this.#rel(p, rel, `${method}(rel)`), 0) !== NONE;
  }

  /** Releases u32 IPv4 addresses in[0..count). Returns how many were allocated. */
  releaseIPv4Batch(ips: Uint32Array, count?: number): number {
    const engine = this.#use("releaseIPv4Batch");
    u32Array("releaseIPv4Batch(ips)", ips);
    return engine._feed(ips, countArg("releaseIPv4Batch(count)", count, ips.length), release4Chunk, engine.wasm, this.#table, this.#count);
  }

  /** Node id whose subnet holds the u32 IPv4 address, or 0. */
  lookupIPv4(ip: number): number {
    const engine = this.#use("lookupIPv4");
    if (!isU32(ip)) throw badU32("lookupIPv4(ip)", ip);
    return engine.wasm.lookup4(this.#table, this.#count, ip);
  }

  /**
   * The owner of a u32 IPv4 address: its name, "" if it is allocated
   * without one (numeric allocations), undefined if it is not allocated or
   * lies in no node subnet. Safe while the pool's own thread allocates and
   * releases: the read is retried while name slots are being freed there
   * (the registry's seqlock, src/core/owner-names.ts), so a name read is one
   * the address had, never a torn one. An address being allocated at that
   * instant may read "" (its bit is set before its owner is written). A
   * descriptor without `owners` has no names: "" for every allocated address.
   */
  ownerOfIPv4(ip: number): string | undefined {
    const engine = this.#use("ownerOfIPv4");
    if (!isU32(ip)) throw badU32("ownerOfIPv4(ip)", ip);
    const names = this.#names;
    if (names === undefined) return engine.wasm.owner4(this.#table, this.#count, ip) === NONE ? undefined : "";
    for (;;) {
      const e = names.epoch();
      if ((e & 1) !== 0) continue; // the owning thread is freeing name slots right now
      const o = engine.wasm.owner4(this.#table, this.#count, ip);
      const name = o > 0 ? names.nameOf(o) : undefined;
      if (names.epoch() !== e) continue;
      if (o === NONE) return undefined;
      return o === 0 ? "" : name;
    }
  }

  /** Pods allocated in a slot. */
  used(pool: number, slot: number): number {
    const engine = this.#use("used");
    const p = this.#pool(pool, "used(pool)");
    return engine.wasm.podUsed(p.entry, PoolView.#slot(p, slot, "used(slot)"));
  }

  /** Node subnets taken in a pool CIDR. */
  slotsUsed(pool: number): number {
    const engine = this.#use("slotsUsed");
    return engine.wasm.bmUsed(this.#pool(pool, "slotsUsed(pool)").nodeBitmap);
  }
}

type Exports = Engine["wasm"];
/** Batch chunks over the view's engine exports (ctx): a node bitmap's slots; a slot's pods (b: slot | strategy << 28); IPv4 releases. */
const carveChunk: Chunk<Exports> = (w, n, at, _out, nodeBitmap) => w.bmAllocateBatch(nodeBitmap, 0, n, at, 0);
const podChunk: Chunk<Exports> = (w, n, at, _out, entry, b) => w.podAllocateBatch(entry, b & 0xfffffff, b >>> 28, n, at);
const release4Chunk: Chunk<Exports> = (w, n, at, _out, table, count) => w.release4Batch(table, count, n, at, 0);
