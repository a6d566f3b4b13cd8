// Drives a multi-pool ClusterPool and ReferenceMultiPool with the same random
// operations (nodes with labels, removal with and without grace, allocations
// per pool by name, by address and by handle (allocateIPv4, batched), releases with and
// without owners, releaseOwner, clock steps and ticks, pool growth, lookups,
// reserve/unreserve; with and without reuse cooldown and router addresses)
// and throws on the first divergence, naming the seed and the operation.
import { ClusterPool, IpamError } from "../../src/index.js";
import { ReferenceMultiPool, ModelError, fmt4, type ModelPool } from "./reference-multipool.js";
import { rng } from "./differential.js";

/** CIDRs each pool may gain at runtime (disjoint from every pool's). */
const GROWTH: Record<string, readonly string[]> = {
  default: ["10.0.1.0/28", "10.0.2.0/27"],
  blue: ["10.1.1.0/29", "10.1.2.0/28"],
  red: ["10.2.1.0/28"],
};

/** CIDRs the test reserves and unreserves. */
const RESERVE = ["10.0.0.16/28", "10.0.0.0/27", "10.0.0.0/30", "10.0.0.36/31", "10.0.0.40/29", "10.1.0.8/29", "10.1.0.4/30", "10.1.0.0/27", "10.2.0.0/29", "10.2.0.4/30", "10.0.1.0/29"];

export function randomPools(r: () => number): ModelPool[] {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  return [
    { name: "default", cidrs: pick([["10.0.0.0/26"], ["10.0.0.0/27", "10.0.0.64/28"]]), mask: 28, pre: pick([0, 1, 8, 14, 20]), delay: pick([0, 10, 50]) },
    { name: "blue", cidrs: ["10.1.0.0/27"], mask: 29, pre: pick([0, 3, 6, 7]), delay: pick([0, 5, 40]), ...(r() < 0.5 ? { selector: "blue" } : {}) },
    { name: "red", cidrs: ["10.2.0.0/28"], mask: pick([28, 30]), pre: pick([0, 2]), delay: pick([0, 20]), ...(r() < 0.5 ? { selector: "red" } : {}) },
  ];
}

