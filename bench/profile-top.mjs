// Summarises .cpuprofile files: self time per function, WASM functions named from build/ipcarve.wat.
// Usage: node bench/profile-top.mjs <profile-dir> [top-n] [wat-file]
import { readFileSync, readdirSync, existsSync } from "node:fs";
const wat = process.argv[4] ?? "build/ipcarve.wat";
const wasmNames = existsSync(wat) ? [...readFileSync(wat, "utf8").matchAll(/^ \(func \$(\S+)/gm)].map((m) => m[1]) : [];
const dir = process.argv[2];
for (const f of readdirSync(dir)) {
  const p = JSON.parse(readFileSync(`${dir}/${f}`, "utf8"));
  const self = new Map(); const dt = p.timeDeltas; const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  for (let i = 0; i < p.samples.length; i++) counts.set(p.samples[i], (counts.get(p.samples[i]) ?? 0) + (dt[i] ?? 0));
  let total = 0;
  for (const [id, t] of counts) { const n = byId.get(id); const cf = n.callFrame; const wm = /^wasm-function\[(\d+)\]$/.exec(cf.functionName); const fname = wm ? `wasm ${wasmNames[Number(wm[1])] ?? cf.functionName}` : cf.functionName || "(anon)"; const k = `${fname} ${cf.url.split("/").slice(-2).join("/")}:${cf.lineNumber + 1}`; self.set(k, (self.get(k) ?? 0) + t); total += t; }
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.argv[3] ?? 15));
  console.log(f);
  for (const [k, t] of top) console.log(`${(100 * t / total).toFixed(1).padStart(5)}%  ${k}`);
}
