/**
 * `npm run bench` entry: node dist/bench/index.js [--json] [--filter <text>] [--quick] [--runs <n>]
 * --runs n runs the suite n times and reports, per case and impl, the median
 * of the per-run medians (p99: the median of the per-run p99s).
 */
import { loadavg } from "node:os";
import { runSuite, formatTable, type BenchRecord } from "./suite.js";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const json = process.argv.includes("--json");
const quick = process.argv.includes("--quick");
const filter = arg("--filter");
const runs = Math.max(1, Number(arg("--runs") ?? 1) | 0);
// with --json, progress goes to stderr so stdout stays machine-readable
const log = json ? (line: string): void => console.error(line) : (line: string): void => console.log(line);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function main(): Promise<void> {
  const all: BenchRecord[][] = [];
  for (let r = 0; r < runs; r++) {
    log(`--- run ${r + 1}/${runs}; load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
    all.push(await runSuite({ ...(filter !== undefined && { filter }), quick, log }));
  }
  let records = all[0] ?? [];
  if (runs > 1) records = mergeRuns(all);
  if (json) process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
  else {
    console.log("");
    console.log(formatTable(records));
  }
}

/** Median across runs of each record's figures; ratios and targets recomputed from the medians. */
function mergeRuns(all: BenchRecord[][]): BenchRecord[] {
  const first = all[0] as BenchRecord[];
  const key = (r: BenchRecord): string => `${r.name}\u0000${r.impl}`;
  const groups = new Map<string, BenchRecord[]>();
  for (const run of all) for (const r of run) (groups.get(key(r)) ?? groups.set(key(r), []).get(key(r))!).push(r);
  const merged = first.map((r) => {
    const g = groups.get(key(r)) as BenchRecord[];
    const ns = median(g.map((x) => x.nsPerOp));
    const out: BenchRecord = { ...r, nsPerOp: ns, p50: ns, p99: median(g.map((x) => x.p99)), opsPerSec: Math.round(1e9 / ns), ratios: {} };
    const bytes = g.map((x) => x.bytes).filter((b): b is number => b !== undefined);
    if (bytes.length) out.bytes = median(bytes);
    return out;
  });
  const byName = new Map<string, BenchRecord[]>();
  for (const r of merged) (byName.get(r.name) ?? byName.set(r.name, []).get(r.name)!).push(r);
  for (const r of merged) {
    if (r.impl.startsWith("ipcarve")) {
      for (const o of byName.get(r.name) ?? []) if (o !== r) r.ratios[o.impl] = Number((o.nsPerOp / r.nsPerOp).toFixed(3));
    }
    // met: majority vote of the runs (targets depend on other impls of the same run)
    const g = groups.get(key(r)) as BenchRecord[];
    if (r.target !== undefined) r.met = g.filter((x) => x.met).length * 2 > g.length;
  }
  return merged;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
