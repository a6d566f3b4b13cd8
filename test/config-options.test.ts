// Config keys reach ClusterPool options through one table (src/config/table.ts),
// resolveOptions validates them once, and its errors come back at the key,
// file and line they came from. IpamError carries path and reason as fields.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { parseConfig, KEY_TABLE, ConfigError, type ConfigFormat } from "../src/config/load.js";
import { pathText } from "../src/config/source.js";
import { createPool } from "../src/config/pool.js";
import { IpamError, errors } from "../src/errors.js";
import { resolveOptions } from "../src/pool/options.js";
import { ROOT } from "./cli/helpers.js";

/** Text of a file of `format` with `body` (indented YAML under its root) and what it needs besides. */
const doc = (format: ConfigFormat, body: string): string =>
  format === "ClusterPoolConfig" ? `apiVersion: cilium.io/v2alpha1\nkind: ClusterPoolConfig\nspec:\n${body}`
  : format === "helm-values" ? `ipv6:\n  enabled: true\nipam:\n  mode: cluster-pool\n  operator:\n${body}`
  : `pool:\n${body}`;

describe("IpamError: path and reason are fields; the message is as before", () => {
  it.each([
    // [error, message, path, reason]
    [errors.invalidOption("options.maxNodeSubnets", "must be a positive integer (got 0)"), "ipcarve: options.maxNodeSubnets must be a positive integer (got 0)", "options.maxNodeSubnets", "must be a positive integer (got 0)"],
    [errors.familyMismatchAt("options.ipv4.cidrs[0]", "fd00::/104", 4), 'ipcarve: options.ipv4.cidrs[0] "fd00::/104" is not IPv4', "options.ipv4.cidrs[0]", '"fd00::/104" is not IPv4'],
    [errors.collisionAt("x[1]", "10.0.0.0/16", "x[0] 10.0.0.0/8"), "ipcarve: x[1] 10.0.0.0/16 overlaps x[0] 10.0.0.0/8", "x[1]", "10.0.0.0/16 overlaps x[0] 10.0.0.0/8"],
    // within: a wrapped error keeps the inner message whole as its reason, joined with ": "
    [errors.within("options.ipv4.maskSize", errors.invalidMask("node mask of 10.0.0.0/8", 40, "must be at most 32 for IPv4")),
      "ipcarve: options.ipv4.maskSize: invalid mask size 40 for node mask of 10.0.0.0/8: must be at most 32 for IPv4", "options.ipv4.maskSize", "invalid mask size 40 for node mask of 10.0.0.0/8: must be at most 32 for IPv4"],
    [errors.invalidArgument("release(ip)", 7, "a string"), "ipcarve: release(ip) must be a string (got 7)", "release(ip)", "must be a string (got 7)"],
    [errors.full("pool 10.0.0.0/8"), "ipcarve: pool 10.0.0.0/8 is full", undefined, "pool 10.0.0.0/8 is full"],
  ])("%s", (e, message, path, reason) => {
    expect(e).toBeInstanceOf(IpamError);
    expect(e.message).toBe(message);
    expect(e.path).toBe(path);
    expect(e.reason).toBe(reason);
    expect(`ipcarve: ${e.detail}`).toBe(message);
  });

  it("resolveOptions names the option in `path` and keeps the code of the check it wraps", () => {
    const e = (() => { try { resolveOptions({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 12 } }); } catch (x) { return x as IpamError; } })();
    expect(e?.code).toBe("INVALID_MASK");
    expect(e?.path).toBe("options.ipv4.maskSize");
    expect(e?.reason).toBe("invalid mask size 12 for node mask of cidrs[0] of 10.0.0.0/16: must not be shorter than the cluster mask /16");
  });
});

