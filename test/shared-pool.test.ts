// SharedPool, one process: the table-driven ClusterPool semantics (test/cluster-pool.test.ts)
// run against both ClusterPool and SharedPool on a real etcd member; every step's
// result or error must be the same. Plus what only SharedPool has: options stored
// under the prefix, UNAVAILABLE, verify() on keys damaged by hand, a rebuild from the keys.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { ClusterPool, SharedPool, IpamError, type ClusterPoolOptions } from "../src/index.js";
import { EtcdCluster, etcdBinary } from "../bench/lib/etcd-cluster.js";
import { Etcd3 } from "etcd3";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const bin = etcdBinary();
if ("missing" in bin) console.warn(`test/shared-pool.test.ts skipped: ${bin.missing}`);

type Step = readonly [string, ...unknown[]];
type Outcome = { ok: unknown } | { code: string; message: string };

/** ClusterPool and SharedPool behind one async face. */
interface Target { call(method: string, args: readonly unknown[]): Promise<unknown> }
const local = (p: ClusterPool): Target => ({
  call: async (m, a) => (p as unknown as Record<string, (...x: unknown[]) => unknown>)[m]?.(...a),
});
const shared = (p: SharedPool): Target => ({
  call: (m, a) => (p as unknown as Record<string, (...x: unknown[]) => Promise<unknown>>)[m]?.(...a) as Promise<unknown>,
});

/** The virtual clock of the cases with options.reuse: ["advance", ms] moves it; each run starts it at 0. */
const time = { now: 0 };
const clock = (): number => time.now;

async function run(t: Target, steps: readonly Step[]): Promise<Outcome[]> {
  const out: Outcome[] = [];
  time.now = 0;
  for (const [m, ...args] of steps) {
    if (m === "advance") {
      time.now += args[0] as number;
      out.push({ ok: time.now });
      continue;
    }
    try {
      out.push({ ok: await t.call(m, args) });
    } catch (e) {
      if (!(e instanceof IpamError)) throw e;
      out.push({ code: e.code, message: e.message });
    }
  }
  return out;
}

const seed: ClusterPoolOptions = { ipv4: { cidrs: ["192.168.0.0/20"], maskSize: 24 } };
const dual: ClusterPoolOptions = { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 }, ipv6: { cidrs: ["fd00::/104"], maskSize: 120 } };
const nodes = (n: number, from = 1): Step[] => Array.from({ length: n }, (_, i) => ["addNode", `node-${i + from}`] as const);
const pods = (node: string, n: number, tag = "p"): Step[] => Array.from({ length: n }, (_, i) => ["allocate", node, `default/${tag}-${i}`] as const);

