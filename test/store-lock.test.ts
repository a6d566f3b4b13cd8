/**
 * One process owns a store (src/state/lock.ts): a second open, from this
 * process or another, is LOCKED naming the path and the holder's pid; a
 * holder killed with SIGKILL does not block the next open; read-only opens
 * take no lock and write nothing.
 */
import { describe, it, expect } from "vitest";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { rmSync, writeFileSync, readdirSync, readFileSync, existsSync, chmodSync, mkdirSync } from "node:fs";
import { tmpdir, hostname } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { ClusterPool } from "../src/index.js";
import type { ClusterPoolOptions } from "../src/index.js";
import { err, tmpStores } from "./helpers.js";

const CHILD = fileURLToPath(new URL("./fixtures/lock-child.mjs", import.meta.url));
const OPTS: ClusterPoolOptions = { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } }; // 2^(24-16) = 256 node subnets

const tmpPath = tmpStores("lock");

/** A lock-child.mjs process and the lines it prints, awaited one at a time. */
class Child {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly #lines: string[] = [];
  #wake: (() => void) | undefined;
  constructor(path: string) {
    this.proc = spawn(process.execPath, [CHILD, path, JSON.stringify(OPTS)], { stdio: ["pipe", "pipe", "pipe"] });
    createInterface({ input: this.proc.stdout }).on("line", (l) => {
      this.#lines.push(l);
      this.#wake?.();
    });
    this.proc.stderr.on("data", (d: Buffer) => process.stderr.write(d));
  }
  send(line: string): void {
    this.proc.stdin.write(line + "\n");
  }
  async next(): Promise<string> {
    const deadline = Date.now() + 20_000;
    while (this.#lines.length === 0) {
      if (Date.now() > deadline) throw new Error(`child ${this.proc.pid}: no answer`);
      await new Promise<void>((r) => {
        this.#wake = r;
        setTimeout(r, 200);
      });
    }
    return this.#lines.shift() as string;
  }
  kill(): Promise<void> {
    return new Promise((r) => {
      this.proc.once("exit", () => r());
      this.proc.kill("SIGKILL");
    });
  }
  async stop(): Promise<void> {
    this.proc.stdin.end();
    if (this.proc.exitCode === null) await this.kill();
  }
}

describe("within one process", () => {
  it("a second open of the same path is LOCKED naming the path and this process's pid, until close()", () => {
    const path = tmpPath();
    const a = ClusterPool.open(path, OPTS);
    const e = err(() => ClusterPool.open(path, OPTS));
    expect(e.code).toBe("LOCKED");
    expect(e.message).toBe(`ipcarve: store ${path} is locked by this process (pid ${process.pid})`);
    // the same file by another spelling of its path
    expect(err(() => ClusterPool.open(join(dirname(path), ".", "x", "..", "pool.ipc"), OPTS)).code).toBe("LOCKED");
    a.close();
    const b = ClusterPool.open(path, OPTS);
    b.close();
  });

  it("a failed open (corrupt store) holds no lock", () => {
    const path = tmpPath();
    ClusterPool.open(path, OPTS).close();
    writeFileSync(path, "not a snapshot");
    expect(err(() => ClusterPool.open(path, OPTS)).code).toBe("CORRUPT_STATE");
    expect(readdirSync(`${path}.lock`)).toEqual([]);
  });
});

