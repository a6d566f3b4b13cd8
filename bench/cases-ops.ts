/**
 * Per-operation cases: carve, pod alloc/release per strategy, string API,
 * near full, churn. Each returns the implementations raced in one Bench.
 */
import { ClusterPool } from "../src/pool/cluster-pool.js";
import { CidrSet } from "../src/alloc/cidr-set.js";
import { PodRange } from "../src/alloc/pod-range.js";
import { PoolView } from "../src/alloc/pool-view.js";
import { Engine } from "../src/core/engine.js";
import type { Strategy } from "../src/core/layout.js";
import { type CaseSpec, type ImplSpec, now, rng } from "./lib/measure.js";
import { TypedBitmap, TypedCluster, TypedStringPool, NEXT_FIT as T_NEXT, FIRST_FREE as T_FIRST, RANDOM as T_RANDOM } from "./lib/typed.js";
import { CiliumBitmap, CiliumCluster, NEXT_FIT as C_NEXT, FIRST_FREE as C_FIRST, RANDOM as C_RANDOM } from "./lib/cilium.js";
import { NaiveCidrSet, NaivePool, NaiveRange } from "./lib/naive.js";

export const BASE4 = 0x0a000000; // 10.0.0.0
const SLOTS8 = 65536;

const STRAT_TYPED: Record<Strategy, number> = { "next-fit": T_NEXT, "first-free": T_FIRST, random: T_RANDOM };
const STRAT_CILIUM: Record<Strategy, number> = { "next-fit": C_NEXT, "first-free": C_FIRST, random: C_RANDOM };

const timed = (t0: number): { overriddenDuration: number } => ({ overriddenDuration: now() - t0 });

// ------------------------------------------------------------------ carve

export const carveCase: CaseSpec = {
  name: "carve /8 -> 65,536 /24 + release all (per subnet)",
  time: 500,
  impls: () => {
    const out = new Uint32Array(SLOTS8);
    const set4 = new CidrSet("10.0.0.0/8", 24, { engine: Engine.create() });
    const set6 = new CidrSet("fd00::/104", 120, { engine: Engine.create() });
    const setB = new CidrSet("10.0.0.0/8", 24, { engine: Engine.create() });
    const setB6 = new CidrSet("fd00::/104", 120, { engine: Engine.create() });
    const typed = new TypedBitmap(SLOTS8);
    const cil = new CiliumBitmap(SLOTS8);
    const NAIVE_N = 1024;
    const naive = new NaiveCidrSet("10.0.0.0/14", 24);
    const naiveOut: string[] = new Array<string>(NAIVE_N).fill("");
    const perCall = (s: CidrSet) => (): void => {
      for (let i = 0; i < SLOTS8; i++) out[i] = s.allocateNextIndex();
      for (let i = 0; i < SLOTS8; i++) s.releaseIndex(out[i] as number);
    };
    const batch = (s: CidrSet) => (): void => {
      s.allocateNextIndexBatch(out, SLOTS8);
      s.releaseIndexBatch(out, SLOTS8);
    };
    const impls: ImplSpec[] = [
      { impl: "ipcarve", ops: SLOTS8, fn: perCall(set4), target: { kind: "max", max: 5, label: "<= 5 ns/subnet" } },
      { impl: "ipcarve-batch", ops: SLOTS8, fn: batch(setB), target: { kind: "max", max: 5, label: "<= 5 ns/subnet" } },
      { impl: "ipcarve-v6", ops: SLOTS8, fn: perCall(set6), target: { kind: "rel", of: "ipcarve", factor: 1.5, label: "<= 1.5x IPv4" } },
      { impl: "ipcarve-batch-v6", ops: SLOTS8, fn: batch(setB6), target: { kind: "rel", of: "ipcarve-batch", factor: 1.5, label: "<= 1.5x IPv4" } },
      {
        impl: "typed-ts", ops: SLOTS8, fn: () => {
          for (let i = 0; i < SLOTS8; i++) out[i] = typed.allocateNext(T_NEXT);
          for (let i = 0; i < SLOTS8; i++) typed.release(out[i] as number);
        },
      },
      {
        impl: "cilium-ts", ops: SLOTS8, fn: () => {
          for (let i = 0; i < SLOTS8; i++) out[i] = cil.allocateNext(C_NEXT);
          for (let i = 0; i < SLOTS8; i++) cil.release(out[i] as number);
        },
      },
      {
        impl: "naive (1,024 subnets)", ops: NAIVE_N, fn: () => {
          for (let i = 0; i < NAIVE_N; i++) naiveOut[i] = naive.allocateNext();
          for (let i = 0; i < NAIVE_N; i++) naive.release(naiveOut[i] as string);
        },
      },
    ];
    return impls;
  },
};