// Each case: options, steps, and checks on the outcomes (indexes into the step list) with their derivation.
const cases: { name: string; options: ClusterPoolOptions; steps: Step[]; check?: (o: Outcome[]) => void }[] = [
  {
    name: "seed: 16 nodes in order, node 17 FULL and pending, served when node-3 goes",
    options: seed,
    steps: [...nodes(16), ["addNode", "node-17"], ["pendingNodes"], ["removeNode", "node-3"], ["node", "node-17"], ["pendingNodes"], ["stats"]],
    check: (o) => {
      expect(o[15]).toEqual({ ok: { name: "node-16", podCIDRs: ["192.168.15.0/24"] } }); // 2^(24-20) = 16 subnets
      expect(o[16]).toMatchObject({ code: "FULL" });
      expect(o[17]).toEqual({ ok: ["node-17"] });
      expect(o[19]).toMatchObject({ ok: { status: "ready", podCIDRs: ["192.168.2.0/24"] } });
    },
  },
  {
    name: "a pod on the first node; the 255th pod on a node is FULL",
    options: seed,
    steps: [...nodes(2), ["allocate", "node-1", "default/web-0"], ...pods("node-2", 254), ["allocate", "node-2", "default/p-254"], ["node", "node-2"]],
    check: (o) => {
      expect(o[2]).toEqual({ ok: { ipv4: "192.168.0.1" } });
      expect(o[3 + 253]).toEqual({ ok: { ipv4: "192.168.1.254" } }); // 2^8 - 2 usable: .1 .. .254
      expect(o[3 + 254]).toMatchObject({ code: "FULL" });
    },
  },
  {
    name: "lookup names the fourth node; wanted address",
    options: seed,
    steps: [...nodes(16), ["lookup", "192.168.3.7"], ["allocate", "node-4", "kube-system/dns", "192.168.3.7"], ["lookup", "192.168.3.7"], ["lookup", "10.0.0.1"]],
    check: (o) => {
      expect(o[18]).toEqual({ ok: { node: "node-4", podCIDR: "192.168.3.0/24", owner: "kube-system/dns", allocated: true } });
      expect(o[19]).toEqual({ ok: undefined });
    },
  },
  {
    name: "Cilium's defaults, dual stack",
    options: { ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 }, ipv6: { cidrs: ["fd00::/104"], maskSize: 120 } },
    steps: [["addNode", "a"], ["addNode", "b"], ["allocate", "b", "ns/p"], ["lookup", "fd00::101"], ["stats"]],
    check: (o) => {
      expect(o[1]).toEqual({ ok: { name: "b", podCIDRs: ["10.0.1.0/24", "fd00::100/120"] } }); // 2^(128-120) = 0x100
      expect(o[2]).toEqual({ ok: { ipv4: "10.0.1.1", ipv6: "fd00::101" } });
    },
  },
  {
    name: "addNode is idempotent and takes the first pool CIDR that is not full; next-fit wraps",
    options: { ipv4: { cidrs: ["10.0.0.0/23", "10.1.0.0/24"], maskSize: 24 } },
    steps: [["addNode", "a"], ["addNode", "a"], ["addNode", "b"], ["addNode", "c"], ["removeNode", "a"], ["addNode", "d"], ["addNode", "e"], ["addNode", ""]],
    check: (o) => {
      expect(o[3]).toEqual({ ok: { name: "c", podCIDRs: ["10.1.0.0/24"] } });
      expect(o[5]).toEqual({ ok: { name: "d", podCIDRs: ["10.0.0.0/24"] } }); // the first CIDR's cursor wrapped to 0
      expect(o[6]).toMatchObject({ code: "FULL" });
      expect(o[7]).toMatchObject({ code: "INVALID_ARGUMENT" });
    },
  },
  {
    name: "dual stack: IPv6 full rolls the IPv4 subnet back; the pending node is served later",
    options: { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 }, ipv6: { cidrs: ["fd00::/118"], maskSize: 120 } },
    steps: [["addNode", "a"], ["addNode", "b"], ["addNode", "c"], ["addNode", "d"], ["addNode", "e"], ["stats"], ["removeNode", "a"], ["node", "e"], ["addNode", "e"]],
    check: (o) => {
      expect(o[4]).toMatchObject({ code: "FULL" }); // 2^(120-118) = 4 IPv6 subnets
      expect(o[8]).toEqual({ ok: { name: "e", podCIDRs: ["10.0.5.0/24", "fd00::/120"] } }); // the rolled-back IPv4 cursor moved 4 -> 5
    },
  },
  {
    name: "removeNode releases subnets, pods and owners; a recycled range starts empty",
    options: seed,
    steps: [["addNode", "a"], ["allocate", "a", "ns/p1"], ["allocate", "a", "ns/p2"], ["removeNode", "a"], ["removeNode", "a"], ["stats"], ["addressesOf", "ns/p1"], ["lookup", "192.168.0.1"],
      ["addNode", "b"], ...Array.from({ length: 15 }, (_, i) => ["addNode", `n${i}`] as const), ["lookup", "192.168.0.1"], ["allocate", "n14", "x/y"]],
    check: (o) => {
      expect(o[4]).toEqual({ ok: false });
      expect(o[7]).toEqual({ ok: undefined });
      expect(o[24]).toMatchObject({ ok: { node: "n14", allocated: false } }); // steps 8..23: b, n0..n14; n14 wrapped onto a's old subnet
      expect(o[25]).toEqual({ ok: { ipv4: "192.168.0.1" } });
    },
  },
  {
    name: "wanted addresses, and bad ones that take nothing",
    options: dual,
    steps: [["addNode", "a"], ["addNode", "b"], ["allocate", "a", "ns/p", ["10.0.0.9", "fd00::9"]], ["allocate", "a", "ns/q", "10.0.0.10"],
      ["allocate", "a", "ns/x", "10.0.0.9"], ["allocate", "a", "ns/x", "10.0.1.9"], ["allocate", "a", "ns/x", "10.0.0.0"], ["allocate", "a", "ns/x", "10.0.0.255"],
      ["allocate", "a", "ns/x", "nope"], ["allocate", "a", "ns/x", ["10.0.0.20", "10.0.0.21"]], ["allocate", "a", "ns/x", ["10.0.0.20", "fd00::100"]],
      ["addressesOf", "ns/x"], ["stats"]],
    check: (o) => {
      expect(o[3]).toEqual({ ok: { ipv4: "10.0.0.10", ipv6: "fd00::1" } });
      expect(o.slice(4, 11).map((x) => ("code" in x ? x.code : "ok"))).toEqual(["ALREADY_ALLOCATED", "NOT_IN_RANGE", "NOT_IN_RANGE", "NOT_IN_RANGE", "INVALID_IP", "INVALID_ARGUMENT", "NOT_IN_RANGE"]);
      expect(o[11]).toEqual({ ok: [] });
    },
  },
  {
    name: "unknown node, bad owner, release and releaseOwner",
    options: dual,
    steps: [["allocate", "ghost", "ns/p"], ["addNode", "a"], ["allocate", "a", ""], ["allocate", "a", "ns/p"], ["allocate", "a", "ns/p"], ["allocate", "a", "ns/q"],
      ["release", "10.0.0.3", "ns/p"], ["release", "10.0.0.3"], ["release", "10.0.0.3"], ["release", "8.8.8.8"], ["release", "nope"],
      ["releaseOwner", "ns/p"], ["releaseOwner", "ns/p"], ["lookup", "10.0.0.1"], ["stats"]],
    check: (o) => {
      expect(o[0]).toEqual({ code: "UNKNOWN_NODE", message: 'ipcarve: unknown node "ghost"' });
      expect(o[6]).toMatchObject({ code: "OWNER_MISMATCH" }); // 10.0.0.3 is ns/q's
      expect(o[7]).toEqual({ ok: true });
      expect(o[8]).toEqual({ ok: false });
      expect(o[11]).toEqual({ ok: ["10.0.0.1", "10.0.0.2", "fd00::1", "fd00::2"] });
      expect(o[12]).toEqual({ ok: [] });
    },
  },
  {
    name: "router IPs reserved, smaller overflow subnets",
    options: { ipv4: { cidrs: ["10.0.0.0/23"], maskSize: 24 }, maxNodeSubnets: 1, overflow: { smaller: 26 }, reserveRouterIP: "first" },
    steps: [["addNode", "a"], ["addNode", "b"], ["addNode", "c"], ["allocate", "a", "ns/p"], ["allocate", "b", "ns/q"], ["node", "b"], ["lookup", "10.0.0.1"]],
    check: (o) => {
      expect(o[1]).toEqual({ ok: { name: "b", podCIDRs: ["10.0.1.0/26"] } }); // one big /24, then /26 holes
      expect(o[3]).toEqual({ ok: { ipv4: "10.0.0.2" } }); // .1 is a's router
    },
  },
  {
    name: "reuse cooldown: a released address waits cooldownMs, then is handed out again",
    // 10.0.0.0/24 in /29 node subnets: 2^(29-24) = 32 subnets of 8, pod addresses .1-.6 (network and broadcast out)
    options: { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 29 }, reuse: { cooldownMs: 1000 }, clock },
    steps: [["addNode", "a"], ...pods("a", 6), ["release", "10.0.0.3"], ["allocate", "a", "ns/x"], ["lookup", "10.0.0.3"], ["stats"],
      ["advance", 999], ["allocate", "a", "ns/x"], ["allocate", "a", "ns/x", "10.0.0.3"], ["advance", 1], ["allocate", "a", "ns/x"], ["node", "a"], ["stats"]],
    check: (o) => {
      expect(o[6]).toEqual({ ok: { ipv4: "10.0.0.6" } });
      expect(o[7]).toEqual({ ok: true });
      expect(o[8]).toMatchObject({ code: "FULL" }); // .3 cools until t = 0 + 1000
      expect(o[9]).toEqual({ ok: { node: "a", podCIDR: "10.0.0.0/29", allocated: true } }); // taken, by no owner, while it cools
      expect(o[12]).toMatchObject({ code: "FULL" }); // t = 999
      expect(o[13]).toMatchObject({ code: "ALREADY_ALLOCATED" }); // asked for while it cools
      expect(o[15]).toEqual({ ok: { ipv4: "10.0.0.3" } }); // t = 1000: due
    },
  },
  {
    name: "reuse minFreeBeforeReuse: an address comes back once that many releases stand behind it",
    options: { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 29 }, reuse: { minFreeBeforeReuse: 2 }, clock },
    steps: [["addNode", "a"], ...pods("a", 6), ["release", "10.0.0.2"], ["release", "10.0.0.5"], ["allocate", "a", "ns/x"],
      ["release", "10.0.0.4"], ["allocate", "a", "ns/x"], ["allocate", "a", "ns/y"], ["releaseOwner", "default/p-0"], ["stats"]],
    check: (o) => {
      expect(o[9]).toMatchObject({ code: "FULL" }); // two in cooldown, none with 2 behind it
      expect(o[11]).toEqual({ ok: { ipv4: "10.0.0.2" } }); // .4 is the second release after .2
      expect(o[12]).toMatchObject({ code: "FULL" });
    },
  },
  {
    name: "reuse: a removed node's cooldowns do not follow its subnet to the next node",
    options: { ipv4: { cidrs: ["10.0.0.0/28"], maskSize: 29 }, reuse: { cooldownMs: 1000 }, clock },
    steps: [["addNode", "a"], ["addNode", "b"], ["allocate", "a", "ns/p"], ["allocate", "a", "ns/q"], ["release", "10.0.0.1"], ["stats"],
      ["removeNode", "a"], ["addNode", "c"], ["allocate", "c", "ns/r"], ["node", "c"], ["stats"], ["advance", 2000], ["allocate", "c", "ns/s"], ["stats"]],
    check: (o) => {
      expect(o[7]).toEqual({ ok: { name: "c", podCIDRs: ["10.0.0.0/29"] } }); // 2 subnets: c takes a's
      expect(o[8]).toEqual({ ok: { ipv4: "10.0.0.1" } }); // a new incarnation starts empty
    },
  },
  {
    name: "removeNode with graceMs: the node drains (no new pods, keeps its subnet and pods), then goes at its deadline; the pending node is served",
    // 10.0.0.0/23 in /24s: 2 subnets, so c waits until a's goes
    options: { ipv4: { cidrs: ["10.0.0.0/23"], maskSize: 24 }, clock },
    steps: [["addNode", "a"], ["addNode", "b"], ["allocate", "a", "ns/p"], ["addNode", "c"], ["removeNode", "a", { graceMs: 1000 }],
      ["allocate", "a", "ns/q"], ["node", "a"], ["lookup", "10.0.0.1"], ["addNode", "a"], ["stats"], ["advance", 999], ["stats"], ["addNode", "c"],
      ["advance", 1], ["stats"], ["node", "c"], ["lookup", "10.0.0.1"], ["addressesOf", "ns/p"], ["removeNode", "a"], ["allocate", "c", "ns/r"]],
    check: (o) => {
      expect(o[4]).toEqual({ ok: true });
      expect(o[5]).toMatchObject({ code: "UNKNOWN_NODE" }); // being removed
      expect(o[6]).toMatchObject({ ok: { status: "draining", podCIDRs: ["10.0.0.0/24"] } });
      expect(o[7]).toEqual({ ok: { node: "a", podCIDR: "10.0.0.0/24", owner: "ns/p", allocated: true } });
      expect(o[12]).toMatchObject({ code: "FULL" }); // t = 999: a still holds 10.0.0.0/24
      expect(o[15]).toMatchObject({ ok: { status: "ready", podCIDRs: ["10.0.0.0/24"] } }); // t = 1000: a went, c took its subnet
      expect(o[16]).toEqual({ ok: { node: "c", podCIDR: "10.0.0.0/24", allocated: false } });
      expect(o[17]).toEqual({ ok: [] });
      expect(o[18]).toEqual({ ok: false });
      expect(o[19]).toEqual({ ok: { ipv4: "10.0.0.1" } }); // a recycled range starts empty
    },
  },
  {
    name: "removeNode with graceMs: again removes at once; pending or unknown nodes go at once; bad grace periods",
    options: { ipv4: { cidrs: ["10.0.0.0/23"], maskSize: 24 }, clock },
    steps: [["addNode", "a"], ["addNode", "b"], ["addNode", "c"], ["removeNode", "a", { graceMs: 500 }], ["removeNode", "a", { graceMs: 500 }], ["node", "c"],
      ["removeNode", "b", { graceMs: Infinity }], ["advance", 1e9], ["stats"], ["removeNode", "c", { graceMs: 10 }], ["removeNode", "ghost", { graceMs: 10 }],
      ["removeNode", "b", { graceMs: -1 }], ["removeNode", "b", { graceMs: "1s" }], ["removeNode", "b", { grace: 1 }], ["removeNode", "", { graceMs: 1 }], ["node", "b"]],
    check: (o) => {
      expect(o[4]).toEqual({ ok: true }); // a draining node removed again: at once
      expect(o[5]).toMatchObject({ ok: { status: "ready", podCIDRs: ["10.0.0.0/24"] } });
      expect(o[10]).toEqual({ ok: false });
      expect(o.slice(11, 15).map((x) => ("code" in x ? x.code : "ok"))).toEqual(["INVALID_OPTION", "INVALID_OPTION", "INVALID_OPTION", "INVALID_ARGUMENT"]);
      expect(o[15]).toMatchObject({ ok: { status: "draining" } }); // a grace period that never ends
    },
  },
  {
    name: "reserve and unreserve: subnets carving skips, addresses no pod gets; IN_USE, ALREADY_ALLOCATED, NOT_IN_RANGE",
    // 10.0.0.0/22 in /24s: slots 0-3
    options: { ipv4: { cidrs: ["10.0.0.0/22"], maskSize: 24 } },
    steps: [["addNode", "a"], ["reserve", "10.0.1.0/24"], ["addNode", "b"], ["allocate", "a", "ns/p"], ["reserve", "10.0.0.2/31"], ["allocate", "a", "ns/q"],
      ["reserve", "10.0.0.1/32"], ["reserve", "10.0.0.0/24"], ["reserve", "10.9.0.0/24"], ["reserve", "nope"], ["lookup", "10.0.0.2"], ["stats"],
      ["addNode", "c"], ["addNode", "d"], ["unreserve", "10.0.1.0/24"], ["node", "d"], ["unreserve", "10.0.0.2/31"], ["allocate", "a", "ns/r"], ["unreserve", "10.0.3.0/24"], ["stats"]],
    check: (o) => {
      expect(o[2]).toEqual({ ok: { name: "b", podCIDRs: ["10.0.2.0/24"] } }); // slot 1 reserved
      expect(o[5]).toEqual({ ok: { ipv4: "10.0.0.4" } }); // .2 and .3 reserved
      expect(o.slice(6, 10).map((x) => ("code" in x ? x.code : "ok"))).toEqual(["ALREADY_ALLOCATED", "IN_USE", "NOT_IN_RANGE", "INVALID_CIDR"]);
      expect(o[13]).toMatchObject({ code: "FULL" }); // slots 0, 2, 3 held, 1 reserved
      expect(o[15]).toMatchObject({ ok: { status: "ready", podCIDRs: ["10.0.1.0/24"] } }); // served by the unreserve
      expect(o[17]).toEqual({ ok: { ipv4: "10.0.0.5" } }); // next-fit goes on from .4
    },
  },
  {
    name: "addPoolCidr serves pending nodes from the new CIDR; removePoolCidr only when empty; errors",
    options: { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 24 }, ipv6: { cidrs: ["fd00::/120"], maskSize: 120 } },
    steps: [["addNode", "a"], ["addNode", "b"], ["addPoolCidr", "10.1.0.0/24"], ["node", "b"], ["addPoolCidr", "fd01::/120"], ["node", "b"], ["poolCidrs"],
      ["addPoolCidr", "10.0.0.0/16"], ["addPoolCidr", 4, "fd02::/120"], ["addPoolCidr", "10.2.0.0/25"], ["addPoolCidr", "x"], ["addPoolCidr", 5, "10.3.0.0/24"],
      ["removePoolCidr", "10.1.0.0/24"], ["removeNode", "b"], ["removePoolCidr", "10.1.0.0/24"], ["removePoolCidr", "10.1.0.0/24"], ["addNode", "c"],
      ["addPoolCidr", 4, "10.4.0.0/24"], ["addNode", "c"], ["allocate", "c", "ns/p"], ["poolCidrs"], ["stats"]],
    check: (o) => {
      expect(o[1]).toMatchObject({ code: "FULL" });
      expect(o[5]).toMatchObject({ ok: { status: "ready", podCIDRs: ["10.1.0.0/24", "fd01::/120"] } });
      expect(o.slice(7, 12).map((x) => ("code" in x ? x.code : "ok"))).toEqual(["CIDR_COLLISION", "FAMILY_MISMATCH", "INVALID_MASK", "INVALID_CIDR", "INVALID_ARGUMENT"]);
      expect(o[12]).toMatchObject({ code: "IN_USE" });
      expect(o[15]).toMatchObject({ code: "NOT_IN_RANGE" });
      expect(o[18]).toEqual({ ok: { name: "c", podCIDRs: ["10.4.0.0/24", "fd01::/120"] } });
    },
  },
  {
    name: "overflow 'share': past the big holes a node borrows from the subnet with the most free addresses; its removal gives them back",
    // 10.0.0.0/23 in /24s, 2 big holes: c shares; 2^(32-24) - 2 = 254 pod addresses per subnet
    options: { ipv4: { cidrs: ["10.0.0.0/23"], maskSize: 24 }, maxNodeSubnets: 2, overflow: "share" },
    steps: [["addNode", "a"], ["addNode", "b"], ["addNode", "c"], ["node", "c"], ["allocate", "a", "ns/a1"], ["allocate", "a", "ns/a2"],
      ["allocate", "c", "ns/c1"], ["lookup", "10.0.1.1"], ["allocate", "b", "ns/b1"], ["allocate", "c", "ns/c2"], ["addressesOf", "ns/c2"], ["stats"],
      ["release", "10.0.1.1", "ns/x"], ["removeNode", "c"], ["lookup", "10.0.1.1"], ["allocate", "b", "ns/b2"], ["addNode", "c"], ["allocate", "c", "ns/c3", "10.0.0.9"],
      ["releaseOwner", "ns/c3"], ["removeNode", "a"], ["allocate", "c", "ns/c4"], ["node", "c"], ["stats"]],
    check: (o) => {
      expect(o[2]).toEqual({ ok: { name: "c", podCIDRs: [] } });
      expect(o[3]).toMatchObject({ ok: { sharing: [4] } });
      expect(o[6]).toEqual({ ok: { ipv4: "10.0.1.1" } }); // b has the most free (254 > 252)
      expect(o[7]).toEqual({ ok: { node: "c", podCIDR: "10.0.1.0/24", owner: "ns/c1", allocated: true } });
      expect(o[12]).toMatchObject({ code: "OWNER_MISMATCH" });
      expect(o[14]).toMatchObject({ ok: { node: "b", allocated: false } }); // given back with c
      expect(o[17]).toMatchObject({ code: "NOT_IN_RANGE" }); // a sharing node has no subnet of its own to ask in
      expect(o[19]).toEqual({ ok: true });
      expect(o[9]).toEqual({ ok: { ipv4: "10.0.0.3" } }); // a and b both 252 free: the first
      expect(o[20]).toEqual({ ok: { ipv4: "10.0.1.4" } }); // only b's subnet is left: its cursor is past b2's .3
    },
  },
];

