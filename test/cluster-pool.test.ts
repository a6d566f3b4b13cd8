import { describe, it, expect } from "vitest";
import { err } from "./helpers.js";
import { ClusterPool } from "../src/index.js";


const seedPool = (): ClusterPool => new ClusterPool({ ipv4: { cidrs: ["192.168.0.0/20"], maskSize: 24 } });

describe("the seed scenario", () => {
  it("16 nodes get 192.168.0.0/24 .. 192.168.15.0/24 in order; node 17 gets FULL", () => {
    const pool = seedPool();
    for (let i = 0; i < 16; i++) {
      expect(pool.addNode(`node-${i + 1}`)).toEqual({ name: `node-${i + 1}`, podCIDRs: [`192.168.${i}.0/24`] });
    }
    const e = err(() => pool.addNode("node-17"));
    expect(e.code).toBe("FULL");
    expect(e.message).toContain('"node-17"');
    expect(pool.nodeCount).toBe(16);
    // overflow 'reject' (the default): node 17 waits as pending and is served once a subnet frees
    expect(pool.node("node-17")).toMatchObject({ status: "pending", podCIDRs: [] });
    expect(pool.pendingNodes()).toEqual(["node-17"]);
    pool.removeNode("node-3");
    expect(pool.node("node-17")).toMatchObject({ status: "ready", podCIDRs: ["192.168.2.0/24"] });
  });

  it("a pod on the first node gets 192.168.0.x; the 255th pod on a node gets FULL", () => {
    const pool = seedPool();
    pool.addNode("node-1");
    pool.addNode("node-2");
    expect(pool.allocate("node-1", "default/web-0").ipv4).toMatch(/^192\.168\.0\.\d+$/);
    for (let i = 0; i < 254; i++) pool.allocate("node-2", `default/p-${i}`); // 2^8 - 2 usable
    expect(err(() => pool.allocate("node-2", "default/p-254")).code).toBe("FULL");
    expect(pool.node("node-2")?.ranges[0]).toMatchObject({ used: 254, free: 0, size: 254 });
  });

  it('lookup("192.168.3.7") names the fourth node', () => {
    const pool = seedPool();
    for (let i = 1; i <= 16; i++) pool.addNode(`node-${i}`);
    expect(pool.lookup("192.168.3.7")).toMatchObject({ node: "node-4", podCIDR: "192.168.3.0/24", allocated: false });
    pool.allocate("node-4", "kube-system/dns", "192.168.3.7");
    expect(pool.lookup("192.168.3.7")).toEqual({ node: "node-4", podCIDR: "192.168.3.0/24", owner: "kube-system/dns", allocated: true });
    expect(pool.lookup("10.0.0.1")).toBeUndefined();
  });
});

describe("Cilium's defaults", () => {
  it("10.0.0.0/8 with /24 and fd00::/104 with /120, dual stack", () => {
    const pool = new ClusterPool({
      ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 },
      ipv6: { cidrs: ["fd00::/104"], maskSize: 120 },
    });
    expect(pool.addNode("a").podCIDRs).toEqual(["10.0.0.0/24", "fd00::/120"]);
    expect(pool.addNode("b").podCIDRs).toEqual(["10.0.1.0/24", "fd00::100/120"]); // 2^(128-120) = 0x100
    expect(pool.allocate("b", "ns/p")).toEqual({ ipv4: "10.0.1.1", ipv6: "fd00::101" });
    expect(pool.lookup("fd00::101")).toEqual({ node: "b", podCIDR: "fd00::100/120", owner: "ns/p", allocated: true });
    const s = pool.stats();
    expect(s.pools.map((p) => p.subnets.capacity)).toEqual([65536, 65536]); // 2^(24-8), 2^(120-104)
    expect(s.pods).toBe(2);
  });
});

