// The layers of src/ (README, .dependency-cruiser.cjs): src/pool/ calls allocator methods
// (src/alloc/), never WASM exports; only src/core/ imports the bindings.
import { describe, it, expect } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const poolDir = join(root, "src", "pool");
const poolFiles = readdirSync(poolDir).filter((f) => f.endsWith(".ts")).sort();

/** Imports of a file: the module specifiers of import/export ... from and import(). */
function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) out.push(m[1] as string);
  return out;
}

describe("src/pool/ reaches the core only through src/alloc/", () => {
  it("finds the pool modules", () => {
    expect(poolFiles).toEqual(expect.arrayContaining(["core.ts", "fast-path.ts", "nodes.ts", "pods.ts", "replay.ts", "reservations.ts", "snapshot.ts", "stats.ts"]));
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
  it("no violation but the cycles inside src/pool/ (being broken elsewhere)", () => {
    const bin = join(root, "node_modules", ".bin", "depcruise");
    let json: string;
    try {
      json = execFileSync(bin, ["src", "--config", ".dependency-cruiser.cjs", "--output-type", "json"], { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 });
    } catch (e) {
      json = (e as { stdout: string }).stdout; // exits non-zero when it finds violations
    }
    const { summary } = JSON.parse(json) as { summary: { violations: { rule: { name: string }; from: string; to: string }[] } };
    const others = summary.violations.filter((v) => !(v.rule.name === "no-cycles" && v.from.startsWith("src/pool/") && v.to.startsWith("src/pool/")));
    expect(others.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`)).toEqual([]);
  }, 60_000);
});
