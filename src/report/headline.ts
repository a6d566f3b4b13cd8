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

/** What one family of the pool fits, and what would have been enough for it. */
export interface FamilyAnswer {
  readonly family: 4 | 6;
  readonly nodeMask: number;
  /** The family's CIDRs from the start, and those added during the run. */
  readonly initial: readonly string[];
  /** Node subnets in service at the end (the subnet limit applied). */
  readonly nodesFit: number;
  /** Node subnets from the start (the subnet limit applied). */
  readonly fitsAtStart: number;
  readonly podsPerSubnet: number;
  /** Set when the pool ran out. */
  readonly enough?: Enough;
}

export interface Headline {
  /** The first family (IPv4 of a dual-stack pool); `families` has each. */
  readonly family: 4 | 6;
  /** When nodes first had to wait for a subnet (virtual seconds); undefined: never. */
  readonly ranOutAt?: number;
  /** Still out at the end. */
  readonly outAtEnd: boolean;
  readonly nodesWaited: number;
  readonly maxWait: number;
  readonly waitingAtEnd: number;
  readonly podFailures: number;
  /** Nodes the pool fits at the end: a node takes one subnet of each family. */
  readonly nodesFit: number;
  /** Of the first family. */
  readonly podsPerSubnet: number;
  readonly nodeMask: number;
  /** Of the first family; set when the pool ran out. */
  readonly enough?: Enough;
  /** Per family (IPv4 first): what it fits and what would have been enough. */
  readonly families: readonly FamilyAnswer[];
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

/** One family's answer: what it fits, from the start and at the end, and what would have been enough for `demand`. */
function familyAnswer(r: SimResult, family: 4 | 6, demand: number | undefined, podsPerNode: number): FamilyAnswer {
  const pools = r.pools.filter((p) => p.family === family);
  const initial = pools.filter((p) => p.since === 0).map((p) => p.cidr);
  const nodeMask = pools[0]?.nodeMask ?? 0;
  const limit = r.pool.maxNodeSubnets;
  return {
    family, nodeMask, initial,
    nodesFit: Math.min(pools.reduce((n, p) => n + p.subnetCapacity, 0), limit ?? Infinity),
    fitsAtStart: Math.min(subnetsAt(initial, nodeMask), limit ?? Infinity),
    podsPerSubnet: pools[0] ? usableAt(pools[0].cidr, nodeMask) : 0,
    ...(demand !== undefined && initial.length > 0 ? { enough: enoughFor(initial, nodeMask, limit, demand, podsPerNode) } : {}),
  };
}

/** The ways out for one family that was short, as words ("one more /20 from the start (...)", "maskSize 25 ..."). */
function ways(e: Enough, f: FamilyAnswer): string[] {
  const space = subnetsAt(f.initial, f.nodeMask);
  const out: string[] = [];
  if (e.maxNodeSubnets !== undefined) out.push(`maxNodeSubnets ${int(e.maxNodeSubnets)}${e.extraCidr ? " and" : ""}`);
  if (e.extraCidr) out.push(`one more /${e.extraCidr.prefix} from the start (${int(e.extraCidr.subnets)} more /${f.nodeMask} node subnets)`);
  else if (e.demand > space) out.push(`more pool CIDRs (no single CIDR adds ${int(e.demand - space)} /${f.nodeMask} subnets)`);
  const mask = e.mask
    ? `maskSize ${e.mask.maskSize} on the same CIDRs (${int(e.mask.subnets)} nodes × ${int(e.mask.podsPerSubnet)} pods, room for ${int(e.podsPerNode)} per node; for a new cluster)`
    : undefined;
  return [out.join(" "), ...(mask ? [mask] : [])].filter((x) => x !== "");
}

/** The headline of a simulation result: every family of a dual-stack pool is answered. */
export function headline(r: SimResult): Headline {
  const s = r.shortage;
  const ranOutAt = s.outages[0]?.start;
  const outAtEnd = s.waitingAtEnd > 0;
  const podsPerNode = Math.min(r.scenario.pods.maxPerNode, r.scenario.pods.maxPods);
  const demand = ranOutAt !== undefined ? s.peakDemand : undefined;
  const families = ([4, 6] as const).filter((f) => (f === 4 ? r.pool.ipv4 : r.pool.ipv6) !== undefined).map((f) => familyAnswer(r, f, demand, podsPerNode));
  const first = families[0] as FamilyAnswer;
  const dual = families.length > 1;
  // a node takes one node subnet of each family
  const nodesFit = Math.min(...families.map((f) => f.nodesFit));
  const limit = r.pool.maxNodeSubnets;
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
  // 4. What the pool fits, per family.
  const cidrText = (list: readonly string[]): string => list.join(" + ");
  for (const f of families) {
    const grown = r.pools.filter((p) => p.family === f.family && p.since > 0);
    lines.push(`${dual ? `IPv${f.family}: ` : ""}${cidrText(f.initial)} with /${f.nodeMask} per node fits ${int(f.fitsAtStart)} nodes × ${int(f.podsPerSubnet)} pod IPs`
      + (limit !== undefined && limit < subnetsAt(f.initial, f.nodeMask) ? ` (maxNodeSubnets ${int(limit)})` : "")
      + (grown.length > 0 ? `; with ${cidrText(grown.map((p) => `${p.cidr} (added at ${formatDuration(p.since)})`))}, ${int(f.nodesFit)} nodes` : "")
      + ".");
  }
  if (dual) lines.push(`A node takes a node subnet of each family: ${int(Math.min(...families.map((f) => f.fitsAtStart)))} nodes fit from the start.`);
  // 5. What would have been enough, per family.
  if (demand !== undefined && families.some((f) => f.enough !== undefined)) {
    const had = dual ? families.map((f) => `${int(f.enough?.had ?? 0)} (IPv${f.family})`).join(" and ") : int(first.enough?.had ?? 0);
    const parts = families.filter((f) => f.enough !== undefined).map((f) => {
      const e = f.enough as Enough;
      if (e.demand <= e.had) return `IPv${f.family} had room for them.`;
      const w = ways(e, f);
      const label = dual ? ` for IPv${f.family}` : "";
      return w.length > 0 ? `What would have been enough${label}: ${w.join(", or ")}.` : `No larger node mask leaves room for ${int(podsPerNode)} pods per node${label}.`;
    });
    lines.push(`At most ${int(demand)} node subnets were wanted at once (at ${formatDuration(s.peakDemandAt)}); the pool had ${had} at the start. ${parts.join(" ")}`);
  }
  return {
    family: first.family, ...(ranOutAt !== undefined ? { ranOutAt } : {}), outAtEnd, nodesWaited: s.nodesWaited, maxWait: s.maxWait,
    waitingAtEnd: s.waitingAtEnd, podFailures: pf, nodesFit, podsPerSubnet: first.podsPerSubnet, nodeMask: first.nodeMask,
    ...(first.enough ? { enough: first.enough } : {}), families, lines,
  };
}

function pctOf(a: number, b: number): string {
  return b > 0 ? `${((a / b) * 100).toFixed(1)}%` : "-";
}