// ------------------------------------------------------------------ pod alloc / release

const PODS = 254;

/** Alloc or release of every address of N /24 pod ranges; the other half of the cycle is untimed. */
export function podCase(strategy: Strategy, op: "alloc" | "release"): CaseSpec {
  const target = op === "alloc" ? 8 : 5;
  return {
    name: `pod ${op} in a /24, ${strategy} (numeric)`,
    time: 400,
    impls: () => {
      const N = 64;
      const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 }, podStrategy: strategy });
      const handles = new Int32Array(N);
      for (let n = 0; n < N; n++) { pool.addNode(`node-${n}`); handles[n] = pool.handle(`node-${n}`); }
      const ips = new Uint32Array(N * PODS);
      const outs = Array.from({ length: N }, (_, n) => ips.subarray(n * PODS, (n + 1) * PODS));

      const viewOf = (family: 4 | 6): { view: PoolView; slots: Int32Array } => {
        const p = new ClusterPool(family === 4
          ? { ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 }, podStrategy: strategy }
          : { ipv6: { cidrs: ["fd00::/104"], maskSize: 120 }, podStrategy: strategy });
        const view = new PoolView(p.describe());
        const slots = new Int32Array(N);
        for (let n = 0; n < N; n++) { slots[n] = view.allocateNextSlot(0); view.attach(0, slots[n] as number, n + 1); }
        return { view, slots };
      };
      const v4 = viewOf(4);
      const v6 = viewOf(6);

      const typed = new TypedCluster(BASE4, 8, 24, STRAT_TYPED[strategy]);
      const tslots = new Int32Array(N);
      for (let n = 0; n < N; n++) tslots[n] = typed.addNode(n + 1);
      const cil = new CiliumCluster(BASE4, 8, 24, STRAT_CILIUM[strategy]);
      const cslots = new Int32Array(N);
      for (let n = 0; n < N; n++) cslots[n] = cil.addNode();
      const NN = 4;
      const naive = Array.from({ length: NN }, (_, n) => new NaiveRange(`10.0.${n}.0/24`, { random: strategy === "random" }));
      const nstr: string[] = new Array<string>(NN * PODS).fill("");

      const cp = {
        alloc: (): void => { let k = 0; for (let n = 0; n < N; n++) { const h = handles[n] as number; for (let j = 0; j < PODS; j++) ips[k++] = pool.allocateIPv4(h); } },
        release: (): void => { for (let k = 0; k < N * PODS; k++) pool.releaseIPv4(ips[k] as number); },
        fillU: (): void => { for (let n = 0; n < N; n++) pool.allocateIPv4Batch(handles[n] as number, outs[n] as Uint32Array, PODS); },
        releaseU: (): void => { pool.releaseIPv4Batch(ips); },
      };
      const vw = (v: { view: PoolView; slots: Int32Array }) => ({
        alloc: (): void => { let k = 0; for (let n = 0; n < N; n++) { const s = v.slots[n] as number; for (let j = 0; j < PODS; j++) ips[k++] = v.view.allocateNextIndex(0, s); } },
        release: (): void => { for (let k = 0; k < N * PODS; k++) v.view.releaseIndex(0, ips[k] as number); },
      });
      const tv = {
        alloc: (): void => { let k = 0; for (let n = 0; n < N; n++) { const s = tslots[n] as number; for (let j = 0; j < PODS; j++) ips[k++] = typed.allocate(s); } },
        release: (): void => { for (let k = 0; k < N * PODS; k++) typed.release(ips[k] as number); },
      };
      const cv = {
        alloc: (): void => { let k = 0; for (let n = 0; n < N; n++) { const s = cslots[n] as number; for (let j = 0; j < PODS; j++) ips[k++] = cil.allocate(s); } },
        release: (): void => { for (let k = 0; k < N * PODS; k++) cil.release(ips[k] as number); },
      };
      const nv = {
        alloc: (): void => { let k = 0; for (let n = 0; n < NN; n++) { const r = naive[n] as NaiveRange; for (let j = 0; j < PODS; j++) nstr[k++] = r.allocateNext(); } },
        release: (): void => { for (let k = 0; k < NN * PODS; k++) (naive[k / PODS | 0] as NaiveRange).release(nstr[k] as string); },
      };
      /** Times `a`, runs `b` untimed (alloc case) or runs `b` untimed then times `a` (release case). */
      const pair = (a: () => void, b: () => void) => op === "alloc"
        ? () => { const t0 = now(); a(); const r = timed(t0); b(); return r; }
        : () => { b(); const t0 = now(); a(); return timed(t0); };
      const label = `<= ${target} ns`;
      const v4v = vw(v4);
      const v6v = vw(v6);
      return [
        { impl: "ipcarve", ops: N * PODS, fn: op === "alloc" ? pair(cp.alloc, cp.releaseU) : pair(cp.release, cp.fillU), target: { kind: "max", max: target, label } },
        { impl: "ipcarve-view", ops: N * PODS, fn: op === "alloc" ? pair(v4v.alloc, v4v.release) : pair(v4v.release, v4v.alloc), target: { kind: "max", max: target, label } },
        { impl: "ipcarve-view-v6", ops: N * PODS, fn: op === "alloc" ? pair(v6v.alloc, v6v.release) : pair(v6v.release, v6v.alloc), target: { kind: "rel", of: "ipcarve-view", factor: 1.5, label: "<= 1.5x IPv4" } },
        { impl: "typed-ts", ops: N * PODS, fn: op === "alloc" ? pair(tv.alloc, tv.release) : pair(tv.release, tv.alloc) },
        { impl: "cilium-ts", ops: N * PODS, fn: op === "alloc" ? pair(cv.alloc, cv.release) : pair(cv.release, cv.alloc) },
        { impl: "naive", ops: NN * PODS, fn: op === "alloc" ? pair(nv.alloc, nv.release) : pair(nv.release, nv.alloc) },
      ];
    },
  };
}

