import { describe, it, expect } from "vitest";
import { err } from "./helpers.js";
import { ClusterPool } from "../src/index.js";


describe("maxNodeSubnets (the seed's numBigHoleIPAMs)", () => {
  const derived: { cidr: string; n: number; mask: number }[] = [
    { cidr: "192.168.0.0/20", n: 16, mask: 24 }, // 20 + ceil(log2 16) = 24
    { cidr: "192.168.0.0/20", n: 17, mask: 25 }, // 20 + ceil(log2 17) = 25
    { cidr: "10.0.0.0/8", n: 1, mask: 8 }, // 8 + ceil(log2 1) = 8
    { cidr: "10.0.0.0/16", n: 100, mask: 23 }, // 16 + ceil(log2 100) = 16 + 7
  ];
  it.each(derived)("$cidr with $n derives /$mask", (c) => {
    const pool = new ClusterPool({ ipv4: { cidrs: [c.cidr] }, maxNodeSubnets: c.n });
    expect(pool.stats().pools[0]?.nodeMaskSize).toBe(c.mask);
  });

  it("carves at most N node subnets", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 }, maxNodeSubnets: 3 });
    expect(["a", "b", "c"].map((n) => pool.addNode(n).podCIDRs[0])).toEqual(["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"]);
    const e = err(() => pool.addNode("d"));
    expect(e.code).toBe("FULL");
    expect(e.message).toMatch(/maxNodeSubnets 3 reached/);
    pool.removeNode("b"); // d was pending: it takes the freed big hole
    expect(pool.node("d")?.podCIDRs).toEqual(["10.0.3.0/24"]); // next-fit cursor moved on to slot 3
  });

  it("N larger than the pool names both numbers", () => {
    const e = err(() => new ClusterPool({ ipv4: { cidrs: ["192.168.0.0/20"], maskSize: 24 }, maxNodeSubnets: 32 }));
    expect(e.code).toBe("INVALID_OPTION");
    expect(e.message).toMatch(/options\.maxNodeSubnets 32 is more than the 16 \/24 node subnets/); // 2^(24-20) = 16
  });

  it("rejects a non-integer N", () => {
    expect(err(() => new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/8"] }, maxNodeSubnets: 0 })).code).toBe("INVALID_OPTION");
  });
});

describe("overflow", () => {
  it("'smaller': /16, N = 16, /26 gives 16 /24s and then /26s from the rest", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.1.0.0/16"], maskSize: 24 }, maxNodeSubnets: 16, overflow: { smaller: 26 } });
    const cidrs = Array.from({ length: 20 }, (_, i) => pool.addNode(`n${i}`).podCIDRs[0]);
    expect(cidrs.slice(0, 16)).toEqual(Array.from({ length: 16 }, (_, i) => `10.1.${i}.0/24`));
    // the big holes end at 10.1.15.255; /26 steps are 64 addresses
    expect(cidrs.slice(16)).toEqual(["10.1.16.0/26", "10.1.16.64/26", "10.1.16.128/26", "10.1.16.192/26"]);
    expect(pool.node("n16")?.ranges[0]?.size).toBe(62); // 2^6 - 2
    expect(pool.lookup("10.1.16.70")).toMatchObject({ node: "n17", podCIDR: "10.1.16.64/26" });
    pool.removeNode("n3"); // 15 big holes are out now, so the next node gets a /24 again:
    // next-fit from the cursor (after 10.1.16.192/26) finds the aligned /24 at 10.1.17.0
    expect(pool.addNode("big").podCIDRs).toEqual(["10.1.17.0/24"]);
    expect(pool.addNode("small").podCIDRs).toEqual(["10.1.18.0/26"]);
  });

  it("'smaller' fills the space a freed big hole leaves once N are out", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.1.0.0/22"], maskSize: 24 }, maxNodeSubnets: 2, overflow: { smaller: 26 } });
    pool.addNode("a"); // 10.1.0.0/24
    pool.addNode("b"); // 10.1.1.0/24
    expect(pool.addNode("c").podCIDRs).toEqual(["10.1.2.0/26"]);
  });

  it("'share': beyond the big holes a node borrows from the subnet with the most free addresses", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["192.168.0.0/23"], maskSize: 24 }, maxNodeSubnets: 2, overflow: "share" });
    pool.addNode("a");
    pool.addNode("b");
    expect(pool.addNode("c")).toEqual({ name: "c", podCIDRs: [] });
    expect(pool.node("c")?.sharing).toEqual([4]);
    pool.allocate("a", "ns/a1");
    pool.allocate("a", "ns/a2"); // a: 252 free, b: 254 free
    const ip = pool.allocate("c", "ns/c1").ipv4;
    expect(ip).toBe("192.168.1.1"); // from b, the subnet with the most free
    expect(pool.lookup(ip as string)).toEqual({ node: "c", podCIDR: "192.168.1.0/24", owner: "ns/c1", allocated: true });
    pool.removeNode("c"); // its borrowed addresses go back
    expect(pool.lookup(ip as string)).toMatchObject({ node: "b", allocated: false });
  });

  it("'reject' keeps nodes pending in arrival order", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/23"], maskSize: 24 } });
    pool.addNode("a");
    pool.addNode("b");
    expect(err(() => pool.addNode("c")).code).toBe("FULL");
    expect(err(() => pool.addNode("d")).code).toBe("FULL");
    expect(pool.pendingNodes()).toEqual(["c", "d"]);
    expect(err(() => pool.allocate("c", "ns/x")).code).toBe("FULL");
    pool.removeNode("b");
    expect(pool.pendingNodes()).toEqual(["d"]);
    expect(pool.node("c")?.status).toBe("ready");
    expect(pool.exportCiliumNodes().items.find((i) => i.metadata.name === "d")?.status?.ipam?.["operator-status"]?.error).toMatch(/is full/);
  });
});

