// Named pools (Cilium multi-pool) in the config formats and on the command
// line: Helm values with ipam.mode: multi-pool, CiliumPodIPPool files
// (--pools), ipcarve's pools: section with node groups; simulate, carve and
// the state commands with them.
import { describe, it, expect } from "vitest";
import { writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig, loadConfig, loadPodIPPoolConfig } from "../../src/config/load.js";
import { err } from "../helpers.js";
import { ROOT, run, tmp } from "./helpers.js";

const ex = (f: string): string => `${ROOT}examples/${f}`;
const file = (d: string, name: string, text: string): string => {
  writeFileSync(join(d, name), text);
  return join(d, name);
};

describe("Helm values, ipam.mode: multi-pool", () => {
  it("reads autoCreateCiliumPodIPPools and multiPoolPreAllocation (the example file)", () => {
    const c = loadConfig(ex("cilium-multi-pool-values.yaml"));
    expect(c.format).toBe("helm-values");
    expect(c.pools).toEqual({
      default: { ipv4: { cidrs: ["10.10.0.0/20"], maskSize: 26 }, ipv6: { cidrs: ["fd10::/112"], maskSize: 122 }, preAllocate: 16 },
    });
    expect(c.multi?.pools).toBe(c.pools);
    expect(c.warnings).toEqual([]);
    expect(c.notes).toEqual(['ipam.multiPoolPreAllocation names pool "gpu", which neither ipam.operator.autoCreateCiliumPodIPPools nor a --pools file defines']);
  });

  it("with the --pools file that defines that pool, the note goes (it was printed beside the pool it named)", () => {
    const c = loadConfig(ex("cilium-multi-pool-values.yaml"), { pools: ex("ciliumpodippools.yaml") });
    expect(Object.keys(c.pools ?? {})).toContain("gpu");
    expect(c.notes.filter((n) => n.includes("names pool"))).toEqual([]);
  });

  it("the pre-allocation as a mapping; a pool it does not name pre-allocates 0 (it replaces default=8)", () => {
    const c = parseConfig("v.yaml", [
      "ipam:",
      "  mode: multi-pool",
      "  multiPoolPreAllocation: { blue: 4 }",
      "  operator:",
      "    autoCreateCiliumPodIPPools:",
      "      default: { ipv4: { cidrs: [10.0.0.0/16], maskSize: 24 } }",
      "      blue: { ipv4: { cidrs: [10.1.0.0/16], maskSize: 27 } }",
    ].join("\n"));
    expect(c.pools).toEqual({
      default: { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 }, preAllocate: 0 },
      blue: { ipv4: { cidrs: ["10.1.0.0/16"], maskSize: 27 }, preAllocate: 4 },
    });
    expect(c.notes).toContain("ipam.multiPoolPreAllocation does not name pool \"default\": it pre-allocates 0 (the setting replaces Cilium's default=8)");
  });

  it("without multiPoolPreAllocation, Cilium's default=8 applies (the pool's own default)", () => {
    const c = parseConfig("v.yaml", "ipam:\n  mode: multi-pool\n  operator:\n    autoCreateCiliumPodIPPools:\n      default: { ipv4: { cidrs: [10.0.0.0/16], maskSize: 24 } }\n");
    expect(c.pools).toEqual({ default: { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } } });
  });

  it("warns, exactly, of cluster-pool keys, unknown pool keys and unknown ipam keys; a disabled family is left out", () => {
    const c = parseConfig("v.yaml", [
      "ipam:",                                                   // 1
      "  mode: multi-pool",                                      // 2
      "  multiPoolPreallocation: default=8",                     // 3
      "  operator:",                                             // 4
      "    clusterPoolIPv4PodCIDRList: [10.0.0.0/8]",            // 5
      "    autoCreateCiliumPodIPPools:",                         // 6
      "      default:",                                          // 7
      "        ipv4: { cidrs: [10.0.0.0/16], maskSize: 24, masksize: 25 }", // 8
      "        ipv6: { cidrs: [fd00::/104], maskSize: 120 }",     // 9
      "        nodeSelector: { matchLabels: { a: b } }",          // 10
    ].join("\n"));
    expect(c.pools).toEqual({ default: { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } } });
    expect(c.warnings).toEqual([
      // each at the line and column of the value, as every config message
      "v.yaml:3:27: ipam.multiPoolPreallocation: is not a key of Cilium's ipam values and is ignored (did you mean multiPoolPreAllocation?)",
      "v.yaml:5:33: ipam.operator.clusterPoolIPv4PodCIDRList: is a cluster-pool key: ipam.mode is multi-pool, so it is ignored (pools come from ipam.operator.autoCreateCiliumPodIPPools and CiliumPodIPPool objects)",
      "v.yaml:10:23: ipam.operator.autoCreateCiliumPodIPPools.default.nodeSelector: is not a key of an auto-created pool (ipv4, ipv6) and is ignored",
      "v.yaml:8:63: ipam.operator.autoCreateCiliumPodIPPools.default.ipv4.masksize: is not a key of a pool's ipv4 and is ignored (did you mean maskSize?)",
    ]);
    expect(c.notes).toContain('pool "default": its ipv6 is not used (ipv6.enabled is false)');
  });

  const bad: [string, string, string, RegExp][] = [
    ["no pools and no --pools", "ipam:\n  mode: multi-pool\n", "INVALID_CONFIG", /v\.yaml: gives no pool: ipam\.operator\.autoCreateCiliumPodIPPools is empty; give the CiliumPodIPPool objects with --pools FILE/],
    ["a bad pre-allocation", "ipam:\n  mode: multi-pool\n  multiPoolPreAllocation: default:8\n", "INVALID_CONFIG", /v\.yaml:3:27: ipam\.multiPoolPreAllocation: invalid pre-allocation "default:8"/],
    ["overlapping pools", "ipam:\n  mode: multi-pool\n  operator:\n    autoCreateCiliumPodIPPools:\n      a: { ipv4: { cidrs: [10.0.0.0/16], maskSize: 24 } }\n      b: { ipv4: { cidrs: [10.0.128.0/17], maskSize: 24 } }\n", "CIDR_COLLISION", /v\.yaml:6:\d+: ipam\.operator\.autoCreateCiliumPodIPPools\.b\.ipv4\.cidrs\[0\]: 10\.0\.128\.0\/17 overlaps/],
    ["a mask shorter than the CIDR", "ipam:\n  mode: multi-pool\n  operator:\n    autoCreateCiliumPodIPPools:\n      a: { ipv4: { cidrs: [10.0.0.0/16], maskSize: 8 } }\n", "INVALID_MASK", /v\.yaml:5:\d+: ipam\.operator\.autoCreateCiliumPodIPPools\.a\.ipv4\.maskSize/],
    ["another mode", "ipam:\n  mode: eni\n", "INVALID_CONFIG", /ipam\.mode: is "eni"; ipcarve models cluster-pool and multi-pool IPAM/],
  ];
  for (const [name, text, code, msg] of bad) {
    it(`refuses ${name} (${code})`, () => {
      const e = err(() => parseConfig("v.yaml", text));
      expect(e.code).toBe(code);
      expect(e.message).toMatch(msg);
    });
  }
});

