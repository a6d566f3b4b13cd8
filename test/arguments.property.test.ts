/**
 * Every public method of ClusterPool, CidrSet, PodRange, PoolView, FileStore
 * and Engine, called with arbitrary values (fc.anything() plus edge numbers,
 * huge strings, Object.create(null), BigInt, Symbol, typed arrays and a few
 * plausible values so that calls also succeed). The methods are listed from
 * the prototypes, so a method added later is called too.
 *
 * Properties:
 * - the only exception is an IpamError, with a code documented for that class,
 *   and a message that starts with "ipcarve:";
 * - a failed call changes nothing: ClusterPool snapshot() bytes (and, with a
 *   FileStore, the journal's size) are equal before and after; for CidrSet,
 *   PodRange, PoolView and Engine the bytes of their shared memory are;
 * - a number argument that is not an integer in its domain, or a batch array
 *   that is not a Uint32Array, is refused (it used to be converted: ToInt32);
 * - after any sequence, verify() finds nothing.
 */
import { describe, it, expect, afterAll } from "vitest";
import fc from "fast-check";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClusterPool, CidrSet, PodRange, PoolView, Engine, FileStore, IpamError } from "../src/index.js";
import type { ClusterPoolOptions, IpamErrorCode } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "ipcarve-argprop-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = (): string => join(dir, `p${files++}.ipc`);

// ------------------------------------------------------------------ values

const HUGE = "1".repeat(200_000);
const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.anything({ withBigInt: true, withNullPrototype: true, withTypedArray: true, withSparseArray: true, withBoxedValues: true, withMap: true }) },
  { weight: 3, arbitrary: fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, 0, 1, 2, 3, -1, 0.5, 1.5, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 53, -(2 ** 32), 0x0a000001, 0x0a000005, 0x0a000101) },
  { weight: 1, arbitrary: fc.bigInt() },
  {
    weight: 2,
    arbitrary: fc.constantFrom<unknown>(
      HUGE, `${HUGE}/24`, Object.create(null), Symbol("s"), Symbol(), null, undefined, [], {}, true,
      "", "constructor", "__proto__", "toString", new Int32Array([-1062731775, 1]), new Uint32Array(0), new Float64Array(2), [1, 2],
    ),
  },
  {
    weight: 3,
    // plausible values, so that calls also succeed and change the state between failures
    arbitrary: fc.constantFrom<unknown>(
      "a", "b", "c", "ns/p", "ns/q", "10.0.0.1", "10.0.0.5", "10.0.1.7", "10.0.3.2", "fd00::1", "fd00::105", "192.168.0.1",
      "10.0.0.0/24", "10.0.2.0/24", "10.9.0.0/24", "10.0.0.16/28", "fd00::/120", "fd09::/120", "10.0.0.0/8",
      4, 6, 1, 2, { graceMs: 5 }, ["10.0.0.9"], new Uint32Array([0x0a000001, 0x0a000102, 7]), new Uint32Array(3),
    ),
  },
);
const args = fc.array(value, { maxLength: 4 });

// ------------------------------------------------------------------ helpers

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
const isU32 = (v: unknown): boolean => isInt(v) && v >= 0 && v < 2 ** 32;

/**
 * Public instance methods of a class: own prototype functions, no getters, no constructor, no
 * @internal (_x), no dispose (test/dispose.test.ts calls every method after it).
 */
function methodsOf(proto: object, except: readonly string[] = []): string[] {
  return Object.getOwnPropertyNames(proto).filter((k) => {
    const d = Object.getOwnPropertyDescriptor(proto, k) as PropertyDescriptor;
    return k !== "constructor" && k !== "dispose" && !k.startsWith("_") && typeof d.value === "function" && !except.includes(k);
  });
}
/** Reads every getter (they must not throw either). */
function readGetters(obj: object): void {
  const proto = Object.getPrototypeOf(obj) as object;
  for (const k of Object.getOwnPropertyNames(proto)) {
    if (Object.getOwnPropertyDescriptor(proto, k)?.get) void (obj as Record<string, unknown>)[k];
  }
}