describe("addNode", () => {
  it("is idempotent", () => {
    const pool = seedPool();
    const a = pool.addNode("a");
    expect(pool.addNode("a")).toEqual(a);
    expect(pool.stats().pools[0]?.subnets.used).toBe(1);
  });

  it("takes the first pool CIDR that is not full", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/23", "10.1.0.0/24"], maskSize: 24 } });
    expect(["a", "b", "c"].map((n) => pool.addNode(n).podCIDRs[0])).toEqual(["10.0.0.0/24", "10.0.1.0/24", "10.1.0.0/24"]);
    pool.removeNode("a");
    // next-fit within the first CIDR: its cursor wrapped to 0, so the freed subnet comes back
    expect(pool.addNode("d").podCIDRs).toEqual(["10.0.0.0/24"]);
    expect(err(() => pool.addNode("e")).code).toBe("FULL");
  });

  it("dual stack: if IPv6 fails, the IPv4 subnet is released and the error thrown", () => {
    const pool = new ClusterPool({
      ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 }, // 256 subnets
      ipv6: { cidrs: ["fd00::/118"], maskSize: 120 }, // 4 subnets
    });
    for (const n of ["a", "b", "c", "d"]) pool.addNode(n);
    const before = pool.stats();
    const e = err(() => pool.addNode("e"));
    expect(e.code).toBe("FULL");
    expect(e.message).toMatch(/IPv6 pool/);
    const after = pool.stats();
    expect(after.pools[0]?.subnets.used).toBe(4); // the IPv4 subnet went back
    expect({ ...after, pending: 0, perNode: before.perNode }).toEqual(before);
    expect(pool.node("e")).toMatchObject({ status: "pending", podCIDRs: [] });
    pool.removeNode("a"); // frees a subnet of each family: the pending node is served
    // As in Cilium, the rolled-back IPv4 allocation did move the next-fit cursor (4 -> 5):
    // only allocations are rolled back. IPv6 wraps to the subnet a freed.
    expect(pool.node("e")).toMatchObject({ status: "ready", podCIDRs: ["10.0.5.0/24", "fd00::/120"] });
    expect(pool.addNode("e").podCIDRs).toEqual(["10.0.5.0/24", "fd00::/120"]);
  });

  it("rejects a bad name", () => {
    expect(err(() => seedPool().addNode("")).code).toBe("INVALID_ARGUMENT");
  });
});

describe("removeNode", () => {
  it("releases the node's subnets and pod IPs and owners", () => {
    const pool = seedPool();
    pool.addNode("a");
    pool.allocate("a", "ns/p1");
    pool.allocate("a", "ns/p2");
    expect(pool.removeNode("a")).toBe(true);
    expect(pool.removeNode("a")).toBe(false);
    expect(pool.stats()).toMatchObject({ nodes: 0, pods: 0, owners: 0 });
    expect(pool.addressesOf("ns/p1")).toEqual([]);
    expect(pool.lookup("192.168.0.1")).toBeUndefined();
    // the recycled pod range starts empty, owners included
    pool.addNode("b"); // next-fit: 192.168.1.0/24
    for (let i = 0; i < 15; i++) pool.addNode(`n${i}`);
    expect(pool.node("n14")?.podCIDRs).toEqual(["192.168.0.0/24"]); // wrapped onto a's old subnet
    expect(pool.lookup("192.168.0.1")).toMatchObject({ node: "n14", allocated: false });
    expect(pool.allocate("n14", "x/y").ipv4).toBe("192.168.0.1");
  });
});