describe("SharedPool without the etcd3 package", () => {
  it("the library loads; connect throws an IpamError saying npm install etcd3", () => {
    // a child whose module resolution cannot find etcd3 (runs the compiled dist/)
    const fixtures = new URL("./fixtures/", import.meta.url);
    const r = spawnSync(process.execPath, ["--import", fileURLToPath(new URL("no-etcd3.mjs", fixtures)), fileURLToPath(new URL("no-etcd3-child.mjs", fixtures))], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { name: string; code: string; message: string; ok: string };
    expect(out).toMatchObject({ name: "IpamError", code: "MISSING_DEPENDENCY", ok: "10.0.0.1" });
    expect(out.message).toMatch(/^ipcarve: SharedPool\.connect .*npm install etcd3/);
  });
});

describe("SharedPool.connect checks the store options first (no etcd needed)", () => {
  const ok = { endpoints: ["http://127.0.0.1:9"], prefix: "/p" };
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ["store.endpoints", { ...ok, endpoints: [] }, /non-empty array of URLs/],
    ["store.endpoints", { ...ok, endpoints: ["127.0.0.1:2379"] }, /non-empty array of URLs/],
    ["store.prefix", { ...ok, prefix: "/" }, /non-empty key prefix/],
    ["store.timeoutMs", { ...ok, timeoutMs: 0 }, /integer of at least 1/],
    ["store.maxBatch", { ...ok, maxBatch: 101 }, /at most 100/],
    ["store.leaseTtlS", { ...ok, leaseTtlS: 0.5 }, /integer of at least 1 \(got 0\.5\)/],
    ["store.lease", { ...ok, lease: 3 }, /./],
  ];
  it.each(bad)("%s: %j", async (path, store, message) => {
    const e = await SharedPool.connect(store as never, seed).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(IpamError);
    expect(e).toMatchObject({ code: "INVALID_OPTION", path });
    expect((e as IpamError).message).toMatch(message);
  });

  it("named pools (options.pools) are INVALID_OPTION before any connection (it said 'the pool is disposed')", async () => {
    const e = await SharedPool.connect(ok, { pools: { default: { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 27 } } } } as never).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: "INVALID_OPTION", path: "options.pools" });
    expect((e as IpamError).message).toBe("ipcarve: options.pools named pools are not available on a SharedPool: it shares one cluster pool (single-pool options) through etcd; keep named pools in one process (new ClusterPool, or ClusterPool.open with a FileStore)");
  });
});

