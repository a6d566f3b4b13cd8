// SharedPool across processes: 4 child processes allocate at once, each on its own
// nodes and on nodes they all share. Every acknowledged address is unique, and the
// keys read back (raw etcd, not SharedPool) hold exactly the union of them.
// npm test runs IPCARVE_SHARED_ALLOCS (default 400) allocations per process;
// `npm run chaos` runs the 5,000.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { SharedPool } from "../src/index.js";
import { EtcdCluster, etcdBinary } from "../bench/lib/etcd-cluster.js";
import { runChild, readBack, v4Pool } from "../bench/lib/shared-clients.js";

const bin = etcdBinary();
if ("missing" in bin) console.warn(`test/shared-concurrency.test.ts skipped: ${bin.missing}`);
const ALLOCS = Number(process.env.IPCARVE_SHARED_ALLOCS ?? 400);
const PROCS = 4;

describe.skipIf("missing" in bin)(`SharedPool: ${PROCS} processes x ${ALLOCS} allocations`, () => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await EtcdCluster.start(1);
  });
  afterAll(async () => {
    await etcd?.close();
  });

  it("no address twice; the store holds exactly the acknowledged union", async () => {
    const prefix = `/conc/${process.pid}`;
    const options = v4Pool(1);
    // half of each process's calls on its own nodes, half on shared ones; 254 addresses per /24 node
    const perNode = 254; // 2^(32-24) - 2
    const ownNodes = Math.ceil(ALLOCS / 2 / perNode) + 1;
    const sharedNodes = Math.ceil((ALLOCS * PROCS) / 2 / perNode) + 1;
    const admin = await SharedPool.connect({ endpoints: etcd.endpoints, prefix }, options);
    const own = Array.from({ length: PROCS }, (_, p) => Array.from({ length: ownNodes }, (_, k) => `own-${p}-${k}`));
    const shared = Array.from({ length: sharedNodes }, (_, k) => `shared-${k}`);
    await Promise.all([...own.flat(), ...shared].map((n) => admin.addNode(n)));
    const runs = own.map((mine, id) =>
      runChild({ endpoints: etcd.endpoints, prefix, options, id, own: mine, shared, sharedShare: 0.5, count: ALLOCS, concurrency: 16, seed: 1000 + id }),
    );
    const codes = await Promise.all(runs.map((r) => r.exited));
    expect(codes).toEqual(["0", "0", "0", "0"]);
    const acked = new Map<string, string>(); // ip -> owner
    for (const r of runs) {
      expect(r.errors.size, [...r.errors].slice(0, 5).join("; ")).toBe(0);
      expect(r.acked.size).toBe(ALLOCS);
      for (const [owner, ip] of r.acked) {
        expect(acked.has(ip), `${ip} acknowledged twice`).toBe(false);
        acked.set(ip, owner);
      }
    }
    expect(acked.size).toBe(ALLOCS * PROCS);
    const stored = await readBack(etcd.endpoints, prefix, 1);
    const missing = [...acked].filter(([ip, o]) => stored.get(ip) !== o);
    const extra = [...stored].filter(([ip, o]) => acked.get(ip) !== o);
    expect({ missing: missing.slice(0, 5), extra: extra.slice(0, 5), nMissing: missing.length, nExtra: extra.length }).toEqual({ missing: [], extra: [], nMissing: 0, nExtra: 0 });
    // the pool agrees, keys and cache
    expect(await admin.verify()).toEqual([]);
    expect((await admin.stats()).pods).toBe(ALLOCS * PROCS);
    // group commit carried several calls per transaction
    const txns = runs.reduce((n, r) => n + (r.done?.counters.txns ?? 0), 0);
    const conflicts = runs.reduce((n, r) => n + (r.done?.counters.conflicts ?? 0), 0);
    console.log(`${ALLOCS * PROCS} allocations in ${txns} transactions, ${conflicts} conflicts`);
    expect(txns).toBeLessThan(ALLOCS * PROCS);
    await admin.close();
  });
});
