/**
 * Crash test (issue 3): a child process (test/fixtures/crash-child.mjs) runs
 * random addNode / removeNode / allocate / release / releaseOwner against a
 * FileStore (ClusterPool.open) and prints every operation before (B) and
 * after (A) it runs. The parent kills it with SIGKILL 5-80 ms after its
 * first acknowledgement, reopens the store and checks:
 *   - every acknowledged allocation is present (owner -> IP, node -> podCIDRs);
 *   - nothing acknowledged as released is present;
 *   - the one in-flight operation has landed or not (both accepted);
 *   - no IP is held twice, and the pod counters match the owned addresses;
 *   - pool.verify() is [] (counters match a recount of the bitmaps).
 * Then the parent rebuilds its model from the recovered pool and starts the
 * child again on the same files.
 *
 * Named pools (options.pools): the child allocates from a pool picked at
 * random; nodes take and give back chunks by the watermark (preAllocate,
 * releaseDelayMs on the real clock), so a node's CIDRs change between
 * acknowledgements: the parent checks presence of nodes, that every held
 * address lies in a chunk of its node, that no chunk is held twice and that
 * chunks did move; the address invariants are the same. Every recovered
 * state must also pass check() without live lists (no orphan, no counter
 * that disagrees with a recount).
 *
 * npm test runs CYCLES (default 100) kills; `npm run crash` runs 2000
 * (IPCARVE_CRASH_CYCLES). It also fails on a pending node that recovery
 * served although no acknowledged operation did, and on a half-applied
 * releaseOwner (regressions, see file-store.test.ts); IPCARVE_CRASH_STRICT=0
 * only reports those. It also fails on a pending node left waiting beside a
 * free subnet after recovery (IPCARVE_CRASH_LIVENESS=0 only reports it).
 */
import { describe, it, expect, afterAll } from "vitest";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { ClusterPool, parseCidr } from "../src/index.js";
import type { ClusterPoolOptions, MultiPoolOptions } from "../src/index.js";
import type { FileStoreOptions } from "../src/pool/file-store.js";
import { parseIp } from "../src/net/ip.js";

const CYCLES = Number(process.env.IPCARVE_CRASH_CYCLES ?? 100);
const STRICT = process.env.IPCARVE_CRASH_STRICT !== "0";
const CHILD = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "crash-child.mjs");

interface Config {
  readonly name: string;
  readonly options: ClusterPoolOptions | MultiPoolOptions;
  /** Named pools only: the pools allocate picks from, with their number of families. */
  readonly pools?: Readonly<Record<string, number>>;
  readonly store: FileStoreOptions;
  /** Node names node-0 .. node-(nodes-1); more than fit, so some wait as pending. */
  readonly nodes: number;
  readonly owners: number;
  /** Ready nodes the pool can hold with 'reject' overflow: with fewer, no node should be pending. */
  readonly capacity: number;
}

const V4 = { cidrs: ["10.0.0.0/20"], maskSize: 26 }; // 2^(26-20) = 64 node subnets of 2^6 = 64 addresses
const V4_SMALL = { cidrs: ["10.0.0.0/22"], maskSize: 26 }; // 2^(26-22) = 16 node subnets
const V6 = { cidrs: ["fd00::/116"], maskSize: 122 }; // 2^(122-116) = 64 node subnets of 2^6 = 64 addresses