/** Batched numeric pod alloc + release of whole /24s (one call per node each way). */
export const podBatchCase: CaseSpec = {
  name: "pod alloc+release in a /24, next-fit, batched (per address, both ops)",
  time: 300,
  impls: () => {
    const N = 64;
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 } });
    const handles = new Int32Array(N);
    for (let n = 0; n < N; n++) { pool.addNode(`node-${n}`); handles[n] = pool.handle(`node-${n}`); }
    const ips = new Uint32Array(N * PODS);
    const outs = Array.from({ length: N }, (_, n) => ips.subarray(n * PODS, (n + 1) * PODS));
    return [{
      impl: "ipcarve-batch", ops: N * PODS, fn: () => {
        for (let n = 0; n < N; n++) pool.allocateIPv4Batch(handles[n] as number, outs[n] as Uint32Array, PODS);
        pool.releaseIPv4Batch(ips);
      },
    }];
  },
};

// ------------------------------------------------------------------ string API

export function stringCase(op: "allocate" | "release"): CaseSpec {
  return {
    name: op === "allocate" ? "string API allocate(node, owner) -> ip" : "string API release(ip)",
    time: 400,
    impls: () => {
      const N = 64;
      const names = Array.from({ length: N }, (_, n) => `node-${n}`);
      const owners = Array.from({ length: N * PODS }, (_, k) => `default/pod-${k}`);
      const ips: string[] = new Array<string>(N * PODS).fill("");
      const p4 = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 } });
      const p6 = new ClusterPool({ ipv6: { cidrs: ["fd00::/104"], maskSize: 120 } });
      for (const n of names) { p4.addNode(n); p6.addNode(n); }
      const typed = new TypedStringPool(new TypedCluster(BASE4, 8, 24));
      for (const n of names) typed.addNode(n);
      const NN = 4;
      const naive = new NaivePool("10.0.0.0/8", 24);
      for (let n = 0; n < NN; n++) naive.addNode(names[n] as string);

      const mk = (count: number, alloc: (node: string, owner: string) => string, release: (ip: string) => unknown) => {
        const a = (): void => {
          let k = 0;
          for (let n = 0; n < count; n++) { const node = names[n] as string; for (let j = 0; j < PODS; j++, k++) ips[k] = alloc(node, owners[k] as string); }
        };
        const r = (): void => { for (let k = 0; k < count * PODS; k++) release(ips[k] as string); };
        return op === "allocate"
          ? () => { const t0 = now(); a(); const res = timed(t0); r(); return res; }
          : () => { a(); const t0 = now(); r(); return timed(t0); };
      };
      return [
        { impl: "ipcarve", ops: N * PODS, fn: mk(N, (n, o) => p4.allocate(n, o).ipv4 as string, (ip) => p4.release(ip)), target: { kind: "max", max: 40, label: "<= 40 ns" } },
        { impl: "ipcarve-v6", ops: N * PODS, fn: mk(N, (n, o) => p6.allocate(n, o).ipv6 as string, (ip) => p6.release(ip)), target: { kind: "rel", of: "ipcarve", factor: 1.5, label: "<= 1.5x IPv4" } },
        { impl: "typed-ts", ops: N * PODS, fn: mk(N, (n, o) => typed.allocate(n, o), (ip) => typed.release(ip)) },
        { impl: "naive", ops: NN * PODS, fn: mk(NN, (n, o) => naive.allocate(n, o), (ip) => naive.release(ip)) },
      ];
    },
  };
}

