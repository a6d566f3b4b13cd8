// The layers of src/ (README, .dependency-cruiser.cjs): src/pool/ calls allocator methods
// (src/alloc/), never WASM exports; only src/core/ imports the bindings.
import { describe, it, expect } from "vitest";
import { readdirSync, readFileSync, mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const poolDir = join(root, "src", "pool");
const poolFiles = [
  ...readdirSync(poolDir).filter((f) => f.endsWith(".ts")),
  ...readdirSync(join(poolDir, "multi")).filter((f) => f.endsWith(".ts")).map((f) => `multi/${f}`),
].sort();

/** Imports of a file: the module specifiers of import/export ... from and import(). */
function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) out.push(m[1] as string);
  return out;
}

describe("src/pool/ reaches the core only through src/alloc/", () => {
  it("finds the pool modules", () => {
    expect(poolFiles).toEqual(expect.arrayContaining(["core.ts", "fast-path.ts", "nodes.ts", "pods.ts", "replay.ts", "reservations.ts", "snapshot.ts", "stats.ts", "multi/chunks.ts", "multi/pods.ts"]));
  });

  it.each(poolFiles)("%s mentions no `.wasm` / `wasm.` and imports neither core/wasm nor core/bitmap", (file) => {
    const text = readFileSync(join(poolDir, file), "utf8");
    const lines = text.split("\n").map((l, i) => [i + 1, l] as const);
    expect(lines.filter(([, l]) => /\.wasm\b|\bwasm\./.test(l)).map(([n, l]) => `${file}:${n}: ${l.trim()}`)).toEqual([]);
    expect(importsOf(text).filter((s) => /core\/(wasm|bitmap)(\.js|\.ts)?$/.test(s))).toEqual([]);
  });

  it("the checks above would catch a raw export call and an import of the bindings", () => {
    // the same predicates on lines that must fail them (a test that cannot fail proves nothing)
    for (const bad of ["core.engine.wasm.poolNodeAt(p, s)", "const w = core.engine.wasm;", "w.wasm.bmHas(r, 1)"]) expect(/\.wasm\b|\bwasm\./.test(bad)).toBe(true);
    expect(importsOf('import { instantiate } from "../core/wasm.js";\nimport type { Bitmap } from "../core/bitmap.js";')).toEqual(["../core/wasm.js", "../core/bitmap.js"]);
  });
});

describe("dependency-cruiser rules", () => {
  it("no violation: layers import only downward, no cycles, only core/ imports the bindings", () => {
    const bin = join(root, "node_modules", ".bin", "depcruise");
    let json: string;
    try {
      json = execFileSync(bin, ["src", "--config", ".dependency-cruiser.cjs", "--output-type", "json"], { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 });
    } catch (e) {
      json = (e as { stdout: string }).stdout; // exits non-zero when it finds violations
    }
    const { summary } = JSON.parse(json) as { summary: { violations: { rule: { name: string }; from: string; to: string }[] } };
    expect(summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`)).toEqual([]);
  }, 60_000);
});

describe("the rules catch what they are for", () => {
  // a test that cannot fail proves nothing: cruise small files that break each rule
  it("an upward import, a cycle and a binding import from outside core/ are violations", () => {
    const bin = join(root, "node_modules", ".bin", "depcruise");
    const dir = mkdtempSync(join(root, "test", ".layers-"));
    try {
      for (const d of ["core", "alloc", "net"]) mkdirSync(join(dir, "src", d), { recursive: true });
      writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext" } }));
      writeFileSync(join(dir, "src", "core", "wasm.ts"), "export const x = 1;\n");
      writeFileSync(join(dir, "src", "alloc", "a.ts"), 'import { x } from "../core/wasm.js";\nimport { b } from "./b.js";\nexport const a = x + b;\n');
      writeFileSync(join(dir, "src", "alloc", "b.ts"), 'import { a } from "./a.js";\nexport const b = 1; export const c = () => a;\n');
      writeFileSync(join(dir, "src", "net", "n.ts"), 'import { a } from "../alloc/a.js";\nexport const n = a;\n');
      let json: string;
      try {
        json = execFileSync(bin, ["src", "--config", join(root, ".dependency-cruiser.cjs"), "--output-type", "json"], { cwd: dir, encoding: "utf8" });
      } catch (e) {
        json = (e as { stdout: string }).stdout;
      }
      const rules = new Set((JSON.parse(json) as { summary: { violations: { rule: { name: string } }[] } }).summary.violations.map((v) => v.rule.name));
      expect([...rules].sort()).toEqual(["net-imports-only-downward", "no-cycles", "only-core-imports-the-bindings"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
