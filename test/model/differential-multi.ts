// Drives a multi-pool ClusterPool and ReferenceMultiPool with the same random
// operations (nodes with labels, removal with and without grace, allocations
// per pool by name, by wanted addresses ({ pool, ips }: IPv4, IPv6 or both) and
// by handle (allocateIPv4, batched), releases with and without owners,
// releaseOwner, clock steps and ticks, pool growth, lookups, reserve/unreserve;
// with and without reuse cooldown and router addresses) over IPv4, IPv6 and
// dual-stack pools, and throws on the first divergence, naming the seed and
// the operation. The chunks each pool family moved are compared too.
import { ClusterPool, IpamError } from "../../src/index.js";
import { ReferenceMultiPool, ModelError, fmtAny, type ModelPool, type ModelFamily } from "./reference-multipool.js";
import { rng } from "./differential.js";

/** CIDRs each pool family may gain at runtime (disjoint from every pool's), by "pool/family/mask". */
const GROWTH: Record<string, readonly string[]> = {
  "default/4/28": ["10.0.1.0/28", "10.0.2.0/27"],
  "blue/4/29": ["10.1.1.0/29", "10.1.2.0/28"],
  "red/4/28": ["10.2.1.0/28"],
  "red/4/30": ["10.2.1.0/28"],
  "default/6/124": ["fd00::200/123", "fd00::300/124"],
  "blue/6/125": ["fd01::100/125"],
  "red/6/123": ["fd02::1000/122"],
  "red/6/104": ["fd02:0:0:1::/104"],
};

/** CIDRs the test reserves and unreserves: chunk slots (a prefix up to the family's mask) or addresses. */
const RESERVE = [
  "10.0.0.16/28", "10.0.0.0/27", "10.0.0.0/30", "10.0.0.36/31", "10.0.0.40/29", "10.1.0.8/29", "10.1.0.4/30", "10.1.0.0/27", "10.2.0.0/29", "10.2.0.4/30", "10.0.1.0/29",
  // IPv6: default's /124 slots and addresses, blue's /125, red's /123 or capped /104 chunks (fd02::1:0/112 lies past the first chunk's 2^16 cap)
  "fd00::10/124", "fd00::/122", "fd00::20/126", "fd00::35/128", "fd01::8/125", "fd01::4/126", "fd02::/123", "fd02::2/127", "fd02::1:0/112", "fd02::fff0/124", "fd02::/104",
];

/** A family in about `p` of the draws. */
const maybe = (r: () => number, p: number, f: ModelFamily): ModelFamily | undefined => (r() < p ? f : undefined);

export function randomPools(r: () => number): ModelPool[] {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  // default keeps IPv4 (the fast path's pool); red may be IPv6 only; about half the pools are dual stack
  const def6 = maybe(r, 0.5, { cidrs: pick([["fd00::/120"], ["fd00::/122", "fd00::100/124"]]), mask: 124 });
  const blue6 = maybe(r, 0.5, { cidrs: ["fd01::/123"], mask: 125 });
  const red = pick(["4", "6", "46"] as const);
  const red4 = red.includes("4") ? { cidrs: ["10.2.0.0/28"], mask: pick([28, 30]) } : undefined;
  // red IPv6: /123 chunks (30 usable) or /104 chunks capped at 2^16 addresses (65,534 usable)
  const red6 = red.includes("6") ? pick([{ cidrs: ["fd02::/120"], mask: 123 }, { cidrs: ["fd02::/100"], mask: 104 }]) : undefined;
  return [
    { name: "default", v4: { cidrs: pick([["10.0.0.0/26"], ["10.0.0.0/27", "10.0.0.64/28"]]), mask: 28 }, ...(def6 ? { v6: def6 } : {}), pre: pick([0, 1, 8, 14, 20]), delay: pick([0, 10, 50]) },
    { name: "blue", v4: { cidrs: ["10.1.0.0/27"], mask: 29 }, ...(blue6 ? { v6: blue6 } : {}), pre: pick([0, 3, 6, 7]), delay: pick([0, 5, 40]), ...(r() < 0.5 ? { selector: "blue" } : {}) },
    { name: "red", ...(red4 ? { v4: red4 } : {}), ...(red6 ? { v6: red6 } : {}), pre: pick([0, 2]), delay: pick([0, 20]), ...(r() < 0.5 ? { selector: "red" } : {}) },
  ];
}

