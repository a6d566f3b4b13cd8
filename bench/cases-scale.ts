/**
 * Issue 9: the cluster-scale string API. 4,096 nodes x 254 pods =
 * 1,040,384 pods on 10.0.0.0/8 (/24 per node), each pod with an owner of its
 * own ("ns/pod-N"); lookups and releases in one fixed pseudo-random order.
 * Raced in the same run against `map-ts` (bench/lib/map.ts: Maps ip -> owner
 * and owner -> ip beside typed bitmaps, what a JS user writes) and
 * `typed-ts` (bench/lib/typed.ts TypedStringPool: typed arrays, owner ids
 * in a Map that never forgets). Memory in a child process (--expose-gc).
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ClusterPool } from "../src/pool/cluster-pool.js";
import { CidrSet } from "../src/alloc/cidr-set.js";
import { type CaseSpec, type ImplSpec, now, rng, round } from "./lib/measure.js";

/** A result record (bench/suite.ts BenchRecord), named without importing the suite (no import cycle). */
type BenchRecord = Awaited<ReturnType<NonNullable<CaseSpec["extra"]>>>[number];
import { TypedCluster, TypedStringPool } from "./lib/typed.js";
import { MapCluster } from "./lib/map.js";
import { BASE4 } from "./cases-ops.js";

export const SCALE_NODES = 4096;
const PODS = 254;
export const SCALE_PODS = SCALE_NODES * PODS; // 1,040,384
const V4 = { ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 } } as const;

const nodeNames = Array.from({ length: SCALE_NODES }, (_, i) => `node-${i}`);
/** The 1,040,384 owner names, made when a scale case first runs (not on import). */
let ownerNames: string[] = [];
const makeOwners = (): void => {
  // flat strings, as a Kubernetes client's JSON parser hands them over: a template literal
  // may be a cons string, which the first implementation to read it flattens (a fresh string
  // per pod, promoted with the array that holds it), charging one impl for the input's making
  if (ownerNames.length === 0) ownerNames = Array.from({ length: SCALE_PODS }, (_, k) => Buffer.from(`ns/pod-${k}`, "latin1").toString("latin1"));
};

/** The one fixed pseudo-random order of the addresses (Fisher-Yates over xorshift32, seed 9). */
function order(ips: readonly string[]): string[] {
  const out = [...ips];
  const r = rng(9);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    const t = out[i] as string;
    out[i] = out[j] as string;
    out[j] = t;
  }
  return out;
}

interface Impl {
  addNode(name: string): unknown;
  allocate(node: string, owner: string): string;
  lookup(ip: string): unknown;
  release(ip: string): unknown;
}

const makers: Record<string, () => Impl> = {
  ipcarve: () => {
    const p = new ClusterPool(V4);
    return { addNode: (n) => p.addNode(n), allocate: (n, o) => p.allocate(n, o).ipv4 as string, lookup: (ip) => p.lookup(ip), release: (ip) => p.release(ip) };
  },
  "map-ts": () => new MapCluster(BASE4, 8),
  "typed-ts": () => new TypedStringPool(new TypedCluster(BASE4, 8, 24)),
};

/** Adds the nodes and fills every pod; returns the addresses in allocation order. */
export function fillScale(impl: Impl): string[] {
  makeOwners();
  for (const n of nodeNames) impl.addNode(n);
  const ips = new Array<string>(SCALE_PODS);
  let k = 0;
  for (let i = 0; i < SCALE_NODES; i++) {
    const node = nodeNames[i] as string;
    for (let j = 0; j < PODS; j++, k++) ips[k] = impl.allocate(node, ownerNames[k] as string);
  }
  return ips;
}

let sink = 0;
const timed = (t0: number): { overriddenDuration: number } => ({ overriddenDuration: now() - t0 });
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

const TARGETS = {
  addNode: 300, allocate: 200, lookup: 120, release: 150,
} as const;