describe("stale holders do not block", () => {
  const holderFile = (path: string, n: number, h: object): void => {
    mkdirSync(`${path}.lock`, { recursive: true });
    writeFileSync(join(`${path}.lock`, String(n)), JSON.stringify(h));
  };
  const self = (): { start: string; boot: string } => {
    const stat = readFileSync("/proc/self/stat", "utf8");
    return { start: stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]!, boot: readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() };
  };
  const cases: { name: string; holder: () => object; locked: RegExp | null }[] = [
    { name: "a pid that does not exist", holder: () => ({ pid: 2 ** 22 + 7, start: "1", boot: self().boot, host: hostname() }), locked: null },
    // a container restarted with the same pid: same pid, another start time
    { name: "our own pid with another start time (pid reused)", holder: () => ({ pid: process.pid, start: "1", boot: self().boot, host: hostname() }), locked: null },
    { name: "a holder from an earlier boot", holder: () => ({ pid: process.pid, start: self().start, boot: "another-boot", host: hostname() }), locked: null },
    { name: "a garbled holder file", holder: () => ({ nonsense: true }), locked: null },
    { name: "a live holder (this process, as written by it)", holder: () => ({ pid: process.pid, ...self(), host: hostname() }), locked: /locked by this process/ },
    { name: "a holder on another host (cannot be checked: counts as alive)", holder: () => ({ pid: 1, start: "1", boot: "b", host: "elsewhere" }), locked: /locked by pid 1 on host elsewhere/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const path = tmpPath();
      holderFile(path, 5, c.holder());
      if (c.locked === null) {
        const pool = ClusterPool.open(path, OPTS);
        expect(readdirSync(`${path}.lock`)).toEqual(["6"]); // took the next number and cleaned the dead one up
        pool.close();
        expect(readdirSync(`${path}.lock`)).toEqual([]);
      } else {
        const e = err(() => ClusterPool.open(path, OPTS));
        expect(e.code).toBe("LOCKED");
        expect(e.message).toMatch(c.locked);
        expect(existsSync(path)).toBe(false); // nothing was created
      }
    });
  }
});

describe("across processes", () => {
  it("two processes race on one path 100 times: exactly one wins each time; SIGKILLed winners do not block; no address has two owners", async () => {
    const path = tmpPath();
    let kids = [new Child(path), new Child(path)];
    const acked = new Map<string, string>(); // owner -> address, as acknowledged to the winners
    const wins = [0, 0];
    try {
      for (let round = 0; round < 100; round++) {
        for (const k of kids) k.send(`open ${round}`);
        const said = await Promise.all(kids.map((k) => k.next()));
        const won = said.map((l) => l.startsWith(`won ${round} `));
        expect(won.filter(Boolean).length, `round ${round}: ${said.join(" | ")}`).toBe(1);
        const w = won.indexOf(true);
        wins[w]!++;
        const loser = said[1 - w]!;
        expect(loser).toMatch(new RegExp(`^lost ${round} LOCKED ipcarve: store .* is locked by pid ${kids[w]!.proc.pid}$`));
        const ips = JSON.parse(said[w]!.slice(`won ${round} `.length)) as string[];
        ips.forEach((ip, k) => acked.set(`r${round}/p${k}`, ip));
        if (round % 10 === 9) {
          // the holder dies with the lock held
          await kids[w]!.kill();
          kids[w] = new Child(path);
        } else {
          kids[w]!.send("close");
          expect(await kids[w]!.next()).toBe("closed");
        }
      }
    } finally {
      await Promise.all(kids.map((k) => k.stop()));
    }
    kids = [];
    const pool = ClusterPool.open(path, OPTS);
    try {
      expect(pool.verify()).toEqual([]);
      expect(pool.nodeNames().length).toBe(100);
      const seen = new Map<string, string>();
      for (const [owner, ip] of acked) {
        expect(pool.addressesOf(owner)).toEqual([ip]);
        expect(pool.lookup(ip)?.owner).toBe(owner);
        expect(seen.get(ip), `${ip} held by ${seen.get(ip)} and ${owner}`).toBeUndefined();
        seen.set(ip, owner);
      }
      expect(seen.size).toBe(300);
    } finally {
      pool.close();
    }
  });

  it("two processes create the same new store at once, 20 times: one creates it, the other is LOCKED (never ENOENT on rename)", async () => {
    const base = dirname(tmpPath());
    const kids = [new Child(join(base, "unused")), new Child(join(base, "unused"))];
    try {
      for (let round = 0; round < 20; round++) {
        const path = join(base, `new-${round}`, "pool.ipc"); // the folder does not exist yet either
        for (const k of kids) k.send(`open ${round} ${path}`);
        const said = await Promise.all(kids.map((k) => k.next()));
        expect(said.filter((l) => l.startsWith(`won ${round} `)).length, said.join(" | ")).toBe(1);
        expect(said.filter((l) => l.startsWith(`lost ${round} LOCKED `)).length, said.join(" | ")).toBe(1);
        const w = said.findIndex((l) => l.startsWith("won"));
        kids[w]!.send("close");
        expect(await kids[w]!.next()).toBe("closed");
        const pool = ClusterPool.open(path, OPTS, { readOnly: true });
        expect(pool.node(`r${round}`)?.podCIDRs).toEqual(["10.0.0.0/24"]);
      }
    } finally {
      await Promise.all(kids.map((k) => k.stop()));
    }
  });
});

