// `--store etcd://HOST:PORT/PREFIX` beside `--state FILE` for import, export and lookup:
// the same results as the state-file test (test/cli/commands.test.ts), on a real etcd member.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { run } from "./helpers.js";
import { EtcdCluster, etcdBinary } from "../../bench/lib/etcd-cluster.js";
import { parseStoreUrl } from "../../src/cli/store.js";

const bin = etcdBinary();
if ("missing" in bin) console.warn(`test/cli/store.test.ts skipped: ${bin.missing}`);
const SEED = "examples/seed-cluster-pool-config.yaml";

describe("store URLs", () => {
  it.each([
    ["etcd://127.0.0.1:2379/ipcarve/prod", { endpoints: ["http://127.0.0.1:2379"], prefix: "/ipcarve/prod" }],
    ["etcd://a:1,b:2/p", { endpoints: ["http://a:1", "http://b:2"], prefix: "/p" }],
  ])("%s", (url, want) => expect(parseStoreUrl(url)).toEqual(want));
  it.each(["http://127.0.0.1:2379/p", "etcd://127.0.0.1/p", "etcd://127.0.0.1:2379", "etcd://127.0.0.1:2379/"])("%s is a usage error", (url) => {
    expect(() => parseStoreUrl(url)).toThrow(/--store .*expected etcd:\/\/HOST:PORT/);
  });
});

describe.skipIf("missing" in bin)("import / export / lookup with --store", () => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await EtcdCluster.start(1);
  });
  afterAll(async () => {
    await etcd?.close();
  });

  it("imports CiliumNodes with per-node conflicts, exports them, looks an IP up", async () => {
    const store = `${etcd.endpoints[0]?.replace("http://", "etcd://")}/cli/${process.pid}`;
    const none = await run(["export", "--store", store]);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/no pool under/);
    const imp = await run(["import", "examples/ciliumnodes.json", "--store", store, "--config", SEED, "--json"]);
    expect(imp.code).toBe(1); // two nodes conflict, as with --state
    const res = (JSON.parse(imp.out) as { results: { name: string; outcome: string; error?: string }[] }).results;
    expect(res.map((x) => x.outcome)).toEqual(["restored", "restored", "failed", "failed"]);
    expect(res[2]?.error).toContain("requested CIDR (192.168.1.0/24) is already allocated");
    const exp = await run(["export", "--store", store]);
    expect(exp.code).toBe(0);
    const list = JSON.parse(exp.out) as { items: { metadata: { name: string }; spec?: { ipam?: { podCIDRs?: string[] } } }[] };
    expect(list.items.find((i) => i.metadata.name === "node-a")?.spec?.ipam?.podCIDRs).toEqual(["192.168.0.0/24"]);
    const hit = await run(["lookup", "192.168.1.7", "--store", store]);
    expect(hit.code).toBe(0);
    expect(hit.out).toContain("node node-b (192.168.1.0/24)");
    expect((await run(["lookup", "192.168.9.7", "--store", store])).code).toBe(1);
    const both = await run(["lookup", "192.168.1.7", "--store", store, "--state", "x.state"]);
    expect(both.code).toBe(2);
  });
});
