/**
 * `ipcarve bench`: the benchmark suite (bench/suite.ts, built to
 * dist/bench/suite.js), imported when the command runs so the rest of the
 * CLI works without it.
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

export async function benchCommand(io: Io, f: BenchFlags): Promise<number> {
  const path = suitePath();
  if (path === undefined) throw new CliError("ipcarve: the benchmark suite (dist/bench/suite.js) is not built; run `npm run build`");
  const suite = (await import(pathToFileURL(path).href)) as Partial<Suite>;
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
