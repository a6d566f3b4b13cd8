// dispose(): memory you can give back. Every ClusterPool, CidrSet, PodRange
// and PoolView gives its regions (or its engine) back on dispose, using it
// afterwards is INVALID_ARGUMENT naming Class.method, and a pool with an
// engine of its own reserves what its pool CIDRs can take, not 4 GiB.
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { ClusterPool, CidrSet, PodRange, PoolView, Engine, IpamError } from "../src/index.js";
import type { ClusterPoolOptions, PoolDescriptor } from "../src/index.js";

import { bitmapBytes } from "../src/core/bitmap.js";
import { ARENA_START } from "../src/core/layout.js";
import { MIN_POOL_PAGES, OWNER_BYTES_PER_ADDRESS } from "../src/pool/memory.js";

const MiB = 2 ** 20;
/** RSS after a full collection (vitest runs with --expose-gc), so what is measured is what is kept. */
const rss = (): number => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
};
const SMALL: ClusterPoolOptions = { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 26 } };

/** Calls fn and returns what it threw (undefined if nothing). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

/**
 * Every own method and getter of a class prototype (dispose, close and the
 * dispose symbol aside), called on a disposed instance with `args[name]`,
 * throws INVALID_ARGUMENT "ipcarve: Class.name: the <what> is disposed".
 * The table must name every member, so a new method cannot skip the check.
 */
function expectAllDisposed(obj: object, cls: { name: string; prototype: object }, what: string, args: Record<string, unknown[]>, exempt: string[] = []): void {
  const proto = cls.prototype;
  const names = Object.getOwnPropertyNames(proto).filter((n) => n !== "constructor" && n !== "dispose" && !exempt.includes(n));
  expect(names.sort()).toEqual(Object.keys(args).sort());
  for (const name of names) {
    const d = Object.getOwnPropertyDescriptor(proto, name) as PropertyDescriptor;
    const call = d.get ? () => d.get!.call(obj) : () => (d.value as (...a: unknown[]) => unknown).apply(obj, args[name] as unknown[]);
    const e = thrown(call);
    expect(e, `${cls.name}.${name}`).toBeInstanceOf(IpamError);
    expect((e as IpamError).code, `${cls.name}.${name}`).toBe("INVALID_ARGUMENT");
    expect((e as IpamError).message).toBe(`ipcarve: ${cls.name}.${name}: the ${what} is disposed`);
  }
}

function busyPool(options: ClusterPoolOptions): ClusterPool {
  const pool = new ClusterPool(options);
  pool.addNode("node-1");
  pool.allocate("node-1", "default/web-0");
  return pool;
}