describe("allocate / release / releaseOwner", () => {
  it("wanted asks for specific addresses", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 }, ipv6: { cidrs: ["fd00::/104"], maskSize: 120 } });
    pool.addNode("a");
    expect(pool.allocate("a", "ns/p", ["10.0.0.9", "fd00::9"])).toEqual({ ipv4: "10.0.0.9", ipv6: "fd00::9" });
    expect(pool.allocate("a", "ns/q", "10.0.0.10")).toEqual({ ipv4: "10.0.0.10", ipv6: "fd00::1" });
  });

  it("bad wanted addresses fail and take nothing", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 }, ipv6: { cidrs: ["fd00::/104"], maskSize: 120 } });
    pool.addNode("a");
    pool.addNode("b");
    pool.allocate("a", "ns/p", "10.0.0.9");
    const before = pool.stats();
    const cases: [string | string[], string][] = [
      ["10.0.0.9", "ALREADY_ALLOCATED"],
      ["10.0.1.9", "NOT_IN_RANGE"], // b's subnet
      ["10.0.0.0", "NOT_IN_RANGE"], // network
      ["10.0.0.255", "NOT_IN_RANGE"], // broadcast
      ["nope", "INVALID_IP"],
      [["10.0.0.20", "10.0.0.21"], "INVALID_ARGUMENT"], // two IPv4
      [["10.0.0.20", "fd00::100"], "NOT_IN_RANGE"], // v6 belongs to b: v4 must not be taken
    ];
    for (const [wanted, c] of cases) expect(err(() => pool.allocate("a", "ns/x", wanted)).code).toBe(c);
    expect(pool.stats()).toEqual(before);
    expect(pool.addressesOf("ns/x")).toEqual([]);
  });

  it("unknown node and bad owner", () => {
    const pool = seedPool();
    expect(err(() => pool.allocate("ghost", "ns/p")).message).toBe('ipcarve: unknown node "ghost"');
    pool.addNode("a");
    expect(err(() => pool.allocate("a", "")).code).toBe("INVALID_ARGUMENT");
  });

  it("release by IP, release of free IPs is a no-op", () => {
    const pool = seedPool();
    pool.addNode("a");
    const { ipv4 } = pool.allocate("a", "ns/p");
    expect(pool.release(ipv4 as string)).toBe(true);
    expect(pool.release(ipv4 as string)).toBe(false);
    expect(pool.release("8.8.8.8")).toBe(false);
    expect(err(() => pool.release("nope")).code).toBe("INVALID_IP");
    expect(pool.addressesOf("ns/p")).toEqual([]);
    expect(pool.stats().owners).toBe(0);
  });

  it("releaseOwner releases every address of the owner", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 }, ipv6: { cidrs: ["fd00::/104"], maskSize: 120 } });
    pool.addNode("a");
    pool.allocate("a", "ns/p");
    pool.allocate("a", "ns/p"); // a second interface: 4 addresses in all
    pool.allocate("a", "ns/q");
    expect(pool.addressesOf("ns/p").sort()).toEqual(["10.0.0.1", "10.0.0.2", "fd00::1", "fd00::2"]);
    expect(pool.releaseOwner("ns/p").sort()).toEqual(["10.0.0.1", "10.0.0.2", "fd00::1", "fd00::2"]);
    expect(pool.releaseOwner("ns/p")).toEqual([]);
    expect(pool.stats().pods).toBe(2); // ns/q's two
    expect(pool.lookup("10.0.0.3")).toMatchObject({ owner: "ns/q" });
  });
});

