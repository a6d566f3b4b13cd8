// Config inputs users already have, in their real shapes: Cilium <= 1.10's
// single-CIDR Helm keys (read, with a deprecation warning), unknown keys under
// `ipam` (a warning naming the key, never a silent default), values nested
// under `cilium:` (umbrella charts), and a CiliumNode given where a pool config goes.
import { describe, it, expect } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig, ConfigError } from "../../src/config/load.js";
import { run, tmp } from "./helpers.js";

describe("Cilium <= 1.10 Helm values: ipam.operator.clusterPoolIPv4PodCIDR", () => {
  // the shape of a 1.10 values file: one CIDR string, no *List key
  const v110 = "ipam:\n  mode: cluster-pool\n  operator:\n    clusterPoolIPv4PodCIDR: 10.96.0.0/12\n    clusterPoolIPv4MaskSize: 24\n";

  it("is read, not replaced by the default 10.0.0.0/8, with a warning naming the key, its line and its successor", () => {
    const c = parseConfig("values.yaml", v110);
    expect(c.pool.ipv4).toEqual({ cidrs: ["10.96.0.0/12"], maskSize: 24 });
    expect(c.warnings).toEqual([
      'values.yaml:4:29: ipam.operator.clusterPoolIPv4PodCIDR: is deprecated since Cilium 1.11 (removed from the chart in 1.14): use ipam.operator.clusterPoolIPv4PodCIDRList; read as ["10.96.0.0/12"]',
    ]);
    expect(c.notes.join("\n")).not.toContain("10.0.0.0/8");
  });

  it("the IPv6 twin, with ipv6.enabled", () => {
    const c = parseConfig("v.yaml", "ipv6:\n  enabled: true\nipam:\n  operator:\n    clusterPoolIPv6PodCIDR: fd10::/104\n");
    expect(c.pool.ipv6).toEqual({ cidrs: ["fd10::/104"], maskSize: 120 }); // mask: Cilium's default /120
    expect(c.warnings[0]).toContain("ipam.operator.clusterPoolIPv6PodCIDR: is deprecated");
  });

  it("beside the List key: the same value is fine, another is an error naming both", () => {
    const same = parseConfig("v.yaml", "ipam:\n  operator:\n    clusterPoolIPv4PodCIDR: 10.96.0.0/12\n    clusterPoolIPv4PodCIDRList: [10.96.0.0/12]\n");
    expect(same.pool.ipv4?.cidrs).toEqual(["10.96.0.0/12"]);
    const e = (() => { try { parseConfig("v.yaml", "ipam:\n  operator:\n    clusterPoolIPv4PodCIDR: 10.96.0.0/12\n    clusterPoolIPv4PodCIDRList: [10.0.0.0/8]\n"); } catch (x) { return x; } })();
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).message).toBe('ipcarve: v.yaml:4:33: ipam.operator.clusterPoolIPv4PodCIDRList: is ["10.0.0.0/8"] but ipam.operator.clusterPoolIPv4PodCIDR is ["10.96.0.0/12"]; give one of them');
  });

  it("plan answers for it and prints the warning on stderr (was: the default /8, exit 0, silently)", async () => {
    const d = tmp();
    writeFileSync(join(d, "values.yaml"), v110);
    const r = await run(["plan", "--config", "values.yaml"], d);
    expect(r.code).toBe(0);
    expect(r.out).toContain("10.96.0.0/12");
    expect(r.out).toContain("nodes that fit      4,096"); // 2^(24-12)
    expect(r.err).toMatch(/^ipcarve: warning: \S*values\.yaml:4:29: ipam\.operator\.clusterPoolIPv4PodCIDR: is deprecated/m);
  });
});

