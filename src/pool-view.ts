/**
 * PoolView: numeric access to a ClusterPool's shared memory from any
 * thread. The ClusterPool (names, owners, policy) stays on the thread that
 * made it; a worker gets `pool.describe()` (structured-cloneable, the memory
 * is shared, not copied) and works on the same bitmaps through its own WASM
 * instance. Node slots are carved with CAS on the pool's atomic node bitmap;
 * a node's pod range must be used by one thread at a time.
 */
import { Engine } from "./engine.js";
import { errors } from "./errors.js";
import { disposeSymbol } from "./disposable.js";
import { NONE, STRATEGY_CODE, type Strategy } from "./wasm.js";

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
}

export interface PoolDescriptor {
  readonly memory: WebAssembly.Memory;
  readonly table: number;
  /** Entries in the table (removed pool CIDRs leave empty entries). */
  readonly tableEntries: number;
  readonly pools: readonly PoolEntryDescriptor[];
  readonly podStrategy: Strategy;
}

export class PoolView {
  /** This thread's engine over the pool's memory (shared by the views on it); undefined once disposed. */
  #engine: Engine | undefined;
  readonly pools: readonly PoolEntryDescriptor[];
  readonly #table: number;
  readonly #count: number;
  readonly #byIndex: (PoolEntryDescriptor | undefined)[] = [];
  readonly #strategy: number;

  constructor(desc: PoolDescriptor) {
    this.#engine = Engine.attach(desc.memory);
    this.pools = desc.pools;
    this.#table = desc.table;
    this.#count = desc.tableEntries;
    for (const p of desc.pools) this.#byIndex[p.index] = p;
    this.#strategy = STRATEGY_CODE[desc.podStrategy];
  }

  /** This thread's engine over the pool's memory. */
  get engine(): Engine { return this.#use("engine"); }

  /** The engine, or INVALID_ARGUMENT naming `method` once disposed. */
  #use(method: string): Engine {
    const e = this.#engine;
    if (e === undefined) throw errors.disposed(`PoolView.${method}`, "view");
    return e;
  }

  /**
   * Lets go of the engine: the last view on a memory in this thread gives
   * its scratch region back to the memory. The pool's state is untouched.
   * Any later call throws INVALID_ARGUMENT; disposing again is a no-op.
   */
  dispose(): void {
    const e = this.#engine;
    if (e === undefined) return;
    this.#engine = undefined;
    e._detach();
  }

  [disposeSymbol](): void { this.dispose(); }

  #pool(i: number): PoolEntryDescriptor {
    const p = this.#byIndex[i];
    if (p === undefined) throw new RangeError(`ipcarve: no pool entry ${i}`);
    return p;
  }

  /** Carves the next node subnet (next-fit, CAS-safe) of pool entry `pool` (its table index). Returns the slot, or -1 when full. */
  carveSlot(pool: number): number {
    return this.#use("carveSlot").wasm.bmAllocateNext(this.#pool(pool).nodeBitmap, 0);
  }

  /** Carves up to `count` node subnets into out (slots). Returns how many. */
  carveSlots(pool: number, out: Uint32Array, count: number = out.length): number {
    const e = this.#use("carveSlots");
    const w = e.wasm;
    const s = e.scratch;
    const n = Math.min(count, out.length, 16384);
    const got = w.bmAllocateBatch(this.#pool(pool).nodeBitmap, 0, n, s, 0);
    out.set(e.u32().subarray(s >>> 2, (s >>> 2) + got));
    return got;
  }

  /** Gives a carved slot to node id `node` with an empty pod range. Returns false when memory is exhausted. */
  attach(pool: number, slot: number, node: number, seed = 0n): boolean {
    const w = this.#use("attach").wasm;
    const p = this.#pool(pool);
    return w.poolAttach(p.entry, slot, 1, node, p.podBits, slot * 2 ** p.hostBits + p.first, 0, seed) !== 0;
  }

  /** Empties a slot's pod range and frees the slot. Returns the pods that were allocated. */
  detach(pool: number, slot: number): number {
    const w = this.#use("detach").wasm;
    const p = this.#pool(pool);
    const pods = w.poolDetach(p.entry, slot, 1, 0);
    w.bmRelease(p.nodeBitmap, slot);
    return pods;
  }

  /** Allocates one pod address in a slot; returns rel (IPv4: add base4), or -1 when full. */
  allocate(pool: number, slot: number): number {
    const rel = this.#use("allocate").wasm.podAllocateNext(this.#pool(pool).entry, slot, this.#strategy, 0);
    return rel === NONE ? NONE : rel >>> 0;
  }

  /** Allocates up to `count` pod addresses in a slot into out (IPv4: u32 addresses; IPv6: rel). Returns how many. */
  allocateBatch(pool: number, slot: number, out: Uint32Array, count: number = out.length): number {
    const e = this.#use("allocateBatch");
    const w = e.wasm;
    const s = e.scratch;
    const entry = this.#pool(pool).entry;
    let done = 0;
    count = Math.min(count, out.length);
    while (done < count) {
      const n = Math.min(count - done, 16384);
      const got = w.podAllocateBatch(entry, slot, this.#strategy, n, s);
      if (got > 0) out.set(e.u32().subarray(s >>> 2, (s >>> 2) + got), done);
      done += got;
      if (got < n) break;
    }
    return done;
  }

  /** Releases a pod address by rel. Returns true if it was allocated. */
  release(pool: number, rel: number): boolean {
    return this.#use("release").wasm.podRelease(this.#pool(pool).entry, rel, 0) !== NONE;
  }

  /** Releases u32 IPv4 addresses in[0..count). Returns how many were allocated. */
  releaseIPv4Batch(ips: Uint32Array, count: number = ips.length): number {
    const e = this.#use("releaseIPv4Batch");
    const w = e.wasm;
    const s = e.scratch;
    let freed = 0;
    count = Math.min(count, ips.length);
    for (let done = 0; done < count; ) {
      const n = Math.min(count - done, 16384);
      e.u32().set(ips.subarray(done, done + n), s >>> 2);
      freed += w.release4Batch(this.#table, this.#count, n, s, 0);
      done += n;
    }
    return freed;
  }

  /** Node id whose subnet holds the u32 IPv4 address, or 0. */
  lookupIPv4(ip: number): number {
    return this.#use("lookupIPv4").wasm.lookup4(this.#table, this.#count, ip);
  }

  /** Pods allocated in a slot. */
  used(pool: number, slot: number): number {
    return this.#use("used").wasm.podUsed(this.#pool(pool).entry, slot);
  }

  /** Node subnets taken in a pool CIDR. */
  slotsUsed(pool: number): number {
    return this.#use("slotsUsed").wasm.bmUsed(this.#pool(pool).nodeBitmap);
  }
}
