/**
 * The capacity answer of a simulation in plain words, from its data: when
 * the pool ran out (or that it never did), how many nodes waited for a
 * subnet and for how long at most, how many pod allocations failed, how
 * many nodes × pods the pool fits, and what would have been enough. The
 * terminal summary and the HTML report both open with it.
 */
import { parseCidr } from "../net/ip.js";
import { rangeGeometry } from "../net/range.js";
import type { SimResult } from "../sim/simulate.js";
import { formatDuration } from "../sim/scenario.js";

const int = (n: number): string => Math.round(n).toLocaleString("en-US");
const plural = (n: number, one: string, many = `${one}s`): string => `${int(n)} ${n === 1 ? one : many}`;

/** What would have been enough for the peak demand of node subnets. */
export interface Enough {
  /** Node subnets wanted at once at the peak. */
  readonly demand: number;
  /** Node subnets of the pool as the run started (the subnet limit applied). */
  readonly had: number;
  /** The smallest single CIDR to add from the start (prefix), with how many node subnets it holds; undefined if one is not enough. */
  readonly extraCidr?: { readonly prefix: number; readonly subnets: number };
  /** Raise maxNodeSubnets to this (the limit, not the address space, was short). */
  readonly maxNodeSubnets?: number;
  /** The node mask that fits the demand on the same CIDRs with room for the pods a node runs; undefined if none does. */
  readonly mask?: { readonly maskSize: number; readonly subnets: number; readonly podsPerSubnet: number };
  /** Pods a node runs at most (the scenario's per-node count, capped by maxPods). */
  readonly podsPerNode: number;
}

export interface Headline {
  readonly family: 4 | 6;
  /** When nodes first had to wait for a subnet (virtual seconds); undefined: never. */
  readonly ranOutAt?: number;
  /** Still out at the end of the run. */
  readonly outAtEnd: boolean;
  readonly nodesWaited: number;
  readonly maxWait: number;
  readonly waitingAtEnd: number;
  readonly podFailures: number;
  /** Node subnets in service at the end (the subnet limit applied) and usable pod addresses of one. */
  readonly nodesFit: number;
  readonly podsPerSubnet: number;
  readonly nodeMask: number;
  /** Set when the pool ran out. */
  readonly enough?: Enough;
  /** The answer as sentences, first the one that matters most. */
  readonly lines: readonly string[];
}

/** Usable pod addresses of a node subnet of mask `m` in `cidr`. */
const usableAt = (cidr: string, m: number): number => rangeGeometry(parseCidr(`${parseCidr(cidr).ip}/${m}`)).size;

/** Node subnets of mask `m` in the CIDRs. */
const subnetsAt = (cidrs: readonly string[], m: number): number => cidrs.reduce((n, c) => n + 2 ** (m - parseCidr(c).prefix), 0);

/** What would have been enough: the demand against the pool the run started with. */
export function enoughFor(cidrs: readonly string[], nodeMask: number, limit: number | undefined, demand: number, podsPerNode: number): Enough {
  const first = parseCidr(cidrs[0] as string);
  const bits = first.bits;
  const space = subnetsAt(cidrs, nodeMask);
  const had = Math.min(space, limit ?? Infinity);
  const out: { -readonly [K in keyof Enough]: Enough[K] } = { demand, had, podsPerNode };
  if (demand <= had) return out;
  if (limit !== undefined && limit < demand) out.maxNodeSubnets = demand;
  const extra = demand - space;
  if (extra > 0) {
    // Cilium: an IPv6 node mask at most 16 bits longer than the cluster mask; no prefix below 0.
    const prefix = nodeMask - Math.ceil(Math.log2(extra));
    const lowest = first.family === 6 ? nodeMask - 16 : 0;
    if (prefix >= Math.max(0, lowest)) out.extraCidr = { prefix, subnets: 2 ** (nodeMask - prefix) };
  }
  const widest = Math.max(...cidrs.map((c) => parseCidr(c).prefix));
  const narrowest = Math.min(...cidrs.map((c) => parseCidr(c).prefix));
  // A longer node mask helps only when the address space, not the subnet limit, is short.
  for (let m = nodeMask + 1; m <= bits && out.maxNodeSubnets === undefined; m++) {
    if (first.family === 6 && m - narrowest > 16) break;
    if (m < widest) continue;
    const n = subnetsAt(cidrs, m);
    const pods = usableAt(cidrs[0] as string, m);
    if (pods < podsPerNode) break; // longer masks only hold fewer
    if (n >= demand) {
      out.mask = { maskSize: m, subnets: n, podsPerSubnet: pods };
      break;
    }
  }
  return out;
}

