// Test helper for SharedPool across processes: runs test/fixtures/shared-child.mjs
// (compiled code in dist/, so `npm run build` first) and reads a pool's keys back
// with a raw etcd3 client, independently of SharedPool.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Etcd3 } from "etcd3";

export const CHILD = fileURLToPath(new URL("./fixtures/shared-child.mjs", import.meta.url));

/** IPv4-only pools of the tests: 10.<b>.0.0/16 carved into /24 node subnets, so slot s is 10.<b>.<s>.0/24. */
export const v4Pool = (b: number) => ({ ipv4: { cidrs: [`10.${b}.0.0/16`], maskSize: 24 } });

export interface ChildConfig {
  endpoints: string[];
  prefix: string;
  options: unknown;
  id: number;
  own: string[];
  shared: string[];
  sharedShare: number;
  count: number;
  concurrency: number;
  seed: number;
  timeoutMs?: number;
  attemptMs?: number;
  latency?: boolean;
}

export interface ChildRun {
  readonly proc: ChildProcess;
  /** owner -> ip of acknowledged allocations. */
  readonly acked: Map<string, string>;
  /** owners whose call began (B) and has not answered (no A or E). */
  readonly inFlight: Set<string>;
  readonly errors: Map<string, string>;
  readonly latencies: number[];
  done: { ok: number; errors: number; ms: number; counters: Record<string, number> } | undefined;
  /** Resolves when the child exits (with its exit code or signal). */
  readonly exited: Promise<string>;
  /** Resolves when the child has connected (R). */
  readonly ready: Promise<void>;
}

export function runChild(cfg: ChildConfig): ChildRun {
  const proc = spawn(process.execPath, [CHILD, JSON.stringify(cfg)], { stdio: ["ignore", "pipe", "pipe"] });
  let readyResolve: () => void = () => undefined;
  const run: ChildRun = {
    proc, acked: new Map(), inFlight: new Set(), errors: new Map(), latencies: [], done: undefined,
    exited: new Promise((resolve) => proc.on("exit", (code, signal) => resolve(signal ?? String(code)))),
    ready: new Promise((r) => { readyResolve = r; }),
  };
  let buf = "";
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => { stderr += d.toString(); if (stderr.length > 4000) stderr = stderr.slice(-4000); });
  proc.on("exit", (code) => { if (code !== 0 && code !== null && run.done === undefined) console.error(`child ${cfg.id} exited ${code}: ${stderr}`); });
  proc.stdout?.on("data", (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const [tag, a, b] = line.split(" ");
      if (tag === "R") readyResolve();
      else if (tag === "B") run.inFlight.add(a as string);
      else if (tag === "A") { run.inFlight.delete(a as string); run.acked.set(a as string, b as string); }
      else if (tag === "E") { run.inFlight.delete(a as string); run.errors.set(a as string, b as string); }
      else if (tag === "L") run.latencies.push(Number(a));
      else if (tag === "D") run.done = JSON.parse(line.slice(2));
    }
  });
  return run;
}

/**
 * Every allocated address of the pool under `prefix`, read from its block keys
 * (blocks/<pool>/<slot> = { a: { <offset>: owner } }): ip -> owner, for the
 * test pools of v4Pool(b) (slot s is 10.<b>.<s>.0/24; offset o counts usable addresses, so it is 10.<b>.<s>.<o + 1>).
 */
export async function readBack(endpoints: string[], prefix: string, b: number): Promise<Map<string, string>> {
  const raw = new Etcd3({ hosts: endpoints });
  try {
    const root = prefix.endsWith("/") ? prefix : `${prefix}/`;
    const kvs = await raw.getAll().prefix(`${root}blocks/`).strings();
    const out = new Map<string, string>();
    for (const [key, value] of Object.entries(kvs)) {
      const slot = Number(key.slice(key.lastIndexOf("/") + 1));
      const block = JSON.parse(value) as { a: Record<string, string> };
      for (const [off, owner] of Object.entries(block.a)) out.set(`10.${b}.${slot}.${Number(off) + 1}`, owner);
    }
    return out;
  } finally {
    raw.close();
  }
}