const CONFIGS: Config[] = [
  { name: "ipv4, store defaults", options: { ipv4: V4 }, store: {}, nodes: 72, owners: 400, capacity: 64 },
  {
    name: "dual stack, reuse cooldown 50 ms",
    options: { ipv4: V4, ipv6: V6, reuse: { cooldownMs: 50 } },
    store: { compactEvery: 5000 },
    nodes: 72, owners: 400, capacity: 64, // min(64 IPv4, 64 IPv6)
  },
  {
    name: "small ipv4, compactEvery 50, fsync never",
    options: { ipv4: V4_SMALL },
    store: { compactEvery: 50, fsync: "never" },
    nodes: 24, owners: 200, capacity: 16,
  },
  {
    name: "dual stack, cooldown, compactEvery 50, fsync always",
    options: { ipv4: V4_SMALL, ipv6: V6, reuse: { cooldownMs: 50 } },
    store: { compactEvery: 50, fsync: "always" },
    nodes: 24, owners: 200, capacity: 16, // min(16 IPv4, 64 IPv6)
  },
  {
    name: "maxNodeSubnets 8 + smaller /28, compactEvery 50",
    options: { ipv4: V4_SMALL, maxNodeSubnets: 8, overflow: { smaller: 28 } },
    store: { compactEvery: 50, fsync: "never" },
    // 8 big /26 = 32 /28 slots; the other 2^(28-22) - 32 = 32 /28 slots go to overflow nodes: 8 + 32 = 40
    nodes: 48, owners: 300, capacity: 40,
  },
  {
    name: "maxNodeSubnets 6 (reject), compactEvery 50",
    options: { ipv4: V4_SMALL, maxNodeSubnets: 6 },
    store: { compactEvery: 50 },
    nodes: 12, owners: 200, capacity: 6,
  },
  {
    // /28 chunks of 14 usable IPv4 addresses (/124 of 16 IPv6): 10.0.0.0/22 has 64, 10.1.0.0/24 16, fd00:1::/120 16.
    // default keeps 4 free per node and gives an empty chunk back at once; blue takes chunks on demand and
    // gives them back after 20 ms: chunks move all the time
    name: "named pools: default (pre-allocate 4, delay 0) + blue dual stack (delay 20 ms)",
    options: {
      pools: {
        default: { ipv4: { cidrs: ["10.0.0.0/22"], maskSize: 28 }, preAllocate: 4, releaseDelayMs: 0 },
        blue: { ipv4: { cidrs: ["10.1.0.0/24"], maskSize: 28 }, ipv6: { cidrs: ["fd00:1::/120"], maskSize: 124 }, preAllocate: 0, releaseDelayMs: 20 },
      },
    },
    pools: { default: 1, blue: 2 },
    store: {},
    nodes: 24, owners: 300, capacity: 24, // every node is ready: a node never waits with named pools
  },
  {
    // gpu selects even nodes (gpu=true): allocate on an odd one is UNKNOWN_POOL; 10.2.0.0/26 has 4 /28s, so gpu runs dry
    name: "named pools with a node selector, compactEvery 50, fsync never",
    options: {
      pools: {
        default: { ipv4: { cidrs: ["10.0.0.0/23"], maskSize: 28 }, preAllocate: 2, releaseDelayMs: 10 },
        gpu: { ipv4: { cidrs: ["10.2.0.0/26"], maskSize: 28 }, preAllocate: 1, releaseDelayMs: 0, nodeSelector: { matchLabels: { gpu: "true" } } },
      },
    },
    pools: { default: 1, gpu: 1 },
    store: { compactEvery: 50, fsync: "never" },
    nodes: 12, owners: 200, capacity: 12,
  },
];

type Op =
  | { op: "addNode"; name: string }
  | { op: "removeNode"; name: string }
  | { op: "allocate"; node: string; owner: string; pool?: string }
  | { op: "release"; ip: string }
  | { op: "releaseOwner"; owner: string };
type Answer = { r: unknown } | { e: string };

/** What the parent knows: ready nodes' CIDRs, pending nodes, and every held address. */
interface Model {
  nodes: Map<string, string[] | "pending">;
  ips: Map<string, { owner: string; node: string }>;
}

