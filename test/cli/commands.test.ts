// Every command's happy path and bad input, in-process: output, messages and exit codes
// (0 ok, 1 failure, 2 usage).
import { describe, it, expect } from "vitest";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { ClusterPool } from "../../src/index.js";
import { run, tmp } from "./helpers.js";

const SEED = "examples/seed-cluster-pool-config.yaml";

describe("help and version", () => {
  it.each(["simulate", "plan", "carve", "import", "export", "lookup", "bench", "version"])("%s --help exits 0", async (cmd) => {
    const r = await run([cmd, "--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`Usage: ipcarve ${cmd}`);
  });

  it("version prints the package version", async () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect((await run(["version"])).out).toBe(`ipcarve ${pkg.version}\n`);
    expect((await run(["--version"])).out.trim()).toBe(pkg.version);
  });

  it("an unknown command or flag is a usage error", async () => {
    const a = await run(["frobnicate"]);
    expect(a.code).toBe(2);
    expect(a.err).toContain("unknown command 'frobnicate'");
    const b = await run(["carve", "--config", SEED, "--colour"]);
    expect(b.code).toBe(2);
    expect(b.err).toContain("unknown option '--colour'");
  });
});

describe("carve", () => {
  it("prints the seed's 16 /24 rows, 192.168.0.0/24 .. 192.168.15.0/24", async () => {
    const r = await run(["carve", "--config", SEED]);
    expect(r.code).toBe(0);
    const rows = r.out.trim().split("\n").slice(2);
    expect(rows).toHaveLength(16);
    rows.forEach((row, i) => expect(row).toMatch(new RegExp(`^node-${i + 1}\\s+192\\.168\\.${i}\\.0/24\\s+254$`)));
    expect(r.err).toContain("derived from numBigHoleIPAMs 16");
  });

  it("--json lists the nodes; a 17th node is pending", async () => {
    const r = await run(["carve", "--config", SEED, "--nodes", "17", "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { nodes: { node: string; ipv4?: string; status: string; error?: string }[] };
    expect(j.nodes[15]).toMatchObject({ node: "node-16", ipv4: "192.168.15.0/24", status: "ready" });
    expect(j.nodes[16]?.ipv4).toBeUndefined();
    expect(j.nodes[16]?.error).toMatch(/full/);
  });

  it("Helm values carve dual-stack rows", async () => {
    const r = await run(["carve", "--config", "examples/cilium-helm-values.yaml", "--nodes", "2"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/node-1\s+10\.16\.0\.0\/24\s+fd00::\/120\s+254 \+ 254/);
  });

  it("bad input: no --config (2), missing file (1), malformed YAML (1), bad CIDR (1), mask out of range (1)", async () => {
    const d = tmp();
    const f = (name: string, text: string): string => {
      writeFileSync(join(d, name), text);
      return join(d, name);
    };
    const noConfig = await run(["carve"]);
    expect(noConfig.code).toBe(2);
    expect(noConfig.err).toContain("give --config FILE, --pools FILE or both");

    const missing = await run(["carve", "--config", join(d, "nope.yaml")]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain(`${join(d, "nope.yaml")}: no such file`);

    const malformed = await run(["carve", "--config", f("m.yaml", "ipam:\n  operator: {a: [1, 2}\n")]);
    expect(malformed.code).toBe(1);
    expect(malformed.err).toMatch(/m\.yaml:2:\d+: malformed YAML/);

    const cidr = await run(["carve", "--config", f("c.yaml", "apiVersion: cilium.io/v2alpha1\nkind: ClusterPoolConfig\nspec:\n  clusterPoolIPv4PodCIDR: 192.168.0.0/40\n  numBigHoleIPAMs: 16\n")]);
    expect(cidr.code).toBe(1);
    expect(cidr.err).toMatch(/c\.yaml:4:\d+: spec\.clusterPoolIPv4PodCIDR: invalid CIDR "192\.168\.0\.0\/40"/);

    const mask = await run(["carve", "--config", f("k.yaml", "ipam:\n  operator:\n    clusterPoolIPv4PodCIDRList: [10.0.0.0/16]\n    clusterPoolIPv4MaskSize: 33\n")]);
    expect(mask.code).toBe(1);
    // resolveOptions' message (it names the pool CIDR), at the Helm key it came from
    expect(mask.err).toMatch(/k\.yaml:4:\d+: ipam\.operator\.clusterPoolIPv4MaskSize: invalid mask size 33 for node mask of cidrs\[0\] of 10\.0\.0\.0\/16: must be at most 32 for IPv4/);
  });
});

describe("plan", () => {
  it("answers capacity, exhaustion and mask questions for the default pool", async () => {
    const r = await run(["plan", "--nodes", "1000", "--growth", "100/week", "--target-nodes", "100000", "--json"]);
    expect(r.code).toBe(0);
    const p = JSON.parse(r.out) as { families: { nodesThatFit: number; podsPerNode: number; exhaustion: { seconds: number }; target: { fits: boolean; nodeMask: number } }[] };
    const f = p.families[0]!;
    expect(f.nodesThatFit).toBe(65536); // 2^(24-8)
    expect(f.podsPerNode).toBe(110); // min(254, maxPods 110)
    expect(f.exhaustion.seconds).toBeCloseTo(((65536 - 1000) / 100) * 604800, 0);
    expect(f.target).toMatchObject({ fits: true, nodeMask: 25 }); // 2^17 >= 100,000 at /25, 126 IPs >= 110
  });

  it("says when no mask fits both the node count and maxPods", async () => {
    const r = await run(["plan", "--cidr", "10.0.0.0/16", "--target-nodes", "1000"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("does not fit");
    expect(r.out).toMatch(/need a \/15 pool/); // /25 per node (126 >= 112) and 2^10 >= 1000 nodes: /15
  });

  it("bad input names the flag: bad CIDR and mask out of range are usage errors", async () => {
    const a = await run(["plan", "--cidr", "10.0.0.0/33"]);
    expect(a.code).toBe(2);
    expect(a.err).toContain("option '--cidr <cidr>' argument '10.0.0.0/33' is invalid");
    const b = await run(["plan", "--cidr", "10.0.0.0/16", "--mask", "12"]);
    expect(b.code).toBe(2);
    expect(b.err).toContain("--mask 12");
    const c = await run(["plan", "--growth", "fast"]);
    expect(c.code).toBe(2);
    expect(c.err).toContain("--growth <rate>");
    const d = await run(["plan", "--config", "nope.yaml"]);
    expect(d.code).toBe(1);
    expect(d.err).toContain("nope.yaml: no such file");
  });
});

describe("simulate", () => {
  it("runs a config's scenario, prints the summary, writes the report and JSON", async () => {
    const d = tmp();
    const r = await run(["simulate", "--config", "examples/ipcarve-scenario.yaml", "--duration", "1h", "--nodes", "60", "--threads", "1", "--report", join(d, "r.html"), "--quiet"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain("peak running pods");
    expect(existsSync(join(d, "r.html"))).toBe(true);
    const j = JSON.parse(readFileSync(join(d, "r.json"), "utf8")) as { totals: { peakNodes: number; podCreates: number }; series: unknown[] };
    expect(j.totals.peakNodes).toBeGreaterThan(0);
    expect(j.totals.podCreates).toBeGreaterThan(0);
    expect(j.series.length).toBeGreaterThan(10);
  });

  it("--json - prints JSON only; without --quiet and not on a TTY, plain progress lines on stderr", async () => {
    const r = await run(["simulate", "--nodes", "50", "--duration", "30m", "--threads", "1", "--no-report", "--json", "-"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toHaveProperty("digest");
    expect(r.err).toMatch(/^simulate: 100% \(30m virtual\)/m);
  });

  it("bad input: flag values (2), missing file (1), malformed YAML (1), bad growth CIDR (1)", async () => {
    expect((await run(["simulate", "--threads", "0"])).code).toBe(2);
    const n = await run(["simulate", "--nodes", "lots"]);
    expect(n.code).toBe(2);
    expect(n.err).toContain("option '--nodes <n>' argument 'lots' is invalid");
    expect((await run(["simulate", "--duration", "forever"])).err).toContain("--duration <t>");
    const d = tmp();
    expect((await run(["simulate", "--config", join(d, "none.yaml")])).code).toBe(1);
    writeFileSync(join(d, "bad.yaml"), "pool: [\n");
    const m = await run(["simulate", "--config", join(d, "bad.yaml")]);
    expect(m.code).toBe(1);
    expect(m.err).toContain("malformed YAML");
    writeFileSync(join(d, "g.yaml"), "pool:\n  ipv4: { cidrs: [10.0.0.0/16], maskSize: 24 }\nscenario:\n  growth:\n    - { at: 1h, cidr: 10.0.128.0/17 }\n");
    const g = await run(["simulate", "--config", join(d, "g.yaml")]);
    expect(g.code).toBe(1);
    expect(g.err).toMatch(/g\.yaml:5:\d+: scenario\.growth\[0\]\.cidr: 10\.0\.128\.0\/17 overlaps pool CIDR 10\.0\.0\.0\/16/);
  });
});

describe("bench", () => {
  it("a filter that matches nothing fails with a message", async () => {
    const r = await run(["bench", "--quick", "--quiet", "--filter", "no-such-benchmark-xyz"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no-such-benchmark-xyz|not built|does not export/);
  });
});

describe("import / export / lookup", () => {

  it("imports CiliumNodes with per-node conflicts, exports them, looks an IP up", async () => {
    const d = tmp();
    const state = join(d, "pool.state");
    const imp = await run(["import", "examples/ciliumnodes.json", "--state", state, "--config", SEED, "--json"]);
    expect(imp.code).toBe(1); // two nodes conflict
    const res = (JSON.parse(imp.out) as { results: { name: string; outcome: string; error?: string }[] }).results;
    expect(res.map((x) => x.outcome)).toEqual(["restored", "restored", "failed", "failed"]);
    expect(res[2]?.error).toContain("requested CIDR (192.168.1.0/24) is already allocated");
    expect(res[3]?.error).toContain("allocator not configured for the requested CIDR 10.99.0.0/24");

    const exp = await run(["export", "--state", state]);
    expect(exp.code).toBe(0);
    const list = JSON.parse(exp.out) as { kind: string; items: { metadata: { name: string }; spec?: { ipam?: { podCIDRs?: string[] } } }[] };
    expect(list.kind).toBe("List");
    expect(list.items.find((i) => i.metadata.name === "node-a")?.spec?.ipam?.podCIDRs).toEqual(["192.168.0.0/24"]);

    const hit = await run(["lookup", "192.168.1.7", "--state", state]);
    expect(hit.code).toBe(0);
    expect(hit.out).toContain("node node-b (192.168.1.0/24)");
    const miss = await run(["lookup", "192.168.9.7", "--state", state]);
    expect(miss.code).toBe(1);
  });

  it("lookup and export read a store a live writer holds (read-only, no lock); import is LOCKED naming the writer", async () => {
    const d = tmp();
    const state = join(d, "pool.state");
    const writer = ClusterPool.open(state, { ipv4: { cidrs: ["192.168.0.0/20"], maskSize: 24 } });
    try {
      writer.addNode("node-a"); // 192.168.0.0/24
      writer.allocate("node-a", "default/web-0"); // 192.168.0.1
      const hit = await run(["lookup", "192.168.0.1", "--state", state]);
      expect(hit.code).toBe(0);
      expect(hit.out).toContain("node node-a (192.168.0.0/24), pod default/web-0");
      const exp = await run(["export", "--state", state]);
      expect(exp.code).toBe(0);
      const imp = await run(["import", "examples/ciliumnodes.json", "--state", state]);
      expect(imp.code).toBe(1);
      expect(imp.err).toContain(`is locked by this process (pid ${process.pid})`);
    } finally {
      writer.close();
    }
  });

  it("bad input: missing state file (1), bad IP (2), missing CiliumNode file (1), no --config for a new state (2)", async () => {
    const d = tmp();
    const a = await run(["lookup", "10.0.0.1", "--state", join(d, "none.state")]);
    expect(a.code).toBe(1);
    expect(a.err).toMatch(/none\.state: no such state file/);
    const b = await run(["lookup", "10.0.0.300", "--state", join(d, "none.state")]);
    expect(b.code).toBe(2);
    expect(b.err).toContain('invalid IP "10.0.0.300"');
    const c = await run(["import", join(d, "nodes.json"), "--state", join(d, "s.state")]);
    expect(c.code).toBe(1);
    expect(c.err).toContain("nodes.json: no such file");
    const e = await run(["import", "examples/ciliumnodes.json", "--state", join(d, "s.state")]);
    expect(e.code).toBe(2);
    expect(e.err).toContain("give --config FILE");
  });
});