/** Runs fn; returns the IpamError it threw (checking its code is in `codes`), or undefined if it returned. */
function attempt(codes: ReadonlySet<IpamErrorCode>, what: () => string, fn: () => unknown): IpamError | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (!(e instanceof IpamError)) throw new Error(`${what()} threw a ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`, { cause: e });
    if (!codes.has(e.code)) throw new Error(`${what()} threw ${e.code}, not a code documented for it: ${e.message}`);
    if (!e.message.startsWith("ipcarve: ")) throw new Error(`${what()}: message ${e.message}`);
    return e;
  }
}

/** A call description for failure reports (never throws: symbols and BigInts included). */
function describeCall(m: string, a: readonly unknown[]): string {
  const one = (v: unknown): string => {
    if (typeof v === "bigint") return `${v}n`;
    if (typeof v === "symbol") return "Symbol()";
    if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
    if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
    if (v === null || typeof v !== "object") return String(v);
    return Object.prototype.toString.call(v);
  };
  return `${m}(${a.map(one).join(", ")})`;
}

/** Bytes of an engine's memory in use (arena regions included). */
const memoryOf = (e: Engine): Buffer => Buffer.from(new Uint8Array(e.memory.buffer, 0, e.bytesUsed + 128));

/** Calls with a non-integer or out-of-domain number, or a non-Uint32Array batch, that must be refused. */
type MustRefuse = Record<string, (a: readonly unknown[]) => boolean>;
const notU32 = (v: unknown): boolean => !isU32(v);
const notInt = (v: unknown): boolean => !isInt(v);
const notU32Array = (v: unknown): boolean => !(v instanceof Uint32Array);
const notString = (v: unknown): boolean => typeof v !== "string";

const ALL: IpamErrorCode[] = [
  "INVALID_CIDR", "INVALID_IP", "INVALID_MASK", "SUBNET_TOO_BIG", "CIDR_COLLISION", "FAMILY_MISMATCH", "NOT_IN_RANGE",
  "ALREADY_ALLOCATED", "FULL", "UNKNOWN_NODE", "INVALID_OPTION", "OWNER_MISMATCH", "IN_USE", "CORRUPT_STATE",
  "INVALID_ARGUMENT", "LOCKED", "IO_ERROR", "UNKNOWN_POOL",
];
const POOL_CODES = new Set<IpamErrorCode>(ALL);
const SET_CODES = new Set<IpamErrorCode>(["INVALID_ARGUMENT", "INVALID_OPTION", "INVALID_CIDR", "INVALID_MASK", "SUBNET_TOO_BIG", "FAMILY_MISMATCH", "NOT_IN_RANGE", "FULL"]);
const RANGE_CODES = new Set<IpamErrorCode>(["INVALID_ARGUMENT", "INVALID_OPTION", "INVALID_CIDR", "INVALID_IP", "SUBNET_TOO_BIG", "FAMILY_MISMATCH", "NOT_IN_RANGE", "ALREADY_ALLOCATED", "FULL"]);
const VIEW_CODES = new Set<IpamErrorCode>(["INVALID_ARGUMENT", "NOT_IN_RANGE", "IN_USE"]);
const ENGINE_CODES = new Set<IpamErrorCode>(["INVALID_ARGUMENT", "INVALID_OPTION", "NOT_IN_RANGE", "FULL"]);

const RUNS = { numRuns: 100, seed: 8 } as const;
const calls = (names: readonly string[]): fc.Arbitrary<{ m: string; a: unknown[] }[]> =>
  fc.array(fc.record({ m: fc.constantFrom(...names), a: args }), { minLength: 1, maxLength: 30 });

// ------------------------------------------------------------------ ClusterPool

