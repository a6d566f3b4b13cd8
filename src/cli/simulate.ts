/**
 * `ipcarve simulate`: a scenario over virtual time, on one or more threads,
 * ending with a summary table, an HTML report and a JSON file; or a sweep
 * of seeds on a piscina pool.
 */
import { writeFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { availableParallelism, loadavg } from "node:os";
import { readConfig } from "./config-input.js";
import { simulateMultiPool, formatMultiPoolSummary, type MultiPoolScenario, type MultiPoolSimResult } from "../sim/multi-pool.js";
import { scenarioForPools, applyMultiOverrides } from "../sim/multi-scenario.js";
import { renderPoolsReport } from "../report/pool-report.js";
import { poolsHeadline } from "../report/pool-headline.js";
import { parseCidr } from "../net/ip.js";
import { simulate, type SimResult } from "../sim/simulate.js";
import { sweep } from "../sim/sweep.js";
import { CILIUM_DEFAULT_POOL, applyOverrides, defaultScenario, type Scenario, type SimPool } from "../sim/scenario.js";
import { renderReport } from "../report/html.js";
import { CHARTS_HINT, loadVega } from "../report/vega.js";
import { summaryRows, poolRows, textTable, int, pct } from "../report/summary.js";
import { headline } from "../report/headline.js";
import { createProgress } from "./progress.js";
import { CliError, UsageError, pathIn, type Io } from "./io.js";
import { VERSION } from "./version.js";

export interface SimulateFlags {
  readonly config?: string;
  /** CiliumPodIPPool objects: named pools (a multi-pool run). */
  readonly pools?: string;
  readonly nodes?: number;
  readonly podsPerNode?: number;
  readonly churn?: number;
  readonly duration?: number;
  readonly threads?: number;
  readonly seed?: number;
  /** HTML report path, or false (--no-report). */
  readonly report?: string | false;
  /** JSON results path ("-" = stdout). */
  readonly json?: string;
  readonly quiet?: boolean;
  readonly sweep?: number;
}

export const DEFAULT_REPORT = "ipcarve-report.html";

/** Node subnets of the first family (respecting the subnet limit). */
export function subnetCapacity(p: SimPool): number {
  const f = p.ipv4 ?? p.ipv6;
  if (!f) return 0;
  // no maskSize: ClusterPool derives it from maxNodeSubnets (clusterMask + ceil(log2 N))
  const mask = (c: string): number => f.maskSize ?? parseCidr(c).prefix + Math.ceil(Math.log2(p.maxNodeSubnets ?? 1));
  const cap = f.cidrs.reduce((n, c) => n + 2 ** (mask(c) - parseCidr(c).prefix), 0);
  return Math.min(cap, p.maxNodeSubnets ?? Infinity);
}

/** The scenario overrides of the flags. */
function overrides(f: SimulateFlags) {
  return {
    ...(f.nodes !== undefined ? { nodes: f.nodes } : {}),
    ...(f.podsPerNode !== undefined ? { podsPerNode: f.podsPerNode } : {}),
    ...(f.churn !== undefined ? { churn: f.churn } : {}),
    ...(f.duration !== undefined ? { duration: f.duration } : {}),
    ...(f.seed !== undefined ? { seed: f.seed } : {}),
  };
}

/** The pool and scenario a simulate run uses: flags over config over the embedded default; with named pools, a multi-pool scenario. */
export function resolveRun(io: Io, f: SimulateFlags): { pool: SimPool; scenario: Scenario; source: string; multi?: MultiPoolScenario } {
  let pool: SimPool = CILIUM_DEFAULT_POOL;
  let scenario = defaultScenario();
  let source = "embedded default (Cilium 10.0.0.0/8, /24 per node)";
  const cfg = readConfig(io, f);
  if (cfg !== undefined) {
    source = [f.config, f.pools].filter((x) => x !== undefined).join(" + ");
    if (cfg.pools !== undefined) {
      const base = cfg.multiScenario ?? scenarioForPools(cfg.pools, `default multi-pool scenario on ${source}`);
      return { pool, scenario, source, multi: applyMultiOverrides(base, overrides(f)) };
    }
    pool = cfg.pool;
    if (cfg.scenario) scenario = cfg.scenario;
    else {
      // The default scenario sized to this pool: the second wave overflows it by a few percent.
      const peak = Math.max(1, Math.floor(subnetCapacity(pool) * 0.75));
      const d = defaultScenario(peak);
      scenario = { ...d, name: `default scenario on ${f.config}`, growth: [] };
    }
  }
  scenario = applyOverrides(scenario, overrides(f));
  return { pool, scenario, source };
}

/** The terminal summary of a multi-pool run: the capacity answer, then the per-pool table. */
export function poolsSummary(res: MultiPoolSimResult): string {
  return `Capacity answer\n${poolsHeadline(res).lines.map((l) => `  ${l}`).join("\n")}\n\n${formatMultiPoolSummary(res)}\n`;
}

/** A multi-pool run: summary, HTML report and JSON, as a cluster-pool run. */
export async function poolsRun(io: Io, f: SimulateFlags, scenario: MultiPoolScenario, source: string): Promise<number> {
  if (f.sweep !== undefined) throw new UsageError("--sweep runs cluster-pool scenarios; a multi-pool scenario runs once per seed (use --seed)");
  if (f.threads !== undefined && f.threads > 1) io.err("ipcarve: note: --threads: a multi-pool run is on one thread\n");
  let res: MultiPoolSimResult;
  try {
    res = simulateMultiPool(scenario);
  } catch (e) {
    if (e instanceof Error && e.name === "IpamError") throw new CliError(e.message);
    throw e;
  }
  return writeOutputs(io, f, `\n${poolsSummary(res)}`, { ipcarve: VERSION, source, answer: poolsHeadline(res), ...res }, () => renderPoolsReport(res, { source, version: VERSION }));
}

/**
 * What a run prints and writes: the summary on stdout (unless --json -), the
 * HTML report (unless --no-report) and the JSON next to it (or at --json).
 */
async function writeOutputs(io: Io, f: SimulateFlags, summary: string, doc: object, html: () => Promise<string>): Promise<number> {
  const jsonToStdout = f.json === "-";
  if (!jsonToStdout) io.out(summary);
  const reportPath = f.report === false ? undefined : pathIn(io, f.report ?? DEFAULT_REPORT);
  const jsonPath = f.json !== undefined && !jsonToStdout ? pathIn(io, f.json) : reportPath ? reportPath.replace(/\.html?$/i, "") + ".json" : undefined;
  const json = JSON.stringify(doc, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : typeof v === "bigint" ? String(v) : v), 2);
  if (reportPath) {
    write(reportPath, await html());
    if (!jsonToStdout) io.out(`\nreport: ${reportPath}\n`);
    if (!(await loadVega())) io.err(`ipcarve: the report has no charts: ${CHARTS_HINT}\n`);
  }
  if (jsonPath) {
    write(jsonPath, json + "\n");
    if (!jsonToStdout) io.out(`results: ${jsonPath}\n`);
  }
  if (jsonToStdout) io.out(json + "\n");
  return 0;
}