describe("use after dispose", () => {
  it("every ClusterPool method and getter throws INVALID_ARGUMENT naming it", () => {
    const pool = busyPool(SMALL);
    const ips = new Uint32Array(4);
    pool.dispose();
    expectAllDisposed(pool, ClusterPool, "pool", {
      engine: [], nodeCount: [], podStrategy: [], options: [], tick: [], describe: [],
      addNode: ["node-2"], removeNode: ["node-1"], node: ["node-1"], nodeNames: [], pendingNodes: [],
      allocate: ["node-1", "default/web-1"], release: ["10.0.0.1"], releaseOwner: ["default/web-0"],
      addressesOf: ["default/web-0"], lookup: ["10.0.0.1"], reserve: ["10.0.0.64/26"], unreserve: ["10.0.0.64/26"],
      addPoolCidr: [4, "10.1.0.0/24"], removePoolCidr: ["10.0.0.0/24"], poolCidrs: [],
      importCiliumNodes: [{ items: [] }], exportCiliumNodes: [], handle: ["node-1"], nodeName: [1], poolHandle: ["default"],
      allocateIPv4: [1], allocateIPv4Batch: [1, ips], releaseIPv4: [0x0a000001], releaseIPv4Batch: [ips],
      lookupIPv4: [0x0a000001], lookupIPv4Batch: [ips, ips], stats: [], verify: [], snapshot: [], compact: [],
      multiPool: [], multiOptions: [], ipPools: [], addPool: ["blue", { ipv4: { cidrs: ["10.9.0.0/24"], maskSize: 28 } }], removePool: ["blue"],
      check: [], _usage: [], _countAllocations: [],
    }, ["close", "_stopCounting"]);
  });

  it("every CidrSet, PodRange and PoolView method and getter throws INVALID_ARGUMENT naming it", () => {
    const set = new CidrSet("10.0.0.0/16", 24);
    set.allocateNext();
    set.dispose();
    const out = new Uint32Array(4);
    expectAllDisposed(set, CidrSet, "CIDR set", {
      region: [], share: [], engine: [], used: [], free: [], isFull: [], indexToCidr: [0], allocateNext: [],
      allocateNextIndex: [], allocateIndex: [0], releaseIndex: [0], hasIndex: [0],
      allocateNextIndexBatch: [out], allocateIndexBatch: [out], releaseIndexBatch: [out], hasIndexBatch: [out, out],
      allocateNextBatch: [out], releaseBatch: [out], inRange: ["10.0.0.0/24"],
      _cursor: [], _setCursor: [0], _allocateRun: [0], _occupyRange: [0, 0], _verify: ["x"], _recount: [], _freeRuns: [0],
      indices: ["10.0.0.0/24"], occupy: ["10.0.0.0/24"], release: ["10.0.0.0/24"], isAllocated: ["10.0.0.0/24"], indexOf: ["10.0.0.0/24"],
    });

    const range = new PodRange("10.0.0.0/24");
    range.allocateNext();
    range.dispose();
    expectAllDisposed(range, PodRange, "pod range", {
      used: [], free: [], isFull: [], ipAt: [0], offsetOf: ["10.0.0.1"], allocateNext: [], allocate: ["10.0.0.2"],
      release: ["10.0.0.1"], has: ["10.0.0.1"],
      allocateNextIndex: [], allocateIndex: [0], releaseIndex: [0], hasIndex: [0],
      allocateNextIndexBatch: [out], allocateIndexBatch: [out], releaseIndexBatch: [out], hasIndexBatch: [out, out],
      allocateNextIPv4Batch: [out], releaseIPv4Batch: [out],
      allocateNextOffset: [], releaseOffset: [0], hasOffset: [0], allocateNextBatchIPv4: [out], releaseBatchIPv4: [out],
    });

    const pool = new ClusterPool(SMALL);
    const view = new PoolView(pool.describe());
    expect(view.allocateNextSlot(0)).toBe(0);
    view.dispose();
    expectAllDisposed(view, PoolView, "view", {
      engine: [], allocateNextSlot: [0], allocateNextSlotBatch: [0, out], releaseSlot: [0, 1], hasSlot: [0, 1], attach: [0, 1, 7], detach: [0, 1],
      allocateNextIndex: [0, 0], allocateIndex: [0, 1], releaseIndex: [0, 1], hasIndex: [0, 1],
      allocateNextIndexBatch: [0, 0, out], allocateNextIPv4Batch: [0, 0, out], allocateIndexBatch: [0, out], releaseIndexBatch: [0, out], hasIndexBatch: [0, out, out],
      carveSlot: [0], carveSlots: [0, out], allocate: [0, 0], allocateBatch: [0, 0, out], release: [0, 1],
      releaseIPv4Batch: [out], lookupIPv4: [0x0a000001], ownerOfIPv4: [0x0a000001], used: [0, 0], slotsUsed: [0],
    });
    pool.dispose();
  });

  it("disposing twice is a no-op, close() after dispose too, and `using` disposes at the end of the block", () => {
    const pool = busyPool(SMALL);
    pool.dispose();
    expect(() => pool.dispose()).not.toThrow();
    expect(() => pool.close()).not.toThrow();
    for (const o of [new CidrSet("10.0.0.0/16", 24), new PodRange("10.0.0.0/24"), new PoolView(new ClusterPool(SMALL).describe())]) {
      o.dispose();
      expect(() => o.dispose()).not.toThrow();
    }

    let kept: { pool?: ClusterPool; set?: CidrSet; range?: PodRange; view?: PoolView } = {};
    {
      using pool2 = busyPool(SMALL);
      using set = new CidrSet("10.0.0.0/16", 24);
      using range = new PodRange("10.0.0.0/24");
      using view = new PoolView(pool2.describe());
      kept = { pool: pool2, set, range, view };
      expect(pool2.allocate("node-1", "default/web-1").ipv4).toBe("10.0.0.2");
    }
    expect(thrown(() => kept.pool!.nodeCount)).toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(thrown(() => kept.set!.used)).toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(thrown(() => kept.range!.used)).toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(thrown(() => kept.view!.slotsUsed(0))).toMatchObject({ code: "INVALID_ARGUMENT" });
    // the symbol is the one `using` looks up (Node 20: Symbol.for("nodejs.dispose"))
    const p3 = new ClusterPool(SMALL);
    p3[Symbol.dispose]();
    expect(thrown(() => p3.addNode("x"))).toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("a pool opened on a FileStore closes it on dispose: the state is on disk and the path can be opened again", () => {
    const dir = mkdtempSync(join(tmpdir(), "ipcarve-dispose-"));
    try {
      const path = join(dir, "state");
      const pool = ClusterPool.open(path, SMALL);
      pool.addNode("node-1");
      const ip = pool.allocate("node-1", "default/web-0").ipv4;
      pool.dispose();
      const again = ClusterPool.open(path, SMALL);
      expect(again.lookup(ip!)).toMatchObject({ node: "node-1", owner: "default/web-0" });
      again.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("regions go back", () => {
  // Everything that takes regions: big and smaller overflow subnets (pod ranges of
  // two sizes), owner arrays, a reservation, a router IP, a second family, a pool
  // CIDR added and one removed, and node subnets carved through a PoolView.
  const SHAPE: ClusterPoolOptions = {
    ipv4: { cidrs: ["10.0.0.0/22"], maskSize: 24 },
    ipv6: { cidrs: ["fd00::/118"], maskSize: 120 },
    maxNodeSubnets: 2,
    overflow: { smaller: 26, ipv6: 122 },
    reserveRouterIP: "first",
  };
  function churn(engine: Engine, i: number): void {
    const pool = new ClusterPool({ ...SHAPE, engine });
    pool.reserve("10.0.3.0/26");
    pool.addPoolCidr(4, "10.1.0.0/24");
    pool.addPoolCidr(6, "fd01::/120");
    for (let n = 0; n < 4; n++) pool.addNode(`node-${n}`);
    for (let n = 0; n < 4; n++) pool.allocate(`node-${n}`, `default/pod-${i}-${n}`);
    pool.removeNode("node-1");
    pool.removePoolCidr("fd01::/120");
    const view = new PoolView(structuredClone(pool.describe()));
    const slot = view.allocateNextSlot(0);
    if (slot >= 0) view.attach(0, slot, 99);
    view.dispose();
    pool.dispose();
  }

  it("bytesUsed of a shared engine stays flat over 10,000 pools created and disposed", () => {
    const engine = Engine.create();
    churn(engine, -2);
    churn(engine, -1);
    const warm = engine.bytesUsed;
    for (let i = 0; i < 10_000; i++) churn(engine, i);
    expect(engine.bytesUsed).toBe(warm);
  });

  it("a pool on a shared engine reuses the regions a disposed pool gave back, pod ranges with their owner arrays included", () => {
    const engine = Engine.create();
    const a = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 }, engine });
    for (let n = 0; n < 256; n++) {
      a.addNode(`node-${n}`);
      a.allocate(`node-${n}`, `default/pod-${n}`);
    }
    // owner names live in the memory too: b's names are as long as a's ("pox" for "pod"), so its
    // registry takes what a's gave back, as everything else does, region for region
    const full = engine.bytesUsed;
    a.dispose();
    const b = new ClusterPool({ ipv4: { cidrs: ["10.9.0.0/16"], maskSize: 24 }, engine });
    for (let n = 0; n < 256; n++) {
      b.addNode(`node-${n}`);
      // a reused owner array starts empty: the new pool's owners only
      expect(b.allocate(`node-${n}`, `default/pox-${n}`).ipv4).toBe(`10.9.${n}.1`);
      expect(b.lookup(`10.9.${n}.2`)).toMatchObject({ allocated: false });
    }
    expect(engine.bytesUsed).toBe(full);
    expect(b.verify()).toEqual([]);
    expect(b.addressesOf("default/pox-7")).toEqual(["10.9.7.1"]);
  });

  it("CidrSet and PodRange give their bitmaps back on dispose", () => {
    const engine = Engine.create();
    const once = (): void => {
      const set = new CidrSet("10.0.0.0/8", 24, { engine });
      set.allocateNext();
      const range = new PodRange("10.0.0.0/20", { engine });
      range.allocateNext();
      set.dispose();
      range.dispose();
    };
    once();
    const warm = engine.bytesUsed;
    for (let i = 0; i < 10_000; i++) once();
    expect(engine.bytesUsed).toBe(warm);
  });

  it("1,000 PoolViews created and disposed keep the arena and RSS flat", () => {
    const pool = busyPool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } });
    const desc = pool.describe();
    const engine = pool.engine;
    // each clone is a new memory object over the same shared memory, as a worker receives it
    const open = (d: PoolDescriptor): void => {
      const view = new PoolView(structuredClone(d));
      const slot = view.allocateNextSlot(0);
      view.attach(0, slot, 1000 + slot);
      view.allocateNextIndex(0, slot);
      view.detach(0, slot);
      view.dispose();
    };
    for (let i = 0; i < 20; i++) open(desc);
    const arena = engine.bytesUsed;
    const before = rss();
    for (let i = 0; i < 1000; i++) open(desc);
    expect(engine.bytesUsed).toBe(arena);
    expect(rss() - before).toBeLessThan(16 * MiB);
    // views over the same memory object in one thread share one engine
    const v1 = new PoolView(desc);
    const v2 = new PoolView(desc);
    expect(v1.engine).toBe(v2.engine);
    v1.dispose();
    expect(v2.slotsUsed(0)).toBe(1);
    v2.dispose();
    pool.dispose();
  });

  it("PoolViews over one memory object in one thread share one engine and scratch, disposed or not", () => {
    const pool = busyPool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } });
    const desc = structuredClone(pool.describe()); // as a worker receives it
    const engine = pool.engine;
    new PoolView(desc).allocateNextSlot(0);
    const arena = engine.bytesUsed;
    const views: PoolView[] = [];
    for (let i = 0; i < 1000; i++) views.push(new PoolView(desc));
    expect(engine.bytesUsed).toBe(arena);
    expect(new Set(views.map((v) => v.engine)).size).toBe(1);
    pool.dispose();
  });

  it("100,000 ClusterPools created and disposed in a plain loop keep RSS flat", () => {
    const loop = (n: number): void => {
      for (let i = 0; i < n; i++) {
        const pool = new ClusterPool(SMALL);
        pool.addNode("node-1");
        pool.allocate("node-1", "default/web-0");
        pool.dispose();
      }
    };
    // RSS after a plain loop swings by ~15 MiB with the young generation and the array
    // buffer memory V8 frees on later tasks, so it is sampled every 25,000 pools and the
    // lows are compared: a leak of a few hundred bytes a pool would show in them.
    loop(100_000);
    const samples = [rss()];
    const t0 = performance.now();
    for (let k = 0; k < 4; k++) {
      loop(25_000);
      samples.push(rss());
    }
    const ms = performance.now() - t0;
    const [s0, s1, , s3, s4] = samples as [number, number, number, number, number];
    const grew = Math.min(s3, s4) - Math.min(s0, s1);
    console.log(`100,000 pools created and disposed: ${(ms / 1000).toFixed(1)} s, RSS ${(grew / MiB).toFixed(1)} MiB more`);
    expect(grew).toBeLessThan(16 * MiB);
  });
});

