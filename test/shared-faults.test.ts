// SharedPool under faults, on a 3-member etcd cluster (heartbeat 50 ms, election 500 ms).
// Randomized rounds (IPCARVE_CHAOS_ROUNDS, default 20; `npm run chaos` runs more), each
// with two client processes allocating on own and shared nodes and one fault:
//   - SIGKILL a client mid-run, then start it again;
//   - SIGKILL one member (the pool keeps serving), restarted at the end of the round;
//   - SIGSTOP the leader past the election timeout, then SIGCONT.
// After each round: every acknowledged address is unique and in the store; the store
// holds nothing else but what a killed client had in flight; verify() is clean.
// Then: two members down -> UNAVAILABLE with no partial effect, and recovery.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { SharedPool, IpamError } from "../src/index.js";
import { EtcdCluster, etcdBinary } from "../bench/lib/etcd-cluster.js";
import { runChild, runInProcess, readBack, v4Pool, type ChildRun } from "../bench/lib/shared-clients.js";

const bin = etcdBinary();
if ("missing" in bin) console.warn(`test/shared-faults.test.ts skipped: ${bin.missing}`);
const ROUNDS = Number(process.env.IPCARVE_CHAOS_ROUNDS ?? 20);
const PER_CHILD = Number(process.env.IPCARVE_CHAOS_ALLOCS ?? 24);
const SEED = Number(process.env.IPCARVE_CHAOS_SEED ?? Date.now() % 100000);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(10);
}

describe.skipIf("missing" in bin)("SharedPool under faults (3 etcd members)", () => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await EtcdCluster.start(3);
  });
  afterAll(async () => {
    await etcd?.close();
  });

  it(`${ROUNDS} randomized rounds of client and member faults keep every invariant (seed ${SEED})`, async () => {
    let s = SEED || 1;
    const rand = (): number => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return s / 2147483648;
    };
    const faults = ["client-kill", "member-kill", "leader-stop"] as const;
    const seen: Record<string, number> = {};
    for (let round = 0; round < ROUNDS; round++) {
      const fault = faults[(round + SEED) % 3] as (typeof faults)[number];
      seen[fault] = (seen[fault] ?? 0) + 1;
      const prefix = `/faults/${process.pid}/${round}`;
      const options = v4Pool(2);
      const admin = await SharedPool.connect({ endpoints: etcd.endpoints, prefix, timeoutMs: 10_000 }, options);
      for (const n of ["own-0", "own-1", "own-2", "shared-0"]) await admin.addNode(n);
      const cfg = (id: number, own: string) => ({
        endpoints: etcd.endpoints, prefix, options, id, own: [own], shared: ["shared-0"], sharedShare: 0.5,
        count: PER_CHILD, concurrency: 4, seed: SEED + round * 10 + id, timeoutMs: 10_000, attemptMs: 400,
      });
      // a client is killed as a process; for member faults, two in-process clients (each its own etcd connection) are as good and start faster
      const start = fault === "client-kill" ? runChild : runInProcess;
      const runs: ChildRun[] = [start(cfg(0, "own-0")), start(cfg(1, "own-1"))];
      const killed: ChildRun[] = [];
      await Promise.all(runs.map((r) => r.ready));
      const target = runs[0] as ChildRun;
      await until(() => target.acked.size >= 2 + Math.floor(rand() * (PER_CHILD / 2)) || target.done !== undefined, 10_000);
      let restartMember: number | undefined;
      if (fault === "client-kill") {
        target.proc.kill("SIGKILL");
        await target.exited;
        killed.push(target);
        runs[0] = runChild(cfg(2, "own-2")); // the restarted client: a new process, same pool
      } else if (fault === "member-kill") {
        restartMember = Math.floor(rand() * 3);
        etcd.kill(restartMember);
      } else {
        const leader = await etcd.leader();
        if (leader !== undefined) {
          etcd.pause(leader);
          await sleep(800); // past the 500 ms election timeout: the others elect a new leader
          etcd.resume(leader);
        }
      }
      const codes = await Promise.all(runs.map((r) => r.exited));
      expect(codes, `round ${round} (${fault})`).toEqual(["0", "0"]);
      if (restartMember !== undefined) etcd.restart(restartMember);
      // invariants
      const acked = new Map<string, string>();
      for (const r of [...runs, ...killed]) {
        for (const [owner, ip] of r.acked) {
          expect(acked.has(ip), `round ${round} (${fault}): ${ip} acknowledged twice`).toBe(false);
          acked.set(ip, owner);
        }
      }
      for (const r of runs) expect([...r.errors], `round ${round} (${fault})`).toEqual([]);
      const stored = await readBack(etcd.endpoints, prefix, 2);
      for (const [ip, owner] of acked) expect(stored.get(ip), `round ${round} (${fault}): acknowledged ${ip} lost`).toBe(owner);
      const inFlight = new Set(killed.flatMap((r) => [...r.inFlight]));
      for (const [ip, owner] of stored) {
        if (acked.get(ip) !== owner) expect(inFlight.has(owner), `round ${round} (${fault}): ${ip} -> ${owner} in the store, never asked for`).toBe(true);
      }
      expect(await admin.verify(), `round ${round} (${fault})`).toEqual([]);
      await admin.close();
      await etcd.waitHealthy();
    }
    console.log(`fault rounds: ${JSON.stringify(seen)}`);
    if (ROUNDS >= 3) expect(Object.keys(seen).length).toBe(3);
  });

  it("two members down: UNAVAILABLE naming the endpoints, no partial effect; then recovery", async () => {
    const options = { ipv4: { cidrs: ["10.3.0.0/16"], maskSize: 24 }, ipv6: { cidrs: ["fd03::/104"], maskSize: 120 } };
    const pool = await SharedPool.connect({ endpoints: etcd.endpoints, prefix: `/down/${process.pid}`, timeoutMs: 1500, attemptMs: 300 }, options);
    try {
      await pool.addNode("n");
      expect(await pool.allocate("n", "ns/before")).toEqual({ ipv4: "10.3.0.1", ipv6: "fd03::1" });
      etcd.kill(1);
      etcd.kill(2);
      const outcomes = await Promise.all(["ns/a", "ns/b", "ns/c"].map((o) => pool.allocate("n", o).then(() => "ok", (e: unknown) => e)));
      for (const e of outcomes) {
        expect(e).toBeInstanceOf(IpamError);
        expect((e as IpamError).code).toBe("UNAVAILABLE");
        for (const ep of etcd.endpoints) expect((e as IpamError).message).toContain(ep);
      }
      etcd.restart(1);
      etcd.restart(2);
      await etcd.waitHealthy();
      // whole or nothing: a dual-stack allocation is one transaction; "had no effect" means nothing
      for (const [i, owner] of ["ns/a", "ns/b", "ns/c"].entries()) {
        const held = await pool.addressesOf(owner);
        expect([0, 2]).toContain(held.length);
        if (/had no effect/.test((outcomes[i] as IpamError).message)) expect(held).toEqual([]);
      }
      expect(await pool.allocate("n", "ns/after")).toMatchObject({ ipv4: expect.stringMatching(/^10\.3\.0\.\d+$/) });
      expect(await pool.verify()).toEqual([]);
    } finally {
      await pool.close();
    }
  });
});
