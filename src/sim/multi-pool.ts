/**
 * A multi-pool scenario over virtual time: node groups (each with labels
 * that pools select) scale along their phases; each node runs pods drawn
 * from named pools; chunks move to nodes as they fill (the watermark) and
 * back after the release delay. Drives a ClusterPool with `pools` on a
 * virtual clock, one epoch at a time, in one thread. Samples per-pool use
 * and counts the CIDRs that moved.
 */
import { ClusterPool } from "../pool/cluster-pool.js";
import { IpamError } from "../errors.js";
import type { IpPoolSpec } from "../pool/multi/options.js";
import type { IpPoolStats } from "../pool/types.js";
import type { NodePhase, Lifetime } from "./scenario.js";
import { Rng, streamSeed } from "./rng.js";

/** Pods of one pool on every node of a group. */
export interface GroupPods {
  readonly pool: string;
  /** Each node wants a count drawn uniformly from [min, max] (drawn when the node joins). */
  readonly min: number;
  readonly max: number;
  /** How long a pod lives (virtual seconds); a pod that ends is replaced in the next epoch. */
  readonly lifetime: Lifetime;
}

export interface NodeGroup {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Target node count at virtual times (linear in between, constant after the last). */
  readonly phases: readonly NodePhase[];
  readonly pods: readonly GroupPods[];
}

export interface MultiPoolScenario {
  readonly name: string;
  readonly seed: number;
  /** Virtual seconds. */
  readonly duration: number;
  /** Virtual seconds per step: node changes, pod ends and starts, tick(). */
  readonly epoch: number;
  /** Virtual seconds between samples. */
  readonly sample: number;
  readonly pools: Readonly<Record<string, IpPoolSpec>>;
  readonly groups: readonly NodeGroup[];
}

export interface MultiPoolSample {
  readonly t: number;
  readonly nodes: number;
  /** Per pool and family, with the chunks each moved since the start (chunksTaken, chunksReleased). */
  readonly pools: readonly IpPoolStats[];
  /** Chunks taken by nodes and given back to their pools since the start (all pools). */
  readonly chunksTaken: number;
  readonly chunksReleased: number;
  /** Allocations refused (FULL) per pool since the start. */
  readonly failures: Readonly<Record<string, number>>;
}

/** When one pool family ran short of chunks, from every epoch (not only the samples). */
export interface PoolPressure {
  /** First virtual time a node was below the watermark for want of a chunk, or an allocation failed with no free chunk; undefined: never. */
  readonly ranOutAt?: number;
  /** Still short at the end. */
  readonly outAtEnd: boolean;
  /** Epochs (virtual seconds) in which the family was short. */
  readonly shortSeconds: number;
  /** Most chunks wanted at once: held plus one for each node short of one (or refused an address for want of one). */
  readonly peakDemand: number;
  readonly peakDemandAt: number;
  /** Most nodes short at once. */
  readonly maxShort: number;
}

export interface MultiPoolSimResult {
  readonly scenario: string;
  readonly samples: readonly MultiPoolSample[];
  readonly totals: {
    readonly nodesAdded: number;
    readonly nodesRemoved: number;
    readonly allocations: number;
    /** Allocations refused (FULL), per pool. */
    readonly failures: Readonly<Record<string, number>>;
    /** Chunks (CIDRs) moved to nodes and back to their pools. */
    readonly chunksTaken: number;
    readonly chunksReleased: number;
  };
  /** Per pool and family at the end. */
  readonly final: readonly IpPoolStats[];
  /** Per "pool/IPv4" and "pool/IPv6": the most chunks and addresses in use at any sample. */
  readonly peak: Readonly<Record<string, { readonly chunks: number; readonly addresses: number }>>;
  /** Per "pool/IPv4" and "pool/IPv6": when it ran short and the most chunks wanted at once. */
  readonly pressure: Readonly<Record<string, PoolPressure>>;
  readonly duration: number;
  /** The scenario's pools and node groups, for the report. */
  readonly pools: MultiPoolScenario["pools"];
  readonly groups: readonly NodeGroup[];
  readonly seed: number;
  readonly epoch: number;
  readonly sample: number;
}

/**
 * Two pools, one per node group, with watermarks: `default` (IPv4 /26
 * chunks, pre-allocation 16) and `gpu` (IPv4 /28 chunks, pre-allocation 4,
 * only nodes labelled gpu=true). General nodes draw from `default` only;
 * GPU nodes from `gpu`, plus a few system pods from `default`. Both groups
 * scale up, hold with pod churn, then scale down; chunks flow back after
 * the release delay.
 */