export async function simulateCommand(io: Io, f: SimulateFlags): Promise<number> {
  const { pool, scenario, source, multi } = resolveRun(io, f);
  if (multi !== undefined) return poolsRun(io, f, multi, source);
  // Default: the idle cores (results are the same for any thread count; only speed differs).
  const threads = f.threads ?? Math.max(1, Math.min(8, availableParallelism() - Math.round(loadavg()[0] ?? 0)));
  if (f.sweep !== undefined && f.sweep > 1) return sweepCommand(io, f, pool, scenario, threads);
  const progress = createProgress(io, f.quiet ? "quiet" : "auto");
  let result: SimResult;
  try {
    result = await simulate({ pool, scenario, threads, onProgress: (p) => progress.update(p) });
  } catch (e) {
    progress.stop();
    if (e instanceof RangeError || (e instanceof Error && e.name === "IpamError")) throw new CliError(e.message);
    throw e;
  }
  progress.stop();

  const rows = summaryRows(result);
  const pools = poolRows(result);
  const answer = headline(result);
  const summary = `\nCapacity answer\n${answer.lines.map((l) => `  ${l}`).join("\n")}\n\n${textTable(["parameter", "value"], rows.parameters)}\n\n${textTable(["result", "value"], rows.results)}\n\n${textTable(pools.head, pools.rows)}\n`;
  return writeOutputs(io, f, summary, { ipcarve: VERSION, source, answer, ...result }, () => renderReport(result, { source, version: VERSION }));
}

function write(path: string, text: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  } catch (e) {
    throw new CliError(`ipcarve: cannot write ${path}: ${(e as Error).message}`);
  }
}

async function sweepCommand(io: Io, f: SimulateFlags, pool: SimPool, scenario: Scenario, threads: number): Promise<number> {
  const n = f.sweep as number;
  if (n > 10_000) throw new UsageError("--sweep: at most 10000 runs");
  const tasks = Array.from({ length: n }, (_, i) => ({ pool, scenario: { ...scenario, seed: scenario.seed + i } }));
  const t0 = performance.now();
  const results = await sweep(tasks, threads, (done, total) => {
    if (!f.quiet) io.err(`sweep: ${done}/${total} runs done\n`);
  });
  const wall = (performance.now() - t0) / 1000;
  const head = ["seed", "peak nodes", "peak pods", "pod alloc failed", "node alloc failed", "max w/o subnet", "peak cooldown", "final IP util", "events", "digest"];
  const rows = results.map((r) => [
    String(r.scenario.seed), int(r.totals.peakNodes), int(r.totals.peakPods), int(r.totals.podFailures), int(r.totals.nodeAllocFailures),
    int(r.totals.maxNodesWithoutSubnet), int(r.totals.peakCooldown), pct(r.final.ipUtilization), int(r.totals.events), r.digest,
  ]);
  const events = results.reduce((s, r) => s + r.totals.events, 0);
  const doc = { ipcarve: VERSION, sweep: { runs: n, threads, wallSeconds: wall, eventsPerSec: events / wall }, results };
  const json = JSON.stringify(doc, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : typeof v === "bigint" ? String(v) : v), 2);
  if (f.json === "-") io.out(json + "\n");
  else {
    io.out(`${textTable(head, rows)}\n\n${n} runs on ${Math.min(threads, n)} threads in ${wall.toFixed(2)} s (${int(events / wall)} events/s)\n`);
    if (f.json !== undefined) {
      write(pathIn(io, f.json), json + "\n");
      io.out(`results: ${pathIn(io, f.json)}\n`);
    }
  }
  return 0;
}
