// Runs the CLI in-process with captured output.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.js";

export interface Run {
  code: number;
  out: string;
  err: string;
}

export const ROOT = new URL("../../", import.meta.url).pathname;

export async function run(args: string[], cwd = ROOT): Promise<Run> {
  let out = "";
  let err = "";
  const code = await main(args, { out: (t) => void (out += t), err: (t) => void (err += t), isTTY: false, cwd });
  return { code, out, err };
}

export function tmp(): string {
  return mkdtempSync(join(tmpdir(), "ipcarve-test-"));
}