describe.skipIf("missing" in bin)("SharedPool, one process, gives ClusterPool's results", () => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await EtcdCluster.start(1);
  });
  afterAll(async () => {
    await etcd?.close();
  });
  let n = 0;
  const store = (): { endpoints: string[]; prefix: string } => ({ endpoints: etcd.endpoints, prefix: `/t/${process.pid}/${++n}` });

  it.each(cases)("$name", async (c) => {
    const want = await run(local(new ClusterPool(c.options)), c.steps);
    const sp = await SharedPool.connect(store(), c.options);
    try {
      const got = await run(shared(sp), c.steps);
      expect(got).toEqual(want);
      c.check?.(got);
      expect(await sp.verify()).toEqual([]);
    } finally {
      await sp.close();
    }
  });

  it("a second process rebuilds the same pool from the keys (one ranged read plus a watch)", async () => {
    const s = store();
    const a = await SharedPool.connect(s, dual);
    const b = await SharedPool.connect(s, dual);
    try {
      await a.addNode("n1");
      await a.allocate("n1", "ns/a");
      // b learnt of n1 from its watch or its barrier: its answers are a's
      expect(await b.lookup("10.0.0.1")).toEqual({ node: "n1", podCIDR: "10.0.0.0/24", owner: "ns/a", allocated: true });
      expect(await b.allocate("n1", "ns/b")).toEqual({ ipv4: "10.0.0.2", ipv6: "fd00::2" });
      expect(await a.addressesOf("ns/b")).toEqual(["10.0.0.2", "fd00::2"]);
      const c = await SharedPool.connect(s, dual); // a cold start: one ranged read
      expect(await c.stats()).toEqual(await a.stats());
      expect(await c.releaseOwner("ns/a")).toEqual(["10.0.0.1", "fd00::1"]);
      expect(await a.lookup("10.0.0.1")).toMatchObject({ allocated: false });
      await c.close();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("reuse: an address cooling in one process is not handed out by another, nor after a cold start; it is once due", async () => {
    const s = store();
    // two processes on one virtual clock (the cooldown assumes clocks in step); a /29 has pod addresses .1-.6
    const o: ClusterPoolOptions = { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 29 }, reuse: { cooldownMs: 1000 }, clock };
    time.now = 0;
    const a = await SharedPool.connect(s, o);
    const b = await SharedPool.connect(s, o);
    try {
      await a.addNode("n");
      for (let i = 0; i < 6; i++) await b.allocate("n", `ns/${i}`); // b fills n: .1-.6
      time.now = 100;
      expect(await a.release("10.0.0.2")).toBe(true); // a's cache: .2 cools until 1100
      // b's cache learns the cooldown from the block: FULL, and not FULL because of a stale cache
      await expect(b.allocate("n", "ns/x")).rejects.toMatchObject({ code: "FULL" });
      expect((await b.stats()).cooldown).toBe(1);
      const c = await SharedPool.connect(s, o); // cold start: the release time comes from the key
      time.now = 1099;
      await expect(c.allocate("n", "ns/x")).rejects.toMatchObject({ code: "FULL" });
      await expect(b.allocate("n", "ns/x", "10.0.0.2")).rejects.toMatchObject({ code: "ALREADY_ALLOCATED" });
      time.now = 1100;
      expect(await c.allocate("n", "ns/x")).toEqual({ ipv4: "10.0.0.2" });
      await expect(b.allocate("n", "ns/y")).rejects.toMatchObject({ code: "FULL" }); // b's expiry lost to c's allocation
      expect(await a.lookup("10.0.0.2")).toMatchObject({ owner: "ns/x" });
      expect((await a.stats()).cooldown).toBe(0);
      expect(await a.verify()).toEqual([]);
      await c.close();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("reuse, randomized across three processes: no address is handed out twice, nor before cooldownMs after its release", async () => {
    const s = store();
    // 10.0.0.0/26 in /28s: 4 nodes of 14 pod addresses; a small pool, so addresses come back often
    const o: ClusterPoolOptions = { ipv4: { cidrs: ["10.0.0.0/26"], maskSize: 28 }, reuse: { cooldownMs: 100 }, clock };
    time.now = 0;
    const ps = [await SharedPool.connect(s, o), await SharedPool.connect(s, o), await SharedPool.connect(s, o)];
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const held = new Map<string, string>(); // ip -> owner
    const released = new Map<string, number>(); // ip -> release time
    let allocations = 0;
    let reused = 0;
    try {
      for (const n of ["a", "b", "c", "d"]) await ps[0]?.addNode(n);
      for (let step = 0; step < 120; step++) {
        // up to three calls at once, one per process, at one instant
        const calls = ps.map(async (p, i) => {
          if (rand(3) === 0 || held.size === 0) {
            const owner = `ns/${step}-${i}`;
            const r = await p.allocate(["a", "b", "c", "d"][rand(4)] as string, owner).catch((e: IpamError) => e);
            if (r instanceof IpamError) return expect(r.code).toBe("FULL");
            const ip = r.ipv4 as string;
            expect(held.has(ip), `${ip} handed out twice`).toBe(false);
            const at = released.get(ip);
            if (at !== undefined) {
              expect(time.now, `${ip} released at ${at}, handed out again at ${time.now}`).toBeGreaterThanOrEqual(at + 100);
              reused++;
            }
            held.set(ip, owner);
            allocations++;
          } else {
            const ips = [...held.keys()];
            const ip = ips[rand(ips.length)] as string;
            const owner = held.get(ip) as string;
            held.delete(ip); // before the await: no other call of this instant picks it
            expect(await p.release(ip, owner)).toBe(true);
            released.set(ip, time.now);
          }
        });
        await Promise.all(calls);
        time.now += rand(40);
      }
      expect(allocations).toBeGreaterThan(100);
      expect(reused).toBeGreaterThan(0); // the test saw addresses come back
      const stats = await Promise.all(ps.map((p) => p.stats()));
      expect(stats.map((x) => x.pods)).toEqual(ps.map(() => held.size));
      expect(await ps[1]?.verify()).toEqual([]);
    } finally {
      for (const p of ps) await p.close();
    }
  });

  it("pool-level changes cross processes: a grown pool serves another's pending node; a later connect compares the original options and sees the grown pool", async () => {
    const s = store();
    const o: ClusterPoolOptions = { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 24 } };
    const a = await SharedPool.connect(s, o);
    const b = await SharedPool.connect(s, o);
    try {
      await a.addNode("n1");
      await expect(b.addNode("n2")).rejects.toMatchObject({ code: "FULL" }); // one /24, held by n1
      await a.addPoolCidr("10.1.0.0/24"); // a's cache has n2 pending (from b's key): served in the same transaction
      expect(await b.node("n2")).toMatchObject({ status: "ready", podCIDRs: ["10.1.0.0/24"] });
      await b.reserve("10.1.0.1/32");
      expect(await a.allocate("n2", "ns/p")).toEqual({ ipv4: "10.1.0.2" }); // b's reservation holds in a
      const c = await SharedPool.connect(s, o); // the original options: accepted
      expect(await c.poolCidrs()).toEqual([{ family: 4, cidrs: ["10.0.0.0/24", "10.1.0.0/24"] }]);
      await expect(c.allocate("n2", "ns/q", "10.1.0.1")).rejects.toMatchObject({ code: "ALREADY_ALLOCATED" }); // reserved: taken, as ClusterPool says
      const e = await SharedPool.connect(s, { ipv4: { cidrs: ["10.0.0.0/24", "10.1.0.0/24"], maskSize: 24 } }).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: "INVALID_OPTION", path: "options.ipv4.cidrs[1]" });
      const d = await SharedPool.connect(s); // the stored options, then the pool key
      expect(await d.stats()).toEqual(await a.stats());
      await a.removeNode("n2");
      await d.removePoolCidr("10.1.0.0/24");
      expect(await b.poolCidrs()).toEqual([{ family: 4, cidrs: ["10.0.0.0/24"] }]);
      expect(await a.verify()).toEqual([]);
      await c.close();
      await d.close();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("a reservation racing allocations in another process: either the address is reserved and no pod has it, or ALREADY_ALLOCATED and a pod has it", async () => {
    const o: ClusterPoolOptions = { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 24 } };
    for (let round = 0; round < 6; round++) {
      const s = store();
      const a = await SharedPool.connect(s, o);
      const b = await SharedPool.connect(s, o);
      try {
        await a.addNode("n");
        await b.node("n");
        const target = `10.0.0.${3 + round}`;
        const [r] = await Promise.allSettled([a.reserve(`${target}/32`), ...Array.from({ length: 8 }, (_, i) => b.allocate("n", `ns/${i}`))]);
        const holder = await b.lookup(target);
        if (r?.status === "fulfilled") expect(holder?.owner).toBeUndefined();
        else expect([(r?.reason as IpamError).code, holder?.allocated]).toEqual(["ALREADY_ALLOCATED", true]);
        expect(await a.verify()).toEqual([]);
      } finally {
        await a.close();
        await b.close();
      }
    }
  });

  it("overflow 'share': an address lent in one process is the borrower's in every other; the lender's removal takes it back everywhere", async () => {
    const s = store();
    const o: ClusterPoolOptions = { ipv4: { cidrs: ["10.0.0.0/23"], maskSize: 24 }, maxNodeSubnets: 2, overflow: "share" };
    const a = await SharedPool.connect(s, o);
    const b = await SharedPool.connect(s, o);
    try {
      await a.addNode("a");
      await a.addNode("b");
      await b.addNode("c"); // shares
      await a.allocate("a", "ns/a1");
      expect(await b.allocate("c", "ns/c1")).toEqual({ ipv4: "10.0.1.1" }); // from b's subnet (most free), written into b's block
      expect(await a.lookup("10.0.1.1")).toEqual({ node: "c", podCIDR: "10.0.1.0/24", owner: "ns/c1", allocated: true });
      expect(await a.allocate("b", "ns/b1")).toEqual({ ipv4: "10.0.1.2" }); // a's cache knows .1 is taken
      const cold = await SharedPool.connect(s, o);
      expect(await cold.lookup("10.0.1.1")).toMatchObject({ node: "c", owner: "ns/c1" }); // rebuilt from the block's b: { 0: "c" }
      expect(await cold.stats()).toEqual(await b.stats());
      await a.removeNode("b"); // the lender goes: c's borrowed address with it
      expect(await b.addressesOf("ns/c1")).toEqual([]);
      expect(await b.allocate("c", "ns/c2")).toEqual({ ipv4: "10.0.0.2" }); // only a's subnet is left
      await b.removeNode("c"); // the borrower goes: a's block gets .2 back
      expect(await a.lookup("10.0.0.2")).toMatchObject({ node: "a", allocated: false });
      expect(await a.verify()).toEqual([]);
      await cold.close();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("overflow 'share' under concurrency: three processes borrowing at once never get one address twice", async () => {
    const s = store();
    const o: ClusterPoolOptions = { ipv4: { cidrs: ["10.0.0.0/23"], maskSize: 24 }, maxNodeSubnets: 2, overflow: "share" };
    const ps = [await SharedPool.connect(s, o), await SharedPool.connect(s, o), await SharedPool.connect(s, o)];
    try {
      await ps[0]?.addNode("a");
      await ps[0]?.addNode("b");
      for (const n of ["s0", "s1", "s2"]) await ps[0]?.addNode(n); // share
      // each process: 60 allocations, 20 in flight, on the sharing nodes and on a and b
      const nodes = ["s0", "s1", "s2", "a", "b"];
      const got = await Promise.all(ps.map((p, i) => Promise.all(Array.from({ length: 60 }, (_, j) => p.allocate(nodes[(i + j) % 5] as string, `ns/${i}-${j}`)))));
      const ips = got.flat().map((r) => r.ipv4 as string);
      expect(new Set(ips).size).toBe(180);
      const st = await Promise.all(ps.map((p) => p.stats()));
      expect(st.map((x) => x.pods)).toEqual([180, 180, 180]);
      for (const p of ps) expect(await p.lookup(ips[7] as string)).toMatchObject({ owner: "ns/0-7", allocated: true });
      expect(await ps[2]?.verify()).toEqual([]);
      await ps[1]?.removeNode("s1"); // gives back what it borrowed, in every block
      expect((await ps[0]?.stats())?.pods).toBe(180 - 36); // s1 held the calls with (i + j) % 5 = 1: 12 of each process's 60
      expect(await ps[0]?.verify()).toEqual([]);
    } finally {
      for (const p of ps) await p.close();
    }
  });

  it("group commit: concurrent calls share one transaction; a lost race past the budget is CONFLICT, with no effect", async () => {
    const s = store();
    const a = await SharedPool.connect({ ...s, maxAttempts: 1 }, seed);
    const b = await SharedPool.connect({ ...s, maxAttempts: 1 }, seed);
    try {
      await a.addNode("n");
      await b.node("n"); // b has seen it
      const before = { a: { ...a.counters }, b: { ...b.counters } };
      // both processes compute on the same block revision before either transaction is sent: one of them loses
      const calls = [...Array.from({ length: 10 }, (_, i) => a.allocate("n", `a/${i}`)), ...Array.from({ length: 10 }, (_, i) => b.allocate("n", `b/${i}`))];
      const out = await Promise.all(calls.map((p) => p.then((r) => r.ipv4 as string, (e: unknown) => e as IpamError)));
      const won = out.filter((x): x is string => typeof x === "string");
      const lost = out.filter((x): x is IpamError => typeof x !== "string");
      expect(won).toHaveLength(10); // one side's batch of 10 committed in one transaction
      expect(new Set(won).size).toBe(10);
      expect(lost.map((e) => e.code)).toEqual(Array(10).fill("CONFLICT"));
      expect(lost[0]?.message).toMatch(/gave up after 1 conflicting attempts .*192\.168\.0\.0\/24/);
      expect(a.counters.txns - before.a.txns + b.counters.txns - before.b.txns).toBe(1);
      const loser = won[0]?.startsWith("192.168.0.") && out.indexOf(won[0]) < 10 ? "b" : "a";
      for (let i = 0; i < 10; i++) expect(await a.addressesOf(`${loser}/${i}`)).toEqual([]);
      // with a budget, the loser retries on the fresh block and gets the next ten addresses
      const c = await SharedPool.connect(s, seed);
      const more = await Promise.all(Array.from({ length: 10 }, (_, i) => c.allocate("n", `c/${i}`)));
      expect(more.map((r) => r.ipv4)).toEqual(Array.from({ length: 10 }, (_, i) => `192.168.0.${11 + i}`)); // .1-.10 taken above
      await c.close();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("the options are stored by the first connect; a different one is INVALID_OPTION naming the field", async () => {
    const s = store();
    const a = await SharedPool.connect(s, seed);
    try {
      const cases: [ClusterPoolOptions, string][] = [
        [{ ipv4: { cidrs: ["192.168.0.0/20"], maskSize: 25 } }, "options.ipv4.maskSize"],
        [{ ipv4: { cidrs: ["192.168.0.0/21"], maskSize: 24 } }, "options.ipv4.cidrs[0]"],
        [{ ...seed, reserveRouterIP: "last" }, "options.reserveRouterIP"],
      ];
      for (const [o, path] of cases) {
        const e = await SharedPool.connect(s, o).then(() => undefined, (x: unknown) => x);
        expect(e).toBeInstanceOf(IpamError);
        expect((e as IpamError).code).toBe("INVALID_OPTION");
        expect((e as IpamError).path).toBe(path);
      }
      const e = await SharedPool.connect(s, { ...seed, reuse: { cooldownMs: 10 } }).catch((x: unknown) => x);
      expect((e as IpamError).path).toBe("options.reuse"); // stored: nothing; given: the cooldown
    } finally {
      await a.close();
    }
  });

  it("etcd unreachable: UNAVAILABLE naming the endpoint", async () => {
    const e = await SharedPool.connect({ endpoints: ["http://127.0.0.1:9"], prefix: "/x", timeoutMs: 300, attemptMs: 100 }, seed).catch((x: unknown) => x);
    expect((e as IpamError).code).toBe("UNAVAILABLE");
    expect((e as IpamError).message).toContain("http://127.0.0.1:9");
  });

  it("keys that contradict each other (damaged by hand): calls fail with CORRUPT_STATE at their deadline, with no effect, instead of waiting for ever", async () => {
    const s = store();
    const pool = await SharedPool.connect({ ...s, timeoutMs: 600 }, seed);
    const raw = new Etcd3({ hosts: etcd.endpoints });
    try {
      await pool.addNode("a");
      await raw.put(`${pool.prefix}blocks/0/7`).value(JSON.stringify({ node: "ghost", n: 1, a: { 3: "ns/z" } })); // no node holds slot 7
      const t0 = Date.now();
      const e = await pool.stats().catch((x: unknown) => x);
      expect(e).toMatchObject({ code: "CORRUPT_STATE" });
      expect((e as IpamError).message).toMatch(/do not rebuild into one pool \(verify\(\) names the problems\)/);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect((await pool.verify()).join("\n")).toMatch(/names node "ghost"/);
      await raw.delete().key(`${pool.prefix}blocks/0/7`);
      expect(await pool.allocate("a", "ns/p")).toEqual({ ipv4: "192.168.0.1" }); // put right: served again
    } finally {
      raw.close();
      await pool.close();
    }
  });

  it("verify() finds each inconsistency injected by hand into the keys", async () => {
    const s = store();
    const pool = await SharedPool.connect(s, seed);
    const raw = new Etcd3({ hosts: etcd.endpoints });
    const root = pool.prefix;
    try {
      await pool.addNode("a"); // 192.168.0.0/24: pool 0, slot 0
      await pool.addNode("b"); // slot 1
      await pool.allocate("a", "ns/p"); // offset 1
      expect(await pool.verify()).toEqual([]);
      const block0 = (await raw.get(`${root}blocks/0/0`).string()) as string;
      const node0 = (await raw.get(`${root}nodes/a`).string()) as string;
      const claim1 = (await raw.get(`${root}claims/0/1`).string()) as string;
      // each injection, the problem it must produce, then the key put back
      const injections: { name: string; put: [string, string | null][]; want: RegExp }[] = [
        { name: "a subnet held by two nodes", put: [[`${root}nodes/b`, JSON.stringify({ status: "ready", placed: [{ pool: 0, slot: 0, k: 0 }] })]], want: /held by two nodes/ },
        { name: "a claim without its node", put: [[`${root}claims/0/5`, "ghost"]], want: /claimed by "ghost", which does not hold it/ },
        { name: "a node without its claim", put: [[`${root}claims/0/1`, null]], want: /holds slot 0\/1 without its claim/ },
        { name: "an address without its block's node", put: [[`${root}blocks/0/7`, JSON.stringify({ node: "ghost", n: 1, a: { 3: "ns/z" } })]], want: /names node "ghost", which does not hold/ },
        { name: "a counter that does not match", put: [[`${root}blocks/0/0`, JSON.stringify({ node: "a", n: 2, a: { 1: "ns/p" } })]], want: /counts 2 addresses but lists 1/ },
        { name: "an address outside its subnet", put: [[`${root}blocks/0/0`, JSON.stringify({ node: "a", n: 2, a: { 1: "ns/p", 300: "ns/q" } })]], want: /offset 300 is outside its subnet/ },
        { name: "a node without its block", put: [[`${root}blocks/0/0`, null]], want: /has no block/ },
        { name: "a damaged node record", put: [[`${root}nodes/a`, "{not json"]], want: /not a node record/ },
        { name: "a damaged pool key", put: [[`${root}pool`, JSON.stringify({ ops: [{ op: "reserve" }] })]], want: /pool: not a list of pool-level records/ },
        { name: "a cooldown without its release time", put: [[`${root}blocks/0/0`, JSON.stringify({ node: "a", n: 1, a: { 1: "ns/p" }, q: { 2: "soon" } })]], want: /blocks\/0\/0: not a block/ },
        { name: "a draining node without its deadline", put: [[`${root}nodes/b`, JSON.stringify({ status: "draining", placed: [{ pool: 0, slot: 1, k: 0 }] })]], want: /nodes\/b: not a node record/ },
      ];
      for (const inj of injections) {
        for (const [k, v] of inj.put) v === null ? await raw.delete().key(k) : await raw.put(k).value(v);
        const problems = await pool.verify();
        expect(problems.join("\n"), inj.name).toMatch(inj.want);
        await raw.put(`${root}blocks/0/0`).value(block0);
        await raw.put(`${root}nodes/a`).value(node0);
        await raw.put(`${root}nodes/b`).value(JSON.stringify({ status: "ready", placed: [{ pool: 0, slot: 1, k: 0 }] }));
        await raw.put(`${root}claims/0/1`).value(claim1);
        await raw.delete().key(`${root}claims/0/5`);
        await raw.delete().key(`${root}blocks/0/7`);
        await raw.delete().key(`${root}pool`);
        expect(await pool.verify(), `${inj.name}, put back`).toEqual([]);
      }
    } finally {
      raw.close();
      await pool.close();
    }
  });
});