// ------------------------------------------------------------------ near full

const FREE = 16;

/**
 * Groups of FREE distinct offsets in [0, size): round r releases group r
 * (the structure is full before it), then allocates FREE times.
 */
export function releaseGroups(size: number, groups: number, seed: number): Uint32Array {
  const r = rng(seed);
  const out = new Uint32Array(groups * FREE);
  const seen = new Set<number>();
  for (let g = 0; g < groups; g++) {
    seen.clear();
    for (let k = 0; k < FREE; k++) {
      let x: number;
      do x = Math.floor(r() * size); while (seen.has(x));
      seen.add(x);
      out[g * FREE + k] = x;
    }
  }
  return out;
}

interface NearFullOps {
  alloc(): number;
  release(i: number): void;
}

export function nearFullImpl(impl: string, ops: NearFullOps, groups: Uint32Array, rounds: number, target?: ImplSpec["target"]): ImplSpec {
  const G = groups.length / FREE;
  let g = 0;
  const spec: ImplSpec = {
    impl,
    ops: rounds * FREE,
    fn: () => {
      for (let r = 0; r < rounds; r++) {
        const base = g * FREE;
        for (let k = 0; k < FREE; k++) ops.release(groups[base + k] as number);
        for (let k = 0; k < FREE; k++) if (ops.alloc() < 0) throw new Error(`${impl}: near-full alloc failed`);
        g = g + 1 === G ? 0 : g + 1;
      }
    },
  };
  return target ? { ...spec, target } : spec;
}

