/**
 * `ipcarve plan`: capacity planning from the config alone. How many nodes
 * fit and with how many pods, when the pool runs out under a stated growth,
 * and which node mask fits a target node count.
 */
import { loadConfig, HELM_DEFAULTS, type FamilyConfig, type PoolConfig } from "../config/load.js";
import { parseCidr } from "../net/ip.js";
import { checkNodeMask } from "../alloc/cidr-set.js";
import { isIpamError } from "../errors.js";
import { rangeGeometry } from "../net/range.js";
import { formatDuration } from "../sim/scenario.js";
import { textTable, int } from "../report/summary.js";
import type { Growth } from "./args.js";
import { UsageError, pathIn, type Io } from "./io.js";

export interface PlanFlags {
  readonly config?: string;
  readonly cidr?: string[];
  readonly mask?: number;
  readonly podsPerNode?: number;
  readonly nodes?: number;
  readonly growth?: Growth;
  readonly targetNodes?: number;
  readonly json?: boolean;
}

export interface FamilyPlan {
  readonly family: 4 | 6;
  readonly pools: { cidr: string; nodeMask: number; subnets: number }[];
  readonly nodeMask: number;
  /** Usable pod IPs of one node subnet. */
  readonly ipsPerNode: number;
  /** Pods a node can run: min(IPs, maxPods). */
  readonly podsPerNode: number;
  readonly subnets: number;
  /** Nodes that get a subnet: subnets, or the node-subnet limit. */
  readonly nodesThatFit: number;
  readonly podCapacity: number;
  readonly warnings: string[];
  readonly current?: { readonly nodes: number; readonly free: number };
  readonly exhaustion?: { readonly growth: string; readonly seconds: number | null; readonly text: string };
  readonly target?: {
    readonly nodes: number;
    readonly fits: boolean;
    readonly nodeMask?: number;
    readonly nodesAtMask?: number;
    readonly ipsPerNode?: number;
    readonly advice: string;
  };
}

const cap = (cidrs: readonly string[], mask: number): number => cidrs.reduce((n, c) => n + 2 ** (mask - parseCidr(c).prefix), 0);
const ipsAt = (cidr: string, mask: number): number => rangeGeometry(parseCidr(`${parseCidr(cidr).ip}/${mask}`)).size;

function planFamily(family: 4 | 6, f: FamilyConfig, limit: number | undefined, flags: PlanFlags): FamilyPlan {
  const maxPods = flags.podsPerNode ?? 110;
  const subnets = cap(f.cidrs, f.maskSize);
  const ipsPerNode = ipsAt(f.cidrs[0] as string, f.maskSize);
  const podsPerNode = Math.min(ipsPerNode, maxPods);
  const nodesThatFit = Math.min(subnets, limit ?? Infinity);
  const warnings: string[] = [];
  if (ipsPerNode < maxPods) {
    warnings.push(`a /${f.maskSize} node subnet has ${int(ipsPerNode)} usable IPs: nodes can run at most ${int(ipsPerNode)} pods, fewer than maxPods ${maxPods}`);
  }
  if (limit !== undefined && limit < subnets) warnings.push(`numBigHoleIPAMs/maxNodeSubnets ${int(limit)} leaves ${int(subnets - limit)} of ${int(subnets)} node subnets unused`);
  const plan: FamilyPlan = {
    family,
    pools: f.cidrs.map((c) => ({ cidr: c, nodeMask: f.maskSize, subnets: cap([c], f.maskSize) })),
    nodeMask: f.maskSize, ipsPerNode, podsPerNode, subnets, nodesThatFit,
    podCapacity: nodesThatFit * podsPerNode,
    warnings,
  };
  const now = flags.nodes ?? 0;
  const out: { -readonly [K in keyof FamilyPlan]: FamilyPlan[K] } = { ...plan };
  if (flags.nodes !== undefined) {
    out.current = { nodes: now, free: nodesThatFit - now };
    if (now > nodesThatFit) warnings.push(`${int(now)} nodes already exceed the ${int(nodesThatFit)} that fit: ${int(now - nodesThatFit)} would wait for a subnet`);
  }
  if (flags.growth) {
    const g = flags.growth;
    let seconds: number | null;
    if (now >= nodesThatFit) seconds = 0;
    else if (g.kind === "linear") seconds = ((nodesThatFit - now) / g.amount) * g.period;
    else if (now <= 0) seconds = null;
    else seconds = (Math.log(nodesThatFit / now) / Math.log(1 + g.amount)) * g.period;
    const text = seconds === null
      ? `percentage growth from 0 nodes never starts: give --nodes`
      : seconds === 0 ? "already exhausted" : `runs out in ${formatDuration(seconds)}${seconds >= 2 * 86400 ? ` (about ${(seconds / 2629800).toFixed(1)} months)` : ""} at ${g.text}`;
    out.exhaustion = { growth: g.text, seconds, text };
  }
  if (flags.targetNodes !== undefined) {
    const T = flags.targetNodes;
    const bits = family === 4 ? 32 : 128;
    const widest = Math.max(...f.cidrs.map((c) => parseCidr(c).prefix));
    let m = widest;
    while (m <= bits && cap(f.cidrs, m) < T) m++;
    const fitsCidr = m <= bits && (() => { try { for (const c of f.cidrs) checkNodeMask(parseCidr(c), m); return true; } catch { return false; } })();
    if (!fitsCidr) {
      out.target = { nodes: T, fits: false, advice: `no node mask gives ${int(T)} subnets in ${f.cidrs.join(", ")}: use a larger pool CIDR` };
    } else {
      const ips = ipsAt(f.cidrs[0] as string, m);
      const fits = ips >= maxPods;
      const needMask = bits - Math.ceil(Math.log2(maxPods + 2));
      const needPool = needMask - Math.ceil(Math.log2(T));
      out.target = {
        nodes: T, fits, nodeMask: m, nodesAtMask: cap(f.cidrs, m), ipsPerNode: ips,
        advice: fits
          ? `node mask /${m} gives ${int(cap(f.cidrs, m))} node subnets of ${int(ips)} IPs (${maxPods} pods each)`
          : `node mask /${m} gives ${int(cap(f.cidrs, m))} node subnets but only ${int(ips)} IPs each, fewer than maxPods ${maxPods}: ${int(T)} nodes with /${needMask} subnets need a /${needPool} pool`,
      };
    }
  }
  return out;
}

