/**
 * ipcarve's benchmark suite (issue 5). Each case races ipcarve and its
 * baselines in one tinybench Bench:
 *   typed-ts  : the same operations in plain TypeScript over typed arrays (what WASM buys);
 *   naive     : a Set of address strings + linear scan + ipaddr.js (what a user writes);
 *   cilium-ts : a transcription of Cilium's bit-by-bit next-fit / random-start scan (the algorithmic gain).
 * Per-op figures are the tinybench median (p50) of per-iteration latency divided by the
 * ops one iteration performs; ratios are other.nsPerOp / this.nsPerOp (> 1: this is faster).
 */
import type { CaseSpec } from "./lib/measure.js";
import { runCase, fmtNs } from "./lib/measure.js";
import { carveCase, podCase, podBatchCase, stringCase, nearFullNodesCase, nearFullPodsCase, churnCase, nodeCase, floorCase } from "./cases-ops.js";
import { lookupCase, fillCase, parallelCase } from "./cases-cluster.js";
import { scaleCase, cidrSetCase, scaleMemoryCase } from "./cases-scale.js";
import { metricsAllocateCase, metricsIPv4Case } from "./cases-metrics.js";
import { multiPoolCase } from "./cases-multipool.js";
import { multiPoolIPv4Case } from "./cases-multipool-ipv4.js";

export interface BenchRecord {
  name: string;
  impl: string;
  opsPerSec: number;
  nsPerOp: number;
  p50: number;
  p99: number;
  ratios: Record<string, number>;
  bytes?: number;
  target?: string;
  met?: boolean;
}

/** Every case, in run order. */
export function cases(): CaseSpec[] {
  return [
    carveCase,
    podCase("next-fit", "alloc"), podCase("next-fit", "release"),
    podCase("first-free", "alloc"), podCase("first-free", "release"),
    podCase("random", "alloc"), podCase("random", "release"),
    podBatchCase,
    multiPoolIPv4Case,
    stringCase("allocate"), stringCase("release"),
    nodeCase,
    nearFullNodesCase, nearFullPodsCase,
    lookupCase,
    churnCase,
    fillCase,
    parallelCase,
    floorCase,
    scaleCase("addNode"), scaleCase("allocate"), scaleCase("lookup"), scaleCase("release"),
    cidrSetCase,
    scaleMemoryCase,
    metricsAllocateCase, metricsIPv4Case,
    multiPoolCase("allocate"), multiPoolCase("release"),
  ];
}

/**
 * Runs the suite (or the cases whose name contains `filter`, case-insensitive)
 * and returns one record per case and implementation. `quick` shortens every
 * time budget (for CI smoke runs; numbers are noisier).
 */
export async function runSuite(opts: { filter?: string; quick?: boolean; log?: (line: string) => void } = {}): Promise<BenchRecord[]> {
  const log = opts.log ?? ((): void => {});
  const quick = opts.quick ?? false;
  const f = opts.filter?.toLowerCase();
  const out: BenchRecord[] = [];
  for (const c of cases()) {
    if (f && !c.name.toLowerCase().includes(f)) continue;
    log(`${c.name}`);
    out.push(...(await runCase(c, { quick, log })));
    (globalThis as { gc?: () => void }).gc?.();
  }
  return out;
}

const pad = (s: string, n: number): string => (s.length >= n ? s : s + " ".repeat(n - s.length));
const lpad = (s: string, n: number): string => (s.length >= n ? s : " ".repeat(n - s.length) + s);

function fmtBytes(b: number | undefined): string {
  if (b === undefined) return "";
  return b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(2)} MiB` : b >= 1024 ? `${(b / 1024).toFixed(1)} KiB` : `${b} B`;
}

function fmtRatio(r: number): string {
  return r >= 100 ? `${r.toFixed(0)}x` : r >= 10 ? `${r.toFixed(1)}x` : `${r.toFixed(2)}x`;
}

/** A plain-text table: one block per case, ratios against the baselines of that case. */
export function formatTable(records: BenchRecord[]): string {
  const lines: string[] = [];
  const byCase = new Map<string, BenchRecord[]>();
  for (const r of records) {
    const list = byCase.get(r.name);
    if (list) list.push(r);
    else byCase.set(r.name, [r]);
  }
  const w = Math.max(24, ...records.map((r) => r.impl.length));
  for (const [name, list] of byCase) {
    lines.push(name);
    lines.push(`  ${pad("impl", w)}  ${lpad("ns/op (p50)", 11)}  ${lpad("p99", 10)}  ${lpad("ops/s", 13)}  ${pad("bytes", 10)}  ratios (their ns / ours)  target`);
    for (const r of list) {
      const ratios = Object.entries(r.ratios)
        .filter(([k]) => !k.startsWith("ipcarve"))
        .map(([k, v]) => `${k.split(" ")[0]} ${fmtRatio(v)}`)
        .join(", ");
      const target = r.target === undefined ? "" : `${r.met ? "met" : "MISSED"} (${r.target})`;
      lines.push(`  ${pad(r.impl, w)}  ${lpad(fmtNs(r.nsPerOp), 11)}  ${lpad(fmtNs(r.p99), 10)}  ${lpad(r.opsPerSec.toLocaleString("en-US"), 13)}  ${pad(fmtBytes(r.bytes), 10)}  ${pad(ratios, 24)}  ${target}`);
    }
    lines.push("");
  }
  return lines.join("\n");
}
