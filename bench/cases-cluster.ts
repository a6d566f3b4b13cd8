/**
 * Cluster-scale cases: lookup on a full /8, whole-/8 fill (time and bytes),
 * parallel fill on worker threads over one shared memory.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";
import { ClusterPool } from "../src/pool/cluster-pool.js";
import { PoolView } from "../src/alloc/pool-view.js";
import type { BenchRecord } from "./suite.js";
import { type CaseSpec, type ImplSpec, rng, round } from "./lib/measure.js";
import { TypedCluster } from "./lib/typed.js";
import { CiliumCluster } from "./lib/cilium.js";
import { NaivePool } from "./lib/naive.js";
import { fillView, type FillTask, type FillResult } from "./workers/fill.js";
import { BASE4 } from "./cases-ops.js";
import { fillClusterPool } from "./lib/fill8.js";

export { fillClusterPool };

const NODES = 65536;
const PODS = 254;
const TOTAL = NODES * PODS; // 16,646,144
const V4 = { ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 } } as const;
const V6 = { ipv6: { cidrs: ["fd00::/104"], maskSize: 120 } } as const;

let sink = 0;
/** Keeps results observable so no loop is dead code. */
export const sinkValue = (): number => sink;

// ------------------------------------------------------------------ lookup

export const lookupCase: CaseSpec = {
  name: "lookup IPv4 -> node (+owner) on a full /8 (65,536 random addresses)",
  time: 400,
  impls: () => {
    const N = 65536;
    const p4 = new ClusterPool(V4);
    for (let i = 0; i < NODES; i++) p4.addNode(`node-${i}`);
    const d4 = p4.describe();
    const e4 = d4.pools[0]!.entry;
    const w = p4.engine.wasm;
    for (let slot = 0; slot < NODES; slot++) {
      for (let j = 0; j < PODS; j++) w.podAllocateNext(e4, slot, 1, 1 + ((slot * PODS + j) % 1000000));
    }
    const p6 = new ClusterPool(V6);
    for (let i = 0; i < NODES; i++) p6.addNode(`node-${i}`);
    const d6 = p6.describe();
    const e6 = d6.pools[0]!.entry;
    for (let slot = 0; slot < NODES; slot++) p6.engine.wasm.podAllocateBatch(e6, slot, 0, PODS, p6.engine.scratch);

    const r = rng(5);
    const ips = new Uint32Array(N);
    const s4: string[] = [];
    const s6: string[] = [];
    for (let k = 0; k < N; k++) {
      const slot = Math.floor(r() * NODES);
      const host = 1 + Math.floor(r() * PODS);
      ips[k] = (BASE4 + slot * 256 + host) >>> 0;
      s4.push(`10.${slot >>> 8}.${slot & 255}.${host}`);
      s6.push(`fd00:0:0:0:0:0:${(slot >>> 8).toString(16)}:${(((slot & 255) << 8) | host).toString(16)}`);
    }
    const outNode = new Uint32Array(N);
    // raw batch: addresses already staged in WASM memory
    const inp = p4.engine.alloc(N * 4);
    const oNode = p4.engine.alloc(N * 4);
    const oOwner = p4.engine.alloc(N * 4);
    p4.engine.u32().set(ips, inp >>> 2);

    const typed = new TypedCluster(BASE4, 8, 24);
    for (let i = 0; i < NODES; i++) {
      const slot = typed.addNode(i + 1);
      for (let j = 0; j < PODS; j++) typed.allocateOwned(slot, 1 + ((slot * PODS + j) % 1000000));
    }
    const NN = 256;
    const naive = new NaivePool("10.0.0.0/16", 24);
    for (let n = 0; n < NN; n++) {
      naive.addNode(`node-${n}`);
      for (let j = 0; j < PODS; j++) naive.allocate(`node-${n}`, `default/pod-${n}-${j}`);
    }
    const NS = 4096;
    const sN: string[] = [];
    for (let k = 0; k < NS; k++) sN.push(`10.0.${Math.floor(r() * NN)}.${1 + Math.floor(r() * PODS)}`);

    const table = d4.table;
    const per = { kind: "max", max: 5, label: "<= 5 ns/lookup" } as const;
    const bat = { kind: "max", max: 1.5, label: "<= 1.5 ns/lookup batched" } as const;
    const impls: ImplSpec[] = [
      { impl: "ipcarve node (lookupIPv4)", ops: N, target: per, fn: () => { let a = 0; for (let k = 0; k < N; k++) a += p4.lookupIPv4(ips[k] as number); sink += a; } },
      {
        impl: "ipcarve node+owner (wasm)", ops: N, target: per, fn: () => {
          let a = 0;
          for (let k = 0; k < N; k++) { const ip = ips[k] as number; a += w.lookup4(table, 1, ip) + w.owner4(table, 1, ip); }
          sink += a;
        },
      },
      { impl: "ipcarve-batch node (lookupIPv4Batch)", ops: N, target: bat, fn: () => { p4.lookupIPv4Batch(ips, outNode); sink += outNode[7] as number; } },
      { impl: "ipcarve-batch node+owner (wasm)", ops: N, target: bat, fn: () => { w.lookup4Batch(table, 1, N, inp, oNode, oOwner); } },
      { impl: "ipcarve string lookup(ip)", ops: N, fn: () => { let a = 0; for (let k = 0; k < N; k++) if (p4.lookup(s4[k] as string)?.allocated) a++; sink += a; } },
      {
        impl: "ipcarve-v6 string lookup(ip)", ops: N, fn: () => { let a = 0; for (let k = 0; k < N; k++) if (p6.lookup(s6[k] as string)?.allocated) a++; sink += a; },
        target: { kind: "rel", of: "ipcarve string lookup(ip)", factor: 1.5, label: "<= 1.5x IPv4" },
      },
      {
        impl: "typed-ts node+owner", ops: N, fn: () => {
          let a = 0;
          for (let k = 0; k < N; k++) { const ip = ips[k] as number; a += typed.lookup(ip) + typed.owner(ip); }
          sink += a;
        },
      },
      { impl: "naive string lookup (/16)", ops: NS, fn: () => { let a = 0; for (let k = 0; k < NS; k++) if (naive.lookup(sN[k] as string)) a++; sink += a; } },
    ];
    return impls;
  },
};

