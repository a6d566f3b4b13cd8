// Test and benchmark helper for SharedPool across processes: runs
// test/fixtures/shared-child.mjs (it loads dist/, so `npm run build` first), runs
// the same loop in this process, and reads a pool's keys back with a raw etcd3
// client, independently of SharedPool.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join, resolve } from "node:path";
import { Etcd3 } from "etcd3";
import { SharedPool, IpamError } from "../../src/index.js";

const here = fileURLToPath(import.meta.url);
/** The repository root, from bench/lib/ (sources) or dist/bench/lib/ (compiled). */
const ROOT = here.includes("/dist/bench/") ? here.slice(0, here.lastIndexOf("/dist/bench/")) : resolve(dirname(here), "../..");
export const CHILD = join(ROOT, "test", "fixtures", "shared-child.mjs");

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
  /** Wait for go() before allocating (benchmarks start every process at once). */
  waitGo?: boolean;
  mode?: "shared" | "raw-cas" | "lock";
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
  /** Starts a child made with waitGo. */
  go(): void;
}

export function runChild(cfg: ChildConfig): ChildRun {
  const proc = spawn(process.execPath, [CHILD, JSON.stringify(cfg)], { stdio: [cfg.waitGo ? "pipe" : "ignore", "pipe", "pipe"] });
  let readyResolve: () => void = () => undefined;
  const run: ChildRun = {
    proc, acked: new Map(), inFlight: new Set(), errors: new Map(), latencies: [], done: undefined,
    exited: new Promise((resolve) => proc.on("exit", (code, signal) => resolve(signal ?? String(code)))),
    ready: new Promise((r) => { readyResolve = r; }),
    go: () => { proc.stdin?.end("go\n"); },
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

/**
 * The child's allocation loop in this process, with its own SharedPool (its own
 * etcd connection): the same protocol as runChild, for rounds that kill no client.
 * `proc` is a stand-in that cannot be killed.
 */
export function runInProcess(cfg: ChildConfig): ChildRun {
  let readyResolve: () => void = () => undefined;
  let exit: (code: string) => void = () => undefined;
  const run: ChildRun = {
    proc: { kill: () => { throw new Error("an in-process client cannot be killed"); } } as unknown as ChildProcess,
    acked: new Map(), inFlight: new Set(), errors: new Map(), latencies: [], done: undefined,
    exited: new Promise((r) => { exit = r; }),
    ready: new Promise((r) => { readyResolve = r; }),
    go: () => undefined,
  };
  void (async () => {
    let pool: SharedPool | undefined;
    try {
      pool = await SharedPool.connect({ endpoints: cfg.endpoints, prefix: cfg.prefix, timeoutMs: cfg.timeoutMs ?? 10_000, attemptMs: cfg.attemptMs ?? 1000 }, cfg.options as never);
      readyResolve();
      const own = [...cfg.own];
      const shared = [...cfg.shared];
      let next = 0;
      let s = cfg.seed >>> 0 || 1;
      const rand = (): number => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
      const p = pool;
      const worker = async (): Promise<void> => {
        for (;;) {
          const i = next++;
          if (i >= cfg.count) return;
          const owner = `c${cfg.id}/${i}`;
          run.inFlight.add(owner);
          for (;;) {
            const list = shared.length > 0 && (own.length === 0 || rand() < cfg.sharedShare) ? shared : own;
            const node = list === shared ? list[Math.floor(rand() * list.length)] : list[0];
            if (node === undefined) { run.errors.set(owner, "FULL"); break; }
            try {
              const r = await p.allocate(node, owner);
              run.acked.set(owner, (r.ipv4 ?? r.ipv6) as string);
              break;
            } catch (e) {
              if (e instanceof IpamError && e.code === "FULL") { list.splice(list.indexOf(node), 1); continue; }
              run.errors.set(owner, e instanceof IpamError ? e.code : String(e));
              break;
            }
          }
          run.inFlight.delete(owner);
        }
      };
      await Promise.all(Array.from({ length: cfg.concurrency }, worker));
      run.done = { ok: run.acked.size, errors: run.errors.size, ms: 0, counters: { ...pool.counters } };
      await pool.close();
      exit("0");
    } catch (e) {
      console.error(`in-process client ${cfg.id}: ${String(e)}`);
      readyResolve();
      await pool?.close().catch(() => undefined);
      exit("1");
    }
  })();
  return run;
}
