// The three config formats: each example file loads, values are derived as
// documented, and bad input names the file, line and YAML path.
import { describe, it, expect } from "vitest";
import { loadConfig, parseConfig, ConfigError } from "../../src/config/load.js";
import { ROOT } from "./helpers.js";

const ex = (f: string): string => `${ROOT}examples/${f}`;

describe("example files", () => {
  it("seed ClusterPoolConfig: /20 with numBigHoleIPAMs 16 derives a /24 node mask", () => {
    const c = loadConfig(ex("seed-cluster-pool-config.yaml"));
    expect(c.format).toBe("ClusterPoolConfig");
    expect(c.pool.ipv4).toEqual({ cidrs: ["192.168.0.0/20"], maskSize: 24 }); // 20 + ceil(log2 16)
    expect(c.pool.maxNodeSubnets).toBe(16);
    expect(c.scenario).toBeUndefined();
  });

  it("Cilium Helm values: two IPv4 CIDRs and the IPv6 list", () => {
    const c = loadConfig(ex("cilium-helm-values.yaml"));
    expect(c.format).toBe("helm-values");
    expect(c.pool.ipv4).toEqual({ cidrs: ["10.16.0.0/14", "10.32.0.0/14"], maskSize: 24 });
    expect(c.pool.ipv6).toEqual({ cidrs: ["fd00::/104"], maskSize: 120 });
  });

  it("ipcarve YAML: pool options and a scenario", () => {
    const c = loadConfig(ex("ipcarve-scenario.yaml"));
    expect(c.format).toBe("ipcarve");
    expect(c.pool.ipv4).toEqual({ cidrs: ["10.64.0.0/16"], maskSize: 25 });
    expect(c.pool.reuse).toEqual({ cooldownMs: 120_000 });
    expect(c.scenario?.seed).toBe(7);
    expect(c.scenario?.duration).toBe(3 * 3600);
    expect(c.scenario?.cooldown).toBe(120); // from pool.reuse.cooldown
    expect(c.scenario?.nodes.phases[1]).toEqual({ at: 1800, nodes: 480 });
    expect(c.scenario?.growth).toEqual([{ at: 9000, cidr: "10.65.0.0/20" }]);
    expect(c.scenario?.pods.lifetime).toEqual({ kind: "exponential", mean: 1200 });
  });
});

describe("derivations and defaults", () => {
  it.each([
    // [cidr, holes, mask]: mask = prefix + ceil(log2 holes)
    ["10.0.0.0/16", 16, 20],
    ["10.0.0.0/16", 17, 21],
    ["192.168.0.0/20", 1, 20],
  ])("%s with %i big holes gives /%i", (cidr, holes, mask) => {
    const c = parseConfig("t.yaml", `apiVersion: cilium.io/v2alpha1\nkind: ClusterPoolConfig\nspec:\n  clusterPoolIPv4PodCIDR: ${cidr}\n  numBigHoleIPAMs: ${holes}\n`);
    expect(c.pool.ipv4?.maskSize).toBe(mask);
  });

  it("accepts numBigHoleIPAMs under spec.clusterPoolIPAM and under spec.allocator", () => {
    for (const body of ["  clusterPoolIPAM:\n    numBigHoleIPAMs: 16", "  allocator:\n    type: ipam\n    clusterPoolIPAM:\n      numBigHoleIPAMs: 16"]) {
      const c = parseConfig("t.yaml", `apiVersion: cilium.io/v2alpha1\nkind: ClusterPoolConfig\nspec:\n  clusterPoolIPv4PodCIDR: 192.168.0.0/20\n${body}\n`);
      expect(c.pool.maxNodeSubnets).toBe(16);
      expect(c.pool.ipv4?.maskSize).toBe(24);
    }
  });

  it("Helm values without the IPAM keys use Cilium's defaults", () => {
    const c = parseConfig("v.yaml", "ipam:\n  mode: cluster-pool\nipv6:\n  enabled: true\n");
    expect(c.pool.ipv4).toEqual({ cidrs: ["10.0.0.0/8"], maskSize: 24 });
    expect(c.pool.ipv6).toEqual({ cidrs: ["fd00::/104"], maskSize: 120 });
  });
});

describe("errors name the file, line and YAML path", () => {
  const bad = (text: string): ConfigError => {
    try {
      parseConfig("bad.yaml", text);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return e as ConfigError;
    }
    throw new Error("expected a ConfigError");
  };

  it.each([
    // [text, line, path, message part]
    ["ipam:\n  mode: cluster-pool\n  operator:\n    clusterPoolIPv4PodCIDRList:\n      - 10.0.0.0/8\n      - 10.300.0.0/16\n", 6, "ipam.operator.clusterPoolIPv4PodCIDRList[1]", "invalid CIDR"],
    ["ipam:\n  operator:\n    clusterPoolIPv4MaskSize: 40\n", 3, "ipam.operator.clusterPoolIPv4MaskSize", "at most 32"],
    ["ipam:\n  operator:\n    clusterPoolIPv4PodCIDRList: [10.0.0.0/16]\n    clusterPoolIPv4MaskSize: 12\n", 4, "ipam.operator.clusterPoolIPv4MaskSize", "shorter than the cluster mask"],
    ["ipam:\n  mode: kubernetes\n", 2, "ipam.mode", "cluster-pool"],
    ["apiVersion: cilium.io/v2alpha1\nkind: ClusterPoolConfig\nspec:\n  clusterPoolIPv4PodCIDR: 192.168.0.0/20\n  numBigHoleIPAMs: 32\n  clusterPoolIPv4MaskSize: 24\n", 5, "spec.numBigHoleIPAMs", "more than the 16"],
    ["apiVersion: cilium.io/v2alpha1\nkind: ClusterPoolConfig\nspec:\n  clusterPoolIPv4PodCIDR: 192.168.0.0/20\n", 3, "spec.clusterPoolIPv4MaskSize", "is required (or give maxNodeSubnets to derive it); in this file maxNodeSubnets is numBigHoleIPAMs"],
    ["pool:\n  ipv4:\n    cidrs: [10.0.0.0/16]\n    maskSize: 24\n  colour: blue\n", 5, "pool.colour", "not a known key"],
    ["pool:\n  ipv4: { cidrs: [10.0.0.0/16], maskSize: 24 }\nscenario:\n  duration: soon\n", 4, "scenario.duration", "must be a duration"],
  ])("case %#", (text, line, path, part) => {
    const e = bad(text);
    expect(e.line).toBe(line);
    expect(e.path).toBe(path);
    expect(e.message).toContain(`bad.yaml:${line}:`);
    expect(e.message).toContain(part);
  });

  it("malformed YAML reports its line", () => {
    const e = bad("ipam:\n  mode: cluster-pool\n  operator: [unclosed\n");
    expect(e.message).toMatch(/bad\.yaml:\d+:\d+: malformed YAML/);
    expect(e.line).toBeGreaterThanOrEqual(3);
  });

  it("the seed pasted without indentation is explained", () => {
    const e = bad("apiVersion: cilium.io/v2alpha1\nkind: ClusterPoolConfig\nmetadata:\nname: cluster-pool-config\nspec:\nclusterPoolIPv4PodCIDR: 192.168.0.0/20\n");
    expect(e.line).toBe(6);
    expect(e.message).toContain("Indent clusterPoolIPv4PodCIDR");
  });

  it("an unknown format says what it expects", () => {
    expect(bad("hello: world\n").message).toContain("cannot tell the format");
  });
});
