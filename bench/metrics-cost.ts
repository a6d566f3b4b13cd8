/**
 * The cost of registerMetrics on allocation, measured against noise:
 * node dist/bench/metrics-cost.js [--rounds N] [--time MS] [--aa] [--only string|ipv4|release|release-ipv4|named]
 *
 * On a shared machine two tasks of one tinybench run differ by several
 * percent by themselves, more than the 2% to be shown. So this runs many
 * short rounds; each round is one tinybench Bench racing, in alternating
 * order, a pool with metrics registered ("metrics"), an identical pool
 * without ("plain") and a second one without ("plain-2", the A/A control).
 * Per round it takes the ratios of p50s, metrics / plain and plain-2 /
 * plain, and reports their medians and quartiles over the rounds: the
 * first is the cost, the second how far the machine alone moves a ratio.
 * --aa registers no metrics at all (A/A/A): what the position of a pool in
 * the run does by itself.
 *
 * Cases: allocations (allocate, allocateIPv4), releases (release(ip),
 * releaseIPv4(ip): each counted with one integer increment while metrics
 * are registered) and named pools (allocate(node, owner, { pool }) then
 * release(ip), both counted on the pool's counters).
 */
import { Bench } from "tinybench";
import { loadavg } from "node:os";
import { Registry } from "prom-client";
import { ClusterPool } from "../src/pool/cluster-pool.js";
import { registerMetrics } from "../src/metrics/prometheus.js";

const N = 64;
const PODS = 254;
const OPTIONS = { ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 } };
// named pools: two, the second drawn from; /24 chunks, no pre-allocation, chunks go back at once
const NAMED = {
  pools: {
    default: { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 }, preAllocate: 0 },
    blue: { ipv4: { cidrs: ["10.1.0.0/16"], maskSize: 24 }, preAllocate: 0 },
  },
  releaseDelayMs: 0,
};

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const rounds = arg("--rounds", 21);
const time = arg("--time", 150);
const aa = process.argv.includes("--aa");

const names = Array.from({ length: N }, (_, n) => `node-${n}`);
const owners = Array.from({ length: N * PODS }, (_, k) => `default/pod-${k}`);

function pool(metrics: boolean, named = false): ClusterPool {
  const p = new ClusterPool(named ? NAMED : OPTIONS);
  for (const n of names) p.addNode(n);
  if (metrics) registerMetrics(p, new Registry());
  return p;
}

type Kind = "allocate(node, owner)" | "allocateIPv4(handle)" | "release(ip)" | "releaseIPv4(ip)" | "named pools: allocate(node, owner, { pool }) + release(ip)";

/** One iteration: N x PODS allocations (or releases), timed; the other half of the round trip is not (named pools: both are). */
function task(kind: Kind, p: ClusterPool): () => { overriddenDuration: number } {
  const ips: string[] = new Array<string>(N * PODS).fill("");
  const out = new Uint32Array(N * PODS);
  const handles = p.multiPool ? [] : names.map((n) => p.handle(n));
  if (kind === "release(ip)") {
    return () => {
      let k = 0;
      for (let n = 0; n < N; n++) {
        const node = names[n] as string;
        for (let j = 0; j < PODS; j++, k++) ips[k] = p.allocate(node, owners[k] as string).ipv4 as string;
      }
      const t0 = performance.now();
      for (let i = 0; i < k; i++) p.release(ips[i] as string);
      return { overriddenDuration: performance.now() - t0 };
    };
  }
  if (kind === "releaseIPv4(ip)") {
    return () => {
      let k = 0;
      for (let n = 0; n < N; n++) k += p.allocateIPv4Batch(handles[n] as number, out.subarray(k, k + PODS));
      const t0 = performance.now();
      for (let i = 0; i < k; i++) p.releaseIPv4(out[i] as number);
      return { overriddenDuration: performance.now() - t0 };
    };
  }
  if (kind === "named pools: allocate(node, owner, { pool }) + release(ip)") {
    const opt = { pool: "blue" };
    const few = 16; // 16 nodes x 254 pods fill 16 of blue's 256 /24 chunks
    return () => {
      const t0 = performance.now();
      let k = 0;
      for (let n = 0; n < few; n++) {
        const node = names[n] as string;
        for (let j = 0; j < PODS; j++, k++) ips[k] = p.allocate(node, owners[k] as string, opt).ipv4 as string;
      }
      for (let i = 0; i < k; i++) p.release(ips[i] as string);
      return { overriddenDuration: (performance.now() - t0) * (N / few) }; // per op over N x PODS as the other cases
    };
  }
  if (kind === "allocate(node, owner)") {
    return () => {
      const t0 = performance.now();
      let k = 0;
      for (let n = 0; n < N; n++) {
        const node = names[n] as string;
        for (let j = 0; j < PODS; j++, k++) ips[k] = p.allocate(node, owners[k] as string).ipv4 as string;
      }
      const d = performance.now() - t0;
      for (let i = 0; i < k; i++) p.release(ips[i] as string);
      return { overriddenDuration: d };
    };
  }
  return () => {
    const t0 = performance.now();
    let k = 0;
    for (let n = 0; n < N; n++) {
      const h = handles[n] as number;
      for (let j = 0; j < PODS; j++) out[k++] = p.allocateIPv4(h);
    }
    const d = performance.now() - t0;
    p.releaseIPv4Batch(out, k);
    return { overriddenDuration: d };
  };
}

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return (s[lo] as number) + ((s[Math.ceil(i)] as number) - (s[lo] as number)) * (i - lo);
};