interface Run {
  acked: { op: Op; a: Answer }[];
  inFlight: Op | undefined;
  killed: boolean;
  stderr: string;
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const inCidr = (ip: string, cidr: string): boolean => {
  const c = parseCidr(cidr);
  const p = parseIp(ip);
  return p.family === c.family && c.containsValue(p.value);
};

/** Starts the child; kills it with SIGKILL 5-80 ms after its first acknowledgement. */
function runChild(path: string, cfg: Config, seed: number, opts: { skipJournal?: boolean } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const arg = JSON.stringify({ path, options: cfg.options, store: cfg.store, seed, nodes: cfg.nodes, owners: cfg.owners, maxOps: 1_000_000, ...(cfg.pools && { pools: Object.keys(cfg.pools) }), ...opts });
    const child = spawn(process.execPath, [CHILD, arg], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let armed = false;
    let killed = false;
    const killAfter = 5 + Math.floor(Math.random() * 76); // 5..80 ms
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      out += chunk;
      if (!armed && out.includes("\nA ")) {
        armed = true;
        setTimeout(() => {
          killed = child.kill("SIGKILL");
        }, killAfter);
      }
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (c: string) => (err += c));
    child.on("error", reject);
    child.on("close", () => {
      const acked: Run["acked"] = [];
      let pending: Op | undefined;
      for (const line of out.split("\n")) {
        if (line.startsWith("B ")) {
          if (pending) return reject(new Error(`two operations in flight: ${JSON.stringify(pending)}`));
          pending = JSON.parse(line.slice(2)) as Op;
        } else if (line.startsWith("A ")) {
          if (!pending) return reject(new Error("an answer without an operation"));
          acked.push({ op: pending, a: JSON.parse(line.slice(2)) as Answer });
          pending = undefined;
        }
      }
      resolve({ acked, inFlight: pending, killed, stderr: err });
    });
  });
}

/** Applies one acknowledged operation to the model; throws if the answer itself is impossible. */
function applyAcked(m: Model, op: Op, a: Answer, notes: string[], named = false): void {
  const fail = (why: string): never => {
    throw new Error(`acknowledged ${JSON.stringify(op)} -> ${JSON.stringify(a)}: ${why}`);
  };
  if ("e" in a) {
    // allowed refusals; anything else is a bug in the child run
    // named pools: a node never waits (addNode does not fail for want of a chunk); a node selector refuses with UNKNOWN_POOL
    const ok: Record<Op["op"], string[]> = named
      ? { addNode: [], removeNode: [], allocate: ["FULL", "UNKNOWN_NODE", "UNKNOWN_POOL"], release: [], releaseOwner: [] }
      : { addNode: ["FULL"], removeNode: [], allocate: ["FULL", "UNKNOWN_NODE"], release: [], releaseOwner: [] };
    if (!ok[op.op].includes(a.e)) fail(`unexpected error ${a.e}`);
    if (op.op === "addNode") m.nodes.set(op.name, "pending");
    if (op.op === "allocate" && a.e === "UNKNOWN_NODE" && Array.isArray(m.nodes.get(op.node))) fail("the node is ready");
    return;
  }
  switch (op.op) {
    case "addNode": {
      const cidrs = a.r as string[];
      const known = m.nodes.get(op.name);
      // named pools: a known node's chunks change with the watermark, so only a single pool's CIDRs are compared
      if (!named && Array.isArray(known) && known.join() !== cidrs.join()) fail(`the node had ${known.join()}`);
      m.nodes.set(op.name, cidrs);
      return;
    }
    case "removeNode": {
      const { removed, served } = a.r as { removed: boolean; served: Record<string, string[] | null> };
      if (removed !== m.nodes.has(op.name)) notes.push(`removeNode(${op.name}) = ${removed}, model ${m.nodes.has(op.name)}`);
      const cidrs = m.nodes.get(op.name);
      m.nodes.delete(op.name);
      for (const [ip, h] of m.ips) {
        // named pools: the CIDRs addNode answered may have gone back since; the node's addresses are what it held
        if (h.node === op.name || (!named && Array.isArray(cidrs) && cidrs.some((c) => inCidr(ip, c)))) m.ips.delete(ip);
      }
      for (const [n, c] of Object.entries(served)) m.nodes.set(n, c ?? "pending");
      return;
    }
    case "allocate": {
      for (const ip of Object.values(a.r as Record<string, string>)) {
        if (m.ips.has(ip)) fail(`${ip} is already held by ${JSON.stringify(m.ips.get(ip))}`);
        m.ips.set(ip, { owner: op.owner, node: op.node });
      }
      return;
    }
    case "release": {
      if (a.r === true && !m.ips.has(op.ip)) fail("released an address nobody held");
      if (a.r === false && m.ips.has(op.ip)) fail(`did not release an address ${op.ip} held by ${JSON.stringify(m.ips.get(op.ip))}`);
      m.ips.delete(op.ip);
      return;
    }
    case "releaseOwner": {
      const got = [...(a.r as string[])].sort();
      const want = [...m.ips].filter(([, h]) => h.owner === op.owner).map(([ip]) => ip).sort();
      if (got.join() !== want.join()) fail(`released ${got.join()} but the owner held ${want.join()}`);
      for (const ip of got) m.ips.delete(ip);
      return;
    }
  }
}

