// Drives ClusterPool and ReferencePool with the same random operations and
// throws on the first divergence, naming the seed and the operation.
import { ClusterPool, IpamError } from "../../src/index.js";
import { ReferencePool, ModelError, fmt4, type ModelConfig } from "./reference-pool.js";

/** xorshift32: the same seed gives the same operations. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

const ADDABLE = ["10.0.8.0/23", "10.0.16.0/24", "10.0.32.0/22"];

/** A random configuration over small pools, so that nodes and pods run out often. */
export function randomConfig(r: () => number): ModelConfig {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const overflow = pick(["reject", "share", "smaller"] as const);
  const maskSize = pick([24, 25, 26]);
  const smaller = overflow === "smaller" ? maskSize + pick([1, 2]) : undefined;
  const reuse = pick(["none", "time", "depth", "both"] as const);
  return {
    pools: pick([["10.0.0.0/22"], ["10.0.0.0/23", "10.0.4.0/24"]]),
    maskSize,
    ...(smaller !== undefined ? { smaller } : {}),
    ...(r() < 0.6 ? { maxBig: pick([1, 2, 3]) } : {}),
    overflow,
    ...(reuse === "time" || reuse === "both" ? { cooldownMs: pick([5, 20, 60]) } : {}),
    ...(reuse === "depth" || reuse === "both" ? { depth: pick([0, 2, 5]) } : {}),
    router: pick([false, "first", "last"] as const),
  };
}

type Outcome = unknown;

function run<T>(fn: () => T): Outcome {
  try {
    return { ok: fn() };
  } catch (e) {
    if (e instanceof IpamError || e instanceof ModelError) return { err: e.code };
    throw e;
  }
}

export interface DiffResult {
  ops: number;
}

/** Runs `ops` random operations on both; throws Error describing the first divergence. */
export function differential(seed: number, ops: number): DiffResult {
  const r = rng(seed);
  const cfg = randomConfig(r);
  const model = new ReferencePool(cfg);
  const pool = new ClusterPool({
    ipv4: { cidrs: [...cfg.pools], maskSize: cfg.maskSize },
    ...(cfg.maxBig !== undefined ? { maxNodeSubnets: cfg.maxBig } : {}),
    overflow: cfg.overflow === "smaller" ? { smaller: cfg.smaller as number } : cfg.overflow,
    ...(cfg.cooldownMs !== undefined || cfg.depth !== undefined
      ? { reuse: { ...(cfg.cooldownMs !== undefined ? { cooldownMs: cfg.cooldownMs } : {}), ...(cfg.depth !== undefined ? { minFreeBeforeReuse: cfg.depth } : {}) } }
      : {}),
    reserveRouterIP: cfg.router,
    clock: () => model.now,
  });
  const names = Array.from({ length: 10 }, (_, i) => `node-${i}`);
  const owners = Array.from({ length: 30 }, (_, i) => `ns/pod-${i}`);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  let added = 0;
  /** Some address near the pools: allocated ones, their neighbours, and strays. */
  const anyIp = (): string => {
    const known = [...model.addrs.keys()];
    if (known.length > 0 && r() < 0.6) return fmt4(pick(known) + (r() < 0.8 ? 0 : 1));
    return fmt4(0x0a000000 + Math.floor(r() * 0x2400));
  };
  const subnetAt = (): string => {
    const slot = Math.floor(r() * 16);
    return `${fmt4(0x0a000000 + slot * 2 ** (32 - cfg.maskSize))}/${cfg.maskSize}`;
  };
  const check = (i: number, what: string, a: Outcome, b: Outcome): void => {
    const ja = JSON.stringify(a);
    const jb = JSON.stringify(b);
    if (ja !== jb) throw new Error(`seed ${seed} op ${i} ${what}: pool ${ja} != model ${jb} (config ${JSON.stringify(cfg)})`);
  };
  for (let i = 0; i < ops; i++) {
    const x = r();
    if (x < 0.1) {
      const n = pick(names);
      check(i, `addNode(${n})`, run(() => pool.addNode(n).podCIDRs), run(() => model.addNode(n)));
    } else if (x < 0.15) {
      const n = pick(names);
      const grace = r() < 0.5 ? 0 : 1 + Math.floor(r() * 40);
      check(i, `removeNode(${n}, ${grace})`, run(() => pool.removeNode(n, { graceMs: grace })), run(() => model.removeNode(n, grace)));
    } else if (x < 0.55) {
      const n = pick(names);
      const o = pick(owners);
      let wanted: string | undefined;
      if (r() < 0.1) wanted = anyIp();
      check(i, `allocate(${n}, ${o}, ${wanted})`, run(() => pool.allocate(n, o, wanted).ipv4), run(() => model.allocate(n, o, wanted)));
    } else if (x < 0.75) {
      const ip = anyIp();
      const owner = r() < 0.5 ? undefined : r() < 0.7 ? model.addrs.get(Number(ip.split(".").reduce((a, b) => a * 256 + Number(b), 0)))?.owner ?? pick(owners) : pick(owners);
      check(i, `release(${ip}, ${owner})`, run(() => pool.release(ip, owner)), run(() => model.release(ip, owner)));
    } else if (x < 0.82) {
      const o = pick(owners);
      check(i, `releaseOwner(${o})`, run(() => pool.releaseOwner(o)), run(() => model.releaseOwner(o)));
    } else if (x < 0.9) {
      const ip = anyIp();
      check(i, `lookup(${ip})`, run(() => pool.lookup(ip)), run(() => model.lookup(ip)));
    } else if (x < 0.96) {
      model.now += 1 + Math.floor(r() * 25);
    } else if (x < 0.975) {
      const c = subnetAt();
      check(i, `reserve(${c})`, run(() => pool.reserve(c)), run(() => model.reserve(c)));
    } else if (x < 0.99) {
      const c = model.reservations.length > 0 && r() < 0.8 ? pick(model.reservations) : subnetAt();
      check(i, `unreserve(${c})`, run(() => pool.unreserve(c)), run(() => model.unreserve(c)));
    } else if (added < ADDABLE.length) {
      const c = ADDABLE[added++] as string;
      check(i, `addPoolCidr(${c})`, run(() => pool.addPoolCidr(c)), run(() => model.addPoolCidr(c)));
    }
    if (i % 64 === 63 || i === ops - 1) {
      model.tick(); // stats() first releases what is due, as every mutating call does
      const got = pool.stats().perNode.map((p) => ({ name: p.name, status: pool.node(p.name)?.status, podCIDRs: p.podCIDRs, used: p.used }));
      check(i, "nodes", got, model.view());
      check(i, "pending", pool.pendingNodes(), model.pending);
      for (const o of owners) {
        const a = pool.addressesOf(o).sort();
        const b = [...(model.owners.get(o) ?? [])].map(fmt4).sort();
        check(i, `addressesOf(${o})`, a, b);
      }
    }
  }
  const problems = pool.verify();
  if (problems.length > 0) throw new Error(`seed ${seed}: verify() found ${problems.join("; ")}`);
  return { ops };
}
