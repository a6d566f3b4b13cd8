/**
 * Runs one case: every implementation as a task of the same tinybench
 * Bench, then turns task results into BenchRecords (per-op figures, ratios,
 * targets).
 */
import { Bench, type FnOptions } from "tinybench";
import type { BenchRecord } from "../suite.js";

/** What a target compares. */
export type Target =
  /** nsPerOp at most `max`. */
  | { readonly kind: "max"; readonly max: number; readonly label: string }
  /** nsPerOp at most `factor` times the nsPerOp of impl `of` (e.g. IPv6 vs IPv4). */
  | { readonly kind: "rel"; readonly of: string; readonly factor: number; readonly label: string }
  /** ratio over impl `of` (its ns / ours) at least `min` (e.g. 2 threads vs 1). */
  | { readonly kind: "speedup"; readonly of: string; readonly min: number; readonly label: string };

export interface ImplSpec {
  readonly impl: string;
  /** Operations one iteration performs (the per-op divisor). */
  readonly ops: number;
  /** One iteration; may return { overriddenDuration } to time only part of it. */
  readonly fn: () => unknown;
  readonly beforeAll?: () => void | Promise<void>;
  readonly beforeEach?: () => void | Promise<void>;
  readonly afterEach?: () => void | Promise<void>;
  /** Bytes of allocator state, read after the run. */
  readonly bytes?: () => number | undefined;
  readonly target?: Target;
  /** Upper bound on bytes() for the target to count as met. */
  readonly maxBytes?: number;
}

export interface CaseSpec {
  readonly name: string;
  /** Time budget per task in ms (full run). */
  readonly time?: number;
  /** Minimum iterations per task. */
  readonly iterations?: number;
  readonly warmupIterations?: number;
  /** Builds the implementations (state set up here is released when the case ends). */
  readonly impls: () => ImplSpec[] | Promise<ImplSpec[]>;
  /** Runs after the Bench (e.g. to stop worker threads). */
  readonly after?: () => Promise<void> | void;
  /** Extra records derived after the run (e.g. memory measured in a child process). */
  readonly extra?: (records: BenchRecord[], opts: RunOptions) => Promise<BenchRecord[]> | BenchRecord[];
}

export interface RunOptions {
  readonly quick: boolean;
  readonly log: (line: string) => void;
}

const isIpcarve = (impl: string): boolean => impl.startsWith("ipcarve");

export async function runCase(spec: CaseSpec, opts: RunOptions): Promise<BenchRecord[]> {
  const impls = await spec.impls();
  const time = opts.quick ? Math.min(60, (spec.time ?? 400) / 4) : (spec.time ?? 400);
  const iterations = opts.quick ? Math.min(3, spec.iterations ?? 10) : (spec.iterations ?? 10);
  const warmupIterations = opts.quick ? 1 : (spec.warmupIterations ?? 4);
  const bench = new Bench({
    name: spec.name,
    time,
    iterations,
    warmupTime: opts.quick ? 20 : Math.min(150, time / 2),
    warmupIterations,
    throws: true,
  });
  for (const s of impls) {
    const o: FnOptions = {};
    if (s.beforeAll) o.beforeAll = s.beforeAll;
    if (s.beforeEach) o.beforeEach = s.beforeEach;
    if (s.afterEach) o.afterEach = s.afterEach;
    bench.add(s.impl, s.fn, o);
  }
  try {
    await bench.run();
  } finally {
    await spec.after?.();
  }
  const raw = impls.map((s) => {
    const task = bench.getTask(s.impl);
    const r = task?.result;
    if (!r || (r.state !== "completed" && r.state !== "aborted-with-statistics")) {
      throw new Error(`bench ${spec.name} / ${s.impl}: ${r && r.state === "errored" ? String(r.error) : r?.state}`);
    }
    const k = 1e6 / s.ops; // ms per iteration -> ns per op
    const p50 = r.latency.p50 * k;
    return { spec: s, p50, p99: r.latency.p99 * k };
  });
  const ns = new Map(raw.map((x) => [x.spec.impl, x.p50]));
  const records: BenchRecord[] = raw.map(({ spec: s, p50, p99 }) => {
    const ratios: Record<string, number> = {};
    if (isIpcarve(s.impl)) {
      for (const [other, v] of ns) if (other !== s.impl) ratios[other] = round(v / p50);
    }
    const rec: BenchRecord = {
      name: spec.name,
      impl: s.impl,
      opsPerSec: Math.round(1e9 / p50),
      nsPerOp: round(p50),
      p50: round(p50),
      p99: round(p99),
      ratios,
    };
    const bytes = s.bytes?.();
    if (bytes !== undefined) rec.bytes = bytes;
    if (s.target) {
      rec.target = s.target.label;
      rec.met = meets(s.target, p50, ns) && (s.maxBytes === undefined || (bytes !== undefined && bytes <= s.maxBytes));
    }
    return rec;
  });
  for (const r of records) opts.log(`  ${r.impl.padEnd(26)} ${fmtNs(r.nsPerOp).padStart(11)}/op  p99 ${fmtNs(r.p99).padStart(11)}${r.met === undefined ? "" : r.met ? "  target met" : "  target MISSED"}`);
  if (spec.extra) records.push(...(await spec.extra(records, opts)));
  return records;
}

function meets(t: Target, p50: number, ns: Map<string, number>): boolean {
  if (t.kind === "max") return p50 <= t.max;
  const other = ns.get(t.of);
  if (other === undefined) return false;
  if (t.kind === "rel") return p50 <= other * t.factor;
  return other / p50 >= t.min;
}

export function round(x: number): number {
  if (!Number.isFinite(x)) return x;
  const a = Math.abs(x);
  const d = a >= 1000 ? 0 : a >= 100 ? 1 : a >= 10 ? 2 : 3;
  return Number(x.toFixed(d));
}

/** ns with a unit that keeps 3-4 significant digits. */
export function fmtNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(ns >= 1e8 ? 0 : 1)} ms`;
  if (ns >= 1e4) return `${(ns / 1e3).toFixed(1)} µs`;
  if (ns >= 100) return `${ns.toFixed(0)} ns`;
  return `${ns.toFixed(ns >= 10 ? 1 : 2)} ns`;
}

/** A timed section's duration, for tasks that return { overriddenDuration }. */
export const now = (): number => performance.now();

/** Deterministic xorshift32 PRNG (the harness never calls Math.random in timed code). */
export function rng(seed = 0x12345678): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}
