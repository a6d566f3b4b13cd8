// SharedPool's background clean-up across processes: one process, elected with an etcd
// lease, completes drains whose grace ended; when it dies (SIGKILL), another takes the
// leader key once the lease's TTL has passed, and the drain still completes, although
// no process makes a call.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Etcd3 } from "etcd3";
import { SharedPool } from "../src/index.js";
import { EtcdCluster, etcdBinary } from "../bench/lib/etcd-cluster.js";

const bin = etcdBinary();
if ("missing" in bin) console.warn(`test/shared-leader.test.ts skipped: ${bin.missing}`);
const CHILD = fileURLToPath(new URL("./fixtures/shared-idle.mjs", import.meta.url));

/** Starts the idle child; resolves with the process and what it said it is once connected. */
function idleChild(cfg: unknown): Promise<{ proc: ReturnType<typeof spawn>; role: string }> {
  const proc = spawn(process.execPath, [CHILD, JSON.stringify(cfg)], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let buf = "";
    proc.stdout?.on("data", (d: Buffer) => {
      buf += d.toString();
      const m = /^R (\w+)\n/.exec(buf);
      if (m) resolve({ proc, role: m[1] as string });
    });
    proc.on("exit", (code) => reject(new Error(`the child exited (${code}) before connecting`)));
  });
}

const until = async (what: string, ms: number, ok: () => Promise<boolean>): Promise<number> => {
  const t0 = Date.now();
  while (!(await ok())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - t0;
};

describe.skipIf("missing" in bin)("SharedPool: background clean-up by an elected process", () => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await EtcdCluster.start(1);
  });
  afterAll(async () => {
    await etcd?.close();
  });

  it("the leader dies (SIGKILL) before a drain's deadline: another process takes over after the lease TTL and completes it", async () => {
    const ttl = 2;
    const store = { endpoints: etcd.endpoints, prefix: `/leader/${process.pid}`, leaseTtlS: ttl };
    const options = { ipv4: { cidrs: ["10.0.0.0/23"], maskSize: 24 } }; // 2 subnets: c waits for a's
    const child = await idleChild({ store, options });
    const raw = new Etcd3({ hosts: etcd.endpoints });
    let a: SharedPool | undefined;
    try {
      expect(child.role).toBe("leader"); // the first to connect takes the free leader key
      a = await SharedPool.connect(store, options);
      expect(a.isLeader).toBe(false);
      await a.addNode("a");
      await a.addNode("b");
      await a.allocate("a", "ns/p");
      await a.addNode("c").catch(() => undefined); // FULL: pending
      const t0 = Date.now();
      expect(await a.removeNode("a", { graceMs: 1500 })).toBe(true);
      const rec = JSON.parse((await raw.get(`${a.prefix}nodes/a`).string()) as string) as { status: string; deadline: number };
      expect(rec.status).toBe("draining"); // in the node's key, for every process
      expect(rec.deadline).toBeGreaterThanOrEqual(t0 + 1500);
      child.proc.kill("SIGKILL");
      // no call from here on: only a's background timer, once it leads, can complete the drain
      await until("the drain to complete", 15_000, async () => (await raw.get(`${a?.prefix}nodes/a`).string()) === null);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1500); // not before the deadline
      expect(a.isLeader).toBe(true);
      expect(a.counters.drainsCompleted).toBe(1);
      expect(JSON.parse((await raw.get(`${a.prefix}nodes/c`).string()) as string)).toMatchObject({ status: "ready", placed: [{ pool: 0, slot: 0, k: 0 }] });
      expect(await a.lookup("10.0.0.1")).toEqual({ node: "c", podCIDR: "10.0.0.0/24", allocated: false });
      expect(await a.verify()).toEqual([]);
    } finally {
      child.proc.kill("SIGKILL");
      await a?.close();
      raw.close();
    }
  });

  it("a process that closes hands the leader key on at once (its lease is revoked, not left to its 30 s TTL)", async () => {
    const store = { endpoints: etcd.endpoints, prefix: `/leader2/${process.pid}`, leaseTtlS: 30 };
    const options = { ipv4: { cidrs: ["10.0.0.0/23"], maskSize: 24 } };
    const first = await SharedPool.connect(store, options);
    const second = await SharedPool.connect(store, options);
    try {
      expect([first.isLeader, second.isLeader]).toEqual([true, false]);
      await first.close();
      expect(await until("the second process to lead", 5000, async () => second.isLeader)).toBeLessThan(5000);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it("a call of any process completes a due drain, whatever the leader does", async () => {
    const store = { endpoints: etcd.endpoints, prefix: `/leader3/${process.pid}`, leaseTtlS: 30 };
    const options = { ipv4: { cidrs: ["10.0.0.0/23"], maskSize: 24 } };
    // the leader's clock stands still: its timer never finds the drain due
    const leader = await SharedPool.connect(store, { ...options, clock: () => 0 });
    const other = await SharedPool.connect(store, options);
    try {
      expect(leader.isLeader).toBe(true);
      await other.addNode("a");
      await other.removeNode("a", { graceMs: 100 });
      await new Promise((r) => setTimeout(r, 150));
      expect(await leader.node("a")).toMatchObject({ status: "draining" }); // the leader's clock says 0: not due for it
      expect((await other.stats()).nodes).toBe(0); // other's clock: due; its call completed it first (answered once that committed)
      expect(other.counters.drainsCompleted).toBe(1);
      expect(await leader.node("a")).toBeUndefined();
    } finally {
      await leader.close();
      await other.close();
    }
  });
});
