/**
 * `npm run bench:scaling`: how per-op cost grows with the pool.
 * IPv4 pools /16, /12, /8 carved into /24 nodes (256, 4,096, 65,536 slots),
 * IPv6 pools at the 65,536-node limit (fd00::/104 -> /120, fd00::/48 -> /64),
 * and pod ranges /24, /20, /16 (IPv4) and a capped IPv6 /64 (65,534).
 * Per pool: near-full allocation (16 free; alloc+release pair) for ipcarve,
 * the Cilium transcription (bit-by-bit scan) and the typed-TS baseline, raced
 * in one Bench, plus ipcarve's carve cost per subnet on an empty pool.
 * Flags: --json, --quick.
 */
import { CidrSet } from "../src/alloc/cidr-set.js";
import { PodRange } from "../src/alloc/pod-range.js";
import { Engine } from "../src/core/engine.js";
import { type CaseSpec, type ImplSpec, runCase, fmtNs } from "./lib/measure.js";
import { releaseGroups, nearFullImpl } from "./cases-ops.js";
import { TypedBitmap, NEXT_FIT as T_NEXT, RANDOM as T_RANDOM } from "./lib/typed.js";
import { CiliumBitmap, NEXT_FIT as C_NEXT, RANDOM as C_RANDOM } from "./lib/cilium.js";
import type { BenchRecord } from "./suite.js";

interface Pool { readonly label: string; readonly kind: "nodes" | "pods"; readonly cidr: string; readonly mask?: number }

const POOLS: Pool[] = [
  { label: "IPv4 /16 -> /24 nodes (256)", kind: "nodes", cidr: "10.0.0.0/16", mask: 24 },
  { label: "IPv4 /12 -> /24 nodes (4,096)", kind: "nodes", cidr: "10.0.0.0/12", mask: 24 },
  { label: "IPv4 /8 -> /24 nodes (65,536)", kind: "nodes", cidr: "10.0.0.0/8", mask: 24 },
  { label: "IPv6 /104 -> /120 nodes (65,536)", kind: "nodes", cidr: "fd00::/104", mask: 120 },
  { label: "IPv6 /48 -> /64 nodes (65,536)", kind: "nodes", cidr: "fd00::/48", mask: 64 },
  { label: "IPv4 /24 pod range (254)", kind: "pods", cidr: "10.0.0.0/24" },
  { label: "IPv4 /20 pod range (4,094)", kind: "pods", cidr: "10.0.0.0/20" },
  { label: "IPv4 /16 pod range (65,534)", kind: "pods", cidr: "10.0.0.0/16" },
  { label: "IPv6 /64 pod range (capped, 65,534)", kind: "pods", cidr: "fd00::/64" },
];

function poolCase(p: Pool): CaseSpec {
  return {
    name: `scaling: ${p.label}`,
    time: 300,
    impls: () => {
      const engine = Engine.create();
      let alloc: () => number;
      let release: (i: number) => unknown;
      let size: number;
      let carve: ImplSpec | undefined;
      if (p.kind === "nodes") {
        const s = new CidrSet(p.cidr, p.mask as number, { engine });
        size = s.capacity;
        s.allocateNextIndexBatch(new Uint32Array(size));
        alloc = () => s.allocateNextIndex();
        release = (i) => s.releaseIndex(i);
        const empty = new CidrSet(p.cidr, p.mask as number, { engine: Engine.create() });
        const out = new Uint32Array(size);
        carve = {
          impl: "ipcarve carve+release (empty pool)", ops: size, fn: () => {
            for (let i = 0; i < size; i++) out[i] = empty.allocateNextIndex();
            for (let i = 0; i < size; i++) empty.releaseIndex(out[i] as number);
          },
        };
      } else {
        const r = new PodRange(p.cidr, { strategy: "random", engine });
        size = r.size;
        for (let i = 0; i < size; i++) r.allocateNextIndex();
        alloc = () => r.allocateNextIndex();
        release = (i) => r.releaseIndex(i);
      }
      const strat = p.kind === "nodes" ? { t: T_NEXT, c: C_NEXT } : { t: T_RANDOM, c: C_RANDOM };
      const typed = new TypedBitmap(size);
      const cil = new CiliumBitmap(size);
      for (let i = 0; i < size; i++) { typed.allocateNext(T_NEXT); cil.allocateNext(C_NEXT); }
      const groups = releaseGroups(size, 64, size);
      const cilRounds = Math.max(1, Math.min(64, Math.floor(65536 / size)));
      const impls: ImplSpec[] = [
        nearFullImpl("ipcarve near-full", { alloc, release }, groups, 64),
        nearFullImpl("cilium-ts near-full", { alloc: () => cil.allocateNext(strat.c), release: (i) => cil.release(i) }, groups, cilRounds),
        nearFullImpl("typed-ts near-full", { alloc: () => typed.allocateNext(strat.t), release: (i) => typed.release(i) }, groups, 64),
      ];
      if (carve) impls.push(carve);
      return impls;
    },
  };
}

async function main(): Promise<void> {
  const json = process.argv.includes("--json");
  const quick = process.argv.includes("--quick");
  const log = json ? (): void => {} : (l: string): void => console.log(l);
  const records: BenchRecord[] = [];
  for (const p of POOLS) {
    log(`scaling: ${p.label}`);
    records.push(...(await runCase(poolCase(p), { quick, log })));
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
    return;
  }
  const get = (label: string, impl: string): string => {
    const r = records.find((x) => x.name === `scaling: ${label}` && x.impl === impl);
    return r ? fmtNs(r.nsPerOp) : "";
  };
  console.log("");
  console.log("| pool | ipcarve near-full (ns/alloc) | cilium-ts near-full | typed-ts near-full | ipcarve carve+release per subnet |");
  console.log("|---|---:|---:|---:|---:|");
  for (const p of POOLS) {
    console.log(`| ${p.label} | ${get(p.label, "ipcarve near-full")} | ${get(p.label, "cilium-ts near-full")} | ${get(p.label, "typed-ts near-full")} | ${get(p.label, "ipcarve carve+release (empty pool)")} |`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
