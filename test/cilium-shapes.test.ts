// CiliumNode inputs in the shapes kubectl prints them: one object
// (`kubectl get cn X -o yaml`) and the table of `kubectl get ciliumnodes`
// (NAME, CILIUMINTERNALIP, INTERNALIP, AGE: the CRD's printer columns), or a
// custom-columns table with the pod CIDRs, given as a string to fromCiliumNodes.
import { describe, it, expect } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ClusterPool, IpamError } from "../src/index.js";
import { parseCiliumNodeTable } from "../src/pool/cilium-table.js";
import { run, tmp } from "./cli/helpers.js";

const KIND = { ipv4: { cidrs: ["10.244.0.0/16"], maskSize: 24 } };

// kubectl get ciliumnodes, kind cluster: the router address (CiliumInternalIP) lies in the node's pod CIDR
const TABLE = `NAME                 CILIUMINTERNALIP   INTERNALIP   AGE
kind-control-plane   10.244.0.87        172.18.0.3   5d2h
kind-worker          10.244.1.164       172.18.0.2   5d2h
kind-worker2                            172.18.0.4   40s
`;

describe("one CiliumNode object", () => {
  it("is restored like a list of one", () => {
    const node = { apiVersion: "cilium.io/v2", kind: "CiliumNode", metadata: { name: "kind-worker" }, spec: { ipam: { podCIDRs: ["10.244.1.0/24"] } } };
    const pool = ClusterPool.fromCiliumNodes(node, KIND);
    expect(pool.node("kind-worker")?.podCIDRs).toEqual(["10.244.1.0/24"]);
    expect(pool.lookup("10.244.1.9")?.node).toBe("kind-worker");
    pool.dispose();
  });
});

describe("kubectl get ciliumnodes text", () => {
  it("default columns: the pod CIDR is the CiliumInternalIP under the node mask; an empty cell gets a new subnet", () => {
    const pool = new ClusterPool(KIND);
    const res = pool.importCiliumNodes(TABLE);
    expect(res).toEqual([
      { name: "kind-control-plane", podCIDRs: ["10.244.0.0/24"], outcome: "restored" }, // 10.244.0.87 / 24
      { name: "kind-worker", podCIDRs: ["10.244.1.0/24"], outcome: "restored" }, // 10.244.1.164 / 24
      { name: "kind-worker2", podCIDRs: ["10.244.2.0/24"], outcome: "allocated" }, // next-fit from slot 0: 0 and 1 are taken
    ]);
    pool.dispose();
    const again = ClusterPool.fromCiliumNodes(TABLE, KIND); // the same through the static
    expect(again.node("kind-worker")?.podCIDRs).toEqual(["10.244.1.0/24"]);
    again.dispose();
  });

  it.each([
    {
      name: "custom columns with the pod CIDRs (a Go list, dual stack, <none>)",
      text: "NAME     CIDR                           ROUTER\nnode-a   [10.244.0.0/24]                10.244.0.87\nnode-b   [10.244.1.0/24 fd00::100/120]  10.244.1.148\nnode-c   <none>                         <none>\n",
      masks: { 4: 24 },
      want: [["node-a", ["10.244.0.0/24"]], ["node-b", ["10.244.1.0/24", "fd00::100/120"]], ["node-c", []]],
    },
    {
      name: "router addresses of both families; a family without a pool is left out",
      text: "NAME   CILIUMINTERNALIP        INTERNALIP\nn1     10.1.2.3,fd00::1:7      192.168.1.1\n",
      masks: { 4: 24 },
      want: [["n1", ["10.1.2.0/24"]]], // fd00::1:7: no IPv6 pool
    },
    {
      name: "IPv6 router address under a /120",
      text: "NAME   CILIUMINTERNALIP   INTERNALIP   AGE\nn1     fd00::1:7          10.0.0.1     1d\n",
      masks: { 4: 24, 6: 120 },
      want: [["n1", ["fd00::1:0/120"]]], // low 8 bits cleared
    },
  ])("$name", ({ text, masks, want }) => {
    const list = parseCiliumNodeTable(text, masks);
    expect(list.items.map((i) => [i.metadata.name, i.spec?.ipam?.podCIDRs])).toEqual(want);
  });

  it.each([
    ["no header: not a table, so not a list either", "kind-worker  10.244.1.164  172.18.0.2  5d\n", "CiliumNode list must be an array, an object with items[], a CiliumNode or kubectl's table text"],
    ["a bad address", "NAME  CILIUMINTERNALIP  INTERNALIP\nx     10.244.1.999      1.2.3.4\n", "CiliumNode table line 2 (x) CILIUMINTERNALIP"],
    ["a bad CIDR", "NAME  CIDR\nx     [10.0.0.0/33]\n", "CiliumNode table line 2 (x) CIDR"],
  ])("%s is INVALID_ARGUMENT naming the line", (_what, text, where) => {
    const e = (() => { try { new ClusterPool(KIND).importCiliumNodes(text); } catch (x) { return x; } })();
    expect(e).toBeInstanceOf(IpamError);
    expect((e as IpamError).code).toBe("INVALID_ARGUMENT");
    expect((e as IpamError).message).toContain(where);
  });

  it("ipcarve import takes the table text", async () => {
    const d = tmp();
    writeFileSync(join(d, "cn.txt"), TABLE);
    writeFileSync(join(d, "pool.yaml"), "ipam:\n  operator:\n    clusterPoolIPv4PodCIDRList: [10.244.0.0/16]\n    clusterPoolIPv4MaskSize: 24\n");
    const r = await run(["import", "cn.txt", "--state", "s.ipcarve", "--config", "pool.yaml", "--json"], d);
    expect(r.code).toBe(0);
    const res = (JSON.parse(r.out) as { results: { name: string; outcome: string; podCIDRs: string[] }[] }).results;
    expect(res.map((x) => [x.name, x.outcome, x.podCIDRs[0]])).toEqual([
      ["kind-control-plane", "restored", "10.244.0.0/24"],
      ["kind-worker", "restored", "10.244.1.0/24"],
      ["kind-worker2", "allocated", "10.244.2.0/24"],
    ]);
  });
});