async function measure(kind: Kind): Promise<void> {
  const named = kind.startsWith("named");
  const pools = { plain: pool(false, named), metrics: pool(!aa, named), "plain-2": pool(false, named) };
  const fns = Object.fromEntries(Object.entries(pools).map(([k, p]) => [k, task(kind, p)])) as Record<keyof typeof pools, ReturnType<typeof task>>;
  const cost: number[] = [];
  const control: number[] = [];
  const ns: Record<string, number[]> = { plain: [], metrics: [], "plain-2": [] };
  for (let r = 0; r < rounds; r++) {
    const order = (["plain", "metrics", "plain-2"] as const).slice();
    // rotate the order every round, so that no task is always first or last
    for (let k = 0; k < r % 3; k++) order.push(order.shift() as (typeof order)[number]);
    const bench = new Bench({ time, warmupTime: 50, iterations: 5, warmupIterations: 2, throws: true });
    for (const name of order) bench.add(name, fns[name]);
    await bench.run();
    const p50 = (name: string): number => (bench.getTask(name)?.result as { latency: { p50: number } }).latency.p50 * 1e6 / (N * PODS);
    for (const name of order) ns[name]?.push(p50(name));
    cost.push(p50("metrics") / p50("plain"));
    control.push(p50("plain-2") / p50("plain"));
  }
  const f = (x: number): string => x.toFixed(3);
  const med = (xs: number[]): string => `${f(quantile(xs, 0.5))} (IQR ${f(quantile(xs, 0.25))}-${f(quantile(xs, 0.75))})`;
  console.log(`${kind}: ${rounds} rounds; ns/op medians plain ${quantile(ns.plain as number[], 0.5).toFixed(1)}, metrics ${quantile(ns.metrics as number[], 0.5).toFixed(1)}, plain-2 ${quantile(ns["plain-2"] as number[], 0.5).toFixed(1)}`);
  console.log(`  metrics / plain  ${med(cost)}`);
  console.log(`  plain-2 / plain  ${med(control)}   (A/A control: the noise floor)`);
  for (const p of Object.values(pools)) p.dispose();
}

console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}; node ${process.version}`);
const only = process.argv[process.argv.indexOf("--only") + 1];
if (!process.argv.includes("--only") || only === "string") await measure("allocate(node, owner)");
if (!process.argv.includes("--only") || only === "ipv4") await measure("allocateIPv4(handle)");
if (!process.argv.includes("--only") || only === "release") await measure("release(ip)");
if (!process.argv.includes("--only") || only === "release-ipv4") await measure("releaseIPv4(ip)");
if (!process.argv.includes("--only") || only === "named") await measure("named pools: allocate(node, owner, { pool }) + release(ip)");
console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
