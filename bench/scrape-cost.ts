/**
 * What a metrics scrape and a check() cost on Cilium's default pool
 * (10.0.0.0/8, /24 nodes): node dist/bench/scrape-cost.js
 * Scrapes read the whole state (usage per pool CIDR, the buddy split of
 * the free slots) at scrape time; this is the price of that choice.
 * Medians of 7 scrapes; one check() each.
 */
import { loadavg } from "node:os";
import { Registry } from "prom-client";
import { ClusterPool } from "../src/pool/cluster-pool.js";
import { registerMetrics } from "../src/metrics/prometheus.js";

const ms = (t0: number): string => `${(performance.now() - t0).toFixed(1)} ms`;

async function scrape(registry: Registry, label: string): Promise<void> {
  const ts: number[] = [];
  for (let k = 0; k < 7; k++) {
    const t0 = performance.now();
    await registry.metrics();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  console.log(`scrape, ${label}: median ${(ts[3] as number).toFixed(2)} ms`);
}

console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}; node ${process.version}`);
const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 } });
const registry = new Registry();
registerMetrics(pool, registry);
await scrape(registry, "empty /8");
for (let i = 0; i < 65536; i++) pool.addNode(`n${i}`);
await scrape(registry, "65,536 nodes (full), no pods");
for (let i = 0; i < 65536; i += 2) pool.removeNode(`n${i}`);
await scrape(registry, "32,768 nodes on every other slot (the most scattered free slots)");
const out = new Uint32Array(254);
for (let i = 1; i < 65536; i += 2) pool.allocateIPv4Batch(pool.handle(`n${i}`), out);
await scrape(registry, "the same, 254 pods each (8,323,072)");
let t0 = performance.now();
const r = pool.check();
console.log(`check(), those 8,323,072 pods without owner (all orphans, ${r.orphans.length}): ${ms(t0)}`);
pool.dispose();

const owned = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 } });
const live: string[] = [];
for (let i = 0; i < 4096; i++) {
  owned.addNode(`n${i}`);
  for (let j = 0; j < 254; j++) {
    const o = `ns/p${i}-${j}`;
    owned.allocate(`n${i}`, o);
    live.push(o);
  }
}
t0 = performance.now();
const r2 = owned.check({ owners: live });
console.log(`check({ owners }), 4,096 nodes x 254 owned pods, 1,040,384 live owners: ${ms(t0)} (ok: ${r2.ok})`);
console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