describe("one table: each config key feeds its ClusterPool option", () => {
  // [format, body under the root, option path, option value]; derivations in the comments
  const cases: [ConfigFormat, string, string, unknown][] = [
    ["ClusterPoolConfig", "  clusterPoolIPv4PodCIDR: 10.0.0.0/16\n  clusterPoolIPv4MaskSize: 24\n", "ipv4.cidrs", ["10.0.0.0/16"]], // a string is a list of one
    ["ClusterPoolConfig", "  clusterPoolIPv4PodCIDRList: [10.0.0.0/16, 10.1.0.0/16]\n  clusterPoolIPv4MaskSize: 24\n", "ipv4.cidrs", ["10.0.0.0/16", "10.1.0.0/16"]],
    ["ClusterPoolConfig", "  clusterPoolIPv4PodCIDR: 10.0.0.0/16\n  clusterPoolIPv4MaskSize: 26\n", "ipv4.maskSize", 26],
    ["ClusterPoolConfig", "  clusterPoolIPv6PodCIDR: fd00::/104\n  clusterPoolIPv6MaskSize: 120\n", "ipv6.cidrs", ["fd00::/104"]],
    ["ClusterPoolConfig", "  clusterPoolIPv6PodCIDRList: [fd00::/104]\n  clusterPoolIPv6MaskSize: 120\n", "ipv6.cidrs", ["fd00::/104"]],
    ["ClusterPoolConfig", "  clusterPoolIPv6PodCIDR: fd00::/104\n  clusterPoolIPv6MaskSize: 112\n", "ipv6.maskSize", 112],
    ["ClusterPoolConfig", "  clusterPoolIPv4PodCIDR: 192.168.0.0/20\n  numBigHoleIPAMs: 16\n", "maxNodeSubnets", 16],
    ["ClusterPoolConfig", "  clusterPoolIPv4PodCIDR: 192.168.0.0/20\n  clusterPoolIPAM:\n    numBigHoleIPAMs: 8\n", "maxNodeSubnets", 8],
    ["ClusterPoolConfig", "  clusterPoolIPv4PodCIDR: 192.168.0.0/20\n  allocator:\n    numBigHoleIPAMs: 4\n", "maxNodeSubnets", 4],
    ["ClusterPoolConfig", "  clusterPoolIPv4PodCIDR: 192.168.0.0/20\n  allocator:\n    type: ipam\n    clusterPoolIPAM:\n      numBigHoleIPAMs: 2\n", "maxNodeSubnets", 2],
    ["helm-values", "    clusterPoolIPv4PodCIDRList: [10.16.0.0/14]\n", "ipv4.cidrs", ["10.16.0.0/14"]],
    ["helm-values", "    clusterPoolIPv4PodCIDR: 10.16.0.0/14\n", "ipv4.cidrs", ["10.16.0.0/14"]], // Cilium <= 1.10's key (deprecated: a warning)
    ["helm-values", "    clusterPoolIPv6PodCIDR: fd01::/104\n", "ipv6.cidrs", ["fd01::/104"]],
    ["helm-values", "    clusterPoolIPv4MaskSize: 25\n", "ipv4.maskSize", 25],
    ["helm-values", "    clusterPoolIPv6PodCIDRList: [fd01::/104]\n", "ipv6.cidrs", ["fd01::/104"]],
    ["helm-values", "    clusterPoolIPv6MaskSize: 112\n", "ipv6.maskSize", 112],
    ["ipcarve", "  ipv4: { cidrs: [10.0.0.0/16], maskSize: 24 }\n", "ipv4.cidrs", ["10.0.0.0/16"]],
    ["ipcarve", "  ipv4: { cidrs: [10.0.0.0/16], maskSize: 25 }\n", "ipv4.maskSize", 25],
    ["ipcarve", "  ipv6: { cidrs: fd00::/104, maskSize: 120 }\n", "ipv6.cidrs", ["fd00::/104"]],
    ["ipcarve", "  ipv6: { cidrs: [fd00::/104], maskSize: 118 }\n", "ipv6.maskSize", 118],
    ["ipcarve", "  ipv4: { cidrs: [10.0.0.0/16] }\n  maxNodeSubnets: 100\n", "maxNodeSubnets", 100], // mask derived: 16 + ceil(log2 100) = 23
    ["ipcarve", "  ipv4: { cidrs: [10.0.0.0/16], maskSize: 24 }\n  podStrategy: random\n", "podStrategy", "random"],
    ["ipcarve", "  ipv4: { cidrs: [10.0.0.0/16], maskSize: 24 }\n  seed: \"18446744073709551615\"\n", "seed", 2n ** 64n - 1n], // a u64 as a decimal string
    ["ipcarve", "  ipv4: { cidrs: [10.0.0.0/16], maskSize: 24 }\n  ipv6: { cidrs: [fd00::/108], maskSize: 120 }\n  overflow: { smaller: 26, ipv6: 122 }\n", "overflow", { smaller: 26, ipv6: 122 }], // /122 is 14 bits below /108 (IPv6 allows 16)
    ["ipcarve", "  ipv4: { cidrs: [10.0.0.0/16], maskSize: 24 }\n  reuse: { cooldown: 2m }\n", "reuse.cooldownMs", 120_000], // 2 min = 120,000 ms
    ["ipcarve", "  ipv4: { cidrs: [10.0.0.0/16], maskSize: 24 }\n  reuse: { minFreeBeforeReuse: 8 }\n", "reuse.minFreeBeforeReuse", 8],
    ["ipcarve", "  ipv4: { cidrs: [10.0.0.0/16], maskSize: 24 }\n  reserveRouterIP: last\n", "reserveRouterIP", "last"],
  ];
  const get = (o: unknown, path: string): unknown => path.split(".").reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], o);

  it.each(cases)("%s: %j feeds options.%s", (format, body, option, value) => {
    const c = parseConfig("t.yaml", doc(format, body));
    expect(c.format).toBe(format);
    expect(get(c.options, option)).toEqual(value);
    expect(() => resolveOptions(c.options)).not.toThrow(); // what the pool gets is valid
  });

  it("every row of the table that reads a key has a case above", () => {
    const covered = new Set(cases.map(([format, body, option]) => `${format} ${option} ${body}`));
    for (const row of KEY_TABLE.filter((r) => r.convert !== undefined)) {
      const leaf = String(row.key[row.key.length - 1]);
      const parent = row.key.length > 2 ? String(row.key[row.key.length - 2]) : undefined;
      const hit = [...covered].some((c) => c.startsWith(`${row.format} ${row.option} `) && c.includes(`${leaf}:`) && (parent === undefined || row.format !== "ClusterPoolConfig" || c.includes(`${parent}:`)));
      expect(hit, `${row.format} ${pathText(row.key)} -> options.${row.option}`).toBe(true);
    }
  });

  it("derived and defaulted values: the node mask from numBigHoleIPAMs, Cilium's Helm defaults", () => {
    const seed = parseConfig("s.yaml", doc("ClusterPoolConfig", "  clusterPoolIPv4PodCIDR: 192.168.0.0/20\n  numBigHoleIPAMs: 16\n"));
    expect(seed.options.ipv4?.maskSize).toBeUndefined(); // resolveOptions derives it ...
    expect(seed.pool.ipv4?.maskSize).toBe(24); // ... 20 + ceil(log2 16)
    expect(seed.notes.join("\n")).toContain("derived from numBigHoleIPAMs 16");
    const helm = parseConfig("v.yaml", "ipam:\n  mode: cluster-pool\n");
    expect(helm.options).toEqual({ ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 } });
  });

  it("one ipcarve file carries every option a file can (clock and engine are runtime objects), and builds a pool", () => {
    const c = parseConfig("all.yaml", doc("ipcarve", [
      "  ipv4: { cidrs: [10.0.0.0/16], maskSize: 24 }",
      "  ipv6: { cidrs: [fd00::/108], maskSize: 120 }",
      "  maxNodeSubnets: 200",
      "  overflow: { smaller: 26, ipv6: 122 }",
      "  reuse: { cooldown: 30s, minFreeBeforeReuse: 16 }",
      "  reserveRouterIP: first",
      "  podStrategy: random",
      "  seed: 42",
      "",
    ].join("\n")));
    expect(c.options).toEqual({
      ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 },
      ipv6: { cidrs: ["fd00::/108"], maskSize: 120 },
      maxNodeSubnets: 200,
      overflow: { smaller: 26, ipv6: 122 },
      reuse: { cooldownMs: 30_000, minFreeBeforeReuse: 16 },
      reserveRouterIP: "first",
      podStrategy: "random",
      seed: 42,
    });
    expect(c.pool.seed).toBe(42n);
    const pool = createPool(c);
    try {
      expect(pool.addNode("n1").podCIDRs).toEqual(["10.0.0.0/24", "fd00::/120"]);
    } finally {
      pool.dispose();
    }
  });
});

