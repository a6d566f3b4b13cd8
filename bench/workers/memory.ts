/**
 * Child process (run with --expose-gc): one whole-/8 fill by the named
 * implementation; prints JSON with the fill time, allocator state bytes
 * (WASM arena + JS heap growth) and RSS growth.
 */
import { fillClusterPool, fillView4, fillTyped, fillCilium } from "../cases-cluster.js";

const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => {});
const impl = process.argv[2] ?? "ipcarve";
gc(); gc();
const rss0 = process.memoryUsage().rss;
const heap0 = process.memoryUsage().heapUsed;
const t0 = performance.now();
let wasmBytes = 0;
let typedBytes = 0;
let keep: unknown;
if (impl === "ipcarve") { const p = fillClusterPool(); wasmBytes = p.engine.bytesUsed; keep = p; }
else if (impl === "ipcarve-view") { const p = fillView4(); wasmBytes = p.engine.bytesUsed; keep = p; }
else if (impl === "typed-ts") { const c = fillTyped(); typedBytes = c.bytes; keep = c; }
else if (impl === "cilium-ts") { keep = fillCilium(); }
else throw new Error(`unknown impl ${impl}`);
const ms = performance.now() - t0;
gc(); gc();
const m = process.memoryUsage();
// typed arrays live outside the JS heap (arrayBuffers); count them once
const heapDelta = m.heapUsed - heap0;
const stateBytes = impl.startsWith("ipcarve") ? wasmBytes + heapDelta : typedBytes > 0 ? typedBytes + heapDelta : heapDelta + (m.arrayBuffers ?? 0);
process.stdout.write(JSON.stringify({ impl, ms, rssDelta: m.rss - rss0, heapDelta, wasmBytes, stateBytes, kept: keep !== undefined }));
