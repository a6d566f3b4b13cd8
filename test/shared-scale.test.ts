// SharedPool at scale: a cold start on a pool whose keys exceed grpc-js's default
// 4 MiB receive limit (the ranged read is paged, all pages at one revision), and a
// watch whose first window (a catch-up over many revisions) is larger than that too.
// The keys are written by hand with a raw client (as SharedPool writes them), which
// is faster than 50,000 allocations.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { Etcd3 } from "etcd3";
import { SharedPool, type ClusterPoolOptions } from "../src/index.js";
import { connectEtcd } from "../src/shared/etcd.js";
import { EtcdCluster, etcdBinary } from "../bench/lib/etcd-cluster.js";

const bin = etcdBinary();
if ("missing" in bin) console.warn(`test/shared-scale.test.ts skipped: ${bin.missing}`);

const NODES = 200;
const PER_NODE = 254; // a full /24: 2^8 - 2
// 200 blocks of 254 owners of ~170 characters: about 200 * 254 * 180 = 9 MB of values
const owner = (n: number, i: number): string => `ns/${"x".repeat(150)}-${n}-${i}`;

describe.skipIf("missing" in bin)("SharedPool with more than 4 MiB of keys", () => {
  let etcd: EtcdCluster;
  const prefix = `/scale/${process.pid}`;
  const options: ClusterPoolOptions = { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } };
  let written = 0;
  let from = 0;
  let to = 0;
  beforeAll(async () => {
    etcd = await EtcdCluster.start(1);
    const first = await SharedPool.connect({ endpoints: etcd.endpoints, prefix }, options); // stores the options
    await first.close();
    const raw = new Etcd3({ hosts: etcd.endpoints });
    try {
      from = Number((await raw.get(`${prefix}/options`).exec()).header.revision) + 1;
      let bytes = 0;
      // 10 nodes per transaction (about 0.5 MB: etcd takes 1.5 MiB per request)
      for (let n0 = 0; n0 < NODES; n0 += 10) {
        const ops = [];
        for (let n = n0; n < n0 + 10; n++) {
          const a: Record<string, string> = {};
          for (let i = 0; i < PER_NODE; i++) a[i] = owner(n, i);
          ops.push(raw.put(`${prefix}/nodes/n${n}`).value(JSON.stringify({ status: "ready", placed: [{ pool: 0, slot: n, k: 0 }] })));
          ops.push(raw.put(`${prefix}/claims/0/${n}`).value(`n${n}`));
          const block = JSON.stringify({ node: `n${n}`, n: PER_NODE, a });
          bytes += block.length;
          ops.push(raw.put(`${prefix}/blocks/0/${n}`).value(block));
        }
        to = Number((await raw.if(`${prefix}/options`, "Create", ">", 0).then(...ops).commit()).header.revision);
        written += ops.length;
      }
      expect(bytes).toBeGreaterThan(4 * 1024 * 1024); // (this raw client's getAll() of them fails: RESOURCE_EXHAUSTED)
    } finally {
      raw.close();
    }
  }, 60_000);
  afterAll(async () => {
    await etcd?.close();
  });

  it("a cold start reads every key, in pages at one revision", async () => {
    const pool = await SharedPool.connect({ endpoints: etcd.endpoints, prefix });
    try {
      expect(pool.counters.pages).toBeGreaterThan(1);
      const st = await pool.stats();
      expect([st.nodes, st.pods]).toEqual([NODES, NODES * PER_NODE]);
      expect(await pool.lookup("10.0.199.254")).toEqual({ node: "n199", podCIDR: "10.0.199.0/24", owner: owner(199, 253), allocated: true });
      expect(await pool.addNode("fresh")).toEqual({ name: "fresh", podCIDRs: ["10.0.200.0/24"] });
      expect(await pool.verify()).toEqual([]);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it("pages are one snapshot: keys written while the pages are read (after the last page's keys) are not in it", async () => {
    const link = await connectEtcd(etcd.endpoints, 5000);
    const raw = new Etcd3({ hosts: etcd.endpoints });
    try {
      let stop = false;
      const writes = (async () => {
        for (let i = 0; !stop; i++) await raw.put(`${prefix}/zz/${i}`).value("x"); // sorts after every page of the pool
      })();
      const read = await link.range(`${prefix}/`);
      stop = true;
      await writes;
      expect(read.pages).toBeGreaterThan(1);
      expect(read.kvs.filter((kv) => Number(kv.mod_revision) > read.revision)).toEqual([]);
      expect(read.kvs.length).toBeGreaterThanOrEqual(written);
    } finally {
      await raw.delete().prefix(`${prefix}/zz/`);
      raw.close();
      link.close();
    }
  });

  it("a watch whose first window (a catch-up over every write above) exceeds 4 MiB delivers every event", async () => {
    const link = await connectEtcd(etcd.endpoints, 5000);
    try {
      let events = 0;
      const done = new Promise<void>((resolve) => {
        void link.watch(`${prefix}/`, from, (res) => {
          events += res.events.filter((e) => Number(e.kv.mod_revision) <= to).length;
          if (events >= written) resolve();
        });
      });
      await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
      expect(events).toBe(written);
    } finally {
      link.close();
    }
  }, 30_000);
});