/** The pool's options as ClusterPool takes them. */
const fam = (f: ModelFamily | undefined) => (f === undefined ? undefined : { cidrs: [...f.cidrs], maskSize: f.mask });

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
      ...(p.v4 ? { ipv4: fam(p.v4) } : {}), ...(p.v6 ? { ipv6: fam(p.v6) } : {}), preAllocate: p.pre, releaseDelayMs: p.delay,
      ...(p.selector ? { nodeSelector: { matchLabels: { tier: p.selector } } } : {}),
    }])),
    clock: () => now,
    ...(cooldownMs !== undefined ? { reuse: { cooldownMs } } : {}),
    ...(router !== false ? { reserveRouterIP: router } : {}),
  });
  const grown = new Set<string>();
  /** Pool CIDRs removed (and not added back). */
  const gone = new Map<string, string>();
  const nodes = ["n0", "n1", "n2", "n3", "n4"];
  const owners = Array.from({ length: 24 }, (_, i) => `ns/p${i}`);
  const anyIp = (family?: 4 | 6): string => {
    const held = [...model.addrs.keys()].filter((v) => family === undefined || (family === 4) === v < 2n ** 32n);
    if (held.length > 0 && r() < 0.7) return fmtAny(pick(held));
    if (family === 4 || (family === undefined && r() < 0.5)) return fmtAny(BigInt(pick([0x0a000000, 0x0a010000, 0x0a020000]) + Math.floor(r() * 96)));
    // IPv6: default's, blue's or red's, now and then past a capped red chunk's first 2^16 addresses
    const base = pick([0xfd00n, 0xfd01n, 0xfd02n]) << 112n;
    return fmtAny(base + BigInt(r() < 0.1 ? 0xfff0 + Math.floor(r() * 0x20) : Math.floor(r() * 0x140)));
  };
  const growth = new Map<string, readonly string[]>();
  for (const p of specs) for (const [f, m] of [[4, p.v4], [6, p.v6]] as const) if (m) growth.set(`${p.name}/${f}`, GROWTH[`${p.name}/${f}/${m.mask}`] ?? []);
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
        got = run(() => pool.allocate(n, o, { pool: p }));
        want = run(() => model.allocate(n, o, p));
      } else if (x < 0.51) {
        // wanted addresses, one per family (held ones fail ALREADY_ALLOCATED; others take their free chunk; other families the next free one)
        const live = [...model.nodes.keys()];
        const n = live.length > 0 && r() < 0.8 ? pick(live) : pick(nodes);
        const o = pick(owners);
        const p = pick(["default", "blue", "red"]);
        // mostly addresses of the pool's own CIDRs (free, held or reserved), else any
        const own = (f: 4 | 6): string => (r() < 0.75 ? model.sample(p, f, r, n) : undefined) ?? anyIp(f);
        const ips = pick([[own(4)], [own(6)], [own(4), own(6)], [anyIp()]]);
        what = `allocate(${n}, ${o}, { pool: ${p}, ips: ${ips.join(" ")} })`;
        got = run(() => pool.allocate(n, o, { pool: p, ips: ips.length === 1 ? ips[0] : ips }));
        want = run(() => model.allocate(n, o, p, ips));
      } else if (x < 0.54) {
        // the numeric fast path: node and pool handles (no pool: default), no owner
        const n = pick([...nodes, "ghost"]);
        const p = pick([undefined, "default", "blue", "red", "nope"]);
        what = `allocateIPv4(${n}, ${p})`;
        got = run(() => pool.allocateIPv4(pool.handle(n), p === undefined ? undefined : pool.poolHandle(p)));
        want = run(() => model.allocateIPv4(n, p ?? "default"));
      } else if (x < 0.57) {
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
        model.restored();
        got = want = undefined;
      } else if (x < 0.91) {
        // chunk slots (a prefix up to the pool's mask) or addresses; "red" has mask 28 or 30, so 10.2.0.0/29 is either
        const c = pick(RESERVE);
        const un = r() < 0.4;
        what = `${un ? "unreserve" : "reserve"}(${c})`;
        got = run(() => (un ? pool.unreserve(c) : pool.reserve(c)));
        want = run(() => (un ? model.unreserve(c) : model.reserve(c)));
      } else if (x < 0.915) {
        // a pool CIDR removed (IN_USE while a chunk in it holds a pod's, the router's or a cooling address; reserved ones do not count);
        // not red's capped /104 family: adding its 2 MiB-per-chunk CIDR back can outgrow the pool's own memory (FULL, by design)
        const key = pick([...growth.keys()].filter((k) => !(growth.get(k) ?? []).includes("fd02:0:0:1::/104")));
        const [p, f] = key.split("/") as [string, string];
        const live = model.poolCidrs(p, Number(f) as 4 | 6);
        if (live.length === 0) continue;
        const c = pick(live);
        what = `removePoolCidr(${c}, ${p})`;
        got = run(() => pool.removePoolCidr(c, { pool: p }));
        want = run(() => model.removePoolCidr(p, c));
        if ((want as { err?: string }).err === undefined) gone.set(c, key);
      } else if (x < 0.925) {
        // a pool CIDR added: a new one, or one removed before (its reservations hold there again)
        const key = pick([...growth.keys()]);
        const p = key.split("/")[0] as string;
        const c = [...(growth.get(key) as readonly string[]).filter((g) => !grown.has(g)), ...[...gone].filter(([, k]) => k === key).map(([g]) => g)][0];
        if (c === undefined) continue;
        grown.add(c);
        gone.delete(c);
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
      if (i % 16 === 15 || what === "snapshot/restore") {
        // chunks moved per pool family: taken, given back, held
        const a = (pool.stats().ipPools ?? []).map((q) => [q.pool, q.family, q.chunksTaken, q.chunksReleased, q.chunks.used]);
        model.tick(); // stats() first releases what is due, as snapshot() does
        const b = model.moved();
        if (!same(a, b)) throw new Error(`seed ${seed} op ${i} after ${what}: chunks moved ${JSON.stringify(a)}, model ${JSON.stringify(b)}`);
      }
    }
    return { ops };
  } finally {
    pool.dispose();
  }
}