export const nearFullNodesCase: CaseSpec = {
  name: "near full: node subnets, 16 free of 65,536 (alloc+release pair)",
  time: 400,
  impls: () => {
    const groups = releaseGroups(SLOTS8, 256, 7);
    const fillSet = (s: CidrSet): CidrSet => { s.allocateNextIndexBatch(new Uint32Array(SLOTS8)); return s; };
    const s4 = fillSet(new CidrSet("10.0.0.0/8", 24, { engine: Engine.create() }));
    const s6 = fillSet(new CidrSet("fd00::/104", 120, { engine: Engine.create() }));
    const typed = new TypedBitmap(SLOTS8);
    const cil = new CiliumBitmap(SLOTS8);
    for (let i = 0; i < SLOTS8; i++) { typed.allocateNext(T_NEXT); cil.allocateNext(C_NEXT); }
    const naive = new NaiveCidrSet("10.0.0.0/8", 24);
    const cidrs = Array.from({ length: SLOTS8 }, (_, i) => `10.${i >>> 8}.${i & 255}.0/24`);
    for (const c of cidrs) naive.used.add(c);
    const t = { kind: "max", max: 100, label: "<= 100 ns" } as const;
    return [
      nearFullImpl("ipcarve", { alloc: () => s4.allocateNextIndex(), release: (i) => s4.releaseIndex(i) }, groups, 64, t),
      nearFullImpl("ipcarve-v6", { alloc: () => s6.allocateNextIndex(), release: (i) => s6.releaseIndex(i) }, groups, 64,
        { kind: "rel", of: "ipcarve", factor: 1.5, label: "<= 1.5x IPv4" }),
      nearFullImpl("typed-ts", { alloc: () => typed.allocateNext(T_NEXT), release: (i) => typed.release(i) }, groups, 64),
      nearFullImpl("cilium-ts", { alloc: () => cil.allocateNext(C_NEXT), release: (i) => cil.release(i) }, groups, 4),
      nearFullImpl("naive", { alloc: () => (naive.allocateNext(), 0), release: (i) => naive.release(cidrs[i] as string) }, groups, 1),
    ];
  },
};

export const nearFullPodsCase: CaseSpec = {
  name: "near full: /16 pod range, 16 free of 65,534, random (alloc+release pair)",
  time: 400,
  impls: () => {
    const SIZE = 65534;
    const groups = releaseGroups(SIZE, 256, 11);
    const r4 = new PodRange("10.0.0.0/16", { strategy: "random", engine: Engine.create() });
    const r6 = new PodRange("fd00::/112", { strategy: "random", engine: Engine.create() });
    for (let i = 0; i < SIZE; i++) { r4.allocateNextIndex(); r6.allocateNextIndex(); }
    const typed = new TypedBitmap(SIZE);
    const cil = new CiliumBitmap(SIZE);
    for (let i = 0; i < SIZE; i++) { typed.allocateNext(T_NEXT); cil.allocateNext(C_NEXT); }
    const naive = new NaiveRange("10.0.0.0/16", { random: true });
    const ips = Array.from({ length: SIZE }, (_, i) => `10.0.${(i + 1) >>> 8}.${(i + 1) & 255}`);
    for (const ip of ips) naive.used.add(ip);
    const t = { kind: "max", max: 100, label: "<= 100 ns" } as const;
    return [
      nearFullImpl("ipcarve", { alloc: () => r4.allocateNextIndex(), release: (i) => r4.releaseIndex(i) }, groups, 64, t),
      nearFullImpl("ipcarve-v6", { alloc: () => r6.allocateNextIndex(), release: (i) => r6.releaseIndex(i) }, groups, 64,
        { kind: "rel", of: "ipcarve", factor: 1.5, label: "<= 1.5x IPv4" }),
      nearFullImpl("typed-ts", { alloc: () => typed.allocateNext(T_RANDOM), release: (i) => typed.release(i) }, groups, 64),
      nearFullImpl("cilium-ts", { alloc: () => cil.allocateNext(C_RANDOM), release: (i) => cil.release(i) }, groups, 4),
      nearFullImpl("naive", { alloc: () => (naive.allocateNext(), 0), release: (i) => naive.release(ips[i] as string) }, groups, 1),
    ];
  },
};

// ------------------------------------------------------------------ churn

/**
 * 50% full churn: a /16 pool of 256 /24 nodes, each half full; each pair
 * allocates on a random node and releases the oldest address handed out
 * (a FIFO ring), so the pool stays 50% full.
 */