/** The headline of a simulation result. */
export function headline(r: SimResult): Headline {
  const family: 4 | 6 = r.pool.ipv4 ? 4 : 6;
  const pools = r.pools.filter((p) => p.family === family);
  const initial = pools.filter((p) => p.since === 0).map((p) => p.cidr);
  const grown = pools.filter((p) => p.since > 0);
  const nodeMask = pools[0]?.nodeMask ?? 0;
  const limit = r.pool.maxNodeSubnets;
  const nodesFit = Math.min(pools.reduce((n, p) => n + p.subnetCapacity, 0), limit ?? Infinity);
  const podsPerSubnet = pools[0] ? usableAt(pools[0].cidr, nodeMask) : 0;
  const s = r.shortage;
  const ranOutAt = s.outages[0]?.start;
  const outAtEnd = s.waitingAtEnd > 0;
  const podsPerNode = Math.min(r.scenario.pods.maxPerNode, r.scenario.pods.maxPods);
  const end = r.scenario.duration;
  const lines: string[] = [];

  // 1. When the pool ran out.
  if (ranOutAt === undefined) {
    lines.push(`The pool never ran out: at most ${int(s.peakDemand)} of its ${int(nodesFit)} node subnets were wanted at once (${pctOf(s.peakDemand, nodesFit)}, at ${formatDuration(s.peakDemandAt)})`
      + (r.forecast.status === "exhausted" ? `; every node subnet is taken at the end (since ${formatDuration(r.forecast.exhaustedAt)}): the next node will wait.` : "."));
  } else {
    const stretches = s.outages.map((o) => (o.end === undefined ? `from ${formatDuration(o.start)} to the end` : `${formatDuration(o.start)}–${formatDuration(o.end)}`));
    lines.push(outAtEnd
      ? `The pool ran out at ${formatDuration(ranOutAt)} and was still out at the end (${formatDuration(end)}).${s.outages.length > 1 ? ` Out ${s.outages.length} times: ${stretches.join(", ")}.` : ""}`
      : `The pool ran out at ${formatDuration(ranOutAt)}; ${s.outages.length > 1 ? `out ${s.outages.length} times: ${stretches.join(", ")}` : `out until ${formatDuration((s.outages[0] as { end: number }).end)}`}${r.forecast.status === "exhausted" ? ", and every node subnet is taken at the end (the next node will wait)" : ""}.`);
  }
  // 2. Nodes that waited.
  lines.push(s.nodesWaited === 0
    ? "No node waited for a subnet."
    : `${plural(s.nodesWaited, "node")} waited for a subnet, the longest ${formatDuration(s.maxWait)}${outAtEnd ? ` (${int(s.waitingAtEnd)} still waiting at the end)` : ""}.`);
  // 3. Pod allocations.
  const pf = r.totals.podFailures;
  lines.push(pf === 0 ? "No pod IP allocation failed." : `${plural(pf, "pod IP allocation")} failed (of ${int(r.totals.podCreates)} pods created).`);
  // 4. What the pool fits.
  const cidrText = (list: readonly string[]): string => list.join(" + ");
  const fitsAtStart = Math.min(subnetsAt(initial, nodeMask), limit ?? Infinity);
  lines.push(`${cidrText(initial)} with /${nodeMask} per node fits ${int(fitsAtStart)} nodes × ${int(podsPerSubnet)} pod IPs`
    + (limit !== undefined && limit < subnetsAt(initial, nodeMask) ? ` (maxNodeSubnets ${int(limit)})` : "")
    + (grown.length > 0 ? `; with ${cidrText(grown.map((p) => `${p.cidr} (added at ${formatDuration(p.since)})`))}, ${int(nodesFit)} nodes` : "")
    + ".");
  // 5. What would have been enough.
  let enough: Enough | undefined;
  if (ranOutAt !== undefined && initial.length > 0) {
    enough = enoughFor(initial, nodeMask, limit, s.peakDemand, podsPerNode);
    const ways: string[] = [];
    if (enough.maxNodeSubnets !== undefined) ways.push(`maxNodeSubnets ${int(enough.maxNodeSubnets)}${enough.extraCidr ? " and" : ""}`);
    if (enough.extraCidr) ways.push(`one more /${enough.extraCidr.prefix} from the start (${int(enough.extraCidr.subnets)} more /${nodeMask} node subnets)`);
    else if (enough.demand > subnetsAt(initial, nodeMask)) ways.push(`more pool CIDRs (no single CIDR adds ${int(enough.demand - subnetsAt(initial, nodeMask))} /${nodeMask} subnets)`);
    const maskWay = enough.mask
      ? `maskSize ${enough.mask.maskSize} on the same CIDRs (${int(enough.mask.subnets)} nodes × ${int(enough.mask.podsPerSubnet)} pods, room for ${int(podsPerNode)} per node; for a new cluster)`
      : undefined;
    const head = `At most ${int(enough.demand)} node subnets were wanted at once (at ${formatDuration(s.peakDemandAt)}); the pool had ${int(enough.had)} at the start.`;
    const opts = [ways.join(" "), ...(maskWay ? [maskWay] : [])].filter((x) => x !== "");
    lines.push(`${head} ${opts.length > 0 ? `What would have been enough: ${opts.join(", or ")}.` : `No larger node mask leaves room for ${int(podsPerNode)} pods per node.`}`);
  }
  return {
    family, ...(ranOutAt !== undefined ? { ranOutAt } : {}), outAtEnd, nodesWaited: s.nodesWaited, maxWait: s.maxWait,
    waitingAtEnd: s.waitingAtEnd, podFailures: pf, nodesFit, podsPerSubnet, nodeMask, ...(enough ? { enough } : {}), lines,
  };
}

function pctOf(a: number, b: number): string {
  return b > 0 ? `${((a / b) * 100).toFixed(1)}%` : "-";
}
