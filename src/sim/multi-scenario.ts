/**
 * Multi-pool scenarios from named pools: the default one for any pools (a
 * node group per pool, labelled to match its node selector, sized to the
 * pool), and the CLI's overrides (--nodes, --pods-per-node, --churn,
 * --duration, --seed) on any multi-pool scenario.
 */
import { resolveMultiOptions, type IpPoolSpec, type ResolvedSelector } from "../pool/multi/options.js";
import { rangeGeometry } from "../net/range.js";
import { parseCidr } from "../net/ip.js";
import { firstPeak, type ScenarioOverrides } from "./scenario.js";
import type { MultiPoolScenario, NodeGroup } from "./multi-pool.js";

/** Usable pod addresses of one chunk of mask `m` in `cidr`. */
export function chunkUsable(cidr: string, m: number): number {
  return rangeGeometry(parseCidr(`${parseCidr(cidr).ip}/${m}`)).size;
}

/** Labels a node needs to match a selector (matchLabels; In: its first value; Exists: "true"). */
export function labelsFor(sel: ResolvedSelector | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of sel?.matchLabels ?? []) out[k] = v;
  for (const e of sel?.matchExpressions ?? []) {
    if (e.operator === "In") out[e.key] = e.values[0] as string;
    else if (e.operator === "Exists") out[e.key] = "true";
  }
  return out;
}

/**
 * The default scenario on named pools: per pool, a node group labelled to
 * match its selector, each node running pods of that pool only (between
 * half a chunk and two chunks of addresses, at most 110). Each group grows
 * to the nodes that fill about three quarters of its pool's chunks on
 * average, shrinks to 40%, then grows to 150% of that: the second wave
 * runs the pool out.
 */
export function scenarioForPools(pools: Readonly<Record<string, IpPoolSpec>>, name: string): MultiPoolScenario {
  const h = 3600;
  const duration = 2 * h;
  const groups: NodeGroup[] = resolveMultiOptions({ pools }).pools.map((p) => {
    const chunkSize = Math.max(1, Math.min(...p.families.map((f) => chunkUsable(String(f.cidrs[0]), f.maskSize))));
    const chunks = Math.min(...p.families.map((f) => f.cidrs.reduce((n, c) => n + 2 ** (f.maskSize - c.prefix), 0)));
    const max = Math.min(110, Math.max(1, chunkSize * 2));
    const min = Math.max(1, Math.min(max, Math.floor(chunkSize / 2)));
    const perNode = Math.ceil(((min + max) / 2 + p.preAllocate) / chunkSize);
    const peak = Math.max(1, Math.floor((chunks * 0.75) / perNode));
    return {
      name: p.name,
      labels: labelsFor(p.nodeSelector),
      phases: [
        { at: 0, nodes: 0 }, { at: 0.25 * duration, nodes: peak }, { at: 0.5 * duration, nodes: peak },
        { at: 0.65 * duration, nodes: Math.round(peak * 0.4) }, { at: 0.85 * duration, nodes: Math.ceil(peak * 1.5) },
      ],
      pods: [{ pool: p.name, min, max, lifetime: { kind: "exponential", mean: 0.5 * h } }],
    };
  });
  return { name, seed: 1, duration, epoch: 30, sample: 120, pools, groups };
}

/** A multi-pool scenario with the CLI's overrides: --nodes scales every group so the first peaks add up to it. */
export function applyMultiOverrides(s: MultiPoolScenario, o: ScenarioOverrides): MultiPoolScenario {
  let out = s;
  if (o.nodes !== undefined) {
    const total = out.groups.reduce((n, g) => n + firstPeak(g.phases), 0) || 1;
    const k = o.nodes / total;
    out = { ...out, groups: out.groups.map((g) => ({ ...g, phases: g.phases.map((p) => ({ at: p.at, nodes: Math.round(p.nodes * k) })) })) };
  }
  if (o.podsPerNode !== undefined) {
    const max = o.podsPerNode;
    out = { ...out, groups: out.groups.map((g) => ({ ...g, pods: g.pods.map((p) => ({ ...p, max, min: Math.min(p.min, max) })) })) };
  }
  if (o.churn !== undefined) {
    const mean = 3600 / o.churn;
    out = { ...out, groups: out.groups.map((g) => ({ ...g, pods: g.pods.map((p) => ({ ...p, lifetime: { kind: "exponential" as const, mean } })) })) };
  }
  if (o.duration !== undefined) {
    const k = o.duration / out.duration;
    out = {
      ...out,
      duration: Math.round(o.duration),
      groups: out.groups.map((g) => ({ ...g, phases: g.phases.map((p) => ({ ...p, at: Math.round(p.at * k) })) })),
      epoch: Math.min(out.epoch, o.duration),
      sample: Math.min(out.sample, o.duration),
    };
  }
  if (o.seed !== undefined) out = { ...out, seed: o.seed };
  return out;
}
