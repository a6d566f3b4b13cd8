/**
 * Profiling scenarios (ipcarve only, ~3 s each) for `node --cpu-prof`:
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof-<s> dist/bench/profile.js <scenario>
 *   node bench/profile-top.mjs /tmp/prof-<s> 15
 * Scenarios: pod-alloc, carve, string4, string6, named-alloc (named pools: allocate and release), fill, lookup-owner, churn,
 * scale-addNode, scale-allocate, scale-lookup, scale-release (issue 9).
 */
import { ClusterPool } from "../src/pool/cluster-pool.js";
import { CidrSet } from "../src/alloc/cidr-set.js";
import { Engine } from "../src/core/engine.js";
import { fillClusterPool } from "./cases-cluster.js";

const scenario = process.argv[2] ?? "pod-alloc";
const until = performance.now() + Number(process.argv[3] ?? 3000);
let sink = 0;

const N = 64;
const PODS = 254;

function pool(v6 = false): { p: ClusterPool; names: string[]; handles: number[] } {
  const p = new ClusterPool(v6 ? { ipv6: { cidrs: ["fd00::/104"], maskSize: 120 } } : { ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 } });
  const names = Array.from({ length: N }, (_, n) => `node-${n}`);
  for (const n of names) p.addNode(n);
  return { p, names, handles: names.map((n) => p.handle(n)) };
}

if (scenario === "pod-alloc") {
  const { p, handles } = pool();
  const ips = new Uint32Array(N * PODS);
  while (performance.now() < until) {
    let k = 0;
    for (const h of handles) for (let j = 0; j < PODS; j++) ips[k++] = p.allocateIPv4(h);
    for (let i = 0; i < k; i++) p.releaseIPv4(ips[i] as number);
  }
} else if (scenario === "carve") {
  const s = new CidrSet("10.0.0.0/8", 24, { engine: Engine.create() });
  const out = new Uint32Array(65536);
  while (performance.now() < until) {
    for (let i = 0; i < 65536; i++) out[i] = s.allocateNextIndex();
    for (let i = 0; i < 65536; i++) s.releaseIndex(out[i] as number);
  }
} else if (scenario === "string4" || scenario === "string6") {
  const v6 = scenario === "string6";
  const { p, names } = pool(v6);
  const owners = Array.from({ length: N * PODS }, (_, k) => `default/pod-${k}`);
  const ips: string[] = new Array<string>(N * PODS).fill("");
  while (performance.now() < until) {
    let k = 0;
    for (const n of names) for (let j = 0; j < PODS; j++, k++) { const a = p.allocate(n, owners[k] as string); ips[k] = (v6 ? a.ipv6 : a.ipv4) as string; }
    for (let i = 0; i < k; i++) p.release(ips[i] as string);
  }
} else if (scenario === "named-alloc" || scenario === "named-release") {
  // the "named pools" bench case: 64 nodes x 240 pods, /27 chunks, preAllocate 8, a clock that stands still
  const p = new ClusterPool({ pools: { default: { ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 27 }, preAllocate: 8 } }, clock: () => 0 });
  const names = Array.from({ length: N }, (_, n) => `node-${n}`);
  for (const n of names) p.addNode(n);
  const owners = Array.from({ length: N * 240 }, (_, k) => `default/pod-${k}`);
  const ips: string[] = new Array<string>(N * 240).fill("");
  while (performance.now() < until) {
    let k = 0;
    for (const n of names) for (let j = 0; j < 240; j++, k++) ips[k] = p.allocate(n, owners[k] as string).ipv4 as string;
    for (let i = 0; i < k; i++) p.release(ips[i] as string);
  }
} else if (scenario === "fill") {
  while (performance.now() < until) sink += fillClusterPool().nodeCount;
} else if (scenario === "lookup-owner") {
  const p = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 } });
  for (let i = 0; i < 65536; i++) p.addNode(`node-${i}`);
  const d = p.describe();
  const w = p.engine.wasm;
  const e = d.pools[0]!.entry;
  for (let slot = 0; slot < 65536; slot++) for (let j = 0; j < PODS; j++) w.podAllocateNext(e, slot, 1, 1 + slot);
  const ips = new Uint32Array(65536);
  let s = 12345;
  for (let k = 0; k < ips.length; k++) { s = (s * 1103515245 + 12345) >>> 0; ips[k] = (0x0a000000 + (s >>> 8) % (65536 * 256)) >>> 0; }
  const t = performance.now() + Number(process.argv[3] ?? 3000);
  while (performance.now() < t) for (let k = 0; k < ips.length; k++) sink += w.lookup4(d.table, 1, ips[k] as number) + w.owner4(d.table, 1, ips[k] as number);
} else if (scenario.startsWith("scale-")) {
  // issue 9: 4,096 nodes x 254 pods with unique owners; scale-addNode, scale-allocate, scale-lookup, scale-release
  // (the whole cycle runs each round; the profile's top entries are read for the named phase)
  const nodes = Array.from({ length: 4096 }, (_, i) => `node-${i}`);
  const owners = Array.from({ length: 4096 * PODS }, (_, k) => `ns/pod-${k}`);
  const op = scenario.slice(6);
  // the deadline counts from here (making 1M names takes a while); at least one round
  const stop = performance.now() + Number(process.argv[3] ?? 3000);
  do {
    const p = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 } });
    for (const n of nodes) p.addNode(n);
    if (op === "addNode") { p.dispose(); continue; }
    const ips = new Array<string>(owners.length);
    let k = 0;
    for (const n of nodes) for (let j = 0; j < PODS; j++, k++) ips[k] = p.allocate(n, owners[k] as string).ipv4 as string;
    if (op === "lookup") for (let r = 0; r < 3; r++) for (let i = 0; i < k; i++) if (p.lookup(ips[(i * 7919) % k] as string)) sink++;
    if (op === "release") for (let r = 0; r < 3; r++) { for (let i = 0; i < k; i++) p.release(ips[(i * 7919) % k] as string); if (r < 2) for (let i = 0; i < k; i++) p.allocate(nodes[Math.floor(i / PODS)] as string, owners[i] as string); }
    p.dispose();
  } while (performance.now() < stop);
} else throw new Error(`unknown scenario ${scenario}`);
if (sink === -1) console.log(sink);