/** The recovered pool's actual state, as a model. */
function actual(pool: ClusterPool, cfg: Config): Model {
  const nodes: Model["nodes"] = new Map();
  for (let i = 0; i < cfg.nodes; i++) {
    const d = pool.node(`node-${i}`);
    if (d) nodes.set(d.name, d.status === "ready" ? d.podCIDRs : "pending");
  }
  const ips: Model["ips"] = new Map();
  for (let i = 0; i < cfg.owners; i++) {
    const owner = `ns/pod-${i}`;
    for (const ip of pool.addressesOf(owner)) {
      if (ips.has(ip)) throw new Error(`${ip} is held twice: by ${ips.get(ip)?.owner} and ${owner}`);
      const l = pool.lookup(ip);
      if (!l || l.owner !== owner || !l.allocated) throw new Error(`lookup(${ip}) = ${JSON.stringify(l)}, but ${owner} holds it`);
      ips.set(ip, { owner, node: l.node });
    }
  }
  return { nodes, ips };
}

/** Checks the recovered state against the model and the in-flight operation. */
function check(pool: ClusterPool, cfg: Config, model: Model, inFlight: Op | undefined, stats: { partial: number; liveness: string[]; drift: string[] }): Model {
  expect(pool.verify()).toEqual([]);
  // check() without live lists: no address without a known owner, no counter that disagrees with a recount
  const leaks = pool.check();
  expect([leaks.orphans, leaks.counters, leaks.problems]).toEqual([[], [], []]);
  const act = actual(pool, cfg); // throws on an address held twice or a lookup that disagrees
  const named = cfg.pools !== undefined;
  if (named) {
    // every held address lies in a chunk its node holds now
    for (const [ip, h] of act.ips) {
      const l = pool.lookup(ip)!;
      expect(inCidr(ip, l.podCIDR), `${ip} in ${l.podCIDR}`).toBe(true);
      expect(pool.node(h.node)?.podCIDRs, `chunks of ${h.node}`).toContain(l.podCIDR);
    }
  }
  // every owned address is counted once in the pod counters, and nothing else is
  const st = pool.stats();
  expect(st.pods).toBe(act.ips.size);

  // addresses: equal to the model, except what the in-flight operation may have changed
  const extra = [...act.ips].filter(([ip]) => !model.ips.has(ip));
  const missing = [...model.ips].filter(([ip]) => !act.ips.has(ip));
  const removedNode = inFlight?.op === "removeNode" && missing.length + extra.length > 0 ? inFlight.name : undefined;
  for (const [ip, h] of model.ips) {
    const a = act.ips.get(ip);
    if (a) expect(a.owner, `owner of ${ip}`).toBe(h.owner);
  }
  if (inFlight?.op === "allocate") {
    // it landed (one address per family, on that node or borrowed by it) or not
    const families = cfg.pools ? (cfg.pools[inFlight.pool ?? "default"] as number) : (cfg.options as ClusterPoolOptions).ipv6 ? 2 : 1;
    expect(extra.length).toBeLessThanOrEqual(families);
    for (const [ip, h] of extra) {
      expect(h.owner).toBe(inFlight.owner);
      expect(h.node).toBe(inFlight.node);
      expect(ip).toBeTruthy();
    }
    if (extra.length > 0) expect(extra.length).toBe(families); // all families or none
  } else {
    expect(extra, "addresses held that nobody was acknowledged").toEqual([]);
  }
  if (missing.length > 0) {
    const explain = ([ip, h]: [string, { owner: string; node: string }]): boolean => {
      if (inFlight?.op === "release") return ip === inFlight.ip;
      if (inFlight?.op === "releaseOwner") return h.owner === inFlight.owner;
      if (removedNode !== undefined) {
        const cidrs = model.nodes.get(removedNode);
        return h.node === removedNode || (!named && Array.isArray(cidrs) && cidrs.some((c) => inCidr(ip, c)));
      }
      return false;
    };
    const lost = missing.filter((e) => !explain(e));
    expect(lost, "acknowledged allocations lost").toEqual([]);
    if (inFlight?.op === "releaseOwner") {
      const held = [...model.ips].filter(([, h]) => h.owner === inFlight.owner).length;
      if (missing.length !== held) stats.partial++; // a partly applied releaseOwner: it is one journal record
    }
  }

  // nodes: every acknowledged ready node has its CIDRs, except the in-flight add/remove target
  const touched = inFlight?.op === "addNode" || inFlight?.op === "removeNode" ? inFlight.name : undefined;
  for (const [name, cidrs] of model.nodes) {
    const got = act.nodes.get(name);
    if (name === touched) continue;
    if (named) expect(Array.isArray(got), `node ${name} is there`).toBe(true); // its chunks moved with the watermark
    else if (Array.isArray(cidrs)) expect(got, `node ${name}`).toEqual(cidrs);
    else if (inFlight?.op !== "removeNode" && got !== "pending") {
      // a pending node that recovery served (or lost) although no acknowledged operation did: the pending
      // queue is not rebuilt faithfully by journal replay (see file-store.test.ts); STRICT fails on it
      stats.drift.push(`${cfg.name}: pending node ${name} recovered as ${JSON.stringify(got ?? "absent")}`);
    }
  }
  for (const [name, got] of act.nodes) {
    if (model.nodes.has(name) || name === touched) continue;
    // only a node that the in-flight removal served may appear
    expect(inFlight?.op, `node ${name} appeared: ${JSON.stringify(got)}`).toBe("removeNode");
  }
  // no CIDR is held by two nodes
  const cidrs = [...act.nodes.values()].flatMap((c) => (Array.isArray(c) ? c : []));
  expect(new Set(cidrs).size).toBe(cidrs.length);

  // liveness ('reject' overflow): no node waits while the pool could hold it
  const ready = [...act.nodes.values()].filter((c) => Array.isArray(c)).length;
  const waiting = [...act.nodes.values()].filter((c) => c === "pending").length;
  if (waiting > 0 && ready < cfg.capacity) stats.liveness.push(`${cfg.name}: ${waiting} node(s) pending with ${ready} of ${cfg.capacity} ready, in flight ${JSON.stringify(inFlight)}`);
  return act;
}