const CONFIGS: ClusterPoolOptions[] = [
  // dual stack, reuse cooldown, router IPs: 4 IPv4 /24s, 4 IPv6 /120s
  { ipv4: { cidrs: ["10.0.0.0/22"], maskSize: 24 }, ipv6: { cidrs: ["fd00::/118"], maskSize: 120 }, reuse: { cooldownMs: 50 }, reserveRouterIP: "first", clock: () => 1000 },
  // big holes, then /26 overflow; random pod strategy
  { ipv4: { cidrs: ["10.0.0.0/22", "10.0.8.0/24"], maskSize: 24 }, maxNodeSubnets: 2, overflow: { smaller: 26 }, podStrategy: "random", seed: 3, clock: () => 1000 },
];

const POOL_REFUSE: MustRefuse = {
  releaseIPv4: (a) => notU32(a[0]),
  lookupIPv4: (a) => notU32(a[0]),
  allocateIPv4: (a) => notInt(a[0]),
  nodeName: (a) => notInt(a[0]),
  allocateIPv4Batch: (a) => notInt(a[0]) || notU32Array(a[1]),
  releaseIPv4Batch: (a) => notU32Array(a[0]),
  lookupIPv4Batch: (a) => notU32Array(a[0]),
  addNode: (a) => notString(a[0]) || a[0] === "",
  removeNode: (a) => notString(a[0]),
  allocate: (a) => notString(a[0]) || notString(a[1]) || a[1] === "",
  release: (a) => notString(a[0]),
  lookup: (a) => notString(a[0]),
  handle: (a) => notString(a[0]),
  reserve: (a) => notString(a[0]),
  unreserve: (a) => notString(a[0]),
  removePoolCidr: (a) => notString(a[0]),
  snapshot: (a) => a[0] !== undefined && notU32(a[0]),
};

function setupPool(p: ClusterPool): void {
  p.addNode("a");
  p.addNode("b");
  p.allocate("a", "ns/p");
  p.allocate("b", "ns/q");
  p.allocateIPv4(p.handle("a"));
}

/** Runs the calls on pool p; `journal` (with a FileStore) must not grow on a failed call. */
function runPoolCalls(p: ClusterPool, ops: readonly { m: string; a: unknown[] }[], journal?: string): void {
  let before = p.snapshot();
  for (const { m, a } of ops) {
    const size = journal ? statSync(journal).size : 0;
    const what = (): string => describeCall(m, a);
    const e = attempt(POOL_CODES, what, () => (p as unknown as Record<string, (...x: unknown[]) => unknown>)[m]!(...a));
    if (e !== undefined) {
      const after = p.snapshot();
      if (!Buffer.from(after).equals(Buffer.from(before))) throw new Error(`${what()} failed (${e.message}) but changed the snapshot`);
      if (journal && statSync(journal).size !== size) throw new Error(`${what()} failed (${e.message}) but journaled`);
    } else {
      if (POOL_REFUSE[m]?.(a)) throw new Error(`${what()} should have been refused`);
      before = p.snapshot();
    }
    readGetters(p);
  }
  expect(p.verify()).toEqual([]);
}

// the values above, and some that name the pools, labels and CIDRs of MULTI
const multiArgs = fc.array(fc.oneof(
  { weight: 3, arbitrary: value },
  { weight: 1, arbitrary: fc.constantFrom<unknown>({ pool: "blue" }, { pool: "default" }, { pool: "ds" }, { labels: { tier: "blue" } }, "blue", "ds", "10.1.0.0/29", "10.1.0.8/29", "10.2.0.0/28", "fd02::/124", { ipv4: { cidrs: ["10.5.0.0/28"], maskSize: 29 } }) },
), { maxLength: 4 });
const MULTI = {
  pools: {
    default: { ipv4: { cidrs: ["10.0.0.0/26"], maskSize: 28 }, preAllocate: 4, releaseDelayMs: 0 },
    blue: { ipv4: { cidrs: ["10.1.0.0/28"], maskSize: 29 }, preAllocate: 0, releaseDelayMs: 5, nodeSelector: { matchLabels: { tier: "blue" } } },
    ds: { ipv4: { cidrs: ["10.2.0.0/27"], maskSize: 28 }, ipv6: { cidrs: ["fd02::/124"], maskSize: 124 }, preAllocate: 0 },
  },
  clock: () => 1e3,
};
const multiCalls = (names: readonly string[]): fc.Arbitrary<{ m: string; a: unknown[] }[]> =>
  fc.array(fc.record({ m: fc.constantFrom(...names), a: multiArgs }), { minLength: 1, maxLength: 30 });