export const churnCase: CaseSpec = {
  name: "churn at 50% full: alloc+release pairs, 256 x /24 (per pair)",
  time: 400,
  impls: () => {
    const NODES = 256;
    const HALF = 127;
    const PAIRS = 65536;
    const r = rng(99);
    const seq = new Int32Array(PAIRS);
    for (let k = 0; k < PAIRS; k++) seq[k] = Math.floor(r() * NODES);
    const mkRing = (): { ring: Uint32Array; head: number } => ({ ring: new Uint32Array(NODES * HALF), head: 0 });

    const numeric = (impl: string, alloc: (node: number) => number, release: (ip: number) => unknown, prefill: (ring: Uint32Array) => void, target?: ImplSpec["target"]): ImplSpec => {
      const st = mkRing();
      prefill(st.ring);
      const spec: ImplSpec = {
        impl, ops: PAIRS, fn: () => {
          const ring = st.ring;
          const len = ring.length;
          let head = st.head;
          for (let k = 0; k < PAIRS; k++) {
            const ip = alloc(seq[k] as number);
            if (ip < 0) continue; // that node is full this time
            release(ring[head] as number);
            ring[head] = ip;
            head = head + 1 === len ? 0 : head + 1;
          }
          st.head = head;
        },
      };
      return target ? { ...spec, target } : spec;
    };

    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } });
    const handles = new Int32Array(NODES);
    for (let n = 0; n < NODES; n++) { pool.addNode(`node-${n}`); handles[n] = pool.handle(`node-${n}`); }

    const viewOf = (family: 4 | 6): { view: PoolView; slots: Int32Array } => {
      const p = new ClusterPool(family === 4 ? { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } } : { ipv6: { cidrs: ["fd00::/112"], maskSize: 120 } });
      const view = new PoolView(p.describe());
      const slots = new Int32Array(NODES);
      for (let n = 0; n < NODES; n++) { slots[n] = view.allocateNextSlot(0); view.attach(0, slots[n] as number, n + 1); }
      return { view, slots };
    };
    const v4 = viewOf(4);
    const v6 = viewOf(6);
    const typed = new TypedCluster(BASE4, 16, 24);
    const tslots = new Int32Array(NODES);
    for (let n = 0; n < NODES; n++) tslots[n] = typed.addNode(n + 1);
    const cil = new CiliumCluster(BASE4, 16, 24);
    const cslots = new Int32Array(NODES);
    for (let n = 0; n < NODES; n++) cslots[n] = cil.addNode();

    const fillRing = (alloc: (node: number) => number) => (ring: Uint32Array): void => {
      let k = 0;
      for (let j = 0; j < HALF; j++) for (let n = 0; n < NODES; n++) ring[k++] = alloc(n);
    };
    const t = { kind: "max", max: 15, label: "<= 15 ns/pair" } as const;
    const cpAlloc = (n: number): number => pool.allocateIPv4(handles[n] as number);
    const vAlloc = (v: { view: PoolView; slots: Int32Array }) => (n: number): number => v.view.allocateNextIndex(0, v.slots[n] as number);
    const tAlloc = (n: number): number => typed.allocate(tslots[n] as number);
    const cAlloc = (n: number): number => cil.allocate(cslots[n] as number);

    // naive: strings, 16 nodes, its own ring of strings
    const NN = 16;
    const naive = new NaivePool("10.0.0.0/16", 24);
    const nnames = Array.from({ length: NN }, (_, n) => `node-${n}`);
    for (const n of nnames) naive.addNode(n);
    const nring: string[] = [];
    for (let j = 0; j < HALF; j++) for (let n = 0; n < NN; n++) nring.push(naive.allocate(nnames[n] as string, "o"));
    let nhead = 0;
    const NPAIRS = 2048;
    const naiveSpec: ImplSpec = {
      impl: "naive (16 nodes)", ops: NPAIRS, fn: () => {
        for (let k = 0; k < NPAIRS; k++) {
          const ip = naive.allocate(nnames[(seq[k] as number) & (NN - 1)] as string, "o");
          naive.release(nring[nhead] as string);
          nring[nhead] = ip;
          nhead = nhead + 1 === nring.length ? 0 : nhead + 1;
        }
      },
    };
    return [
      numeric("ipcarve", cpAlloc, (ip) => pool.releaseIPv4(ip), fillRing(cpAlloc), t),
      numeric("ipcarve-view", vAlloc(v4), (rel) => v4.view.releaseIndex(0, rel), fillRing(vAlloc(v4)), t),
      numeric("ipcarve-view-v6", vAlloc(v6), (rel) => v6.view.releaseIndex(0, rel), fillRing(vAlloc(v6)),
        { kind: "rel", of: "ipcarve-view", factor: 1.5, label: "<= 1.5x IPv4" }),
      numeric("typed-ts", tAlloc, (ip) => typed.release(ip), fillRing(tAlloc)),
      numeric("cilium-ts", cAlloc, (ip) => cil.release(ip), fillRing(cAlloc)),
      naiveSpec,
    ];
  },
};