describe("a bad value is resolveOptions' error, at the file, line and key it came from", () => {
  const bad = (text: string): ConfigError => {
    try {
      parseConfig("bad.yaml", text);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect(e).toBeInstanceOf(IpamError);
      return e as ConfigError;
    }
    throw new Error("expected a ConfigError");
  };

  it.each([
    // [text, line, key, code, message after "bad.yaml:line:col: "]
    ["ipam:\n  operator:\n    clusterPoolIPv4PodCIDRList: [10.0.0.0/16]\n    clusterPoolIPv4MaskSize: 12\n", 4, "ipam.operator.clusterPoolIPv4MaskSize", "INVALID_MASK",
      "ipam.operator.clusterPoolIPv4MaskSize: invalid mask size 12 for node mask of cidrs[0] of 10.0.0.0/16: must not be shorter than the cluster mask /16"],
    ["ipam:\n  operator:\n    clusterPoolIPv4PodCIDRList: [10.0.0.0/8, 10.1.0.0/16]\n", 3, "ipam.operator.clusterPoolIPv4PodCIDRList[1]", "CIDR_COLLISION",
      "ipam.operator.clusterPoolIPv4PodCIDRList[1]: 10.1.0.0/16 overlaps options.ipv4.cidrs[0] 10.0.0.0/8"],
    ["ipam:\n  operator:\n    clusterPoolIPv4PodCIDRList: [fd00::/104]\n", 3, "ipam.operator.clusterPoolIPv4PodCIDRList[0]", "FAMILY_MISMATCH",
      'ipam.operator.clusterPoolIPv4PodCIDRList[0]: "fd00::/104" is not IPv4'],
    // a single-string CIDR: options.ipv4.cidrs[0] is the key itself
    ["apiVersion: cilium.io/v2alpha1\nkind: ClusterPoolConfig\nspec:\n  clusterPoolIPv4PodCIDR: 10.0.0.0/40\n  numBigHoleIPAMs: 4\n", 4, "spec.clusterPoolIPv4PodCIDR", "INVALID_CIDR",
      'spec.clusterPoolIPv4PodCIDR: invalid CIDR "10.0.0.0/40"'],
    ["apiVersion: cilium.io/v2alpha1\nkind: ClusterPoolConfig\nspec:\n  clusterPoolIPv4PodCIDR: 192.168.0.0/20\n  allocator:\n    numBigHoleIPAMs: 0\n", 6, "spec.allocator.numBigHoleIPAMs", "INVALID_OPTION",
      "spec.allocator.numBigHoleIPAMs: must be a positive integer (got 0)"],
    // the derived mask is too long: the error is at numBigHoleIPAMs, which derived it (20 + ceil(log2 2^13) = 33)
    ["apiVersion: cilium.io/v2alpha1\nkind: ClusterPoolConfig\nspec:\n  clusterPoolIPv4PodCIDR: 192.168.0.0/20\n  numBigHoleIPAMs: 8192\n", 5, "spec.numBigHoleIPAMs", "INVALID_MASK",
      "spec.numBigHoleIPAMs: sizes spec.clusterPoolIPv4MaskSize, which is not given: invalid mask size 33 for node mask of cidrs[0] of 192.168.0.0/20: must be at most 32 for IPv4"],
    ["pool:\n  ipv4: { cidrs: [10.0.0.0/16], maskSize: 24 }\n  podStrategy: lifo\n", 3, "pool.podStrategy", "INVALID_OPTION",
      "pool.podStrategy: must be one of 'next-fit', 'first-free', 'random' (got \"lifo\")"],
    ["pool:\n  ipv4: { cidrs: [10.0.0.0/16], maskSize: 24 }\n  overflow:\n    smaller: 22\n", 4, "pool.overflow.smaller", "INVALID_OPTION",
      "pool.overflow.smaller: must be a mask longer than the node mask /24 (got 22)"],
    ["pool:\n  ipv4: { cidrs: [10.0.0.0/16], maskSize: 24 }\n  overflow: { smaller: 26, colour: 1 }\n", 3, "pool.overflow.colour", "INVALID_OPTION",
      "pool.overflow.colour: is not a known option"],
    ["pool:\n  ipv4: { cidrs: [10.0.0.0/16], maskSize: 24 }\n  reuse:\n    minFreeBeforeReuse: -1\n", 4, "pool.reuse.minFreeBeforeReuse", "INVALID_OPTION",
      "pool.reuse.minFreeBeforeReuse: must be a non-negative integer (got -1)"],
    ["pool:\n  ipv4: { cidrs: [10.0.0.0/16], maskSize: 24 }\n  reserveRouterIP: middle\n", 3, "pool.reserveRouterIP", "INVALID_OPTION",
      "pool.reserveRouterIP: must be 'first', 'last' or false (got \"middle\")"],
    ["pool:\n  ipv4: { cidrs: [10.0.0.0/16], maskSize: 24 }\n  seed: -3\n", 3, "pool.seed", "INVALID_OPTION",
      "pool.seed: must be a non-negative integer (got -3)"],
    ["pool:\n  ipv4:\n    maskSize: 24\n", 2, "pool.ipv4.cidrs", "INVALID_OPTION",
      "pool.ipv4.cidrs: must be a non-empty array of CIDR strings"],
    ["pool:\n  maxNodeSubnets: 4\n", 2, "pool", "INVALID_OPTION", "pool: must configure ipv4, ipv6 or both"],
  ] as const)("case %#", (text, line, key, code, message) => {
    const e = bad(text);
    expect(e.code).toBe(code);
    expect(e.line).toBe(line);
    expect(e.path).toBe(key);
    expect(e.message).toMatch(new RegExp(`^ipcarve: bad\\.yaml:${line}:\\d+: `));
    expect(e.detail.replace(/^bad\.yaml:\d+:\d+: /, "")).toContain(message);
    expect(e.cause).toBeInstanceOf(IpamError); // resolveOptions' error, whose path is the option
    expect((e.cause as IpamError).path).toMatch(/^options/);
  });

  it("format errors are INVALID_CONFIG; two keys for one option must agree", () => {
    const e = bad("apiVersion: cilium.io/v2alpha1\nkind: ClusterPoolConfig\nspec:\n  clusterPoolIPv4PodCIDR: 192.168.0.0/20\n  numBigHoleIPAMs: 16\n  clusterPoolIPAM:\n    numBigHoleIPAMs: 8\n");
    expect(e.code).toBe("INVALID_CONFIG");
    expect(e.line).toBe(7);
    expect(e.message).toContain("spec.clusterPoolIPAM.numBigHoleIPAMs: is 8 but spec.numBigHoleIPAMs is 16; give one of them");
    expect(bad("pool:\n  ipv4: { cidrs: [10.0.0.0/16], maskSize: 24 }\n  reuse: { cooldown: soon }\n").message).toContain("pool.reuse.cooldown: must be a duration");
  });

  it("config/ has no pool-option checks of its own: load.ts and table.ts import no validator", () => {
    for (const f of ["src/config/load.ts", "src/config/table.ts"]) {
      const text = readFileSync(`${ROOT}${f}`, "utf8");
      expect(text, f).not.toMatch(/checkNodeMask|checkStrategy|checkSeed|STRATEGIES|checkOverlaps|\.mask\(\[?"pool"|cidrList\(/);
    }
  });
});

describe("scenario keys reach the simulation", () => {
  it("nodes.drainGrace is read as a duration (removeNode's grace for scaled-down nodes)", () => {
    const cfg = parseConfig("s.yaml", [
      "apiVersion: ipcarve/v1",
      "pool:",
      "  ipv4: { cidrs: [10.0.0.0/16], maskSize: 24 }",
      "scenario:",
      "  nodes:",
      "    phases: [{ at: 0, nodes: 4 }]",
      "    drainGrace: 2m",
    ].join("\n"));
    expect(cfg.scenario?.nodes.drainGrace).toBe(120); // 2m = 120 virtual seconds
  });
});
