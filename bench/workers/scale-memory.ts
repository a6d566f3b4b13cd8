/**
 * Child process (run with --expose-gc): the cluster-scale fill (4,096 nodes x
 * 254 pods, unique owners) by one implementation, or the whole-/8 ClusterPool
 * fill; prints JSON: JS heap retained per pod after gc, engine bytes per pod,
 * array-buffer bytes per pod, their sum, and the process's peak RSS
 * (process.resourceUsage().maxRSS).
 */
import { ClusterPool } from "../../src/pool/cluster-pool.js";
import { TypedCluster, TypedStringPool } from "../lib/typed.js";
import { MapCluster } from "../lib/map.js";
import { fillClusterPool } from "../lib/fill8.js";

const BASE4 = 0x0a000000; // 10.0.0.0 (not imported from cases-ops: the suite's modules would count in the RSS)

const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => {});
const mode = process.argv[2] ?? "scale-ipcarve";
const SCALE_PODS = 4096 * 254;
const nodeNames = Array.from({ length: 4096 }, (_, i) => `node-${i}`);
// the inputs, made (and flattened: a template literal may be a cons string that an
// implementation's first charCodeAt flattens, which would show as heap it freed) before the baseline
const ownerNames = mode === "fill8" ? [] : Array.from({ length: SCALE_PODS }, (_, k) => Buffer.from(`ns/pod-${k}`, "latin1").toString("latin1"));
gc(); gc();
const m0 = process.memoryUsage();
let engineBytes = 0;
let keep: unknown;
// each fill runs in a function of its own: a local of the module body can stay
// reachable from the interpreter's frame after it is dead, and the heap the
// implementation holds would then not be freed when `keep` is dropped
function fill8(): ClusterPool {
  const p = fillClusterPool();
  engineBytes = p.engine.bytesUsed;
  return p;
}
if (mode === "fill8") {
  keep = fill8();
} else {
  let alloc: ((n: string, o: string) => unknown) | undefined;
  let add: ((n: string) => unknown) | undefined;
  if (mode === "scale-ipcarve") {
    const p = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 } });
    alloc = (n, o) => p.allocate(n, o);
    add = (n) => p.addNode(n);
    keep = p;
  } else if (mode === "scale-map-ts") {
    const c = new MapCluster(BASE4, 8);
    alloc = (n, o) => c.allocate(n, o);
    add = (n) => c.addNode(n);
    keep = c;
  } else {
    const c = new TypedStringPool(new TypedCluster(BASE4, 8, 24));
    alloc = (n, o) => c.allocate(n, o);
    add = (n) => c.addNode(n);
    keep = c;
  }
  for (const n of nodeNames) add(n);
  let k = 0;
  for (const n of nodeNames) for (let j = 0; j < 254; j++, k++) alloc(n, ownerNames[k] as string);
  if (mode === "scale-ipcarve") engineBytes = (keep as ClusterPool).engine.bytesUsed;
  alloc = add = undefined;
}
gc(); gc();
const m = process.memoryUsage();
// what the implementation retains: the heap with it minus the heap once it is dropped
// (robust to anything else the process freed or made meanwhile)
const kept = keep !== undefined;
keep = undefined;
gc(); gc();
const heap = m.heapUsed - process.memoryUsage().heapUsed;
// a pool's own WASM memory is an array buffer too: count it once, as engine bytes
const arrays = mode.includes("ipcarve") || mode === "fill8" ? 0 : m.arrayBuffers - m0.arrayBuffers;
const pods = mode === "fill8" ? 65536 * 254 : SCALE_PODS;
process.stdout.write(JSON.stringify({
  mode, heapPerPod: heap / pods, enginePerPod: engineBytes / pods, arrayPerPod: arrays / pods,
  statePerPod: (heap + engineBytes + arrays) / pods, maxRss: process.resourceUsage().maxRSS * 1024, rss0: m0.rss, kept,
}));