function setupMulti(p: ClusterPool): void {
  p.addNode("a");
  p.addNode("b", { labels: { tier: "blue" } });
  p.allocate("a", "ns/p");
  p.allocate("b", "ns/q", { pool: "blue" });
  p.allocate("b", "ns/r", { pool: "ds" });
}

describe("arguments: every public method with arbitrary values", () => {
  it("ClusterPool: only IpamErrors with documented codes; a failed call leaves snapshot() bytes unchanged", () => {
    const names = methodsOf(ClusterPool.prototype);
    expect(names).toEqual(expect.arrayContaining(["addNode", "allocate", "releaseIPv4", "allocateIPv4Batch", "addPoolCidr", "importCiliumNodes", "snapshot", "nodeName"]));
    fc.assert(
      fc.property(fc.constantFrom(...CONFIGS), calls(names), (cfg, ops) => {
        const p = new ClusterPool(cfg);
        setupPool(p);
        runPoolCalls(p, ops);
      }),
      RUNS,
    );
  });

  it("ClusterPool with named pools: only IpamErrors with documented codes; a failed call leaves snapshot() bytes unchanged", () => {
    const names = methodsOf(ClusterPool.prototype);
    fc.assert(
      fc.property(multiCalls(names), (ops) => {
        const p = new ClusterPool(MULTI);
        setupMulti(p);
        runPoolCalls(p, ops);
        p.dispose();
      }),
      RUNS,
    );
  });

  it("ClusterPool statics and constructor: new, restore, fromCiliumNodes, open", () => {
    const valid = (() => {
      const p = new ClusterPool(CONFIGS[0]!);
      setupPool(p);
      return p.snapshot();
    })();
    const statics: Record<string, (a: readonly unknown[]) => unknown> = {
      new: (a) => new ClusterPool(a[0] as never),
      restore: (a) => ClusterPool.restore(a[0] as never, a[1] as never),
      "restore(valid bytes)": (a) => ClusterPool.restore(valid, a[0] as never),
      fromCiliumNodes: (a) => ClusterPool.fromCiliumNodes(a[0], a[1] as never),
      "open(fresh path)": (a) => ClusterPool.open(freshPath(), a[0] as never, a[1] as never).close(),
      "open(path)": (a) => ClusterPool.open(a[0] as never, a[1] as never, a[2] as never),
    };
    fc.assert(
      fc.property(calls(Object.keys(statics)), (ops) => {
        for (const { m, a } of ops) {
          // an arbitrary path must not touch the file system: only non-strings reach FileStore there
          if (m === "open(path)" && typeof a[0] === "string") continue;
          const e = attempt(POOL_CODES, () => describeCall(m, a), () => statics[m]!(a));
          if (e === undefined && m === "restore" && !(a[0] instanceof Uint8Array)) throw new Error("restore of non-bytes succeeded");
        }
      }),
      RUNS,
    );
  });

  it("ClusterPool on a FileStore: a failed call neither changes the snapshot nor writes to the journal", () => {
    // close() and FileStore.open() on an open store are left out: they end or duplicate the store
    const names = methodsOf(ClusterPool.prototype, ["close"]);
    fc.assert(
      fc.property(calls(names), (ops) => {
        const path = freshPath();
        const p = ClusterPool.open(path, CONFIGS[0]!, { fsync: "never" });
        try {
          setupPool(p);
          runPoolCalls(p, ops, `${path}.journal`);
        } finally {
          p.close();
        }
        const q = ClusterPool.open(path, CONFIGS[0]!, { fsync: "never" }); // what was journaled replays
        expect(q.verify()).toEqual([]);
        q.close();
      }),
      { numRuns: 15, seed: 8 },
    );
  });

  it("ClusterPool with named pools on a FileStore: a failed call neither changes the snapshot nor writes to the journal", () => {
    const names = methodsOf(ClusterPool.prototype, ["close"]);
    fc.assert(
      fc.property(multiCalls(names), (ops) => {
        const path = freshPath();
        const p = ClusterPool.open(path, MULTI, { fsync: "never" });
        let live: Uint8Array;
        try {
          setupMulti(p);
          runPoolCalls(p, ops, `${path}.journal`);
          live = p.snapshot();
        } finally {
          p.close();
        }
        const q = ClusterPool.open(path, MULTI, { fsync: "never" }); // what was journaled replays to the same state
        expect(q.verify()).toEqual([]);
        expect(Buffer.from(q.snapshot()).equals(Buffer.from(live))).toBe(true);
        q.close();
      }),
      { numRuns: 15, seed: 8 },
    );
  });

  it("FileStore: constructor, open, compact, sizes and the internal record hooks with arbitrary values", () => {
    // FileStore (src/pool/) adds open(options) to the store of src/state/; both prototypes count
    const names = [...methodsOf(FileStore.prototype, ["close", "open"]), ...methodsOf(Object.getPrototypeOf(FileStore.prototype) as object, ["close", "openWith"]), "_emit"];
    expect(names).toEqual(expect.arrayContaining(["compact", "sizes"]));
    fc.assert(
      fc.property(calls([...names, "new", "open(fresh)"]), (ops) => {
        const path = freshPath();
        const store = new FileStore(path, { fsync: "never" });
        const p = store.open(CONFIGS[0]!);
        try {
          for (const { m, a } of ops) {
            const size = statSync(`${path}.journal`).size;
            const before = p.snapshot();
            const what = (): string => describeCall(m, a);
            const e = attempt(POOL_CODES, what, () => {
              if (m === "new") return new FileStore(a[0] as never, a[1] as never);
              if (m === "open(fresh)") return new FileStore(freshPath()).open(a[0] as never).close();
              return (store as unknown as Record<string, (...x: unknown[]) => unknown>)[m]!(...a);
            });
            if (e !== undefined) {
              expect(statSync(`${path}.journal`).size).toBe(size);
              expect(Buffer.from(p.snapshot()).equals(Buffer.from(before))).toBe(true);
            }
            readGetters(store);
          }
        } finally {
          store.close();
        }
        const q = ClusterPool.open(path, CONFIGS[0]!, { fsync: "never" }); // nothing unreplayable was appended
        q.close();
      }),
      { numRuns: 15, seed: 8 },
    );
  });

  // ------------------------------------------------------------------ CidrSet, PodRange

  it("CidrSet: only IpamErrors; a failed call leaves its memory unchanged; indices are integers in range", () => {
    const engine = Engine.create();
    const names = methodsOf(CidrSet.prototype);
    const refuse: MustRefuse = {
      allocateIndex: (a) => !(isInt(a[0]) && a[0] >= 0 && a[0] < 16),
      releaseIndex: (a) => !(isInt(a[0]) && a[0] >= 0 && a[0] < 16),
      hasIndex: (a) => !(isInt(a[0]) && a[0] >= 0 && a[0] < 16),
      indexToCidr: (a) => !(isInt(a[0]) && a[0] >= 0 && a[0] < 16),
      allocateNextIndexBatch: (a) => notU32Array(a[0]),
      allocateIndexBatch: (a) => notU32Array(a[0]),
      releaseIndexBatch: (a) => notU32Array(a[0]),
      hasIndexBatch: (a) => notU32Array(a[0]) || notU32Array(a[1]),
      allocateNextBatch: (a) => notU32Array(a[0]),
      releaseBatch: (a) => notU32Array(a[0]),
    };
    fc.assert(
      fc.property(fc.constantFrom("10.0.0.0/20", "fd00::/116"), fc.boolean(), calls([...names, "new"]), (cidr, shared, ops) => {
        const set = new CidrSet(cidr, cidr.includes(":") ? 120 : 24, { engine, shared }); // 16 subnets
        set.allocateNext();
        set.occupy(set.indexToCidr(5));
        for (const { m, a } of ops) {
          const before = memoryOf(engine);
          const what = (): string => describeCall(m, a);
          const e = attempt(SET_CODES, what, () =>
            m === "new" ? new CidrSet(a[0] as never, a[1] as never, a[2] as never) : (set as unknown as Record<string, (...x: unknown[]) => unknown>)[m]!(...a));
          if (e !== undefined && !memoryOf(engine).equals(before)) throw new Error(`${what()} failed but changed memory`);
          if (e === undefined && refuse[m]?.(a)) throw new Error(`${what()} should have been refused`);
          readGetters(set);
        }
        expect(set.used).toBeLessThanOrEqual(16);
      }),
      RUNS,
    );
  });

  it("PodRange: only IpamErrors; a failed call leaves its memory unchanged; offsets are integers in range", () => {
    const engine = Engine.create();
    const names = methodsOf(PodRange.prototype);
    const refuse: MustRefuse = {
      allocateIndex: (a) => !(isInt(a[0]) && a[0] >= 0 && a[0] < 14),
      releaseIndex: (a) => !(isInt(a[0]) && a[0] >= 0 && a[0] < 14),
      hasIndex: (a) => !(isInt(a[0]) && a[0] >= 0 && a[0] < 14),
      allocateNextIndexBatch: (a) => notU32Array(a[0]),
      allocateIndexBatch: (a) => notU32Array(a[0]),
      releaseIndexBatch: (a) => notU32Array(a[0]),
      hasIndexBatch: (a) => notU32Array(a[0]) || notU32Array(a[1]),
      allocateNextIPv4Batch: (a) => notU32Array(a[0]),
      releaseIPv4Batch: (a) => notU32Array(a[0]),
      releaseOffset: (a) => !(isInt(a[0]) && a[0] >= 0 && a[0] < 14),
      hasOffset: (a) => !(isInt(a[0]) && a[0] >= 0 && a[0] < 14),
      ipAt: (a) => !(isInt(a[0]) && a[0] >= 0 && a[0] < 14),
      allocate: (a) => notString(a[0]),
      release: (a) => notString(a[0]),
      has: (a) => notString(a[0]),
      offsetOf: (a) => notString(a[0]),
      allocateNextBatchIPv4: (a) => notU32Array(a[0]),
      releaseBatchIPv4: (a) => notU32Array(a[0]),
    };
    fc.assert(
      fc.property(fc.constantFrom("10.0.0.0/28", "fd00::/124"), fc.constantFrom("next-fit", "first-free", "random"), calls([...names, "new"]), (cidr, strategy, ops) => {
        const r = new PodRange(cidr, { engine, strategy, seed: 5 }); // 2^4 - 2 = 14 addresses
        r.allocateNext();
        for (const { m, a } of ops) {
          const before = memoryOf(engine);
          const what = (): string => describeCall(m, a);
          const e = attempt(RANGE_CODES, what, () =>
            m === "new" ? new PodRange(a[0] as never, a[1] as never) : (r as unknown as Record<string, (...x: unknown[]) => unknown>)[m]!(...a));
          if (e !== undefined && !memoryOf(engine).equals(before)) throw new Error(`${what()} failed but changed memory`);
          if (e === undefined && refuse[m]?.(a)) throw new Error(`${what()} should have been refused`);
        }
        expect(r.used).toBeLessThanOrEqual(14);
      }),
      RUNS,
    );
  });

  // ------------------------------------------------------------------ PoolView, Engine

  it("PoolView: only IpamErrors; a failed call leaves the shared memory unchanged; pool/slot/rel are bounded", () => {
    const names = methodsOf(PoolView.prototype);
    const refuse: MustRefuse = Object.fromEntries(names.map((m) => [m, (a: readonly unknown[]) => m !== "releaseIPv4Batch" && m !== "lookupIPv4" && notInt(a[0])]));
    refuse.lookupIPv4 = (a) => notU32(a[0]);
    refuse.releaseIPv4Batch = (a) => notU32Array(a[0]);
    for (const m of ["attach", "detach", "releaseSlot", "hasSlot", "allocateNextIndex", "allocateNextIndexBatch", "allocateNextIPv4Batch", "allocate", "allocateBatch", "used"]) refuse[m] = (a) => notInt(a[0]) || !(isInt(a[1]) && a[1] >= 0 && a[1] < 4);
    fc.assert(
      fc.property(calls([...names, "new"]), (ops) => {
        const pool = new ClusterPool(CONFIGS[0]!);
        setupPool(pool);
        const desc = pool.describe();
        const view = new PoolView(desc);
        const slot = view.allocateNextSlot(0);
        view.attach(0, slot, 77);
        view.allocateNextIndex(0, slot);
        for (const { m, a } of ops) {
          const before = memoryOf(view.engine);
          const what = (): string => describeCall(m, a);
          const e = attempt(VIEW_CODES, what, () => {
            // the descriptor with one field replaced by an arbitrary value
            if (m === "new") return new PoolView((a[0] === undefined ? desc : { ...desc, [typeof a[1] === "string" ? a[1] : "pools"]: a[0] }) as never);
            return (view as unknown as Record<string, (...x: unknown[]) => unknown>)[m]!(...a);
          });
          if (e !== undefined && !memoryOf(view.engine).equals(before)) throw new Error(`${what()} failed but changed memory`);
          if (e === undefined && refuse[m]?.(a)) throw new Error(`${what()} should have been refused`);
        }
        expect(pool.verify()).toEqual([]);
      }),
      RUNS,
    );
  });

  it("Engine: create, attach, alloc, free, u32 with arbitrary values", () => {
    const names = methodsOf(Engine.prototype);
    expect(names).toEqual(expect.arrayContaining(["alloc", "free", "u32"]));
    fc.assert(
      fc.property(calls([...names, "create", "attach"]), (ops) => {
        // a dedicated engine: free() of a region alloc() never gave cannot be detected, only refused when it cannot be one
        const engine = Engine.create({ initialPages: 4, maximumPages: 8 });
        for (const { m, a } of ops) {
          const before = memoryOf(engine);
          const what = (): string => describeCall(m, a);
          const e = attempt(ENGINE_CODES, what, () => {
            if (m === "create") return Engine.create(a[0] as never);
            if (m === "attach") return Engine.attach(a[0] as never);
            return (engine as unknown as Record<string, (...x: unknown[]) => unknown>)[m]!(...a);
          });
          if (e !== undefined && !memoryOf(engine).equals(before)) throw new Error(`${what()} failed but changed memory`);
          if (e === undefined && (m === "alloc" || m === "free") && notInt(a[m === "alloc" ? 0 : 1])) throw new Error(`${what()} should have been refused`);
          if (e === undefined && m === "attach" && !(a[0] instanceof WebAssembly.Memory)) throw new Error(`${what()} should have been refused`);
        }
      }),
      RUNS,
    );
  });
});
