// The published package, as a user gets it: `npm pack`, install the tarball
// into an empty folder, then use it from ESM, from CommonJS and through
// `npx ipcarve`, away from the repository. Needs the build (`npm test` builds
// first) and npm's registry or cache for the runtime dependencies.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without what `npm test` sets for the repository's own package (prefix, package.json, lifecycle). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    const key = k.toLowerCase();
    if (key.startsWith("npm_") && !key.startsWith("npm_config_")) continue;
    if (key === "npm_config_local_prefix" || key === "npm_config_prefix" || key === "npm_config_global_prefix") continue;
    env[k] = v;
  }
  return env;
}

function sh(cmd: string, args: string[], cwd: string): Ran {
  const r = spawnSync(cmd, args, { cwd, env: cleanEnv(), encoding: "utf8", timeout: 90_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a command that must succeed; on failure the assertion shows its output. */
function ok(cmd: string, args: string[], cwd: string): Ran {
  const r = sh(cmd, args, cwd);
  expect(r.status, `${cmd} ${args.join(" ")} exited ${r.status}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += dirBytes(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

let tmp = "";
let app = "";
let files: string[] = [];
const installed = (): string => join(app, "node_modules", "ipcarve");
/** `npx ipcarve ...` in the consumer folder (--no: the installed bin, never a download). */
const ipcarve = (...args: string[]): Ran => sh("npx", ["--no", "ipcarve", ...args], app);
const ipcarveOk = (...args: string[]): Ran => ok("npx", ["--no", "ipcarve", ...args], app);

beforeAll(() => {
  for (const f of ["dist/src/index.js", "dist/src/cli/main.js", "build/ipcarve.wasm"]) {
    if (!existsSync(join(ROOT, f))) throw new Error(`test/package.test.ts: ${f} is missing; run \`npm run build\` first (npm test does)`);
  }
  tmp = mkdtempSync(join(tmpdir(), "ipcarve-pack-"));
  const packDir = join(tmp, "pack");
  app = join(tmp, "app");
  mkdirSync(packDir);
  mkdirSync(app);
  // --ignore-scripts: prepack would build again; npm test has just built.
  const packed = ok("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", packDir], ROOT);
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  files = info!.files.map((f) => f.path);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "ipcarve-consumer", version: "1.0.0", private: true }));
  ok("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", join(packDir, info!.filename)], app);
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("the tarball", () => {
  it("has the WASM core, the CLI, the license and no benchmarks", () => {
    for (const f of ["build/ipcarve.wasm", "bin/ipcarve.js", "dist/src/index.js", "dist/src/index.d.ts", "dist/src/sim/worker.js", "LICENSE", "README.md"]) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => f.startsWith("dist/bench") || f.startsWith("bench/") || f.startsWith("test/"))).toEqual([]);
  });

  it("ships every source a source map points at", () => {
    const maps = files.filter((f) => f.endsWith(".map"));
    const shipped = new Set(files);
    const missing: string[] = [];
    for (const m of maps) {
      const map = JSON.parse(readFileSync(join(installed(), m), "utf8")) as { sources: string[]; sourceRoot?: string };
      for (const s of map.sources) {
        const p = posix.normalize(posix.join(posix.dirname(m), map.sourceRoot ?? "", s));
        if (!shipped.has(p)) missing.push(`${m} -> ${p}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("has the full Apache-2.0 license and the registry metadata", () => {
    const license = readFileSync(join(installed(), "LICENSE"), "utf8");
    expect(license).toMatch(/Apache License\s+Version 2\.0, January 2004/);
    expect(license).toContain("TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION");
    expect(license).toContain("END OF TERMS AND CONDITIONS");
    const pkg = JSON.parse(readFileSync(join(installed(), "package.json"), "utf8")) as Record<string, unknown>;
    expect(pkg.license).toBe("Apache-2.0");
    expect((pkg.repository as { url?: string }).url).toMatch(/^git\+https:\/\//);
    expect((pkg.bugs as { url?: string }).url).toMatch(/^https:\/\//);
    expect((pkg.keywords as string[]).length).toBeGreaterThan(0);
  });

  it("installs without the charting packages", () => {
    expect(existsSync(join(app, "node_modules", "vega"))).toBe(false);
    expect(existsSync(join(app, "node_modules", "vega-lite"))).toBe(false);
    expect(existsSync(join(app, "node_modules", "tinybench"))).toBe(false);
    // ~5 MB with commander, yaml, piscina, cli-progress; vega and vega-lite would add ~20 MB.
    expect(dirBytes(join(app, "node_modules"))).toBeLessThan(12 * 2 ** 20);
  });
});

describe("the installed library", () => {
  const use = `
    const pool = new ClusterPool({ ipv4: { cidrs: ["192.168.0.0/20"], maskSize: 24 } });
    const node = pool.addNode("node-1");
    const { ipv4 } = pool.allocate("node-1", "default/web-0");
    const owner = pool.lookup(ipv4).owner;
    let code;
    try { pool.allocate("nobody", "x"); } catch (e) { code = e instanceof IpamError ? e.code : String(e); }
    console.log(JSON.stringify({ podCIDRs: node.podCIDRs, ipv4, owner, code }));`;
  const want = { podCIDRs: ["192.168.0.0/24"], ipv4: "192.168.0.1", owner: "default/web-0", code: "UNKNOWN_NODE" };

  it("works from ESM", () => {
    writeFileSync(join(app, "use.mjs"), `import { ClusterPool, IpamError } from "ipcarve";\n${use}\n`);
    expect(JSON.parse(ok("node", ["use.mjs"], app).stdout)).toEqual(want);
  });

  it("works from CommonJS (require of the ESM graph, Node >= 20.19)", () => {
    writeFileSync(join(app, "use.cjs"), `"use strict";\nconst { ClusterPool, IpamError } = require("ipcarve");\n${use}\n`);
    expect(JSON.parse(ok("node", ["use.cjs"], app).stdout)).toEqual(want);
  });
});

describe("the installed types", () => {
  it("a TypeScript consumer compiles against them: one ClusterPoolOptions for single and named pools, typed errors", () => {
    writeFileSync(join(app, "tsconfig.json"), JSON.stringify({
      compilerOptions: { target: "es2022", module: "nodenext", moduleResolution: "nodenext", strict: true, noEmit: true, skipLibCheck: true, types: [] },
      files: ["typed.ts"],
    }));
    writeFileSync(join(app, "typed.ts"), `import { ClusterPool, IpamError, type ClusterPoolOptions, type SinglePoolOptions } from "ipcarve";
const single: SinglePoolOptions = { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 }, overflow: "reject" };
const named: ClusterPoolOptions = { pools: { default: { ipv4: { cidrs: ["10.1.0.0/16"], maskSize: 27 } }, gpu: { ipv4: { cidrs: ["10.2.0.0/16"], maskSize: 28 }, preAllocate: 0 } } };
const all: ClusterPoolOptions[] = [single, named];
for (const o of all) {
  const pool = new ClusterPool(o);
  pool.addNode("n1");
  const ip: string | undefined = pool.allocate("n1", "ns/p").ipv4;
  try { pool.allocate("none", "x"); } catch (e) { if (e instanceof IpamError) { const code: string = e.code; void code; } }
  void ip;
}
// @ts-expect-error: a pool needs a CIDR list, not a string
const bad: ClusterPoolOptions = { pools: { p: { ipv4: { cidrs: "10.0.0.0/8", maskSize: 24 } } } };
void bad;
`);
    const r = sh(join(ROOT, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], app);
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});

describe("registerMetrics in the installed package (prom-client is an optional peer dependency)", () => {
  it("without prom-client: MISSING_DEPENDENCY, saying how to install it", () => {
    // a stand-in registry: the user's app has no prom-client, so nothing to make one from
    writeFileSync(join(app, "no-metrics.mjs"), `import { ClusterPool, registerMetrics } from "ipcarve";
const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } });
const registry = { registerMetric() {}, getSingleMetric() {}, removeSingleMetric() {} };
try { registerMetrics(pool, registry); console.log("{}"); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }
`);
    expect(JSON.parse(ok("node", ["no-metrics.mjs"], app).stdout)).toEqual({
      code: "MISSING_DEPENDENCY",
      message: "ipcarve: registerMetrics needs prom-client, an optional peer dependency that is not installed: npm install prom-client",
    });
  });

  it("once the user installs prom-client: a scrape with the pool's numbers (from CommonJS)", () => {
    const version = (JSON.parse(readFileSync(join(ROOT, "node_modules", "prom-client", "package.json"), "utf8")) as { version: string }).version;
    ok("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", `prom-client@${version}`], app);
    writeFileSync(join(app, "metrics.cjs"), `"use strict";
const { ClusterPool, registerMetrics } = require("ipcarve");
const { Registry } = require("prom-client");
const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } });
const registry = new Registry();
registerMetrics(pool, registry);
pool.addNode("n1");
registry.metrics().then((text) => console.log(text.split("\\n").find((l) => l.startsWith("ipcarve_addresses_remaining{"))));
`);
    // 256 /24s of 254 addresses, one of them carved and empty: all 256 * 254 = 65,024 can still be handed out
    expect(ok("node", ["metrics.cjs"], app).stdout.trim()).toBe('ipcarve_addresses_remaining{pool="default",family="4",cidr="10.0.0.0/16"} 65024');
  });
});

describe("the installed CLI", () => {
  it("carves the seed config", () => {
    copyFileSync(join(ROOT, "examples/seed-cluster-pool-config.yaml"), join(app, "seed.yaml"));
    const rows = ipcarveOk("carve", "--config", "seed.yaml").stdout.split("\n").filter((l) => l.startsWith("node-"));
    expect(rows.map((l) => l.split(/\s+/).slice(0, 2).join(" "))).toEqual(Array.from({ length: 16 }, (_, i) => `node-${i + 1} 192.168.${i}.0/24`));
  });

  it("plans", () => {
    const r = ipcarveOk("plan", "--cidr", "10.0.0.0/16", "--mask", "24", "--nodes", "10", "--json");
    const plan = JSON.parse(r.stdout) as { families: { nodesThatFit: number; podCapacity: number }[] };
    expect(plan.families[0]).toMatchObject({ nodesThatFit: 256, podCapacity: 256 * 110 });
  });

  const simArgs = ["simulate", "--nodes", "40", "--duration", "1h", "--seed", "3", "--threads", "2", "-q"];

  it("simulates on worker threads without vega: JSON and a report without charts, and says how to get them", () => {
    const r = ipcarveOk(...simArgs, "--report", "out/no-charts.html");
    expect(r.stderr).toContain("install vega and vega-lite");
    const html = readFileSync(join(app, "out/no-charts.html"), "utf8");
    expect(html).toContain('id="no-charts"');
    expect(html).not.toContain("<svg");
    const json = JSON.parse(readFileSync(join(app, "out/no-charts.json"), "utf8")) as { threads: number; digest: string; totals: { events: number } };
    expect(json.threads).toBe(2);
    expect(json.totals.events).toBeGreaterThan(0);
  });

  it("draws the charts once the user installs vega and vega-lite", () => {
    const version = (name: string): string => (JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
    ok("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", `vega@${version("vega")}`, `vega-lite@${version("vega-lite")}`], app);
    const r = ipcarveOk(...simArgs, "--report", "out/charts.html");
    expect(r.stderr).not.toContain("vega");
    const html = readFileSync(join(app, "out/charts.html"), "utf8");
    expect(html.match(/<svg/g)?.length).toBe(4);
    expect(html).not.toContain('id="no-charts"');
  });

  it("bench says it needs the repository", () => {
    const r = ipcarve("bench", "--quick");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^ipcarve: `ipcarve bench` needs the repository/);
    expect(r.stderr).toContain("git clone");
    expect(r.stderr).not.toMatch(/tinybench|at .*\.js:\d+/);
  });
});