// ------------------------------------------------------------------ whole-/8 fill

const names = Array.from({ length: NODES }, (_, i) => `node-${i}`);

/** Fill through the public ClusterPool API: addNode(name), then one batch call per node. */
export function fillView4(v6 = false): ClusterPool {
  const pool = new ClusterPool(v6 ? V6 : V4);
  const r = fillView(new PoolView(pool.describe()), NODES, 1);
  if (r.pods !== TOTAL) throw new Error(`fill: ${r.pods} pods`);
  return pool;
}

export function fillTyped(): TypedCluster {
  const c = new TypedCluster(BASE4, 8, 24);
  for (let i = 0; i < NODES; i++) {
    const slot = c.addNode(i + 1);
    for (let j = 0; j < PODS; j++) c.allocate(slot);
  }
  return c;
}

export function fillCilium(): CiliumCluster {
  const c = new CiliumCluster(BASE4, 8, 24);
  for (let i = 0; i < NODES; i++) {
    const slot = c.addNode();
    for (let j = 0; j < PODS; j++) c.allocate(slot);
  }
  return c;
}

const MS100_PER_POD = 100e6 / TOTAL;

export const fillCase: CaseSpec = {
  name: "cluster fill 65,536 nodes x 254 pods = whole /8, from empty (per pod)",
  time: 0,
  iterations: 5,
  warmupIterations: 1,
  impls: () => {
    let last: ClusterPool | undefined;
    let lastV: ClusterPool | undefined;
    let lastV6: ClusterPool | undefined;
    let typed: TypedCluster | undefined;
    let cil: CiliumCluster | undefined;
    const NN = 16;
    const target = { kind: "max", max: MS100_PER_POD, label: "<= 100 ms/fill (6.01 ns/pod), <= 8 MiB" } as const;
    return [
      { impl: "ipcarve", ops: TOTAL, fn: () => { last = undefined; last = fillClusterPool(); }, bytes: () => last?.engine.bytesUsed, target, maxBytes: 8 * 2 ** 20 },
      { impl: "ipcarve-view", ops: TOTAL, fn: () => { lastV = undefined; lastV = fillView4(); }, bytes: () => lastV?.engine.bytesUsed, target, maxBytes: 8 * 2 ** 20 },
      {
        impl: "ipcarve-view-v6", ops: TOTAL, fn: () => { lastV6 = undefined; lastV6 = fillView4(true); }, bytes: () => lastV6?.engine.bytesUsed,
        target: { kind: "rel", of: "ipcarve-view", factor: 1.5, label: "<= 1.5x IPv4" },
      },
      { impl: "typed-ts", ops: TOTAL, fn: () => { typed = undefined; typed = fillTyped(); }, bytes: () => typed?.bytes },
      { impl: "cilium-ts", ops: TOTAL, fn: () => { cil = undefined; cil = fillCilium(); }, bytes: () => cil?.bytes },
      {
        impl: "naive (16 nodes)", ops: NN * PODS, fn: () => {
          const p = new NaivePool("10.0.0.0/8", 24);
          for (let n = 0; n < NN; n++) {
            const name = names[n] as string;
            p.addNode(name);
            const range = p.nodes.get(name)!;
            for (let j = 0; j < PODS; j++) range.allocateNext();
          }
        },
      },
    ];
  },
  extra: (records, opts) => memoryRecords(records, opts),
};

