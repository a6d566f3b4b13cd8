// `ipcarve check`: the leak report against kubectl's node and pod lists, and --release's
// candidate-then-confirm, end to end with real files and the built CLI (dist/, npm run build).
import { describe, it, expect } from "vitest";
import { readFileSync, writeFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { ClusterPool, type ClusterPoolOptions, type MultiPoolOptions } from "../../src/index.js";
import { decide, type Candidate, type Leak } from "../../src/cli/leak-candidates.js";
import { run, tmp, ROOT } from "./helpers.js";

const BIN = join(ROOT, "bin", "ipcarve.js");
const OPTIONS = { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } };

/** The built CLI: exit code, stdout, stderr. */
function cli(args: string[]): { code: number; out: string; err: string } {
  try {
    const out = execFileSync(process.execPath, [BIN, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return { code: 0, out, err: "" };
  } catch (e) {
    const x = e as { status: number; stdout: string; stderr: string };
    return { code: x.status, out: x.stdout, err: x.stderr };
  }
}

const nodeList = (names: string[]): string => JSON.stringify({ apiVersion: "v1", kind: "List", items: names.map((name) => ({ apiVersion: "v1", kind: "Node", metadata: { name } })) });
const podList = (owners: string[]): string => JSON.stringify({
  apiVersion: "v1", kind: "List",
  items: owners.map((o) => ({ apiVersion: "v1", kind: "Pod", metadata: { namespace: o.split("/")[0], name: o.split("/")[1] }, status: { phase: "Running" } })),
});

/**
 * A state with n1 (10.0.0.0/24: ns/a 10.0.0.1, ns/b 10.0.0.2), n2 (10.0.1.0/24: ns/c 10.0.1.1 and
 * 10.0.1.2 without owner), n3 (10.0.2.0/24, empty); the cluster has n1, n2 and pods ns/a, ns/c.
 */
function fixture(): { dir: string; state: string; nodes: string; pods: string } {
  return stateFixture(OPTIONS, (pool) => {
    for (const n of ["n1", "n2", "n3"]) pool.addNode(n);
    pool.allocate("n1", "ns/a");
    pool.allocate("n1", "ns/b");
    pool.allocate("n2", "ns/c");
    pool.allocateIPv4(pool.handle("n2"));
  }, ["n1", "n2"], ["ns/a", "ns/c"]);
}

/** A state file made with `options` and filled by `fill`, and kubectl's lists of the live nodes and pods beside it. */
function stateFixture(options: ClusterPoolOptions | MultiPoolOptions, fill: (pool: ClusterPool) => void, live: string[], pods: string[]): { dir: string; state: string; nodes: string; pods: string } {
  const dir = tmp();
  const state = join(dir, "state");
  const pool = ClusterPool.open(state, options);
  fill(pool);
  pool.close();
  const f = { dir, state, nodes: join(dir, "nodes.json"), pods: join(dir, "pods.json") };
  writeFileSync(f.nodes, nodeList(live));
  writeFileSync(f.pods, podList(pods));
  return f;
}

interface CheckJson {
  ok: boolean;
  report: { nodes: { name: string }[]; owners: { owner: string; addresses: string[] }[]; orphans: { ip: string }[] };
  leaks: { kind: string; id: string; outcome: string; freed?: string[]; firstSeen: string }[];
}

/** Moves every firstSeen of the candidates file `ms` into the past (time passing between two checks). */
function age(file: string, ms: number): void {
  const d = JSON.parse(readFileSync(file, "utf8")) as { leaks: { firstSeen: string }[] };
  for (const l of d.leaks) l.firstSeen = new Date(Date.parse(l.firstSeen) - ms).toISOString();
  writeFileSync(file, JSON.stringify(d));
}

describe("check --release: candidate, then confirm (built CLI, real files)", () => {
  it("frees only leaks reported by an earlier check at least --grace ago; a pod being created is never freed", () => {
    const f = fixture();
    const base = ["check", "--state", f.state, "--nodes", f.nodes, "--pods", f.pods, "--json"];
    const leaksFile = `${f.state}.leaks.json`;

    // 1. the first check reports three leaks, all new, and records them
    const first = cli(base);
    expect(first.code).toBe(1);
    const j1 = JSON.parse(first.out) as CheckJson;
    expect(j1.leaks.map((l) => [l.kind, l.id, l.outcome])).toEqual([
      ["node", "n3", "new"],
      ["owner", "ns/b", "new"],
      ["address", "10.0.1.2", "new"],
    ]);
    expect(j1.report.owners).toEqual([{ owner: "ns/b", addresses: ["10.0.0.2"], pools: ["default"] }]);
    expect((JSON.parse(readFileSync(leaksFile, "utf8")) as { leaks: unknown[] }).leaks).toHaveLength(3);

    // 2. --release right away: reported before, but not 10 minutes ago: nothing is freed
    const early = JSON.parse(cli([...base, "--release", "--grace", "10m"]).out) as CheckJson;
    expect(early.leaks.map((l) => l.outcome)).toEqual(["waiting", "waiting", "waiting"]);

    // 3. twenty minutes pass; meanwhile a pod is being created: ipcarve has its address, kubectl's list not yet
    age(leaksFile, 20 * 60_000);
    const writer = ClusterPool.open(f.state, OPTIONS);
    expect(writer.allocate("n1", "ns/new").ipv4).toBe("10.0.0.3");
    writer.close();
    const rel = cli([...base, "--release", "--grace", "10m"]);
    expect(rel.code).toBe(1); // ns/new is still reported
    const j3 = JSON.parse(rel.out) as CheckJson;
    expect(j3.leaks.map((l) => [l.kind, l.id, l.outcome, l.freed])).toEqual([
      ["node", "n3", "released", ["10.0.2.0/24"]],
      ["owner", "ns/b", "released", ["10.0.0.2"]],
      ["owner", "ns/new", "new", undefined],
      ["address", "10.0.1.2", "released", ["10.0.1.2"]],
    ]);

    // the state on disk: the three leaks are gone, the new pod keeps its address
    const ro = ClusterPool.open(f.state, {} as never, { readOnly: true });
    expect(ro.nodeNames()).toEqual(["n1", "n2"]);
    expect(ro.lookup("10.0.0.2")).toEqual({ node: "n1", podCIDR: "10.0.0.0/24", allocated: false });
    expect(ro.lookup("10.0.1.2")?.allocated).toBe(false);
    expect(ro.lookup("10.0.0.3")?.owner).toBe("ns/new");
    ro.close();
    expect((JSON.parse(readFileSync(leaksFile, "utf8")) as { leaks: { id: string }[] }).leaks.map((l) => l.id)).toEqual(["ns/new"]);

    // 4. the pod shows up in kubectl's list: clean, and nothing is left as a candidate
    writeFileSync(f.pods, podList(["ns/a", "ns/c", "ns/new"]));
    const last = cli([...base, "--release", "--grace", "0"]);
    expect(last.code).toBe(0);
    expect((JSON.parse(last.out) as CheckJson).ok).toBe(true);
    expect((JSON.parse(readFileSync(leaksFile, "utf8")) as { leaks: unknown[] }).leaks).toEqual([]);
  });
});

describe("check (in-process)", () => {
  it("check --help names every flag", async () => {
    const r = await run(["check", "--help"]);
    expect(r.code).toBe(0);
    for (const flag of ["--state <file>", "--nodes <file>", "--pods <file>", "--release", "--grace <t>", "--candidates <file>", "--json"]) expect(r.out).toContain(flag);
  });

  it("prints the report as a table and says where the candidates are", async () => {
    const f = fixture();
    const r = await run(["check", "--state", f.state, "--nodes", f.nodes, "--pods", f.pods]);
    expect(r.code).toBe(1);
    const lines = r.out.split("\n");
    expect(lines[0]).toBe(`check of ${f.state}: 1 stale node, 1 stale owner, 1 address without a known owner, 0 counter mismatches, 0 other problems`);
    expect(r.out).toMatch(/^node\s+n3\s+ready, 10\.0\.2\.0\/24, 0 pods\s+\S+Z\s+new: a later check may release it$/m);
    expect(r.out).toMatch(/^owner\s+ns\/b\s+10\.0\.0\.2\s/m);
    expect(r.out).toMatch(/^address\s+10\.0\.1\.2\s+node n2 \(10\.0\.1\.0\/24\), no owner\s/m);
    expect(r.err).toBe(`leaks recorded in ${f.state}.leaks.json; run again with --release to free those reported at least 15m earlier\n`);
  });

  it("without --nodes and --pods only addresses without owner are compared; --candidates puts the file elsewhere", async () => {
    const f = fixture();
    const cand = join(f.dir, "elsewhere.json");
    const r = await run(["check", "--state", f.state, "--candidates", cand, "--json"]);
    const j = JSON.parse(r.out) as CheckJson;
    expect(j.leaks.map((l) => l.id)).toEqual(["10.0.1.2"]);
    expect(existsSync(cand)).toBe(true);
    expect(existsSync(`${f.state}.leaks.json`)).toBe(false);
  });

  it("a candidates file that cannot be written: a plain check still reports (and warns), --release fails", async () => {
    const f = fixture();
    const cand = join(f.dir, "no-such-dir", "leaks.json");
    const r = await run(["check", "--state", f.state, "--candidates", cand, "--json"]);
    expect(r.code).toBe(1); // the orphan is reported
    expect((JSON.parse(r.out) as { recorded: boolean; leaks: unknown[] })).toMatchObject({ recorded: false, leaks: [{ kind: "address", id: "10.0.1.2", outcome: "new" }] });
    expect(r.err).toMatch(/no-such-dir\/leaks\.json: cannot write the leak candidates: ENOENT \(the report is complete, but a later --release cannot count this check\)/);
    const rel = await run(["check", "--state", f.state, "--candidates", cand, "--release"]);
    expect(rel.code).toBe(1);
    expect(rel.out).toBe("");
    expect(rel.err).toMatch(/cannot write the leak candidates: ENOENT\n$/);
    const ro = ClusterPool.open(f.state, {} as never, { readOnly: true });
    expect(ro.lookup("10.0.1.2")?.allocated).toBe(true); // nothing was freed
    ro.close();
  });

  it("--release with a candidate due but the file unwritable frees nothing", async () => {
    const f = fixture();
    const cand = join(f.dir, "leaks.json");
    await run(["check", "--state", f.state, "--candidates", cand]);
    age(cand, 60 * 60_000);
    // a directory where the temp file should go: the write fails, the due orphan stays
    mkdirSync(`${cand}.tmp-${process.pid}`);
    const rel = await run(["check", "--state", f.state, "--candidates", cand, "--release", "--grace", "0"]);
    expect(rel.code).toBe(1);
    expect(rel.err).toMatch(/cannot write the leak candidates: EISDIR/);
    const ro = ClusterPool.open(f.state, {} as never, { readOnly: true });
    expect(ro.lookup("10.0.1.2")?.allocated).toBe(true);
    ro.close();
  });

  it("a clean state exits 0", async () => {
    const f = fixture();
    writeFileSync(f.nodes, nodeList(["n1", "n2", "n3"]));
    writeFileSync(f.pods, podList(["ns/a", "ns/b", "ns/c"]));
    const pool = ClusterPool.open(f.state, OPTIONS);
    pool.release("10.0.1.2");
    pool.close();
    const r = await run(["check", "--state", f.state, "--nodes", f.nodes, "--pods", f.pods]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`check of ${f.state}: 0 stale nodes, 0 stale owners, 0 addresses without a known owner, 0 counter mismatches, 0 other problems\n`);
  });

  const bad: [string, (f: ReturnType<typeof fixture>) => string[], number, RegExp][] = [
    ["no --state", () => ["check"], 2, /required option '--state <file>'/],
    ["a state file that does not exist", (f) => ["check", "--state", join(f.dir, "nope")], 1, /--state .*nope: no such state file/],
    ["a nodes file that does not exist", (f) => ["check", "--state", f.state, "--nodes", "missing.json"], 1, /^ipcarve: --nodes missing\.json: no such file/],
    ["a nodes file that is not JSON", (f) => { writeFileSync(f.nodes, "{ nope"); return ["check", "--state", f.state, "--nodes", f.nodes]; }, 1, /--nodes .*nodes\.json: not valid JSON/],
    ["a pods list without items", (f) => { writeFileSync(f.pods, "{}"); return ["check", "--state", f.state, "--pods", f.pods]; }, 1, /--pods .*pods\.json: expected the output of kubectl get pods -o json \(no items\[\] found\)/],
    ["a pod without namespace", (f) => { writeFileSync(f.pods, JSON.stringify({ items: [{ metadata: { name: "x" } }] })); return ["check", "--state", f.state, "--pods", f.pods]; }, 1, /items\[0\]\.metadata\.namespace must be a non-empty string/],
    ["a bad --grace", (f) => ["check", "--state", f.state, "--release", "--grace", "soon"], 2, /option '--grace <t>' argument 'soon' is invalid/],
    ["a candidates file that is not one", (f) => { writeFileSync(`${f.state}.leaks.json`, "[]"); return ["check", "--state", f.state]; }, 1, /state\.leaks\.json: not a leak candidates file/],
  ];
  it.each(bad)("%s: exit %#", async (_name, args, code, msg) => {
    const f = fixture();
    const r = await run(args(f), f.dir);
    expect(r.code).toBe(code);
    expect(r.err).toMatch(msg);
  });

  it("nodes and pods lists in YAML are read too", async () => {
    const f = fixture();
    writeFileSync(f.nodes, "apiVersion: v1\nkind: List\nitems:\n- metadata:\n    name: n1\n- metadata:\n    name: n2\n- metadata:\n    name: n3\n");
    const r = await run(["check", "--state", f.state, "--nodes", f.nodes, "--json"]);
    expect((JSON.parse(r.out) as CheckJson).report.nodes).toEqual([]);
  });
});

describe("check of a state with named pools", () => {
  // no pre-allocation: a node takes a /28 (IPv4) or /124 (IPv6) chunk at its first pod in a pool
  const MULTI = {
    pools: {
      default: { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 28 }, preAllocate: 0 },
      blue: { ipv4: { cidrs: ["10.1.0.0/24"], maskSize: 28 }, ipv6: { cidrs: ["fd00:1::/120"], maskSize: 124 }, preAllocate: 0 },
    },
  };

  /**
   * n1: ns/a 10.0.0.1, ns/b 10.0.0.2 (default 10.0.0.0/28); n2: ns/c 10.0.0.17 (default 10.0.0.16/28),
   * ns/d 10.1.0.1 + fd00:1::1 (blue 10.1.0.0/28, fd00:1::/124); n3: nothing. The cluster has n1, n3
   * and pods ns/a, ns/c, ns/d: n2 and ns/b are leaks.
   */
  function multiFixture(): { dir: string; state: string; nodes: string; pods: string } {
    return stateFixture(MULTI, (pool) => {
      for (const n of ["n1", "n2", "n3"]) pool.addNode(n);
      pool.allocate("n1", "ns/a");
      pool.allocate("n1", "ns/b");
      pool.allocate("n2", "ns/c");
      pool.allocate("n2", "ns/d", { pool: "blue" });
    }, ["n1", "n3"], ["ns/a", "ns/c", "ns/d"]);
  }

  it("reports the stale node with its chunks per pool and the stale owner with its pool (table)", async () => {
    const f = multiFixture();
    const r = await run(["check", "--state", f.state, "--nodes", f.nodes, "--pods", f.pods]);
    expect(r.code).toBe(1);
    expect(r.out.split("\n")[0]).toBe(`check of ${f.state}: 1 stale node, 1 stale owner, 0 addresses without a known owner, 0 counter mismatches, 0 other problems`);
    // n2's chunks: blue (IPv4, then IPv6), then default; 3 addresses (ns/c one, ns/d two)
    expect(r.out).toMatch(/^node\s+n2\s+ready, blue: 10\.1\.0\.0\/28,fd00:1::\/124; default: 10\.0\.0\.16\/28, 3 pods\s+\S+Z\s+new: a later check may release it$/m);
    expect(r.out).toMatch(/^owner\s+ns\/b\s+pool default: 10\.0\.0\.2\s/m);
  });

  it("--release with --grace: candidate, then confirm; a pod being created in pool blue is never freed", async () => {
    const f = multiFixture();
    const base = ["check", "--state", f.state, "--nodes", f.nodes, "--pods", f.pods, "--json"];
    const leaksFile = `${f.state}.leaks.json`;

    // 1. the first check: two new leaks, recorded
    const j1 = JSON.parse((await run(base)).out) as CheckJson & { report: { nodes: { pools: unknown }[]; owners: { pools: string[] }[] } };
    expect(j1.leaks.map((l) => [l.kind, l.id, l.outcome])).toEqual([["node", "n2", "new"], ["owner", "ns/b", "new"]]);
    expect(j1.report.nodes[0]!.pools).toEqual([{ pool: "blue", cidrs: ["10.1.0.0/28", "fd00:1::/124"] }, { pool: "default", cidrs: ["10.0.0.16/28"] }]);
    expect(j1.report.owners).toEqual([{ owner: "ns/b", addresses: ["10.0.0.2"], pools: ["default"] }]);

    // 2. --release right away: reported, but not 10 minutes ago
    const early = JSON.parse((await run([...base, "--release", "--grace", "10m"])).out) as CheckJson;
    expect(early.leaks.map((l) => l.outcome)).toEqual(["waiting", "waiting"]);

    // 3. twenty minutes pass; a pod of pool blue is being created on n1 (n1's first blue chunk, next-fit after n2's)
    age(leaksFile, 20 * 60_000);
    const writer = ClusterPool.open(f.state, { pools: {} });
    expect(writer.allocate("n1", "ns/new", { pool: "blue" })).toEqual({ ipv4: "10.1.0.17", ipv6: "fd00:1::11" });
    writer.close();
    const rel = await run([...base, "--release", "--grace", "10m"]);
    expect(rel.code).toBe(1); // ns/new is still reported
    expect((JSON.parse(rel.out) as CheckJson).leaks.map((l) => [l.kind, l.id, l.outcome, l.freed])).toEqual([
      ["node", "n2", "released", ["10.1.0.0/28", "10.0.0.16/28", "fd00:1::/124"]],
      ["owner", "ns/b", "released", ["10.0.0.2"]],
      ["owner", "ns/new", "new", undefined],
    ]);

    // the state on disk: n2 and its chunks are gone, ns/b's address is free, ns/new keeps its addresses
    const ro = ClusterPool.open(f.state, { pools: {} }, { readOnly: true });
    expect(ro.nodeNames()).toEqual(["n1", "n3"]);
    expect(ro.lookup("10.0.0.17")).toBeUndefined(); // n2's chunk went back to the pool
    expect(ro.lookup("10.0.0.2")).toEqual({ node: "n1", pool: "default", podCIDR: "10.0.0.0/28", allocated: false });
    expect(ro.lookup("fd00:1::11")?.owner).toBe("ns/new");
    expect(ro.check().ok).toBe(true);
    ro.close();

    // 4. the pod shows up in kubectl's list: clean
    writeFileSync(f.pods, podList(["ns/a", "ns/c", "ns/d", "ns/new"]));
    const last = await run([...base, "--release", "--grace", "0"]);
    expect(last.code).toBe(0);
    expect((JSON.parse(readFileSync(leaksFile, "utf8")) as { leaks: unknown[] }).leaks).toEqual([]);
  });
});

describe("decide(): which leaks are due", () => {
  const MIN = 60_000;
  const n3: Leak = { kind: "node", id: "n3" };
  const pb: Leak = { kind: "owner", id: "ns/b" };
  const ip: Leak = { kind: "address", id: "10.0.1.2" };
  const at = (l: Leak, firstSeen: number): Candidate => ({ ...l, firstSeen });
  const NOW = 100 * MIN;
  const rows: [string, Candidate[], Leak[], number, Candidate[], Candidate[]][] = [
    // [name, previous, leaks now, grace, want candidates, want due]
    ["first check: all new, nothing due", [], [n3, pb], 10 * MIN, [at(n3, NOW), at(pb, NOW)], []],
    ["grace 0 still needs an earlier report", [], [n3], 0, [at(n3, NOW)], []],
    ["seen 20 min ago, grace 10 min: due", [at(n3, NOW - 20 * MIN)], [n3], 10 * MIN, [at(n3, NOW - 20 * MIN)], [at(n3, NOW - 20 * MIN)]],
    ["seen exactly grace ago: due (at least grace)", [at(n3, NOW - 10 * MIN)], [n3], 10 * MIN, [at(n3, NOW - 10 * MIN)], [at(n3, NOW - 10 * MIN)]],
    ["seen 5 min ago, grace 10 min: waits, keeps its first-seen time", [at(n3, NOW - 5 * MIN)], [n3], 10 * MIN, [at(n3, NOW - 5 * MIN)], []],
    ["reported before, not now (the pod showed up): dropped", [at(pb, NOW - 60 * MIN)], [ip], 10 * MIN, [at(ip, NOW)], []],
    ["same id, other kind: a different leak", [at({ kind: "node", id: "x" }, 0)], [{ kind: "owner", id: "x" }], 0, [at({ kind: "owner", id: "x" }, NOW)], []],
  ];
  it.each(rows)("%s", (_name, previous, leaks, grace, candidates, due) => {
    expect(decide(previous, leaks, NOW, grace)).toEqual({ candidates, due });
  });
});