describe("--pools: CiliumPodIPPool objects with or without a config", () => {
  it("merge into multi-pool values: the object wins over an auto-created pool of the same name, the agent's pre-allocation applies to it", () => {
    const d = tmp();
    const objs = file(d, "p.yaml", "apiVersion: cilium.io/v2alpha1\nkind: CiliumPodIPPool\nmetadata: {name: default}\nspec:\n  ipv4: {cidrs: [10.50.0.0/16], maskSize: 24}\n---\napiVersion: cilium.io/v2alpha1\nkind: CiliumPodIPPool\nmetadata: {name: gpu}\nspec:\n  ipv4: {cidrs: [10.20.0.0/24], maskSize: 28}\n");
    const c = loadConfig(ex("cilium-multi-pool-values.yaml"), { pools: objs });
    expect(c.pools).toEqual({
      default: { ipv4: { cidrs: ["10.50.0.0/16"], maskSize: 24 }, preAllocate: 16 },
      gpu: { ipv4: { cidrs: ["10.20.0.0/24"], maskSize: 28 }, preAllocate: 4 },
    });
    expect(c.notes).toContain(`pool "default": the CiliumPodIPPool in ${objs} is used, not the auto-created one (Cilium does not overwrite an existing pool)`);
  });

  it("alone: a config of the objects", () => {
    const c = loadPodIPPoolConfig(ex("ciliumpodippools.yaml"));
    expect(c.format).toBe("CiliumPodIPPool");
    expect(Object.keys(c.pools ?? {})).toEqual(["gpu"]);
  });

  it("overlap across the two files is CIDR_COLLISION at the object's line", () => {
    const d = tmp();
    const objs = file(d, "p.yaml", "kind: CiliumPodIPPool\nmetadata: {name: x}\nspec:\n  ipv4: {cidrs: [10.10.8.0/24], maskSize: 28}\n");
    const e = err(() => loadConfig(ex("cilium-multi-pool-values.yaml"), { pools: objs }));
    expect(e.code).toBe("CIDR_COLLISION");
    expect(e.message).toMatch(/p\.yaml:4:\d+: spec\.ipv4\.cidrs\[0\]: 10\.10\.8\.0\/24 overlaps/);
  });

  it("is refused with a config of one cluster pool", () => {
    const e = err(() => loadConfig(ex("cilium-helm-values.yaml"), { pools: ex("ciliumpodippools.yaml") }));
    expect(e.message).toMatch(/is a helm-values config of one cluster pool: CiliumPodIPPool objects .* need Helm values with ipam\.mode: multi-pool/);
  });
});