/** Runs each fill once in a fresh child process (--expose-gc) to measure RSS and JS heap beside the WASM state. */
function memoryRecords(records: BenchRecord[], opts: { quick: boolean; log: (l: string) => void }): BenchRecord[] {
  const script = fileURLToPath(new URL("./workers/memory.js", import.meta.url));
  const out: BenchRecord[] = [];
  for (const impl of ["ipcarve", "ipcarve-view", "typed-ts", "cilium-ts"]) {
    const json = execFileSync(process.execPath, ["--expose-gc", script, impl], { encoding: "utf8", maxBuffer: 1 << 20 });
    const m = JSON.parse(json) as { ms: number; rssDelta: number; heapDelta: number; wasmBytes: number; stateBytes: number };
    opts.log(`  memory ${impl}: fill ${m.ms.toFixed(0)} ms; state ${(m.stateBytes / 2 ** 20).toFixed(2)} MiB (WASM ${(m.wasmBytes / 2 ** 20).toFixed(2)} MiB + JS heap ${(m.heapDelta / 2 ** 20).toFixed(2)} MiB); RSS +${(m.rssDelta / 2 ** 20).toFixed(1)} MiB`);
    const ns = (m.ms * 1e6) / TOTAL;
    const rec: BenchRecord = {
      name: "cluster fill memory: allocator state (WASM + JS heap), one fill in a child process",
      impl, opsPerSec: Math.round(1e9 / ns), nsPerOp: round(ns), p50: round(ns), p99: round(ns), ratios: {}, bytes: m.stateBytes,
    };
    if (impl.startsWith("ipcarve")) {
      rec.target = "<= 8 MiB allocator state";
      rec.met = m.stateBytes <= 8 * 2 ** 20;
    }
    out.push(rec);
    out.push({
      name: "cluster fill memory: process RSS growth, one fill in a child process",
      impl, opsPerSec: Math.round(1e9 / ns), nsPerOp: round(ns), p50: round(ns), p99: round(ns), ratios: {}, bytes: m.rssDelta,
    });
  }
  void records;
  return out;
}

// ------------------------------------------------------------------ parallel fill

let piscina: Piscina | undefined;

export const parallelCase: CaseSpec = {
  name: "parallel fill whole /8 over one shared memory, piscina workers (per pod)",
  time: 0,
  iterations: 6,
  warmupIterations: 2,
  impls: async () => {
    piscina = new Piscina({ filename: new URL("./workers/fill.js", import.meta.url).href, minThreads: 2, maxThreads: 2, idleTimeout: 60000 });
    const pool = piscina;
    // warm both workers (module compile, JIT)
    {
      const p = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/12"], maskSize: 24 } });
      const desc = p.describe();
      await Promise.all([pool.run({ desc, nodes: 2048, firstId: 1 } satisfies FillTask), pool.run({ desc, nodes: 2048, firstId: 2049 } satisfies FillTask)]);
    }
    let desc = new ClusterPool(V4).describe();
    const fresh = (): void => { desc = new ClusterPool(V4).describe(); };
    const check = (rs: FillResult[]): void => {
      const pods = rs.reduce((n, r) => n + r.pods, 0);
      if (pods !== TOTAL) throw new Error(`parallel fill: ${pods} pods, want ${TOTAL}`);
    };
    return [
      {
        impl: "ipcarve 1 thread", ops: TOTAL, beforeEach: fresh,
        fn: async () => { check([await pool.run({ desc, nodes: NODES, firstId: 1 } satisfies FillTask) as FillResult]); },
      },
      {
        impl: "ipcarve 2 threads", ops: TOTAL, beforeEach: fresh,
        target: { kind: "speedup", of: "ipcarve 1 thread", min: 1.8, label: ">= 1.8x over 1 thread" },
        fn: async () => {
          check(await Promise.all([
            pool.run({ desc, nodes: NODES / 2, firstId: 1 } satisfies FillTask) as Promise<FillResult>,
            pool.run({ desc, nodes: NODES / 2, firstId: NODES / 2 + 1 } satisfies FillTask) as Promise<FillResult>,
          ]));
        },
      },
      {
        impl: "ipcarve main thread", ops: TOTAL, beforeEach: fresh,
        fn: () => { const r = fillView(new PoolView(desc), NODES, 1); check([{ ...r, ms: 0 }]); },
      },
    ];
  },
  after: async () => {
    await piscina?.destroy();
    piscina = undefined;
  },
};