describe("reservations", () => {
  it("reserved subnets are skipped by carving and come back on unreserve", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/22"], maskSize: 24 } });
    pool.reserve("10.0.1.0/24");
    expect(["a", "b", "c"].map((n) => pool.addNode(n).podCIDRs[0])).toEqual(["10.0.0.0/24", "10.0.2.0/24", "10.0.3.0/24"]);
    expect(err(() => pool.addNode("d")).code).toBe("FULL");
    pool.unreserve("10.0.1.0/24"); // the pending node gets it
    expect(pool.node("d")?.podCIDRs).toEqual(["10.0.1.0/24"]);
  });

  it("reserving a subnet a node holds is refused, naming the node", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/22"], maskSize: 24 } });
    pool.addNode("a");
    const e = err(() => pool.reserve("10.0.0.0/23"));
    expect(e.code).toBe("IN_USE");
    expect(e.message).toContain('"a"');
    expect(pool.addNode("b").podCIDRs).toEqual(["10.0.1.0/24"]); // nothing was reserved
  });

  it("an explicit occupy (CiliumNode import) may take a reserved subnet, which stays reserved after", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/22"], maskSize: 24 } });
    pool.reserve("10.0.2.0/24");
    expect(pool.importCiliumNodes([{ metadata: { name: "gw" }, spec: { ipam: { podCIDRs: ["10.0.2.0/24"] } } }])[0]).toMatchObject({ outcome: "restored" });
    pool.removeNode("gw");
    for (const n of ["a", "b", "c"]) pool.addNode(n);
    expect(pool.nodeNames().map((n) => pool.node(n)?.podCIDRs[0])).toEqual(["10.0.0.0/24", "10.0.1.0/24", "10.0.3.0/24"]);
  });

  it("reserved pod addresses are skipped, in nodes added before and after", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/22"], maskSize: 24 } });
    pool.addNode("a");
    pool.reserve("10.0.0.0/30"); // .0 (network) .1 .2 .3: the usable .1-.3 are reserved
    pool.reserve("10.0.1.1/32");
    pool.addNode("b");
    expect(pool.allocate("a", "ns/p").ipv4).toBe("10.0.0.4");
    expect(pool.allocate("b", "ns/q").ipv4).toBe("10.0.1.2");
    expect(pool.node("a")?.ranges[0]).toMatchObject({ used: 1, reserved: 3, free: 250 }); // 254 - 3 - 1
    expect(pool.release("10.0.0.2")).toBe(false); // a reserved address is not released by release()
    expect(err(() => pool.reserve("10.0.0.4/32")).code).toBe("ALREADY_ALLOCATED");
    pool.unreserve("10.0.0.0/30");
    expect(pool.node("a")?.ranges[0]).toMatchObject({ reserved: 0 });
    expect(pool.allocate("a", "ns/r", "10.0.0.1").ipv4).toBe("10.0.0.1");
  });

  it("reserveRouterIP takes the first or last usable address of each node", () => {
    for (const [where, ip, next] of [["first", "10.0.0.1", "10.0.0.2"], ["last", "10.0.0.254", "10.0.0.1"]] as const) {
      const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/22"], maskSize: 24 }, reserveRouterIP: where });
      pool.addNode("a");
      expect(pool.node("a")?.ranges[0]).toMatchObject({ routerIP: ip, reserved: 1, used: 0, free: 253 });
      expect(pool.allocate("a", "ns/p").ipv4).toBe(next);
      expect(pool.lookup(ip)).toMatchObject({ node: "a", allocated: true });
      expect(pool.lookup(ip)?.owner).toBeUndefined();
    }
  });
});

