/**
 * `npm run bench:shared`: SharedPool throughput and latency against a
 * 3-member etcd cluster started here (loopback, temp dirs), with 1, 2, 4
 * and 8 client processes (test/fixtures/shared-child.mjs), each with
 * `--concurrency` calls in flight:
 *   - shared-own:    every process allocates on nodes of its own;
 *   - shared-shared: every process allocates on the same nodes;
 *   - raw-cas:       same-run baseline, one address per transaction: a worker's
 *                    own key, get then Txn(If ModRevision == rev Then Put);
 *   - lock:          same-run baseline, the whereabouts design: an etcd lock
 *                    around a read-modify-write of one pool key. etcd3's Lock does
 *                    not queue (it fails when held and is retried every 2-6 ms), so
 *                    the lock runs with --lock-concurrency calls per process (1):
 *                    more contenders only spin and make it slower (6/s at 2 x 32).
 * Rates are acknowledged calls / wall time from "go" to the last process
 * done; latencies are per call, all processes together. Each configuration
 * runs `--runs` times; the table shows medians. Flags: --runs N (3),
 * --allocs N per configuration (4000), --lock-allocs N (300), --concurrency N (32),
 * --lock-concurrency N (1),
 * --procs 1,2,4,8, --json.
 */
import { cpus, loadavg } from "node:os";
import { EtcdCluster, etcdBinary } from "./lib/etcd-cluster.js";
import { runChild, type ChildRun } from "./lib/shared-clients.js";
import { SharedPool } from "../src/index.js";

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
const RUNS = Number(arg("runs", "3"));
const ALLOCS = Number(arg("allocs", "4000"));
const LOCK_ALLOCS = Number(arg("lock-allocs", "300"));
const CONC = Number(arg("concurrency", "32"));
const LOCK_CONC = Number(arg("lock-concurrency", "1"));
const PROCS = arg("procs", "1,2,4,8").split(",").map(Number);
const JSON_OUT = process.argv.includes("--json");

type Mode = "shared-own" | "shared-shared" | "raw-cas" | "lock";
interface Result { mode: Mode; procs: number; rate: number; p50: number; p99: number; txns: number; conflicts: number; calls: number }

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.floor((s.length - 1) / 2)] as number);
};
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.min(s.length - 1, Math.floor(p * s.length))] as number);
};

let round = 0;
async function once(etcd: EtcdCluster, mode: Mode, procs: number): Promise<Result> {
  const prefix = `/bench/${process.pid}/${++round}`;
  const options = { ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 } };
  const total = mode === "lock" ? LOCK_ALLOCS : ALLOCS;
  const per = Math.ceil(total / procs);
  const own: string[][] = [];
  const shared: string[] = [];
  if (mode.startsWith("shared")) {
    const admin = await SharedPool.connect({ endpoints: etcd.endpoints, prefix }, options);
    const perNode = 254; // 2^(32-24) - 2
    if (mode === "shared-own") {
      for (let p = 0; p < procs; p++) own.push(Array.from({ length: Math.ceil(per / perNode) + 1 }, (_, k) => `own-${p}-${k}`));
    } else {
      shared.push(...Array.from({ length: Math.ceil(total / perNode) + 1 }, (_, k) => `shared-${k}`));
    }
    for (const n of [...own.flat(), ...shared]) await admin.addNode(n);
    await admin.close();
  }
  const runs: ChildRun[] = [];
  for (let p = 0; p < procs; p++) {
    runs.push(runChild({
      endpoints: etcd.endpoints, prefix, options, id: p, own: own[p] ?? [], shared, sharedShare: 1,
      count: per, concurrency: mode === "lock" ? LOCK_CONC : CONC, seed: 7 + p, latency: true, waitGo: true, timeoutMs: 30_000,
      mode: mode === "raw-cas" ? "raw-cas" : mode === "lock" ? "lock" : "shared",
    }));
  }
  await Promise.all(runs.map((r) => r.ready));
  const t0 = performance.now();
  for (const r of runs) r.go();
  const codes = await Promise.all(runs.map((r) => r.exited));
  // wall time: from go to the last process's last acknowledgement (its D line, before it closes)
  const ms = Math.max(...runs.map((r) => r.done?.ms ?? performance.now() - t0));
  if (codes.some((c) => c !== "0")) throw new Error(`${mode} x${procs}: a client exited ${codes.join(",")}`);
  const acked = runs.reduce((n, r) => n + r.acked.size, 0);
  const lat = runs.flatMap((r) => r.latencies);
  const sum = (k: string): number => runs.reduce((n, r) => n + (r.done?.counters[k] ?? 0), 0);
  return { mode, procs, rate: (acked / ms) * 1000, p50: pct(lat, 0.5), p99: pct(lat, 0.99), txns: sum("txns"), conflicts: sum("conflicts"), calls: sum("calls") };
}

async function main(): Promise<void> {
  const bin = etcdBinary();
  if ("missing" in bin) {
    console.error(`bench:shared needs etcd: ${bin.missing}`);
    process.exit(1);
  }
  const etcd = await EtcdCluster.start(3, { heartbeatMs: 100, electionMs: 1000 });
  const out: Result[] = [];
  try {
    console.error(`# ${new Date().toISOString()} ${cpus()[0]?.model ?? "?"} x${cpus().length}, load ${loadavg().map((x) => x.toFixed(2)).join(" ")}, node ${process.version}`);
    for (const procs of PROCS) {
      for (const mode of ["raw-cas", "shared-own", "shared-shared", "lock"] as Mode[]) {
        const rs: Result[] = [];
        for (let i = 0; i < RUNS; i++) {
          const r = await once(etcd, mode, procs);
          rs.push(r);
          console.error(`${mode} x${procs} run ${i + 1}: ${r.rate.toFixed(0)}/s p50 ${r.p50.toFixed(1)} ms p99 ${r.p99.toFixed(1)} ms, ${r.calls} calls in ${r.txns} txns, ${r.conflicts} conflicts, load ${loadavg()[0]?.toFixed(2)}`);
        }
        out.push({ mode, procs, rate: median(rs.map((r) => r.rate)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)), txns: median(rs.map((r) => r.txns)), conflicts: median(rs.map((r) => r.conflicts)), calls: median(rs.map((r) => r.calls)) });
      }
    }
  } finally {
    await etcd.close();
  }
  if (JSON_OUT) {
    console.log(JSON.stringify(out, null, 2));
    return;
  }
  console.log(`| procs | mode | alloc/s | p50 ms | p99 ms | calls/txn | conflicts |`);
  console.log(`|---:|---|---:|---:|---:|---:|---:|`);
  for (const r of out) {
    console.log(`| ${r.procs} | ${r.mode} | ${r.rate.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.txns > 0 ? (r.calls / r.txns).toFixed(1) : "-"} | ${r.txns > 0 ? r.conflicts : "-"} |`);
  }
  console.log("");
  console.log(`| procs | shared-own / raw-cas | shared-own / lock | p99 shared-own / raw-cas |`);
  console.log(`|---:|---:|---:|---:|`);
  for (const procs of PROCS) {
    const get = (m: Mode): Result | undefined => out.find((r) => r.mode === m && r.procs === procs);
    const s = get("shared-own");
    const c = get("raw-cas");
    const l = get("lock");
    if (s && c && l) console.log(`| ${procs} | ${(s.rate / c.rate).toFixed(2)}x | ${(s.rate / l.rate).toFixed(1)}x | ${(s.p99 / c.p99).toFixed(2)}x |`);
  }
}

await main();