// ------------------------------------------------------------------ node add / remove

/** String API for nodes: addNode(name) -> podCIDRs, then removeNode(name); 4,096 nodes per iteration on a /8. */
export const nodeCase: CaseSpec = {
  name: "node addNode(name) + removeNode(name), /8 -> /24 (per node, both ops)",
  time: 400,
  impls: () => {
    const N = 4096;
    const names = Array.from({ length: N }, (_, n) => `node-${n}`);
    const p4 = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 } });
    const p6 = new ClusterPool({ ipv6: { cidrs: ["fd00::/104"], maskSize: 120 } });
    const typed = new TypedStringPool(new TypedCluster(BASE4, 8, 24));
    const NN = 256;
    const naive = new NaivePool("10.0.0.0/8", 24);
    let sink = 0;
    return [
      { impl: "ipcarve", ops: N, fn: () => { for (const n of names) sink += p4.addNode(n).podCIDRs.length; for (const n of names) p4.removeNode(n); } },
      {
        impl: "ipcarve-v6", ops: N, fn: () => { for (const n of names) sink += p6.addNode(n).podCIDRs.length; for (const n of names) p6.removeNode(n); },
        target: { kind: "rel", of: "ipcarve", factor: 1.5, label: "<= 1.5x IPv4" },
      },
      { impl: "typed-ts", ops: N, fn: () => { for (const n of names) sink += typed.addNode(n).length; for (const n of names) typed.removeNode(n); } },
      {
        impl: "naive (256 nodes)", ops: NN, fn: () => {
          for (let k = 0; k < NN; k++) sink += naive.addNode(names[k] as string).length;
          for (let k = 0; k < NN; k++) naive.removeNode(names[k] as string);
        },
      },
    ];
  },
};

// ------------------------------------------------------------------ floors

/**
 * Floors: what one JS -> WASM call costs here (a trivial export, result stored
 * in a typed array), and the raw exports under allocateIPv4 / releaseIPv4
 * called from a local variable, to split wrapper cost from core cost.
 */
export const floorCase: CaseSpec = {
  name: "floor: JS->WASM call and raw pod exports, /24 next-fit (per call)",
  time: 300,
  impls: () => {
    const N = 64;
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 } });
    for (let n = 0; n < N; n++) pool.addNode(`node-${n}`);
    const d = pool.describe();
    const e = d.pools[0]!.entry;
    const table = d.table;
    const w = pool.engine.wasm;
    const slotOf = new Int32Array(N);
    for (let n = 0; n < N; n++) {
      const cidr = pool.node(`node-${n}`)!.podCIDRs[0] as string;
      slotOf[n] = Number(cidr.split(".")[1]) * 256 + Number(cidr.split(".")[2]);
    }
    const ips = new Uint32Array(N * PODS);
    const allocRaw = (): void => { let k = 0; for (let n = 0; n < N; n++) { const s = slotOf[n] as number; for (let j = 0; j < PODS; j++) ips[k++] = (BASE4 + w.podAllocateNext(e, s, 0, 0)) >>> 0; } };
    const releaseRaw = (): void => { for (let k = 0; k < N * PODS; k++) w.release4(table, 1, ips[k] as number); };
    return [
      { impl: "wasm call floor (bmUsed)", ops: N * PODS, fn: () => { for (let k = 0; k < N * PODS; k++) ips[k] = w.bmUsed(e); } },
      { impl: "js loop floor (no call)", ops: N * PODS, fn: () => { for (let k = 0; k < N * PODS; k++) ips[k] = k; } },
      { impl: "raw podAllocateNext", ops: N * PODS, fn: () => { const t0 = now(); allocRaw(); const r = timed(t0); releaseRaw(); return r; } },
      { impl: "raw release4", ops: N * PODS, fn: () => { allocRaw(); const t0 = now(); releaseRaw(); return timed(t0); } },
    ];
  },
};