describe("pool growth", () => {
  it("addPoolCidr serves pending nodes; overlaps are refused naming the overlap", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 24 } });
    pool.addNode("a");
    expect(err(() => pool.addNode("b")).code).toBe("FULL");
    const e = err(() => pool.addPoolCidr("10.0.0.0/16"));
    expect(e.code).toBe("CIDR_COLLISION");
    expect(e.message).toMatch(/10\.0\.0\.0\/16 overlaps pool CIDR 10\.0\.0\.0\/24/);
    expect(err(() => pool.addPoolCidr("fd00::/104")).message).toBe('ipcarve: pool CIDR "fd00::/104" is not IPv4'); // the pool has no IPv6
    expect(err(() => pool.addPoolCidr(4, "fd00::/104")).code).toBe("FAMILY_MISMATCH");
    expect(err(() => pool.addPoolCidr(6, "fd00::/104")).code).toBe("FAMILY_MISMATCH");
    pool.addPoolCidr("10.9.0.0/23");
    expect(pool.node("b")?.podCIDRs).toEqual(["10.9.0.0/24"]);
    expect(pool.lookup("10.9.0.5")).toMatchObject({ node: "b" });
  });

  it("removePoolCidr is refused while nodes hold subnets in it, naming them, and works when empty", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/24", "10.1.0.0/23"], maskSize: 24 } });
    pool.addNode("a");
    pool.addNode("b");
    const e = err(() => pool.removePoolCidr("10.1.0.0/23"));
    expect(e.code).toBe("IN_USE");
    expect(e.message).toMatch(/1 node\(s\): "b"/);
    pool.removeNode("b");
    pool.removePoolCidr("10.1.0.0/23");
    expect(pool.poolCidrs()).toEqual([{ family: 4, cidrs: ["10.0.0.0/24"] }]);
    expect(pool.lookup("10.1.0.1")).toBeUndefined();
    expect(err(() => pool.addNode("c")).code).toBe("FULL");
  });
});

describe("node removal with a grace period", () => {
  it("keeps subnets and pods until the grace ends, then releases; new pods are refused meanwhile", () => {
    let now = 1000;
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 24 }, clock: () => now });
    pool.addNode("a");
    pool.allocate("a", "ns/p");
    pool.removeNode("a", { graceMs: 500 });
    expect(pool.node("a")?.status).toBe("draining");
    expect(err(() => pool.allocate("a", "ns/q")).code).toBe("UNKNOWN_NODE");
    expect(err(() => pool.addNode("b")).code).toBe("FULL"); // the subnet is still held
    now = 1499;
    expect(pool.stats().nodes).toBe(1);
    now = 1500; // the grace ends: a is released and the pending b gets the subnet
    expect(pool.stats().nodes).toBe(1);
    expect(pool.node("a")).toBeUndefined();
    expect(pool.node("b")?.podCIDRs).toEqual(["10.0.0.0/24"]);
    expect(pool.addressesOf("ns/p")).toEqual([]);
  });
});

describe("reuse cooldown", () => {
  it("a released address is quarantined until the cooldown passes", () => {
    let now = 0;
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/30"], maskSize: 30 }, reuse: { cooldownMs: 100 }, clock: () => now });
    pool.addNode("a"); // 2 usable: .1 .2
    expect(pool.allocate("a", "ns/p").ipv4).toBe("10.0.0.1");
    expect(pool.allocate("a", "ns/q").ipv4).toBe("10.0.0.2");
    pool.release("10.0.0.1");
    expect(pool.stats().cooldown).toBe(1);
    expect(pool.lookup("10.0.0.1")).toEqual({ node: "a", podCIDR: "10.0.0.0/30", allocated: true });
    expect(pool.release("10.0.0.1")).toBe(false); // already in cooldown
    now = 99;
    expect(err(() => pool.allocate("a", "ns/r")).code).toBe("FULL"); // .1 still cools down
    now = 100;
    expect(pool.allocate("a", "ns/r").ipv4).toBe("10.0.0.1");
    expect(pool.stats().cooldown).toBe(0);
  });

  it("minFreeBeforeReuse: an address comes back once that many later releases stand behind it", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 24 }, reuse: { minFreeBeforeReuse: 2 }, podStrategy: "first-free" });
    pool.addNode("a");
    for (let i = 0; i < 4; i++) pool.allocate("a", `ns/p${i}`); // .1 .2 .3 .4
    pool.release("10.0.0.1");
    pool.release("10.0.0.2");
    expect(pool.allocate("a", "ns/x").ipv4).toBe("10.0.0.5"); // .1 waits behind fewer than 2
    pool.release("10.0.0.3"); // the queue is .1 .2 .3: .1 has 2 behind it and leaves at the next call
    expect(pool.allocate("a", "ns/y").ipv4).toBe("10.0.0.1");
  });

  it("release with the wrong owner is refused (OWNER_MISMATCH) and changes nothing", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 24 } });
    pool.addNode("a");
    const ip = pool.allocate("a", "ns/live").ipv4 as string;
    const e = err(() => pool.release(ip, "ns/stale"));
    expect(e.code).toBe("OWNER_MISMATCH");
    expect(e.message).toBe(`ipcarve: "${ip}" is held by "ns/live", not "ns/stale"`);
    expect(pool.lookup(ip)?.owner).toBe("ns/live");
    expect(pool.release(ip, "ns/live")).toBe(true);
    expect(pool.release(ip, "ns/live")).toBe(false);
  });
});