describe("unknown keys under ipam: a warning naming each", () => {
  it.each([
    // [body, the key warned about, a hint]
    ["ipam:\n  operator:\n    clusterPoolIpv4PodCIDRList: [10.96.0.0/12]\n", "ipam.operator.clusterPoolIpv4PodCIDRList", "did you mean clusterPoolIPv4PodCIDRList?"],
    ["ipam:\n  opertor:\n    clusterPoolIPv4PodCIDRList: [10.96.0.0/12]\n", "ipam.opertor", ""],
    ["ipam:\n  Mode: cluster-pool\n", "ipam.Mode", "did you mean mode?"],
  ])("%j warns about %s", (body, key, hint) => {
    const c = parseConfig("v.yaml", body);
    expect(c.warnings).toHaveLength(1);
    expect(c.warnings[0]).toContain(`${key}: is not a key of Cilium's`);
    expect(c.warnings[0]).toContain(hint);
    expect(c.pool.ipv4?.cidrs).toEqual(["10.0.0.0/8"]); // the default applies, but not silently
  });

  it("Cilium's other ipam keys are known: no warning", () => {
    const c = parseConfig("v.yaml", "ipam:\n  mode: cluster-pool\n  ciliumNodeUpdateRate: 15s\n  operator:\n    clusterPoolIPv4PodCIDRList: [10.0.0.0/8]\n    externalAPILimitQPS: 4\n    autoCreateCiliumPodIPPools: {}\n");
    expect(c.warnings).toEqual([]);
  });

  it("simulate prints them on stderr", async () => {
    const d = tmp();
    writeFileSync(join(d, "v.yaml"), "ipam:\n  operator:\n    clusterPoolIPv4PodCIDRList: [10.0.0.0/22]\n    clusterPoolIPv4MaskSiz: 26\n");
    const r = await run(["simulate", "--config", "v.yaml", "--no-report", "--quiet", "--threads", "1", "--duration", "10m"], d);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^ipcarve: warning: \S*v\.yaml:4:29: ipam\.operator\.clusterPoolIPv4MaskSiz: is not a key of Cilium's ipam\.operator values and is ignored$/m);
  });
});

describe("values of an umbrella chart, under cilium:", () => {
  it("are read, and errors name the full path and line", () => {
    const c = parseConfig("u.yaml", "global:\n  x: 1\ncilium:\n  ipam:\n    operator:\n      clusterPoolIPv4PodCIDRList: [10.32.0.0/14]\n      clusterPoolIPv4MaskSize: 25\n");
    expect(c.format).toBe("helm-values");
    expect(c.pool.ipv4).toEqual({ cidrs: ["10.32.0.0/14"], maskSize: 25 });
    expect(c.notes[0]).toBe("Cilium values nested under cilium: (an umbrella chart)");
    const e = (() => { try { parseConfig("u.yaml", "cilium:\n  ipam:\n    operator:\n      clusterPoolIPv4PodCIDRList: [10.32.0.0/14]\n      clusterPoolIPv4MaskSize: 12\n"); } catch (x) { return x; } })();
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).code).toBe("INVALID_MASK");
    expect((e as ConfigError).message).toMatch(/^ipcarve: u\.yaml:5:32: cilium\.ipam\.operator\.clusterPoolIPv4MaskSize: /);
  });

  it("warnings under cilium: name the full path", () => {
    const c = parseConfig("u.yaml", "cilium:\n  ipam:\n    operator:\n      clusterPoolIPv4PodCIDR: 10.32.0.0/14\n");
    expect(c.warnings[0]).toMatch(/^u\.yaml:4:31: cilium\.ipam\.operator\.clusterPoolIPv4PodCIDR: is deprecated/);
  });
});

describe("a CiliumNode where a pool config goes", () => {
  it.each([
    ["apiVersion: cilium.io/v2\nkind: CiliumNode\nmetadata:\n  name: kind-worker\nspec:\n  ipam:\n    podCIDRs: [10.244.1.0/24]\n", "CiliumNode"],
    ["apiVersion: v1\nkind: List\nitems:\n- apiVersion: cilium.io/v2\n  kind: CiliumNode\n  metadata: { name: a }\n", "List"],
  ])("%#: says to import it", (text, kind) => {
    const e = (() => { try { parseConfig("cn.yaml", text); } catch (x) { return x; } })();
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).message).toContain(`kind: is ${kind}: CiliumNode objects are a cluster's node allocations, not a pool config; import them with \`ipcarve import`);
  });
});
