/**
 * The summary of a simulation as rows of text, shared by the terminal
 * summary table and the HTML report.
 */
import type { SimResult } from "../sim/simulate.js";
import type { Forecast } from "../sim/forecast.js";
import { formatDuration, type Lifetime } from "../sim/scenario.js";

export const int = (n: number): string => Math.round(n).toLocaleString("en-US");
export const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const rate = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0));

function lifetimeText(l: Lifetime): string {
  switch (l.kind) {
    case "exponential": return `exponential, mean ${formatDuration(l.mean)}`;
    case "fixed": return `fixed ${formatDuration(l.value)}`;
    case "uniform": return `uniform ${formatDuration(l.min)}..${formatDuration(l.max)}`;
  }
}

export type Row = readonly [string, string];

/** The forecast in words: a past time for what happened, a future one only for a projection. */
export function forecastText(fc: Forecast): string {
  switch (fc.status) {
    case "exhausted": return fc.basis.startsWith("full")
      ? `full since ${formatDuration(fc.exhaustedAt)}, every subnet taken at the end`
      : `out since ${formatDuration(fc.exhaustedAt)}, nodes still waiting at the end`;
    case "projected": return `runs out at ${formatDuration(fc.exhaustedAt)} (${(fc.slope * 3600).toFixed(1)} subnets/h, ${fc.basis})`;
    case "not projected": return `not projected (${fc.basis})`;
  }
}

export function summaryRows(r: SimResult): { parameters: Row[]; results: Row[] } {
  const sc = r.scenario;
  const p = r.pool;
  const fam = (f: { cidrs: readonly string[]; maskSize?: number } | undefined): string | undefined =>
    f && `${f.cidrs.join(", ")} with ${f.maskSize !== undefined ? `/${f.maskSize}` : "a mask from the node subnet limit"} per node`;
  const overflow = p.overflow === undefined || p.overflow === "reject" ? undefined
    : p.overflow === "share" ? "share (pods borrow addresses)"
    : `smaller subnets (/${p.overflow.smaller}${p.overflow.ipv6 !== undefined ? `, IPv6 /${p.overflow.ipv6}` : ""})`;
  const reuse = p.reuse && [
    ...(p.reuse.cooldownMs !== undefined ? [formatDuration(p.reuse.cooldownMs / 1000)] : []),
    ...(p.reuse.minFreeBeforeReuse !== undefined ? [`after ${int(p.reuse.minFreeBeforeReuse)} later releases`] : []),
  ].join(" or ");
  const phases = sc.nodes.phases.map((x) => `${int(x.nodes)}@${formatDuration(x.at)}`).join(" → ");
  const parameters: Row[] = [
    ["scenario", sc.name],
    ...(fam(p.ipv4) ? [["IPv4 pool", fam(p.ipv4) as string] as Row] : []),
    ...(fam(p.ipv6) ? [["IPv6 pool", fam(p.ipv6) as string] as Row] : []),
    ...(p.maxNodeSubnets !== undefined ? [["node subnet limit", int(p.maxNodeSubnets)] as Row] : []),
    ...(overflow !== undefined ? [["overflow", overflow] as Row] : []),
    ...(p.reserveRouterIP ? [["router IP", `${p.reserveRouterIP} address of each node subnet`] as Row] : []),
    ...sc.growth.map((g) => ["pool growth", `${g.cidr} at ${formatDuration(g.at)}`] as Row),
    ["pod IP strategy", p.podStrategy ?? "next-fit"],
    ["node target curve", phases],
    ["node failures", `${(sc.nodes.failureRate * 100).toFixed(2)}% of nodes per hour`],
    ["pods per node", sc.pods.minPerNode === sc.pods.maxPerNode ? int(sc.pods.maxPerNode) : `${sc.pods.minPerNode}..${sc.pods.maxPerNode} (maxPods ${sc.pods.maxPods})`],
    ["pod lifetime", lifetimeText(sc.pods.lifetime)],
    ["IP cooldown", reuse !== undefined ? `pool reuse: ${reuse || "none"}` : sc.cooldown > 0 ? formatDuration(sc.cooldown) : "none"],
    ["duration / epoch", `${formatDuration(sc.duration)} / ${formatDuration(sc.epoch)} (${int(r.epochs)} epochs)`],
    ["seed / threads", `${sc.seed} / ${r.threads}`],
  ];
  const t = r.totals;
  const f = r.final;
  const fc = r.forecast;
  const results: Row[] = [
    ["peak nodes", int(t.peakNodes)],
    ["peak running pods", int(t.peakPods)],
    ["nodes joined / scaled down / failed", `${int(t.nodeJoins)} / ${int(t.nodeLeaves)} / ${int(t.nodeFailures)}`],
    ["node subnet allocations failed", int(t.nodeAllocFailures)],
    ["most nodes without a subnet", int(t.maxNodesWithoutSubnet)],
    ["pods created / deleted", `${int(t.podCreates)} / ${int(t.podDeletes)}`],
    ["pod IP allocations failed", int(t.podFailures)],
    ["arrivals over maxPods (not scheduled)", int(t.podsUnschedulable)],
    ["peak IPs in cooldown", int(t.peakCooldown)],
    ["final subnet utilization", `${pct(f.subnetUtilization)} (${int(f.subnetsUsed)} of ${int(f.subnetCapacity)})`],
    ["final pod IP utilization", `${pct(f.ipUtilization)} (${int(f.ipsUsed)} of ${int(f.ipCapacity)})`],
    ["final per-node utilization", `mean ${pct(f.nodeUtilizationMean)}, p95 ${pct(f.nodeUtilizationP95)}, max ${pct(f.nodeUtilizationMax)}`],
    ["final fragmentation (free subnets)", pct(f.fragmentation)],
    ["exhaustion forecast", forecastText(fc)],
    ["events (pods + nodes)", int(t.events)],
    ["wall time", `${(r.wallMs / 1000).toFixed(2)} s`],
    ["events per second", rate(r.eventsPerSec)],
    ["digest", r.digest],
  ];
  return { parameters, results };
}

export function poolRows(r: SimResult): { head: string[]; rows: string[][] } {
  return {
    head: ["pool CIDR", "in service", "node subnets", "of", "pod IPs used", "utilization", "fragmentation"],
    rows: r.pools.map((p) => [
      `${p.cidr} (/${p.nodeMask})`,
      p.since > 0 ? `from ${formatDuration(p.since)}` : "from start",
      int(p.subnetsUsed),
      int(p.subnetCapacity),
      int(p.ipsUsed),
      pct(p.utilization),
      pct(p.fragmentation),
    ]),
  };
}

/** A plain-text table: columns padded, numbers right-aligned. */
export function textTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const numeric = head.map((_, i) => rows.length > 0 && rows.every((r) => /^-?[\d.,]+%?$|^-$/.test(r[i] ?? "")));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (numeric[i] ? c.padStart(w[i] as number) : c.padEnd(w[i] as number))).join("  ").trimEnd();
  return [line(head), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n");
}