function run<T>(fn: () => T): unknown {
  try {
    return { ok: fn() };
  } catch (e) {
    if (e instanceof IpamError || e instanceof ModelError) return { err: e.code };
    throw e;
  }
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** `ops` random operations from `seed`; throws on the first divergence. */
export function differentialMulti(seed: number, ops: number): { ops: number } {
  const r = rng(seed);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const specs = randomPools(r);
  const cooldownMs = pick([undefined, undefined, 30, 200]);
  const router = pick([false, false, "first", "last"] as const);
  const model = new ReferenceMultiPool(specs, { cooldownMs, router });
  let now = 0;
  let pool = new ClusterPool({
    pools: Object.fromEntries(specs.map((p) => [p.name, {
      ipv4: { cidrs: [...p.cidrs], maskSize: p.mask }, preAllocate: p.pre, releaseDelayMs: p.delay,
      ...(p.selector ? { nodeSelector: { matchLabels: { tier: p.selector } } } : {}),
    }])),
    clock: () => now,
    ...(cooldownMs !== undefined ? { reuse: { cooldownMs } } : {}),
    ...(router !== false ? { reserveRouterIP: router } : {}),
  });
  const grown = new Set<string>();
  const nodes = ["n0", "n1", "n2", "n3", "n4"];
  const owners = Array.from({ length: 24 }, (_, i) => `ns/p${i}`);
  const anyIp = (): string => {
    const held = [...model.addrs.keys()];
    if (held.length > 0 && r() < 0.7) return fmt4(pick(held));
    const base = pick([0x0a000000, 0x0a010000, 0x0a020000]);
    return fmt4(base + Math.floor(r() * 96));
  };
  try {
    for (let i = 0; i < ops; i++) {
      now += pick([0, 0, 1, 3, 7, 25]);
      model.now = now;
      const x = r();
      let what: string;
      let got: unknown;
      let want: unknown;
      if (x < 0.12) {
        const n = pick(nodes);
        const tier = pick([undefined, "blue", "red"]);
        what = `addNode(${n}, ${tier})`;
        got = run(() => pool.addNode(n, tier ? { labels: { tier } } : undefined).podCIDRs);
        want = run(() => model.addNode(n, tier));
      } else if (x < 0.17) {
        const n = pick(nodes);
        const grace = pick([0, 0, 0, 20, 100, Infinity]);
        what = `removeNode(${n}, ${grace})`;
        got = run(() => pool.removeNode(n, grace === 0 ? undefined : { graceMs: grace }));
        want = run(() => model.removeNode(n, grace));
      } else if (x < 0.45) {
        const n = pick([...nodes, "ghost"]);
        const o = pick(owners);
        const p = pick(["default", "default", "blue", "red", "nope"]);
        what = `allocate(${n}, ${o}, ${p})`;
        got = run(() => pool.allocate(n, o, { pool: p }).ipv4);
        want = run(() => model.allocate(n, o, p));
      } else if (x < 0.48) {
        // a specific address (held ones fail ALREADY_ALLOCATED; others take their free chunk)
        const n = pick(nodes);
        const o = pick(owners);
        const p = pick(["default", "blue", "red"]);
        const ip = anyIp();
        what = `allocate(${n}, ${o}, { pool: ${p}, ips: ${ip} })`;
        got = run(() => pool.allocate(n, o, { pool: p, ips: ip }).ipv4);
        want = run(() => model.allocateWanted(n, o, p, ip));
      } else if (x < 0.52) {
        // the numeric fast path: node and pool handles (no pool: default), no owner
        const n = pick([...nodes, "ghost"]);
        const p = pick([undefined, "default", "blue", "red", "nope"]);
        what = `allocateIPv4(${n}, ${p})`;
        got = run(() => pool.allocateIPv4(pool.handle(n), p === undefined ? undefined : pool.poolHandle(p)));
        want = run(() => model.allocateIPv4(n, p ?? "default"));
      } else if (x < 0.55) {
        const n = pick(nodes);
        const p = pick(["default", "blue", "red"]);
        const count = pick([1, 3, 9, 20]);
        what = `allocateIPv4Batch(${n}, ${count}, ${p})`;
        const out = new Uint32Array(count);
        got = run(() => Array.from(out.subarray(0, pool.allocateIPv4Batch(pool.handle(n), out, count, pool.poolHandle(p)))));
        want = run(() => model.allocateIPv4Batch(n, p, count));
      } else if (x < 0.75) {
        const ip = anyIp();
        const o = r() < 0.3 ? pick(owners) : undefined;
        what = `release(${ip}, ${o})`;
        got = run(() => pool.release(ip, o));
        want = run(() => model.release(ip, o));
      } else if (x < 0.83) {
        const o = pick(owners);
        what = `releaseOwner(${o})`;
        got = run(() => pool.releaseOwner(o));
        want = run(() => model.releaseOwner(o));
      } else if (x < 0.9) {
        now += pick([10, 30, 60]);
        model.now = now;
        what = "tick";
        got = run(() => pool.tick());
        want = run(() => model.tick());
      } else if (x < 0.905) {
        // the state through snapshot bytes: the restored pool must go on exactly as the model
        what = "snapshot/restore";
        const copy = ClusterPool.restore(pool.snapshot(), { clock: () => now });
        pool.dispose();
        pool = copy;
        model.tick(); // snapshot() first releases what is due, as every call that changes the pool
        got = want = undefined;
      } else if (x < 0.91) {
        // chunk slots (a prefix up to the pool's mask) or addresses; "red" has mask 28 or 30, so 10.2.0.0/29 is either
        const c = pick(RESERVE);
        const un = r() < 0.4;
        what = `${un ? "unreserve" : "reserve"}(${c})`;
        got = run(() => (un ? pool.unreserve(c) : pool.reserve(c)));
        want = run(() => (un ? model.unreserve(c) : model.reserve(c)));
      } else if (x < 0.92) {
        const p = pick(["default", "blue", "red"]);
        const c = (GROWTH[p] as readonly string[]).find((g) => !grown.has(g));
        if (c === undefined) continue;
        grown.add(c);
        what = `addPoolCidr(${c}, ${p})`;
        got = run(() => pool.addPoolCidr(c, { pool: p }));
        want = run(() => model.addPoolCidr(p, c));
      } else {
        const ip = anyIp();
        what = `lookup(${ip})`;
        got = run(() => pool.lookup(ip));
        want = run(() => model.lookup(ip));
      }
      if (process.env.MP_TRACE) console.log(i, what, JSON.stringify(got), JSON.stringify(want), JSON.stringify(nodes.map((n) => pool.node(n)?.usage?.map((u) => [u.pool, u.cidrs.join(" "), u.used, u.free, u.short]))));
      if (!same(got, want)) throw new Error(`seed ${seed} op ${i} ${what}: pool ${JSON.stringify(got)} != model ${JSON.stringify(want)}`);
      for (const n of nodes) {
        const a = pool.node(n)?.podCIDRs ?? [];
        const b = model.cidrs(n);
        if (!same(a, b)) throw new Error(`seed ${seed} op ${i} after ${what}: node ${n} holds ${JSON.stringify(a)}, model ${JSON.stringify(b)}`);
      }
      if (i % 64 === 63) {
        const problems = pool.verify();
        if (problems.length > 0) throw new Error(`seed ${seed} op ${i}: verify: ${problems.join("; ")}`);
      }
    }
    return { ops };
  } finally {
    pool.dispose();
  }
}