export function defaultMultiPoolScenario(nodes = 40): MultiPoolScenario {
  const h = 3600;
  const general = Math.max(1, Math.round(nodes * 0.75));
  const gpu = Math.max(1, nodes - general);
  return {
    name: `multi-pool: ${general} general nodes on 'default', ${gpu} GPU nodes on 'gpu'`,
    seed: 1,
    duration: 2 * h,
    epoch: 30,
    sample: 300,
    pools: {
      default: { ipv4: { cidrs: ["10.10.0.0/18"], maskSize: 26 }, preAllocate: 16, releaseDelayMs: 120_000 },
      gpu: { ipv4: { cidrs: ["10.20.0.0/22"], maskSize: 28 }, preAllocate: 4, releaseDelayMs: 120_000, nodeSelector: { matchLabels: { gpu: "true" } } },
    },
    groups: [
      {
        name: "general", labels: { pool: "general" },
        phases: [{ at: 0, nodes: 0 }, { at: 0.25 * h, nodes: general }, { at: 1.25 * h, nodes: general }, { at: 1.5 * h, nodes: Math.round(general * 0.4) }],
        pods: [{ pool: "default", min: 20, max: 110, lifetime: { kind: "exponential", mean: 0.5 * h } }],
      },
      {
        name: "gpu", labels: { gpu: "true" },
        phases: [{ at: 0, nodes: 0 }, { at: 0.5 * h, nodes: gpu }, { at: 1.5 * h, nodes: gpu }, { at: 1.75 * h, nodes: 0 }],
        pods: [
          { pool: "gpu", min: 2, max: 12, lifetime: { kind: "uniform", min: 600, max: 3600 } },
          { pool: "default", min: 4, max: 8, lifetime: { kind: "fixed", value: 1800 } },
        ],
      },
    ],
  };
}

/** Target node count at t: linear between phases, constant outside. */
export function nodesAt(phases: readonly NodePhase[], t: number): number {
  if (phases.length === 0) return 0;
  const first = phases[0] as NodePhase;
  if (t <= first.at) return first.nodes;
  for (let i = 1; i < phases.length; i++) {
    const a = phases[i - 1] as NodePhase;
    const b = phases[i] as NodePhase;
    if (t <= b.at) return Math.round(a.nodes + ((b.nodes - a.nodes) * (t - a.at)) / (b.at - a.at || 1));
  }
  return (phases[phases.length - 1] as NodePhase).nodes;
}

function life(r: Rng, l: Lifetime): number {
  if (l.kind === "fixed") return l.value;
  if (l.kind === "uniform") return l.min + r.next() * (l.max - l.min);
  return r.exponential(l.mean);
}

interface SimPod { readonly owner: string; readonly ends: number }
interface SimNode { readonly name: string; readonly want: number[]; readonly pods: SimPod[][] }