describe("read-only opens", () => {
  it("take no lock, write nothing, see the live writer's acknowledged records, and refuse changes with READ_ONLY", () => {
    const path = tmpPath();
    const writer = ClusterPool.open(path, OPTS);
    writer.addNode("a");
    writer.allocate("a", "ns/p0"); // 10.0.0.1
    const files = () => readdirSync(dirname(path)).sort().map((f) => [f, existsSync(join(dirname(path), f)) && !f.endsWith(".lock") ? readFileSync(join(dirname(path), f)).toString("hex") : ""]);
    const before = files();
    const reader = ClusterPool.open(path, OPTS, { readOnly: true });
    expect(reader.lookup("10.0.0.1")).toMatchObject({ node: "a", owner: "ns/p0" });
    for (const [name, call] of [
      ["allocate", () => reader.allocate("a", "ns/p1")],
      ["addNode", () => reader.addNode("b")],
      ["release", () => reader.release("10.0.0.1")],
      ["compact", () => reader.compact()],
    ] as const) {
      const e = err(call);
      expect(e.code, name).toBe("READ_ONLY");
      expect(e.message).toBe(`ipcarve: ${name}: store ${path} was opened read-only`);
    }
    reader.close();
    expect(files()).toEqual(before);
    writer.close();
  });

  it("need only read permission (a non-root user on read-only files), where a writer open is IO_ERROR naming the lock folder", async (ctx) => {
    if (process.getuid?.() !== 0) {
      console.warn("skipped: needs root to run a child as another user (uid 65534)");
      ctx.skip();
    }
    const path = tmpPath();
    const w = ClusterPool.open(path, OPTS);
    w.addNode("a");
    w.allocate("a", "ns/p0");
    w.close();
    chmodSync(dirname(path), 0o555);
    for (const f of readdirSync(dirname(path))) if (!f.endsWith(".lock")) chmodSync(join(dirname(path), f), 0o444);
    rmSync(`${path}.lock`, { recursive: true });
    const run = (code: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const p = spawn(process.execPath, ["--input-type=module", "-e", code], { uid: 65534, gid: 65534, cwd: tmpdir() });
        let out = "";
        p.stdout.on("data", (d: Buffer) => (out += d));
        p.stderr.on("data", (d: Buffer) => (out += d));
        p.on("exit", () => resolve(out.trim()));
        p.on("error", reject);
      });
    const index = JSON.stringify(fileURLToPath(new URL("../dist/src/index.js", import.meta.url)));
    const ro = await run(`const { ClusterPool } = await import(${index}); const p = ClusterPool.open(${JSON.stringify(path)}, {}, { readOnly: true }); console.log(p.lookup("10.0.0.1").owner);`);
    expect(ro).toBe("ns/p0");
    const rw = await run(`const { ClusterPool } = await import(${index}); try { ClusterPool.open(${JSON.stringify(path)}, {}); } catch (e) { console.log(e.code, e.message); }`);
    expect(rw).toBe(`IO_ERROR ipcarve: create the lock folder ${path}.lock failed: EACCES`);
  });
});

describe("parent folders", () => {
  it("open creates missing parent folders", () => {
    const path = join(dirname(tmpPath()), "a", "b", "c", "pool.ipc");
    const pool = ClusterPool.open(path, OPTS);
    pool.addNode("n");
    pool.close();
    expect(ClusterPool.open(path, OPTS, { readOnly: true }).node("n")?.podCIDRs).toEqual(["10.0.0.0/24"]);
  });

  it("a parent that is a file is IO_ERROR naming the folder", () => {
    const base = dirname(tmpPath());
    writeFileSync(join(base, "file"), "x");
    const e = err(() => ClusterPool.open(join(base, "file", "sub", "pool.ipc"), OPTS));
    expect(e.code).toBe("IO_ERROR");
    expect(e.message).toBe(`ipcarve: create folder ${join(base, "file", "sub")} failed: ENOTDIR`);
  });
});
