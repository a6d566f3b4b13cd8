// Test and benchmark helper: real etcd members (Debian's etcd-server, 3.4) on free loopback
// ports with temporary data dirs, for the SharedPool tests and benchmark.
// Nothing listens off the loopback; close() kills the members and removes the dirs.
// A watchdog process does the same when the process that started them dies
// without close() (SIGKILL, SIGTERM, a crash), so no member outlives its user.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, existsSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The etcd binary, or undefined with the reason it cannot be used. */
export function etcdBinary(): { path: string } | { missing: string } {
  const path = process.env.IPCARVE_ETCD ?? "etcd";
  const r = spawnSync(path, ["--version"], { encoding: "utf8" });
  if (r.error !== undefined || r.status !== 0) return { missing: `no etcd binary (${path}): install Debian's etcd-server (apt-get install etcd-server), as .ci/run does` };
  return { path };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Member {
  readonly name: string;
  readonly client: string;
  readonly peer: string;
  readonly dir: string;
  proc: ChildProcess | undefined;
  stopped: boolean;
}

export interface ClusterOptions {
  /** Raft heartbeat and election timeout in ms (fast failover for tests). @default 50 / 500 */
  readonly heartbeatMs?: number;
  readonly electionMs?: number;
}

export class EtcdCluster {
  readonly #members: Member[];
  readonly #bin: string;
  readonly #root: string;
  readonly #opts: Required<ClusterOptions>;

  private constructor(bin: string, root: string, members: Member[], opts: Required<ClusterOptions>) {
    this.#bin = bin;
    this.#root = root;
    this.#members = members;
    this.#opts = opts;
  }

  /** Starts `n` members and waits until the cluster has a leader. */
  static async start(n: number, options: ClusterOptions = {}): Promise<EtcdCluster> {
    const bin = etcdBinary();
    if ("missing" in bin) throw new Error(bin.missing);
    const base = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
    const root = mkdtempSync(join(base, "ipcarve-etcd-"));
    const members: Member[] = [];
    for (let i = 0; i < n; i++) {
      members.push({ name: `m${i}`, client: `http://127.0.0.1:${await freePort()}`, peer: `http://127.0.0.1:${await freePort()}`, dir: join(root, `m${i}`), proc: undefined, stopped: false });
    }
    const c = new EtcdCluster(bin.path, root, members, { heartbeatMs: options.heartbeatMs ?? 50, electionMs: options.electionMs ?? 500 });
    for (let i = 0; i < n; i++) c.#spawn(i);
    watchdog(root);
    try {
      await c.waitHealthy();
    } catch (e) {
      await c.close();
      throw e;
    }
    return c;
  }

  get endpoints(): string[] { return this.#members.map((m) => m.client); }
  get size(): number { return this.#members.length; }
  endpoint(i: number): string { return (this.#members[i] as Member).client; }

  #spawn(i: number): void {
    const m = this.#members[i] as Member;
    const initial = this.#members.map((x) => `${x.name}=${x.peer}`).join(",");
    m.proc = spawn(this.#bin, [
      "--name", m.name, "--data-dir", m.dir,
      "--listen-client-urls", m.client, "--advertise-client-urls", m.client,
      "--listen-peer-urls", m.peer, "--initial-advertise-peer-urls", m.peer,
      "--initial-cluster", initial, "--initial-cluster-state", "new", "--initial-cluster-token", `ipcarve-${process.pid}`,
      "--heartbeat-interval", String(this.#opts.heartbeatMs), "--election-timeout", String(this.#opts.electionMs),
      "--logger", "zap", "--log-level", "error",
    ], { stdio: ["ignore", "ignore", "ignore"] });
    m.stopped = false;
    this.#writePids();
  }

  /** The members' pids, for the watchdog. */
  #writePids(): void {
    const pids = this.#members.flatMap((x) => (x.proc?.pid === undefined ? [] : [x.proc.pid]));
    writeFileSync(join(this.#root, "pids"), pids.join(" "));
  }

  /** SIGKILL member i. */
  kill(i: number): void {
    const m = this.#members[i] as Member;
    if (m.stopped) m.proc?.kill("SIGCONT");
    m.proc?.kill("SIGKILL");
    m.proc = undefined;
    this.#writePids();
  }

  /** Restarts a killed member i with its data dir. */
  restart(i: number): void {
    if ((this.#members[i] as Member).proc === undefined) this.#spawn(i);
  }

  /** SIGSTOP / SIGCONT member i. */
  pause(i: number): void {
    const m = this.#members[i] as Member;
    m.proc?.kill("SIGSTOP");
    m.stopped = true;
  }
  resume(i: number): void {
    const m = this.#members[i] as Member;
    m.proc?.kill("SIGCONT");
    m.stopped = false;
  }

  /** Index of the member that is leader, asked of the running members (gRPC gateway /v3/maintenance/status). */
  async leader(): Promise<number | undefined> {
    for (let i = 0; i < this.#members.length; i++) {
      const m = this.#members[i] as Member;
      if (m.proc === undefined || m.stopped) continue;
      const s = await status(m.client);
      if (s !== undefined && s.leader !== "0" && s.leader === s.member) return i;
      if (s !== undefined && s.leader !== "0") {
        for (let j = 0; j < this.#members.length; j++) {
          const o = await status((this.#members[j] as Member).client);
          if (o?.member === s.leader) return j;
        }
      }
    }
    return undefined;
  }

  /** Waits until every running member answers /health with a leader. */
  async waitHealthy(timeoutMs = 20_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      let ok = true;
      for (const m of this.#members) {
        if (m.proc === undefined || m.stopped) continue;
        try {
          const r = await fetch(`${m.client}/health`, { signal: AbortSignal.timeout(1000) });
          const body = (await r.json()) as { health?: string };
          if (body.health !== "true") ok = false;
        } catch {
          ok = false;
        }
      }
      if (ok) return;
      if (Date.now() > until) throw new Error(`etcd cluster at ${this.endpoints.join(", ")} did not become healthy in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async close(): Promise<void> {
    for (let i = 0; i < this.#members.length; i++) this.kill(i);
    await new Promise((r) => setTimeout(r, 50));
    rmSync(this.#root, { recursive: true, force: true });
  }
}

/**
 * Starts a detached watchdog: once this process is gone, it SIGCONTs and
 * SIGKILLs the pids listed in <root>/pids and removes <root>; it exits by
 * itself once <root> is gone (close() removes it).
 */
function watchdog(root: string): void {
  const code = `
    const fs = require("node:fs"), path = require("node:path");
    const [parent, root] = [Number(process.argv[1]), process.argv[2]];
    const alive = (p) => { try { process.kill(p, 0); return true; } catch { return false; } };
    setInterval(() => {
      if (!fs.existsSync(root)) process.exit(0);
      if (alive(parent)) return;
      let pids = [];
      try { pids = fs.readFileSync(path.join(root, "pids"), "utf8").split(" ").map(Number).filter((p) => p > 0); } catch {}
      for (const p of pids) { try { process.kill(p, "SIGCONT"); process.kill(p, "SIGKILL"); } catch {} }
      setTimeout(() => { fs.rmSync(root, { recursive: true, force: true }); process.exit(0); }, 200);
    }, 300);`;
  const w = spawn(process.execPath, ["-e", code, String(process.pid), root], { detached: true, stdio: "ignore" });
  w.unref();
}

async function status(client: string): Promise<{ member: string; leader: string } | undefined> {
  try {
    const r = await fetch(`${client}/v3/maintenance/status`, { method: "POST", body: "{}", signal: AbortSignal.timeout(500) });
    const b = (await r.json()) as { header?: { member_id?: string }; leader?: string };
    return { member: String(b.header?.member_id ?? ""), leader: String(b.leader ?? "0") };
  } catch {
    return undefined;
  }
}
