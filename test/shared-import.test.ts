// SharedPool.importCiliumNodes is committed in chunks (etcd takes 128 operations per
// transaction), so it is not atomic: a crash leaves the chunks committed before it, which
// are the list's first nodes with podCIDRs in list order (then, once those are all in,
// the first nodes without). Re-running the same import is idempotent: its results and
// the pool it leaves are those of one uninterrupted import (ClusterPool's).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Etcd3 } from "etcd3";
import { ClusterPool, SharedPool, type ClusterPoolOptions } from "../src/index.js";
import { EtcdCluster, etcdBinary } from "../bench/lib/etcd-cluster.js";

const bin = etcdBinary();
if ("missing" in bin) console.warn(`test/shared-import.test.ts skipped: ${bin.missing}`);
const CHILD = fileURLToPath(new URL("./fixtures/shared-import.mjs", import.meta.url));

// 10.0.0.0/14 in /24s: 1024 subnets. Nodes with podCIDRs (every third slot, so the carved ones
// fill the holes), a few that conflict (a CIDR listed twice: Cilium's "already allocated"),
// and nodes without podCIDRs, interleaved in the list.
const options: ClusterPoolOptions = { ipv4: { cidrs: ["10.0.0.0/14"], maskSize: 24 } };
function list(n: number): { kind: string; items: unknown[] } {
  const items = [];
  for (let i = 0; i < n; i++) {
    const slot = (3 * i) % 1024;
    const podCIDRs = i % 5 === 4 ? [] : i % 50 === 7 ? [`10.0.0.0/24`] : [`10.${slot >> 8}.${slot & 255}.0/24`];
    items.push({ metadata: { name: `n${i}` }, spec: { ipam: { podCIDRs } } });
  }
  return { kind: "List", items };
}

describe.skipIf("missing" in bin)("SharedPool.importCiliumNodes: a crash part-way, then the same import again", () => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await EtcdCluster.start(1);
  });
  afterAll(async () => {
    await etcd?.close();
  });
  let k = 0;
  const store = (): { endpoints: string[]; prefix: string } => ({ endpoints: etcd.endpoints, prefix: `/import/${process.pid}/${++k}` });

  const full = list(300); // 240 with podCIDRs (6 chunks of 40), 60 without
  const reference = new ClusterPool(options);
  const want = reference.importCiliumNodes(full);
  const wantExport = reference.exportCiliumNodes();

  // what a crash leaves: the chunks committed before it, a prefix of the nodes with podCIDRs (then of those without)
  const withCidrs = full.items.filter((it) => ((it as { spec: { ipam: { podCIDRs: string[] } } }).spec.ipam.podCIDRs).length > 0);
  const without = full.items.filter((it) => !withCidrs.includes(it));
  const crashes: [string, unknown[]][] = [
    ["after the first chunk", withCidrs.slice(0, 40)],
    ["after three chunks", withCidrs.slice(0, 120)],
    ["after every node with podCIDRs and some without", [...withCidrs, ...without.slice(0, 20)]],
  ];

  it.each(crashes)("committed %s: the same import again gives one import's results and pool", async (_name, committed) => {
    const pool = await SharedPool.connect(store(), options);
    try {
      await pool.importCiliumNodes({ kind: "List", items: committed }); // the state the crash left
      expect(await pool.importCiliumNodes(full)).toEqual(want);
      expect(await pool.exportCiliumNodes()).toEqual(wantExport);
      expect(await pool.importCiliumNodes(full)).toEqual(want); // and again: nothing changes
      expect(await pool.verify()).toEqual([]);
    } finally {
      await pool.close();
    }
  });

  it("a process killed (SIGKILL) in the middle of an import; the same import again", async () => {
    const s = store();
    const big = list(900); // 720 with podCIDRs: 18 chunks
    const ref = new ClusterPool(options);
    const bigWant = ref.importCiliumNodes(big);
    const child = spawn(process.execPath, [CHILD, JSON.stringify({ store: s, options, list: big })], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise<string>((r) => child.on("exit", (code, sig) => r(sig ?? String(code))));
    const raw = new Etcd3({ hosts: etcd.endpoints });
    let seen = 0;
    try {
      // kill it once some chunks are in
      for (let i = 0; i < 400 && seen < 80; i++) {
        seen = Number((await raw.getAll().prefix(`${s.prefix}/nodes/`).count()));
        if (seen < 80) await new Promise((r) => setTimeout(r, 5));
      }
      child.kill("SIGKILL");
      const how = await exited;
      if (how !== "SIGKILL") console.warn(`test/shared-import.test.ts: the import finished (${how}) before the kill; only the re-run is checked`);
      const left = Number(await raw.getAll().prefix(`${s.prefix}/nodes/`).count());
      if (how === "SIGKILL") expect(left).toBeLessThan(900); // part-way
      const pool = await SharedPool.connect(s, options);
      try {
        expect(await pool.importCiliumNodes(big)).toEqual(bigWant);
        // a new process lists nodes in the order it learnt of them (the keys'), not the import's: compare by name
        const byName = (l: { items: { metadata: { name: string } }[] }): unknown[] => [...l.items].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
        expect(byName(await pool.exportCiliumNodes())).toEqual(byName(ref.exportCiliumNodes()));
        expect(await pool.verify()).toEqual([]);
      } finally {
        await pool.close();
      }
    } finally {
      child.kill("SIGKILL");
      raw.close();
    }
  }, 60_000);
});