describe("dropped pools are not kept alive", () => {
  it("1,000 pools dropped without dispose in a plain loop, under a 64 GiB address-space limit", () => {
    // Each pool's memory reserves ~10 GiB of address space (V8's guard regions),
    // so 64 GiB fits ~6 at once: the loop only gets through if the memories of
    // dropped pools can be collected while it runs (no FinalizationRegistry
    // holding their engines until the event loop turns).
    const child = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "pool-loop-child.mjs");
    const r = spawnSync("/bin/sh", ["-c", 'ulimit -v 67108864 && exec "$0" "$1" 1000', process.execPath, child], { encoding: "utf8", timeout: 60_000 });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ made: 1000 });
  });
});

describe("a pool's own memory", () => {
  it("is sized from its pool CIDRs, not 4 GiB", () => {
    const small = new ClusterPool(SMALL);
    expect(small.engine.maximumPages).toBe(MIN_POOL_PAGES);
    // the owner registry lives in the memory too (OWNER_BYTES_PER_ADDRESS per pod address):
    // 4,096 /24s: pod bitmaps (128 B), owner arrays (1,088 B) and 254 owners' entries for every one, twice, ~348 MiB
    const cilium = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/12"], maskSize: 24 } });
    expect(cilium.engine.maximumPages! * 65536).toBeGreaterThan(2 * 4096 * (1216 + 254 * OWNER_BYTES_PER_ADDRESS));
    expect(cilium.engine.maximumPages!).toBeLessThan(6000);
    // a whole /8 with an owner per address could take more than 4 GiB: it gets the most there is
    expect(new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 } }).engine.maximumPages).toBe(65536);
    const shared = Engine.create();
    expect(new ClusterPool({ ...SMALL, engine: shared }).engine).toBe(shared);
  });

  it("bounds what a full pool takes, both pod range sizes recycled included", () => {
    const pool = new ClusterPool({
      ipv4: { cidrs: ["10.0.0.0/22"], maskSize: 24 },
      ipv6: { cidrs: ["fd00::/118"], maskSize: 120 },
      maxNodeSubnets: 2,
      overflow: { smaller: 26, ipv6: 122 },
    });
    let pods = 0;
    const fill = (tag: string): number => {
      let n = 0;
      for (;; n++) {
        try {
          pool.addNode(`${tag}-${n}`);
        } catch {
          pool.removeNode(`${tag}-${n}`);
          return n;
        }
        try {
          for (;;) pool.allocate(`${tag}-${n}`, `default/pod-${pods++}`);
        } catch {
          // this node's ranges are full
        }
      }
    };
    expect(fill("a")).toBe(2 + 8); // per family: 2 big /24s, then 8 /26s from the other two /24s
    expect(pool.stats().pods).toBe(2 * (2 * 254 + 8 * 62));
    for (const name of pool.nodeNames()) pool.removeNode(name);
    expect(fill("b")).toBe(10); // from the recycled pod ranges of both sizes
    pool.removeNode("b-0");
    pool.removeNode("b-1");
    expect(fill("c")).toBe(2);
    expect(pool.verify()).toEqual([]);
    const used = pool.engine.bytesUsed + ARENA_START;
    // the memory is twice the bound of what the pool can take (src/pool/memory.ts): what it took fits in half
    expect(used * 2).toBeLessThanOrEqual(pool.engine.maximumPages! * 65536);
  });

  it("addPoolCidr grows a pool as big again as it was made: a /16 added to a /16, a /12 to a /12", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } });
    pool.addPoolCidr(4, "10.1.0.0/16");
    for (let n = 0; n < 512; n++) {
      pool.addNode(`node-${n}`);
      for (let k = 0; k < 254; k++) pool.allocate(`node-${n}`, `default/pod-${n}-${k}`);
    }
    expect(pool.node("node-511")?.podCIDRs).toEqual(["10.1.255.0/24"]);
    expect(pool.lookup("10.1.255.254")).toMatchObject({ node: "node-511", owner: "default/pod-511-253" });
    expect(pool.verify()).toEqual([]);

    // big enough that the headroom, not the 16 MiB minimum, makes room: every node with an owner array
    const big = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/12"], maskSize: 24 } });
    expect(big.engine.maximumPages!).toBeGreaterThan(MIN_POOL_PAGES);
    big.addPoolCidr(4, "10.16.0.0/12");
    for (let n = 0; n < 8192; n++) {
      big.addNode(`node-${n}`);
      big.allocate(`node-${n}`, `default/pod-${n}`);
    }
    expect(big.lookup("10.31.255.1")).toMatchObject({ node: "node-8191", owner: "default/pod-8191" });
    expect(big.verify()).toEqual([]);
  });

  it("addPoolCidr past the pool's own memory fails with FULL and changes nothing", () => {
    const pool = busyPool(SMALL);
    pool.addPoolCidr(4, "10.1.0.0/16"); // fits the 16 MiB minimum, owner registry included
    const before = pool.snapshot();
    const e = thrown(() => pool.addPoolCidr(4, "10.128.0.0/9"));
    expect(e).toMatchObject({ code: "FULL" });
    expect((e as Error).message).toMatch(/own memory .*10\.128\.0\.0\/9.*options\.engine/);
    expect(pool.poolCidrs()).toEqual([{ family: 4, cidrs: ["10.0.0.0/24", "10.1.0.0/16"] }]);
    expect(pool.snapshot()).toEqual(before);
    // with an engine of the caller's, the pool grows as before
    const grown = new ClusterPool({ ...SMALL, engine: Engine.create() });
    grown.addPoolCidr(4, "10.128.0.0/9");
    grown.addNode("n");
    expect(grown.allocate("n", "p").ipv4).toBe("10.0.0.1");
  });

  it("a restored pool is sized for every pool CIDR of the snapshot", () => {
    const pool = new ClusterPool({ ...SMALL, engine: Engine.create() });
    for (let i = 1; i <= 24; i++) pool.addPoolCidr(4, `10.${i}.0.0/16`); // ~8 MiB more than the options alone
    pool.removePoolCidr("10.3.0.0/16");
    for (let n = 0; n < 40; n++) {
      pool.addNode(`node-${n}`);
      pool.allocate(`node-${n}`, `default/pod-${n}`);
    }
    const copy = ClusterPool.restore(pool.snapshot());
    expect(copy.engine.maximumPages! * 65536).toBeGreaterThan(2 * 8 * MiB);
    expect(copy.snapshot()).toEqual(pool.snapshot());
    copy.addNode("late");
    expect(copy.allocate("late", "default/late").ipv4).toMatch(/^10\./);
  });

  it("bitmapBytes mirrors the core's bmBytes", () => {
    const w = Engine.create({ maximumPages: 64 }).wasm;
    for (const n of [0, 1, 2, 63, 64, 65, 254, 4095, 4096, 4097, 65534, 65536, 262144, 262145, 2 ** 24]) {
      expect(bitmapBytes(n), `n=${n}`).toBe(w.bmBytes(n));
    }
  });
});