/** Runs the scenario; deterministic for a seed. */
export function simulateMultiPool(s: MultiPoolScenario): MultiPoolSimResult {
  let nowMs = 0;
  const pool = new ClusterPool({ pools: s.pools, clock: () => nowMs });
  const r = new Rng(streamSeed(s.seed, 0x6d70));
  const groups = s.groups.map((g) => ({ g, nodes: [] as SimNode[], next: 0 }));
  const samples: MultiPoolSample[] = [];
  const failures: Record<string, number> = Object.fromEntries(Object.keys(s.pools).map((p) => [p, 0]));
  const peak: Record<string, { chunks: number; addresses: number }> = {};
  let nodesAdded = 0;
  let nodesRemoved = 0;
  let allocations = 0;
  let podSeq = 0;
  const pressure: Record<string, { ranOutAt?: number; outAtEnd: boolean; shortSeconds: number; peakDemand: number; peakDemandAt: number; maxShort: number }> = {};
  /** Nodes refused an address this epoch, per pool. */
  const refused = new Map<string, Set<string>>();
  try {
    for (let t = 0; t <= s.duration; t += s.epoch) {
      nowMs = t * 1000;
      for (const gs of groups) {
        const target = nodesAt(gs.g.phases, t);
        while (gs.nodes.length < target) {
          const name = `${gs.g.name}-${gs.next++}`;
          pool.addNode(name, { labels: gs.g.labels });
          gs.nodes.push({ name, want: gs.g.pods.map((p) => r.int(p.min, p.max)), pods: gs.g.pods.map(() => []) });
          nodesAdded++;
        }
        while (gs.nodes.length > target) {
          const n = gs.nodes.pop() as SimNode;
          for (const list of n.pods) for (const p of list) pool.releaseOwner(p.owner);
          pool.removeNode(n.name);
          nodesRemoved++;
        }
        for (const n of gs.nodes) {
          gs.g.pods.forEach((spec, k) => {
            const list = n.pods[k] as SimPod[];
            for (let i = list.length - 1; i >= 0; i--) {
              const p = list[i] as SimPod;
              if (p.ends > t) continue;
              pool.releaseOwner(p.owner);
              list.splice(i, 1);
            }
            while (list.length < (n.want[k] as number)) {
              const owner = `${gs.g.name}/pod-${podSeq++}`;
              try {
                pool.allocate(n.name, owner, { pool: spec.pool });
              } catch (e) {
                if (!(e instanceof IpamError) || e.code !== "FULL") throw e;
                failures[spec.pool] = (failures[spec.pool] ?? 0) + 1;
                let set = refused.get(spec.pool);
                if (set === undefined) refused.set(spec.pool, (set = new Set()));
                set.add(n.name);
                break;
              }
              allocations++;
              list.push({ owner, ends: t + life(r, spec.lifetime) });
            }
          });
        }
      }
      pool.tick();
      const st = pool.stats();
      const pools = st.ipPools ?? [];
      for (const p of pools) {
        const key = `${p.pool}/IPv${p.family}`;
        const pr = pressure[key] ?? (pressure[key] = { outAtEnd: false, shortSeconds: 0, peakDemand: 0, peakDemandAt: 0, maxShort: 0 });
        // a refused allocation counts against a family only when it had no free chunk left
        const failedHere = p.chunks.free === 0 ? refused.get(p.pool)?.size ?? 0 : 0;
        const short = Math.max(p.short, failedHere);
        const demand = p.chunks.used + short;
        if (demand > pr.peakDemand) {
          pr.peakDemand = demand;
          pr.peakDemandAt = t;
        }
        pr.maxShort = Math.max(pr.maxShort, short);
        if (short > 0) {
          pr.ranOutAt ??= t;
          pr.shortSeconds += s.epoch;
        }
        pr.outAtEnd = short > 0;
      }
      refused.clear();
      if (t % s.sample === 0 || t + s.epoch > s.duration) {
        samples.push({ t, nodes: st.nodes, pools, chunksTaken: st.chunksTaken ?? 0, chunksReleased: st.chunksReleased ?? 0, failures: { ...failures } });
        for (const p of pools) {
          const key = `${p.pool}/IPv${p.family}`;
          const pk = peak[key] ?? (peak[key] = { chunks: 0, addresses: 0 });
          pk.chunks = Math.max(pk.chunks, p.chunks.used);
          pk.addresses = Math.max(pk.addresses, p.addresses.used);
        }
      }
    }
    const st = pool.stats();
    const problems = pool.verify();
    if (problems.length > 0) throw new Error(`ipcarve: multi-pool simulation left an inconsistent pool: ${problems.slice(0, 3).join("; ")}`);
    return {
      scenario: s.name,
      samples,
      totals: { nodesAdded, nodesRemoved, allocations, failures, chunksTaken: st.chunksTaken ?? 0, chunksReleased: st.chunksReleased ?? 0 },
      final: st.ipPools ?? [],
      peak,
      pressure,
      duration: s.duration, pools: s.pools, groups: s.groups, seed: s.seed, epoch: s.epoch, sample: s.sample,
    };
  } finally {
    pool.dispose();
  }
}

/** Per pool and family: the table of the summary and the report (the first row is the head); chunks taken and given back count the CIDRs that moved. */
export function multiPoolRows(res: MultiPoolSimResult): string[][] {
  const rows = [["pool", "family", "CIDRs", "chunk", "peak chunks", "peak addresses", "chunks at end", "chunks taken", "given back", "nodes short", "failed allocations"]];
  for (const p of res.final) {
    const pk = res.peak[`${p.pool}/IPv${p.family}`] ?? { chunks: 0, addresses: 0 };
    rows.push([
      p.pool, `IPv${p.family}`, p.cidrs.join(" "), `/${p.maskSize}`,
      `${pk.chunks} of ${p.chunks.capacity}`, `${pk.addresses} of ${p.addresses.capacity}`,
      String(p.chunks.used), String(p.chunksTaken), String(p.chunksReleased), String(p.short), String(res.totals.failures[p.pool] ?? 0),
    ]);
  }
  return rows;
}

/** The result as text: per pool, the peak and final use, failures, and the CIDRs that moved. */
export function formatMultiPoolSummary(res: MultiPoolSimResult): string {
  const lines = [`${res.scenario}`, ""];
  const rows = multiPoolRows(res);
  const width = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  for (const r of rows) lines.push(r.map((c, i) => c.padEnd(width[i] as number)).join("  ").trimEnd());
  const t = res.totals;
  lines.push("", `nodes added ${t.nodesAdded}, removed ${t.nodesRemoved}; pod allocations ${t.allocations}`);
  lines.push(`CIDRs moved: ${t.chunksTaken} chunks taken by nodes, ${t.chunksReleased} given back to their pools`);
  return lines.join("\n");
}