describe("options validation", () => {
  const cases: { name: string; options: unknown; code: string; msg: RegExp }[] = [
    { name: "no family", options: {}, code: "INVALID_OPTION", msg: /options must configure ipv4, ipv6 or both/ },
    { name: "not an object", options: null, code: "INVALID_OPTION", msg: /options must be an object/ },
    { name: "unknown key", options: { ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 }, ipv5: {} }, code: "INVALID_OPTION", msg: /options\.ipv5 is not a known option/ },
    { name: "empty cidrs", options: { ipv4: { cidrs: [], maskSize: 24 } }, code: "INVALID_OPTION", msg: /options\.ipv4\.cidrs must be a non-empty array/ },
    { name: "missing mask", options: { ipv4: { cidrs: ["10.0.0.0/8"] } }, code: "INVALID_OPTION", msg: /options\.ipv4\.maskSize is required/ },
    { name: "bad CIDR", options: { ipv4: { cidrs: ["10.0.0.0/8", "10.300.0.0/16"], maskSize: 24 } }, code: "INVALID_CIDR", msg: /options\.ipv4\.cidrs\[1\]: invalid CIDR "10\.300\.0\.0\/16"/ },
    { name: "wrong family", options: { ipv4: { cidrs: ["fd00::/104"], maskSize: 24 } }, code: "FAMILY_MISMATCH", msg: /options\.ipv4\.cidrs\[0\] "fd00::\/104" is not IPv4/ },
    { name: "wrong family v6", options: { ipv6: { cidrs: ["10.0.0.0/8"], maskSize: 120 } }, code: "FAMILY_MISMATCH", msg: /is not IPv6/ },
    {
      name: "overlap names the later one",
      options: { ipv4: { cidrs: ["10.0.0.0/8", "192.168.0.0/16", "10.20.0.0/16"], maskSize: 24 } },
      code: "CIDR_COLLISION",
      msg: /options\.ipv4\.cidrs\[2\] 10\.20\.0\.0\/16 overlaps options\.ipv4\.cidrs\[0\] 10\.0\.0\.0\/8/,
    },
    { name: "mask too long", options: { ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 33 } }, code: "INVALID_MASK", msg: /options\.ipv4\.maskSize/ },
    { name: "mask shorter than a CIDR", options: { ipv4: { cidrs: ["10.0.0.0/8", "11.0.0.0/25"], maskSize: 24 } }, code: "INVALID_MASK", msg: /cidrs\[1\].*shorter than the cluster mask \/25/ },
    { name: "v6 diff > 16", options: { ipv6: { cidrs: ["fd00::/96"], maskSize: 120 } }, code: "SUBNET_TOO_BIG", msg: /24 bits longer/ },
    { name: "bad strategy", options: { ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 }, podStrategy: "lifo" }, code: "INVALID_OPTION", msg: /options\.podStrategy/ },
  ];
  it.each(cases)("$name", (c) => {
    const e = err(() => new ClusterPool(c.options as never));
    expect(e.code).toBe(c.code);
    expect(e.message).toMatch(/^ipcarve: /);
    expect(e.message).toMatch(c.msg);
  });
});

describe("numeric fast path", () => {
  it("handles, batch allocate / lookup / release agree with the string API", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } });
    pool.addNode("a");
    pool.addNode("b");
    const hb = pool.handle("b");
    expect(pool.nodeName(hb)).toBe("b");
    const ip = pool.allocateIPv4(hb);
    expect(ip).toBe(0x0a000101); // 10.0.1.1
    const out = new Uint32Array(300);
    expect(pool.allocateIPv4Batch(hb, out)).toBe(253); // 254 - the one above
    expect(pool.allocateIPv4(hb)).toBe(-1);
    const handles = new Uint32Array(300);
    pool.lookupIPv4Batch(out, handles, 253);
    expect([...handles.subarray(0, 253)].every((h) => h === hb)).toBe(true);
    expect(pool.lookupIPv4(0x0a000005)).toBe(pool.handle("a")); // 10.0.0.5
    expect(pool.lookupIPv4(0x0b000005)).toBe(0); // 11.0.0.5: no pool
    expect(pool.lookup("10.0.1.77")).toEqual({ node: "b", podCIDR: "10.0.1.0/24", allocated: true });
    expect(pool.releaseIPv4Batch(out, 253)).toBe(253);
    expect(pool.releaseIPv4(ip)).toBe(true);
    expect(pool.releaseIPv4(ip)).toBe(false);
    expect(pool.stats().pods).toBe(0);
  });

  it("numeric release of an owned address updates the owner", () => {
    const pool = seedPool();
    pool.addNode("a");
    pool.allocate("a", "ns/p", "192.168.0.7");
    expect(pool.releaseIPv4Batch(new Uint32Array([0xc0a80007]))).toBe(1); // 192.168.0.7
    expect(pool.addressesOf("ns/p")).toEqual([]);
    expect(pool.stats().owners).toBe(0);
  });

  it("unknown handles throw UNKNOWN_NODE", () => {
    const pool = seedPool();
    expect(err(() => pool.allocateIPv4(99)).code).toBe("UNKNOWN_NODE");
    expect(err(() => pool.handle("zz")).code).toBe("UNKNOWN_NODE");
  });
});
