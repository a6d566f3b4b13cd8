// Worker threads need compiled JavaScript: find a sim worker module next to
// this one when running from dist/, else in dist/ (tests run the TS sources).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** URL of the compiled `src/sim/<file>`; throws naming `purpose` when nothing is built. */
export function compiledWorker(file: string, purpose: string): URL {
  const here = new URL(`./${file}`, import.meta.url);
  if (import.meta.url.endsWith(".js") && existsSync(fileURLToPath(here))) return here;
  const built = new URL(`../../dist/src/sim/${file}`, import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new Error(`ipcarve: dist/src/sim/${file} not found; run \`npm run build\` to ${purpose}`);
}