/** The pool a plan uses: --cidr/--mask flags, else the config, else Cilium's defaults. */
function planPool(io: Io, f: PlanFlags): { pool: PoolConfig; source: string } {
  if (f.cidr && f.cidr.length > 0) {
    if (f.config !== undefined) throw new UsageError("give either --config or --cidr, not both");
    const first = parseCidr(f.cidr[0]);
    if (f.cidr.some((c) => parseCidr(c).family !== first.family)) throw new UsageError("--cidr: all CIDRs must be of one family");
    const mask = f.mask ?? (first.family === 4 ? 24 : 120);
    for (const c of f.cidr) {
      try {
        checkNodeMask(parseCidr(c), mask);
      } catch (e) {
        if (!isIpamError(e)) throw e;
        throw new UsageError(`--mask ${mask}: ${e.detail}`);
      }
    }
    const fam = { cidrs: f.cidr, maskSize: mask };
    return { pool: first.family === 4 ? { ipv4: fam } : { ipv6: fam }, source: "--cidr" };
  }
  if (f.mask !== undefined) throw new UsageError("--mask needs --cidr");
  if (f.config !== undefined) return { pool: loadConfig(pathIn(io, f.config)).pool, source: f.config };
  return { pool: { ipv4: { cidrs: [...HELM_DEFAULTS.ipv4.cidrs], maskSize: HELM_DEFAULTS.ipv4.maskSize } }, source: "Cilium's default 10.0.0.0/8 with /24" };
}

export function plan(io: Io, f: PlanFlags): { source: string; families: FamilyPlan[] } {
  const { pool, source } = planPool(io, f);
  const families: FamilyPlan[] = [];
  if (pool.ipv4) families.push(planFamily(4, pool.ipv4, pool.maxNodeSubnets, f));
  if (pool.ipv6) families.push(planFamily(6, pool.ipv6, pool.maxNodeSubnets, f));
  return { source, families };
}

export function planCommand(io: Io, f: PlanFlags): number {
  const p = plan(io, f);
  if (f.json) {
    io.out(JSON.stringify(p, null, 2) + "\n");
    return 0;
  }
  const lines: string[] = [`capacity plan for ${p.source}`, ""];
  const nodesFit = Math.min(...p.families.map((x) => x.nodesThatFit));
  for (const fp of p.families) {
    lines.push(`IPv${fp.family}`);
    lines.push(textTable(["pool CIDR", "node mask", "node subnets"], fp.pools.map((x) => [x.cidr, `/${x.nodeMask}`, int(x.subnets)])));
    lines.push("");
    lines.push(`  nodes that fit      ${int(fp.nodesThatFit)}`);
    lines.push(`  IPs per node        ${int(fp.ipsPerNode)}`);
    lines.push(`  pods per node       ${int(fp.podsPerNode)} (maxPods ${f.podsPerNode ?? 110})`);
    lines.push(`  pod capacity        ${int(fp.podCapacity)}`);
    if (fp.current) lines.push(`  nodes now           ${int(fp.current.nodes)} (${int(fp.current.free)} more fit)`);
    if (fp.exhaustion) lines.push(`  exhaustion          ${fp.exhaustion.text}`);
    if (fp.target) lines.push(`  ${int(fp.target.nodes)} nodes: ${fp.target.fits ? "" : "does not fit: "}${fp.target.advice}`);
    for (const w of fp.warnings) lines.push(`  warning: ${w}`);
    lines.push("");
  }
  if (p.families.length > 1) lines.push(`dual-stack: ${int(nodesFit)} nodes fit (the smaller of the families)`, "");
  io.out(lines.join("\n"));
  return 0;
}
