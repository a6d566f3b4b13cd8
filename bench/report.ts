/**
 * Renders suite records (the JSON of `node dist/bench/index.js --json`) as
 * Markdown tables for bench/RESULTS.md:
 *   node dist/bench/report.js results.json [more.json ...]
 * Later files replace records (same case and impl) of earlier ones.
 */
import { readFileSync } from "node:fs";
import type { BenchRecord } from "./suite.js";
import { fmtNs } from "./lib/measure.js";

const records = new Map<string, BenchRecord>();
for (const f of process.argv.slice(2)) {
  for (const r of JSON.parse(readFileSync(f, "utf8")) as BenchRecord[]) records.set(`${r.name}\u0000${r.impl}`, r);
}
const BASELINES = ["typed-ts", "naive", "cilium-ts"];
const byCase = new Map<string, BenchRecord[]>();
for (const r of records.values()) (byCase.get(r.name) ?? byCase.set(r.name, []).get(r.name)!).push(r);

const bytes = (b?: number): string => (b === undefined ? "" : b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`);
const ratio = (r: BenchRecord, base: string): string => {
  const k = Object.keys(r.ratios).find((x) => x === base || x.startsWith(`${base} `));
  if (k === undefined) return "";
  const v = r.ratios[k] as number;
  return v >= 100 ? `${v.toFixed(0)}×` : v >= 10 ? `${v.toFixed(1)}×` : `${v.toFixed(2)}×`;
};

const out: string[] = [];
for (const [name, list] of byCase) {
  out.push(`### ${name}`, "");
  out.push("| impl | ns/op (p50) | p99 | ops/s | bytes | vs typed-ts | vs naive | vs cilium-ts | target | |");
  out.push("|---|---:|---:|---:|---:|---:|---:|---:|---|---|");
  for (const r of list) {
    const met = r.met === undefined ? "" : r.met ? "met" : "**missed**";
    out.push(`| ${r.impl} | ${fmtNs(r.nsPerOp)} | ${fmtNs(r.p99)} | ${r.opsPerSec.toLocaleString("en-US")} | ${bytes(r.bytes)} | ${BASELINES.map((b) => ratio(r, b)).join(" | ")} | ${r.target ?? ""} | ${met} |`);
  }
  out.push("");
}
process.stdout.write(out.join("\n"));