/** One case per operation: ipcarve, map-ts, typed-ts; ipcarve's target and >= 4x map-ts. */
export function scaleCase(op: "addNode" | "allocate" | "lookup" | "release"): CaseSpec {
  return {
    name: `cluster scale 4,096 x 254 unique owners: ${op === "addNode" ? "addNode(name)" : op === "allocate" ? "allocate(node, owner)" : `${op}(ip), random order`}`,
    time: 0,
    iterations: 5,
    warmupIterations: 1,
    impls: () => {
      makeOwners();
      let shuffled: string[] | undefined;
      return Object.entries(makers).map(([impl, make]): ImplSpec => {
        let cur: Impl | undefined;
        let ips: string[] = [];
        const spec = { impl, target: impl === "ipcarve" ? { kind: "max", max: TARGETS[op], label: `<= ${TARGETS[op]} ns` } as const : undefined };
        if (op === "addNode") {
          return { ...spec, ops: SCALE_NODES, beforeEach: () => { cur = undefined; gc(); cur = make(); }, fn: () => { const t0 = now(); for (const n of nodeNames) (cur as Impl).addNode(n); return timed(t0); } };
        }
        if (op === "allocate") {
          return {
            ...spec, ops: SCALE_PODS,
            beforeEach: () => { cur = undefined; gc(); cur = make(); for (const n of nodeNames) cur.addNode(n); },
            fn: () => {
              const c = cur as Impl;
              const t0 = now();
              let k = 0;
              for (let i = 0; i < SCALE_NODES; i++) {
                const node = nodeNames[i] as string;
                for (let j = 0; j < PODS; j++, k++) c.allocate(node, ownerNames[k] as string);
              }
              return timed(t0);
            },
          };
        }
        if (op === "lookup") {
          return {
            ...spec, ops: SCALE_PODS,
            beforeAll: () => { cur = make(); ips = fillScale(cur); shuffled ??= order(ips); gc(); },
            afterEach: () => {},
            fn: () => {
              const c = cur as Impl;
              const list = shuffled as string[];
              let a = 0;
              for (let k = 0; k < list.length; k++) if (c.lookup(list[k] as string) !== undefined) a++;
              if (a !== SCALE_PODS) throw new Error(`${impl}: ${a} lookups found`);
              sink += a;
            },
          };
        }
        return {
          ...spec, ops: SCALE_PODS,
          beforeEach: () => { cur = undefined; gc(); cur = make(); ips = fillScale(cur); shuffled ??= order(ips); gc(); },
          fn: () => {
            const c = cur as Impl;
            const list = shuffled as string[];
            const t0 = now();
            for (let k = 0; k < list.length; k++) c.release(list[k] as string);
            return timed(t0);
          },
        };
      }).map((s) => (s.target === undefined ? (({ target: _t, ...rest }) => rest)(s) : s)) as ImplSpec[];
    },
    extra: (records) => {
      // the >= 4x map-ts goal, as a record of its own
      const ours = records.find((r) => r.impl === "ipcarve");
      const map = records.find((r) => r.impl === "map-ts");
      if (!ours || !map || op === "addNode") return [];
      const x = map.nsPerOp / ours.nsPerOp;
      return [{ name: records[0]!.name, impl: "ipcarve vs map-ts", opsPerSec: ours.opsPerSec, nsPerOp: ours.nsPerOp, p50: ours.p50, p99: ours.p99, ratios: { "map-ts": round(x) }, target: ">= 4x map-ts", met: x >= 4 }];
    },
  };
}

/** CidrSet.allocateNext() then release(the string it returned), per pair; 65,536 /24s of a /8. */
export const cidrSetCase: CaseSpec = {
  name: "CidrSet allocateNext() + release(string), /8 -> /24 (per pair)",
  time: 400,
  impls: () => {
    const N = 65536;
    const set = new CidrSet("10.0.0.0/8", 24);
    const out = new Array<string>(N);
    return [
      {
        impl: "ipcarve", ops: N, target: { kind: "max", max: 60, label: "<= 60 ns" },
        fn: () => {
          for (let k = 0; k < N; k++) out[k] = set.allocateNext();
          for (let k = 0; k < N; k++) set.release(out[k] as string);
        },
      },
      {
        impl: "ipcarve release(string) alone", ops: N,
        fn: () => {
          for (let k = 0; k < N; k++) out[k] = set.allocateNext();
          const t0 = now();
          for (let k = 0; k < N; k++) set.release(out[k] as string);
          return timed(t0);
        },
      },
    ];
  },
};

/** Memory of the cluster-scale fill and the whole-/8 fill, each in a child process (--expose-gc). */
export const scaleMemoryCase: CaseSpec = {
  name: "cluster scale memory (child processes)",
  time: 0,
  iterations: 1,
  warmupIterations: 0,
  impls: () => [{ impl: "none", ops: 1, fn: () => { sink++; } }],
  extra: (_records, opts) => {
    const script = fileURLToPath(new URL("./workers/scale-memory.js", import.meta.url));
    const run = (mode: string): Record<string, number> =>
      JSON.parse(execFileSync(process.execPath, ["--expose-gc", script, mode], { encoding: "utf8", maxBuffer: 1 << 20 })) as Record<string, number>;
    const out: BenchRecord[] = [];
    const rec = (name: string, impl: string, bytes: number, target?: string, met?: boolean): void => {
      const r: BenchRecord = { name, impl, opsPerSec: 0, nsPerOp: 0, p50: 0, p99: 0, ratios: {}, bytes };
      if (target !== undefined) { r.target = target; r.met = met as boolean; }
      out.push(r);
    };
    for (const impl of ["ipcarve", "map-ts", "typed-ts"]) {
      const m = run(`scale-${impl}`);
      opts.log(`  ${impl}: heap retained ${(m.heapPerPod as number).toFixed(1)} B/pod, engine ${(m.enginePerPod as number).toFixed(1)} B/pod, array buffers ${(m.arrayPerPod as number).toFixed(1)} B/pod, state ${(m.statePerPod as number).toFixed(1)} B/pod, peak RSS ${((m.maxRss as number) / 2 ** 20).toFixed(1)} MiB`);
      const ours = impl === "ipcarve";
      rec("cluster scale memory: JS heap retained after the fill, per pod (B)", impl, round(m.heapPerPod as number), ours ? "<= 8 B/pod" : undefined, (m.heapPerPod as number) <= 8);
      rec("cluster scale memory: all state (engine + heap + array buffers), per pod (B)", impl, round(m.statePerPod as number), ours ? "<= 64 B/pod" : undefined, (m.statePerPod as number) <= 64);
      rec("cluster scale memory: peak RSS of the process (bytes)", impl, m.maxRss as number);
    }
    const f = run("fill8");
    opts.log(`  whole-/8 ClusterPool fill: peak RSS ${((f.maxRss as number) / 2 ** 20).toFixed(1)} MiB (process at start ${((f.rss0 as number) / 2 ** 20).toFixed(1)} MiB)`);
    rec("whole-/8 ClusterPool fill (65,536 x 254, batch): peak RSS of the process (bytes)", "ipcarve", f.maxRss as number, "<= 80 MiB", (f.maxRss as number) <= 80 * 2 ** 20);
    return out;
  },
};

export const scaleSinkValue = (): number => sink;