describe("CiliumNode import and export", () => {
  const list = {
    apiVersion: "v1",
    kind: "List",
    items: [
      { apiVersion: "cilium.io/v2", kind: "CiliumNode", metadata: { name: "n2" }, spec: { ipam: { podCIDRs: ["10.0.2.0/24"] } } },
      { metadata: { name: "fresh" }, spec: { ipam: {} } },
      { metadata: { name: "n0" }, spec: { ipam: { podCIDRs: ["10.0.0.0/24"] } } },
      { metadata: { name: "clash" }, spec: { ipam: { podCIDRs: ["10.0.2.0/24"] } } },
      { metadata: { name: "foreign" }, spec: { ipam: { podCIDRs: ["172.16.0.0/24"] } } },
    ],
  };

  it("occupies listed CIDRs first, in order, then serves nodes without CIDRs; conflicts fail their node with Cilium's message", () => {
    const pool = ClusterPool.fromCiliumNodes(list, { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } });
    expect(pool.node("n2")?.podCIDRs).toEqual(["10.0.2.0/24"]);
    expect(pool.node("n0")?.podCIDRs).toEqual(["10.0.0.0/24"]);
    // "fresh" is served after every listed CIDR is occupied: next-fit from the cursor after 10.0.0.0/24 (the last occupy)
    expect(pool.node("fresh")?.podCIDRs).toEqual(["10.0.1.0/24"]);
    expect(pool.node("clash")).toMatchObject({ status: "failed", podCIDRs: [], error: "requested CIDR (10.0.2.0/24) is already allocated" });
    expect(pool.node("foreign")).toMatchObject({ status: "failed", error: "allocator not configured for the requested CIDR 172.16.0.0/24" });
    const out = pool.exportCiliumNodes();
    expect(out.items.map((i) => [i.metadata.name, i.spec?.ipam?.podCIDRs, i.status?.ipam?.["operator-status"]?.error])).toEqual([
      ["n2", ["10.0.2.0/24"], undefined],
      ["n0", ["10.0.0.0/24"], undefined],
      ["clash", [], "requested CIDR (10.0.2.0/24) is already allocated"],
      ["foreign", [], "allocator not configured for the requested CIDR 172.16.0.0/24"],
      ["fresh", ["10.0.1.0/24"], undefined],
    ]);
  });

  it("reports per node and round-trips through export", () => {
    const a = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 }, ipv6: { cidrs: ["fd00::/104"], maskSize: 120 } });
    for (const n of ["x", "y", "z"]) a.addNode(n);
    a.removeNode("y");
    const b = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 }, ipv6: { cidrs: ["fd00::/104"], maskSize: 120 } });
    const report = b.importCiliumNodes(a.exportCiliumNodes());
    expect(report).toEqual([
      { name: "x", podCIDRs: ["10.0.0.0/24", "fd00::/120"], outcome: "restored" },
      { name: "z", podCIDRs: ["10.0.2.0/24", "fd00::200/120"], outcome: "restored" },
    ]);
    expect(b.exportCiliumNodes()).toEqual(a.exportCiliumNodes());
    expect(b.importCiliumNodes(a.exportCiliumNodes()).map((r) => r.outcome)).toEqual(["restored", "restored"]); // idempotent
  });

  it("bad lists are rejected naming the item", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } });
    expect(() => pool.importCiliumNodes({ items: [{ metadata: {} }] })).toThrow(/items\[0\]\.metadata\.name/);
    expect(() => pool.importCiliumNodes("nope")).toThrow(/CiliumNode list/);
  });
});
