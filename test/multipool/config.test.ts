// CiliumPodIPPool objects (YAML, JSON, List, several documents) as ClusterPool pools.
import { describe, it, expect } from "vitest";
import { join } from "node:path";
import { loadPodIPPools, parsePodIPPools, parsePreAllocation } from "../../src/config/pod-ip-pool.js";
import { ClusterPool } from "../../src/index.js";
import { err } from "../helpers.js";

const fixture = (f: string): string => join(import.meta.dirname, "..", "fixtures", "multipool", f);

describe("CiliumPodIPPool loader", () => {
  it("reads a List as kubectl prints it; Cilium's default pre-allocation applies", () => {
    const { pools } = loadPodIPPools(fixture("pools-list.yaml"));
    expect(pools).toEqual({
      default: { ipv4: { cidrs: ["10.10.0.0/16"], maskSize: 24 } },
      "green-pool": { ipv4: { cidrs: ["10.20.0.0/16", "10.30.0.0/16"], maskSize: 24 }, ipv6: { cidrs: ["fd00::/104"], maskSize: 120 } },
    });
    const pool = new ClusterPool({ pools });
    // default pre-allocates 8 (Cilium's default=8): one /24; green-pool 0: nothing until asked
    expect(pool.addNode("n1")).toEqual({ name: "n1", podCIDRs: ["10.10.0.0/24"], pools: [{ pool: "default", cidrs: ["10.10.0.0/24"] }] });
    expect(pool.allocate("n1", "ns/a", { pool: "green-pool" })).toEqual({ ipv4: "10.20.0.1", ipv6: "fd00::1" });
    expect(pool.node("n1")?.pools).toEqual([
      { pool: "default", cidrs: ["10.10.0.0/24"] },
      { pool: "green-pool", cidrs: ["10.20.0.0/24", "fd00::/120"] },
    ]);
  });

  it("reads one JSON object with ipcarve's nodeSelector, and the agent's pre-allocation flag", () => {
    const { pools } = loadPodIPPools(fixture("pool-one.json"), { preAllocation: "blue=4" });
    expect(pools).toEqual({ blue: { ipv4: { cidrs: ["10.1.0.0/24"], maskSize: 28 }, nodeSelector: { matchLabels: { pool: "blue" } }, preAllocate: 4 } });
    const pool = new ClusterPool({ pools });
    expect(pool.addNode("a").podCIDRs).toEqual([]); // not selected
    expect(pool.addNode("b", { labels: { pool: "blue" } }).podCIDRs).toEqual(["10.1.0.0/28"]);
  });

  it("the pre-allocation flag replaces Cilium's default=8: a pool it does not name pre-allocates 0 (as the agent's map)", () => {
    const { pools } = loadPodIPPools(fixture("pools-list.yaml"), { preAllocation: "green-pool=4" });
    expect(pools.default?.preAllocate).toBe(0);
    expect(pools["green-pool"]?.preAllocate).toBe(4);
  });

  it("several YAML documents: an overlap is CIDR_COLLISION at the line of the later CIDR", () => {
    const e = err(() => loadPodIPPools(fixture("pools-docs.yaml")));
    expect(e.code).toBe("CIDR_COLLISION");
    // line 16 of the file is "    cidrs: [10.10.128.0/17]" in the second document
    expect(e.message).toMatch(/pools-docs\.yaml:16:\d+: spec\.ipv4\.cidrs\[0\]: 10\.10\.128\.0\/17 overlaps options\.pools\.default\.ipv4\.cidrs\[0\] 10\.10\.0\.0\/16/);
  });

  const bad: [string, string, string, RegExp][] = [
    ["wrong kind", "kind: CiliumNode\nmetadata: {name: x}\n", "INVALID_CONFIG", /x\.yaml:1:7: kind: must be CiliumPodIPPool/],
    ["no name", "kind: CiliumPodIPPool\nspec: {ipv4: {cidrs: [10.0.0.0/8], maskSize: 24}}\n", "INVALID_CONFIG", /metadata\.name: is required/],
    ["bad CIDR", "kind: CiliumPodIPPool\nmetadata: {name: x}\nspec:\n  ipv4: {cidrs: [10.0.0.0/33], maskSize: 24}\n", "INVALID_CIDR", /x\.yaml:4:\d+: spec\.ipv4\.cidrs\[0\]/],
    ["v6 CIDR under ipv4", "kind: CiliumPodIPPool\nmetadata: {name: x}\nspec:\n  ipv4: {cidrs: [fd00::/104], maskSize: 120}\n", "INVALID_CONFIG", /spec\.ipv4\.cidrs\[0\]: "fd00::\/104" is not an IPv4 CIDR/],
    ["mask shorter than the CIDR", "kind: CiliumPodIPPool\nmetadata: {name: x}\nspec:\n  ipv4: {cidrs: [10.0.0.0/16], maskSize: 8}\n", "INVALID_MASK", /spec\.ipv4\.maskSize/],
    ["unknown spec key", "kind: CiliumPodIPPool\nmetadata: {name: x}\nspec:\n  ipv4: {cidrs: [10.0.0.0/16], maskSize: 24}\n  ipv7: {}\n", "INVALID_CONFIG", /spec\.ipv7/],
    ["a name twice", "kind: List\nitems:\n- {kind: CiliumPodIPPool, metadata: {name: x}, spec: {ipv4: {cidrs: [10.0.0.0/16], maskSize: 24}}}\n- {kind: CiliumPodIPPool, metadata: {name: x}, spec: {ipv4: {cidrs: [10.1.0.0/16], maskSize: 24}}}\n", "INVALID_CONFIG", /x\.yaml:4:\d+: items\[1\]\.metadata\.name: names pool "x" a second time/],
  ];
  for (const [name, text, code, msg] of bad) {
    it(`refuses ${name} (${code})`, () => {
      const e = err(() => parsePodIPPools("x.yaml", text));
      expect(e.code).toBe(code);
      expect(e.message).toMatch(msg);
    });
  }

  it("parses the pre-allocation flag as Cilium writes it", () => {
    expect(parsePreAllocation("default=8,blue=0, red=16")).toEqual({ default: 8, blue: 0, red: 16 });
    expect(err(() => parsePreAllocation("default:8")).code).toBe("INVALID_CONFIG");
  });
});
