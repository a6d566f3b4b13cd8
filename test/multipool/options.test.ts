// Single-pool options with named pools: the ones that have no meaning there
// are refused with a message that says why and what to use instead.
import { describe, it, expect } from "vitest";
import { ClusterPool } from "../../src/index.js";
import { err } from "../helpers.js";

describe("single-pool options with no meaning for named pools", () => {
  // Cilium multi-pool has no overflow policy and no cap on big subnets: a node takes another chunk instead
  const rows: [string, Record<string, unknown>, string][] = [
    ["overflow 'share'", { overflow: "share" }, "ipcarve: options.overflow has no meaning with options.pools: a node never overflows, it takes another chunk of its pool (Cilium multi-pool); keep addresses ready with the pool's preAllocate and grow a pool with addPoolCidr"],
    ["overflow { smaller }", { overflow: { smaller: 28 } }, "ipcarve: options.overflow has no meaning with options.pools: a node never overflows, it takes another chunk of its pool (Cilium multi-pool); keep addresses ready with the pool's preAllocate and grow a pool with addPoolCidr"],
    ["maxNodeSubnets", { maxNodeSubnets: 16 }, "ipcarve: options.maxNodeSubnets has no meaning with options.pools: every chunk has its pool's maskSize and a node takes as many as its pods need (Cilium multi-pool); bound a pool by its CIDRs, or give nodes a pool of their own with nodeSelector"],
  ];
  for (const [name, extra, message] of rows) {
    it(name, () => {
      const e = err(() => new ClusterPool({ pools: { default: { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 28 } } }, ...extra } as never));
      expect([e.code, e.path, e.message]).toEqual(["INVALID_OPTION", `options.${Object.keys(extra)[0]}`, message]);
    });
  }
});

describe("allocate(node, owner, options) with named pools: the options object", () => {
  // the call is refused before anything is taken: snapshot() bytes are unchanged
  // (a string or an array is not an options object: it is the wanted addresses, as with a single pool)
  const rows: [string, unknown, string, string | undefined, RegExp][] = [
    ["an unknown key", { pol: "blue" }, "INVALID_OPTION", "allocate(options).pol", /is not a known option$/],
    ["null", null, "INVALID_ARGUMENT", "allocate(wanted)", /^ipcarve: allocate\(wanted\) must be an IP address string or an array of them \(got null\)$/],
    ["a pool that is not a string", { pool: 5 }, "INVALID_ARGUMENT", "allocate(options.pool)", /allocate\(options\.pool\)/],
    ["a pool there is none of", { pool: "green" }, "UNKNOWN_POOL", undefined, /^ipcarve: unknown IP pool "green"$/],
    ["a string that is no address", "blue", "INVALID_IP", undefined, /^ipcarve: invalid IP "blue": not an IPv4 or IPv6 address$/],
  ];
  for (const [name, options, code, path, message] of rows) {
    it(name, () => {
      const p = new ClusterPool({ pools: { default: { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 28 } }, blue: { ipv4: { cidrs: ["10.1.0.0/24"], maskSize: 28 } } } });
      p.addNode("n");
      const before = p.snapshot();
      const e = err(() => p.allocate("n", "ns/a", options as never));
      expect([e.code, e.path]).toEqual([code, path]);
      expect(e.message).toMatch(message);
      expect(Buffer.from(p.snapshot()).equals(Buffer.from(before))).toBe(true);
    });
  }

  it("only own keys count: an inherited `pool` is not read (the default pool serves), an own one is", () => {
    const p = new ClusterPool({ pools: { default: { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 28 } }, blue: { ipv4: { cidrs: ["10.1.0.0/24"], maskSize: 28 } } } });
    p.addNode("n");
    // 10.0.0.0/28 is the node's first chunk of default; .1 its first pod address (the router address is .14, the last)
    expect(p.allocate("n", "ns/a", Object.create({ pool: "blue" }) as never).ipv4).toBe("10.0.0.1");
    expect(p.allocate("n", "ns/b", { pool: "blue" }).ipv4).toBe("10.1.0.1");
  });
});

describe("allocate names a node that was removed, and added again, since the last allocation", () => {
  it("the new node serves it (the last node looked up is forgotten with the node)", () => {
    // /28 chunks of 10.1.0.0/24 in pool blue (no router address: not pool default), preAllocate 0: a chunk on demand
    const p = new ClusterPool({ pools: { default: { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 28 } }, blue: { ipv4: { cidrs: ["10.1.0.0/24"], maskSize: 28 }, preAllocate: 0, releaseDelayMs: 0 } } });
    p.addNode("a");
    p.addNode("b");
    expect(p.allocate("a", "ns/1", { pool: "blue" }).ipv4).toBe("10.1.0.1"); // a takes 10.1.0.0/28
    expect(p.removeNode("a")).toBe(true); // its chunk goes back
    expect(err(() => p.allocate("a", "ns/3", { pool: "blue" })).code).toBe("UNKNOWN_NODE");
    expect(p.allocate("b", "ns/2", { pool: "blue" }).ipv4).toBe("10.1.0.17"); // b takes the next chunk (next-fit), 10.1.0.16/28
    expect(p.allocate("b", "ns/4", { pool: "blue" }).ipv4).toBe("10.1.0.18");
    p.removeNode("b"); // the last node allocate looked up
    p.addNode("b");
    expect(p.allocate("b", "ns/5", { pool: "blue" }).ipv4).toBe("10.1.0.33"); // the new b, 10.1.0.32/28 (next-fit)
    expect(p.node("b")?.podCIDRs).toContain("10.1.0.32/28");
    p.addNode("a");
    expect(p.allocate("a", "ns/3", { pool: "blue" }).ipv4).toBe("10.1.0.49"); // the new a: 10.1.0.48/28
    expect(p.node("a")?.podCIDRs).toContain("10.1.0.48/28");
    expect(p.verify()).toEqual([]);
  });
});
