/**
 * `ipcarve bench`: the benchmark suite (bench/suite.ts, built to
 * dist/bench/suite.js), imported when the command runs so the rest of the
 * CLI works without it. The suite and its tools (tinybench, the baselines)
 * live in the repository only: the published package leaves them out, and
 * there the command says how to run it from a clone.
 */
import { existsSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { CliError, pathIn, type Io } from "./io.js";

interface Suite {
  runSuite(opts?: { filter?: string; quick?: boolean; log?: (line: string) => void }): Promise<unknown[]>;
  formatTable(records: unknown[]): string;
}

export interface BenchFlags {
  readonly json?: boolean;
  readonly filter?: string;
  readonly quick?: boolean;
  readonly output?: string;
  readonly quiet?: boolean;
}

/** dist/bench/suite.js, from dist/src/cli (built) or src/cli (sources). */
function suitePath(): string | undefined {
  const candidates = import.meta.url.endsWith(".js") ? ["../../bench/suite.js", "../../dist/bench/suite.js"] : ["../../dist/bench/suite.js"];
  for (const rel of candidates) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** What to do when the suite cannot run here: from a clone of the repository. */
export const BENCH_NEEDS_REPOSITORY =
  "ipcarve: `ipcarve bench` needs the repository (the published package leaves the benchmarks out); run it from a clone: " +
  "git clone https://github.com/ipcarve/ipcarve.git && cd ipcarve && npm install && npm run bench";

/** True in the repository (the benchmark sources are there), false in an installed package. */
function inRepository(): boolean {
  const root = import.meta.url.endsWith(".js") ? "../../../" : "../../";
  return existsSync(fileURLToPath(new URL(`${root}bench/suite.ts`, import.meta.url)));
}

export async function benchCommand(io: Io, f: BenchFlags): Promise<number> {
  const path = suitePath();
  if (path === undefined) {
    if (!inRepository()) throw new CliError(BENCH_NEEDS_REPOSITORY);
    throw new CliError("ipcarve: the benchmark suite (dist/bench/suite.js) is not built; run `npm run build`");
  }
  let suite: Partial<Suite>;
  try {
    suite = (await import(pathToFileURL(path).href)) as Partial<Suite>;
  } catch (e) {
    // tinybench and the baselines' packages are development dependencies.
    if ((e as { code?: unknown }).code !== "ERR_MODULE_NOT_FOUND") throw e;
    throw new CliError(`${BENCH_NEEDS_REPOSITORY} (${(e as Error).message})`);
  }
  if (typeof suite.runSuite !== "function" || typeof suite.formatTable !== "function") {
    throw new CliError(`ipcarve: ${path} does not export runSuite and formatTable`);
  }
  const records = await suite.runSuite({
    ...(f.filter !== undefined ? { filter: f.filter } : {}),
    ...(f.quick ? { quick: true } : {}),
    log: (line) => { if (!f.quiet) io.err(line.endsWith("\n") ? line : line + "\n"); },
  });
  if (records.length === 0 && f.filter !== undefined) throw new CliError(`ipcarve: --filter ${JSON.stringify(f.filter)} matches no benchmark`);
  const text = f.json ? JSON.stringify(records, null, 2) + "\n" : suite.formatTable(records) + "\n";
  if (f.output !== undefined) {
    try {
      writeFileSync(pathIn(io, f.output), text);
    } catch (e) {
      throw new CliError(`ipcarve: --output ${f.output}: ${(e as Error).message}`);
    }
    io.out(`wrote ${pathIn(io, f.output)}\n`);
  } else io.out(text);
  return 0;
}
