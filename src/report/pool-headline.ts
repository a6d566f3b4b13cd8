/**
 * The capacity answer of a multi-pool simulation, per pool and family, in
 * plain words: when the pool ran short of chunks (or that it never did),
 * how many nodes were short at once, how many pod allocations failed, what
 * the pool holds, and what would have been enough (the smallest extra CIDR
 * from the start). The terminal summary and the HTML report open with it.
 */
import type { MultiPoolSimResult } from "../sim/multi-pool.js";
import { chunkUsable } from "../sim/multi-scenario.js";
import { formatDuration } from "../sim/scenario.js";
import { enoughFor, type Enough } from "./headline.js";

const int = (n: number): string => Math.round(n).toLocaleString("en-US");
const plural = (n: number, one: string, many = `${one}s`): string => `${int(n)} ${n === 1 ? one : many}`;
const pct = (a: number, b: number): string => (b > 0 ? `${((a / b) * 100).toFixed(1)}%` : "-");

export interface PoolHeadline {
  readonly pool: string;
  readonly family: 4 | 6;
  readonly cidrs: readonly string[];
  readonly maskSize: number;
  /** Usable addresses of one chunk. */
  readonly chunkSize: number;
  /** Chunks of the pool's CIDRs. */
  readonly chunks: number;
  readonly ranOutAt?: number;
  readonly outAtEnd: boolean;
  readonly maxShort: number;
  /** Allocations of the pool refused (FULL), all families. */
  readonly failures: number;
  /** Most chunks wanted at once (held plus one per node short of one). */
  readonly peakDemand: number;
  /** Set when the family ran short. */
  readonly enough?: Enough;
  readonly lines: readonly string[];
}

export interface PoolsHeadline {
  readonly pools: readonly PoolHeadline[];
  /** The answer as sentences: first which pools ran out, then one paragraph per pool family, then the chunks that moved (in all, and per pool family when there are several). */
  readonly lines: readonly string[];
  /** True if any pool family ran short. */
  readonly ranOut: boolean;
}

/** The headline of a multi-pool simulation. */
export function poolsHeadline(r: MultiPoolSimResult): PoolsHeadline {
  const end = r.duration;
  const pools: PoolHeadline[] = r.final.map((p) => {
    const key = `${p.pool}/IPv${p.family}`;
    const pr = r.pressure[key] ?? { outAtEnd: false, shortSeconds: 0, peakDemand: 0, peakDemandAt: 0, maxShort: 0 };
    const chunkSize = chunkUsable(p.cidrs[0] as string, p.maskSize);
    const failures = r.totals.failures[p.pool] ?? 0;
    const name = `Pool ${p.pool} IPv${p.family} (${p.cidrs.join(" + ")}, ${int(p.chunks.capacity)} chunks of /${p.maskSize}, ${int(chunkSize)} addresses each)`;
    const lines: string[] = [];
    if (pr.ranOutAt === undefined) {
      lines.push(`${name} never ran out: at most ${int(pr.peakDemand)} of its ${int(p.chunks.capacity)} chunks were held at once (${pct(pr.peakDemand, p.chunks.capacity)}, at ${formatDuration(pr.peakDemandAt)}).`);
    } else {
      lines.push(`${name} ran out at ${formatDuration(pr.ranOutAt)}${pr.outAtEnd ? ` and was still out at the end (${formatDuration(end)})` : ""}: up to ${plural(pr.maxShort, "node")} at once short of a chunk, short for ${formatDuration(pr.shortSeconds)} in all; ${failures === 0 ? "no pod allocation failed" : `${plural(failures, "pod allocation")} of the pool failed`}.`);
    }
    let enough: Enough | undefined;
    if (pr.ranOutAt !== undefined) {
      // a longer chunk mask does not help a node that holds several chunks: only more CIDRs (podsPerNode = one chunk)
      enough = enoughFor(p.cidrs, p.maskSize, undefined, pr.peakDemand, chunkSize);
      const more = enough.demand - enough.had;
      const way = enough.extraCidr
        ? `one more /${enough.extraCidr.prefix} from the start (${int(enough.extraCidr.subnets)} more /${p.maskSize} chunks)`
        : `more pool CIDRs (no single CIDR adds ${int(more)} /${p.maskSize} chunks)`;
      lines.push(`At least ${int(enough.demand)} chunks were wanted at once (at ${formatDuration(pr.peakDemandAt)}); the pool has ${int(enough.had)}. What would have been enough: ${way}.`);
    }
    return {
      pool: p.pool, family: p.family, cidrs: p.cidrs, maskSize: p.maskSize, chunkSize, chunks: p.chunks.capacity,
      ...(pr.ranOutAt !== undefined ? { ranOutAt: pr.ranOutAt } : {}), outAtEnd: pr.outAtEnd, maxShort: pr.maxShort,
      failures, peakDemand: pr.peakDemand, ...(enough ? { enough } : {}), lines,
    };
  });
  const out = pools.filter((p) => p.ranOutAt !== undefined);
  const label = (p: PoolHeadline): string => `${p.pool} (IPv${p.family})`;
  const lead = out.length === 0
    ? `No pool ran out: ${pools.map((p) => `${label(p)} held at most ${pct(p.peakDemand, p.chunks)} of its chunks`).join("; ")}.`
    : `${out.map((p, i) => `${i === 0 ? "Pool" : "pool"} ${label(p)} ran out at ${formatDuration(p.ranOutAt as number)}${p.outAtEnd ? " and was still out at the end" : ""}`).join("; ")}${pools.length > out.length ? `; ${pools.filter((p) => p.ranOutAt === undefined).map(label).join(", ")} did not` : ""}.`;
  const t = r.totals;
  return {
    pools,
    ranOut: out.length > 0,
    lines: [
      lead,
      ...pools.flatMap((p) => p.lines),
      `CIDRs moved: ${plural(t.chunksTaken, "chunk")} taken by nodes, ${int(t.chunksReleased)} given back to their pools (nodes added ${int(t.nodesAdded)}, removed ${int(t.nodesRemoved)}; ${int(t.allocations)} pod allocations)${r.final.length > 1 ? `; per pool: ${r.final.map((p) => `${p.pool} IPv${p.family} ${int(p.chunksTaken)} taken, ${int(p.chunksReleased)} given back`).join("; ")}` : ""}.`,
    ],
  };
}