describe("ipcarve's pools: section and node groups", () => {
  it("reads the example: pools, release delay in ms, groups with labels and pods per pool", () => {
    const c = loadConfig(ex("ipcarve-pools.yaml"));
    expect(c.pools?.gpu).toEqual({ ipv4: { cidrs: ["10.20.0.0/25"], maskSize: 28 }, preAllocate: 4, releaseDelayMs: 120_000, nodeSelector: { matchLabels: { gpu: "true" } } });
    expect(c.multi?.podStrategy).toBe("next-fit");
    const s = c.multiScenario;
    expect(s).toMatchObject({ seed: 3, duration: 7200, epoch: 30, sample: 120 });
    expect(s?.groups.map((g) => [g.name, g.labels, g.pods.map((p) => `${p.pool} ${p.min}..${p.max}`)])).toEqual([
      ["general", { pool: "general" }, ["default 20..110"]],
      ["gpu", { gpu: "true" }, ["gpu 2..12", "default 4..4"]],
    ]);
    expect(s?.groups[1]?.phases[3]).toEqual({ at: 4800, nodes: 9 });
  });

  it("with --pools, the scenario's groups run on the merged pools (the object replaces the config's gpu)", () => {
    const c = loadConfig(ex("ipcarve-pools.yaml"), { pools: ex("ciliumpodippools.yaml") });
    // the object's 10.20.0.0/24 (no preAllocate: 0 for a pool not named default), not the config's 10.20.0.0/25
    expect(c.multiScenario?.pools.gpu).toEqual({ ipv4: { cidrs: ["10.20.0.0/24"], maskSize: 28 }, nodeSelector: { matchLabels: { gpu: "true" } } });
    expect(c.multiScenario?.pools).toBe(c.pools);
  });

  const bad: [string, string, string, RegExp][] = [
    ["an unknown pool key", "pools:\n  a:\n    ipv4: {cidrs: [10.0.0.0/16], maskSize: 24}\n    preallocate: 3\n", "INVALID_CONFIG", /c\.yaml:4:18: pools\.a\.preallocate: is not a known key \(known: ipv4, ipv6, preAllocate, releaseDelay, nodeSelector\)/],
    ["pool.ipv4 beside pools:", "pool:\n  ipv4: {cidrs: [10.0.0.0/16], maskSize: 24}\npools:\n  a:\n    ipv4: {cidrs: [10.1.0.0/16], maskSize: 24}\n", "INVALID_CONFIG", /c\.yaml:2:\d+: pool\.ipv4: is the single pool's; with pools:, give it as pools\.default\.ipv4/],
    ["a bad node selector", "pools:\n  a:\n    ipv4: {cidrs: [10.0.0.0/16], maskSize: 24}\n    nodeSelector: {matchExpressions: [{key: k, operator: Maybe}]}\n", "INVALID_OPTION", /c\.yaml:4:\d+: pools\.a\.nodeSelector\.matchExpressions\[0\]\.operator/],
    ["a group drawing from no such pool", "pools:\n  a:\n    ipv4: {cidrs: [10.0.0.0/16], maskSize: 24}\nscenario:\n  groups:\n    - name: g\n      phases: [{at: 0, nodes: 1}]\n      pods: [{pool: b}]\n", "INVALID_CONFIG", /c\.yaml:8:\d+: scenario\.groups\[0\]\.pods\[0\]\.pool: names pool "b", which the config does not define \(pools: a\)/],
    ["single-pool scenario keys with pools", "pools:\n  a:\n    ipv4: {cidrs: [10.0.0.0/16], maskSize: 24}\nscenario:\n  nodes: {phases: [{at: 0, nodes: 1}]}\n", "INVALID_CONFIG", /scenario\.nodes: is a single-pool scenario key; with pools:, give node groups/],
    ["groups without pools", "pool:\n  ipv4: {cidrs: [10.0.0.0/16], maskSize: 24}\nscenario:\n  groups: []\n", "INVALID_CONFIG", /scenario\.groups: needs named pools/],
  ];
  for (const [name, text, code, msg] of bad) {
    it(`refuses ${name} (${code})`, () => {
      const e = err(() => parseConfig("c.yaml", text));
      expect(e.code).toBe(code);
      expect(e.message).toMatch(msg);
    });
  }
});

describe("commands with named pools", () => {
  it("simulate --config (pools and groups): the per-pool answer on stdout, in the JSON and in the report", async () => {
    const d = tmp();
    const r = await run(["simulate", "--config", ex("ipcarve-pools.yaml"), "--report", join(d, "r.html"), "-q"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\nCapacity answer\n  Pool gpu \(IPv4\) ran out at /);
    const json = JSON.parse(readFileSync(join(d, "r.json"), "utf8")) as { answer: { lines: string[]; pools: { pool: string }[] }; totals: { chunksTaken: number } };
    expect(r.out).toContain(json.answer.lines[0]);
    expect(json.answer.pools.map((p) => p.pool)).toEqual(["default", "gpu"]);
    expect(r.out).toContain(`CIDRs moved: ${json.totals.chunksTaken} chunks taken by nodes`);
    const html = readFileSync(join(d, "r.html"), "utf8");
    expect(html).toContain('data-chart="chunks-moved"');
    expect(html).toContain("ipcarve multi-pool report: general and GPU nodes");
  });

  it("simulate --pools alone: the default scenario sized to the pools, flags applied", async () => {
    const r = await run(["simulate", "--pools", ex("ciliumpodippools.yaml"), "--no-report", "--json", "-", "--nodes", "3", "--duration", "1h", "--seed", "5"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as { seed: number; duration: number; groups: { name: string; labels: Record<string, string>; phases: { nodes: number }[] }[] };
    expect(doc).toMatchObject({ seed: 5, duration: 3600 });
    expect(doc.groups.map((g) => [g.name, g.labels, Math.max(...g.phases.map((p) => p.nodes))])).toEqual([["gpu", { gpu: "true" }, 5]]); // first peak 3, second wave 1.5x
  });

  it("carve --config --pools: chunks per pool, nodes labelled for the pool's selector", async () => {
    const r = await run(["carve", "--config", ex("cilium-multi-pool-values.yaml"), "--pools", ex("ciliumpodippools.yaml"), "--nodes", "2"]);
    expect(r.code).toBe(0);
    expect(r.out.split("\n").slice(2, 6).map((l) => l.trim().split(/\s+/))).toEqual([
      // /26 chunks of 62; IPv6 /122 the same
      ["default-1", "default", "10.10.0.0/26", "fd10::/122", "62", "+", "62"],
      ["default-2", "default", "10.10.0.64/26", "fd10::40/122", "62", "+", "62"],
      ["gpu-1", "gpu", "10.20.0.0/28", "-", "14"],
      ["gpu-2", "gpu", "10.20.0.16/28", "-", "14"],
    ]);
  });

  it("state round trip: import creates a state of named pools, export, import that into a new state, same export; lookup names the pool", async () => {
    const d = tmp();
    const nodes = file(d, "cn.json", JSON.stringify({
      apiVersion: "v1", kind: "List",
      items: [
        { apiVersion: "cilium.io/v2", kind: "CiliumNode", metadata: { name: "n1", labels: { gpu: "true" } }, spec: { ipam: { pools: { allocated: [{ pool: "default", cidrs: ["10.10.0.64/26", "fd10::40/122"] }, { pool: "gpu", cidrs: ["10.20.0.16/28"] }] } } } },
        { apiVersion: "cilium.io/v2", kind: "CiliumNode", metadata: { name: "n2" }, spec: { ipam: { pools: { allocated: [{ pool: "default", cidrs: ["10.10.0.0/26", "fd10::/122"] }] } } } },
      ],
    }));
    const cfg = ["--config", ex("cilium-multi-pool-values.yaml"), "--pools", ex("ciliumpodippools.yaml")];
    const a = await run(["import", nodes, "--state", join(d, "a.state"), ...cfg]);
    expect(a.code).toBe(0);
    const exported = await run(["export", "--state", join(d, "a.state"), "-o", join(d, "a.json")]);
    expect(exported.code).toBe(0);
    const list = JSON.parse(readFileSync(join(d, "a.json"), "utf8")) as { items: { metadata: { name: string }; spec: { ipam: { pools: { allocated: unknown } } } }[] };
    expect(list.items.map((i) => [i.metadata.name, i.spec.ipam.pools.allocated])).toEqual([
      ["n1", [{ pool: "default", cidrs: ["10.10.0.64/26", "fd10::40/122"] }, { pool: "gpu", cidrs: ["10.20.0.16/28"] }]],
      ["n2", [{ pool: "default", cidrs: ["10.10.0.0/26", "fd10::/122"] }]],
    ]);
    // the export imports into a fresh state made from the same pools, and exports the same
    const b = await run(["import", join(d, "a.json"), "--state", join(d, "b.state"), ...cfg]);
    expect(b.code).toBe(0);
    const again = await run(["export", "--state", join(d, "b.state")]);
    expect(JSON.parse(again.out)).toEqual(JSON.parse(readFileSync(join(d, "a.json"), "utf8")));
    // import into the existing state of named pools (no --config needed), lookup
    expect((await run(["import", join(d, "a.json"), "--state", join(d, "a.state")])).code).toBe(0);
    const l = await run(["lookup", "10.20.0.17", "--state", join(d, "a.state"), "--json"]);
    expect(JSON.parse(l.out)).toMatchObject({ ip: "10.20.0.17", found: true, node: "n1", pool: "gpu", podCIDR: "10.20.0.16/28" });
    // a shared store on etcd holds one cluster pool: named pools are refused before connecting
    const s = await run(["import", nodes, "--store", "etcd://127.0.0.1:1/x", ...cfg]);
    expect(s.code).toBe(2);
    expect(s.err).toMatch(/a shared pool on etcd holds one cluster pool; named pools \(multi-pool\) are kept in a --state file/);
  });

  it("plan refuses named pools and says where to go", async () => {
    const r = await run(["plan", "--config", ex("cilium-multi-pool-values.yaml")]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/gives named pools \(multi-pool\): plan sizes one cluster pool; run `ipcarve simulate --config/);
  });
});