describe("crash test: SIGKILL at random moments, reopen, check", () => {
  it(`${CYCLES} kill cycles over ${CONFIGS.length} configurations`, async () => {
    const t0 = Date.now();
    const states = CONFIGS.map((cfg) => {
      const dir = mkdtempSync(join(tmpdir(), "ipcarve-crash-"));
      dirs.push(dir);
      return { cfg, path: join(dir, "pool.ipc"), model: { nodes: new Map(), ips: new Map() } as Model, cycles: 0, acked: 0, chunksReleased: 0 };
    });
    const stats = { partial: 0, liveness: [] as string[], drift: [] as string[], inFlight: 0, killed: 0 };
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const st = states[cycle % states.length]!;
      const { cfg } = st;
      const seed = (cycle * 2654435761 + 12345) >>> 0;
      const run = await runChild(st.path, cfg, seed);
      if (!run.killed) throw new Error(`cycle ${cycle} (${cfg.name}): the child ended before the kill: ${run.stderr}`);
      stats.killed++;
      if (run.inFlight) stats.inFlight++;
      const notes: string[] = [];
      for (const { op, a } of run.acked) applyAcked(st.model, op, a, notes, cfg.pools !== undefined);
      st.acked += run.acked.length;
      let pool: ClusterPool | undefined;
      try {
        pool = ClusterPool.open(st.path, cfg.options, cfg.store);
        st.model = check(pool, cfg, st.model, run.inFlight, stats);
        st.chunksReleased = pool.stats().chunksReleased ?? 0;
      } catch (e) {
        const where = `cycle ${cycle} (${cfg.name}, seed ${seed}), ${run.acked.length} acked, in flight ${JSON.stringify(run.inFlight)}`;
        if (e instanceof Error) e.message = `${where}: ${e.message}`;
        throw e;
      } finally {
        pool?.close();
      }
      st.cycles++;
    }
    const acked = states.reduce((n, s) => n + s.acked, 0);
    console.log(
      `crash test: ${stats.killed} kills, ${acked} acknowledged operations, ${stats.inFlight} with one in flight, ` +
        `${stats.partial} partial releaseOwner, ${stats.liveness.length} liveness warnings, ${stats.drift.length} pending-node drifts, ` +
        `named pools: ${states.filter((x) => x.cfg.pools).map((x) => `${x.cycles} cycles, ${x.acked} acked, ${x.chunksReleased} chunks given back`).join("; ")}, ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    if (stats.liveness.length > 0) console.warn(`liveness (see file-store.test.ts): ${stats.liveness.slice(0, 3).join("; ")}`);
    if (stats.drift.length > 0) console.warn(`pending-node drift (see file-store.test.ts): ${stats.drift.slice(0, 3).join("; ")}`);
    if (STRICT) {
      expect(stats.drift).toEqual([]);
      expect(stats.partial).toBe(0);
    }
    // a kill between a removal's "drop" and the served node's "node" record must not leave the
    // pending node waiting beside a free subnet: recovery serves it (IPCARVE_CRASH_LIVENESS=0 only reports)
    if (process.env.IPCARVE_CRASH_LIVENESS !== "0") expect(stats.liveness).toEqual([]);
    expect(stats.killed).toBe(CYCLES);
    // named pools: chunks went back by the watermark during the runs (the recovered state counts them)
    for (const s of states) if (s.cfg.pools !== undefined && s.cycles >= 3) expect(s.chunksReleased, `${s.cfg.name}: chunks given back`).toBeGreaterThan(0);
    expect(acked).toBeGreaterThan(CYCLES); // the kills landed while operations were running
  }, 60_000 + CYCLES * 2_000);

  it.each([CONFIGS[0]!, CONFIGS.find((c) => c.pools !== undefined)!])("can fail: a child that journals nothing loses acknowledged allocations ($name)", async (cfg) => {
    const dir = mkdtempSync(join(tmpdir(), "ipcarve-crash-"));
    dirs.push(dir);
    const path = join(dir, "pool.ipc");
    ClusterPool.open(path, cfg.options).close(); // an empty store
    const run = await runChild(path, cfg, 7, { skipJournal: true });
    if (!run.killed) throw new Error(`the child ended before the kill: ${run.stderr}`);
    const model: Model = { nodes: new Map(), ips: new Map() };
    for (const { op, a } of run.acked) applyAcked(model, op, a, [], cfg.pools !== undefined);
    expect(model.nodes.size + model.ips.size).toBeGreaterThan(0); // something was acknowledged
    const pool = ClusterPool.open(path, cfg.options);
    try {
      expect(() => check(pool, cfg, model, run.inFlight, { partial: 0, liveness: [], drift: [] })).toThrow(/node|acknowledged/);
    } finally {
      pool.close();
    }
  });
});
