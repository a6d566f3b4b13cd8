/**
 * `ipcarve plan`: capacity planning from the config alone. How many nodes
 * fit and with how many pods, when the pool runs out under a stated growth,
 * and which node mask fits a target node count.
 */
import { loadConfig, HELM_DEFAULTS, type FamilyConfig, type PoolConfig } from "../config/load.js";
import { parseCidr } from "../net/ip.js";
import { checkNodeMask } from "../alloc/cidr-set.js";
import { errors, isIpamError } from "../errors.js";
import { rangeGeometry } from "../net/range.js";
import { formatDuration } from "../sim/scenario.js";
import { textTable, int } from "../report/summary.js";
import type { Growth } from "./args.js";
import { CliError, UsageError, pathIn, type Io } from "./io.js";

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

/**
 * The --cidr flags as the pool reads them: host bits masked (a note says so),
 * one family, no two overlapping (CIDR_COLLISION, as the pool would refuse them).
 */
export function cidrFlags(list: readonly string[]): { cidrs: string[]; notes: string[] } {
  const parsed = list.map((c) => parseCidr(c));
  const first = parsed[0] as ReturnType<typeof parseCidr>;
  if (parsed.some((c) => c.family !== first.family)) throw new UsageError("--cidr: all CIDRs must be of one family");
  const notes: string[] = [];
  parsed.forEach((c, i) => {
    const text = list[i] as string;
    if (String(c) !== text.trim()) notes.push(`--cidr ${text} was read as ${String(c)} (host bits cleared, as Cilium does)`);
    for (let j = 0; j < i; j++) {
      const o = parsed[j] as typeof c;
      if (o.overlaps(c)) throw errors.collision("--cidr", String(c), `--cidr ${String(o)}`);
    }
  });
  return { cidrs: parsed.map(String), notes };
}

/** The pool a plan uses: --cidr/--mask flags, else the config, else Cilium's defaults. */
function planPool(io: Io, f: PlanFlags): { pool: PoolConfig; source: string; notes: string[] } {
  if (f.cidr && f.cidr.length > 0) {
    if (f.config !== undefined) throw new UsageError("give either --config or --cidr, not both");
    const { cidrs, notes } = cidrFlags(f.cidr);
    const first = parseCidr(cidrs[0] as string);
    const mask = f.mask ?? (first.family === 4 ? 24 : 120);
    for (const c of cidrs) {
      try {
        checkNodeMask(parseCidr(c), mask);
      } catch (e) {
        if (!isIpamError(e)) throw e;
        throw new UsageError(`--mask ${mask}: ${e.detail}`);
      }
    }
    const fam = { cidrs, maskSize: mask };
    return { pool: first.family === 4 ? { ipv4: fam } : { ipv6: fam }, source: "--cidr", notes };
  }
  if (f.mask !== undefined) throw new UsageError("--mask needs --cidr");
  if (f.config !== undefined) {
    const cfg = loadConfig(pathIn(io, f.config));
    if (cfg.pools !== undefined) {
      throw new CliError(`ipcarve: ${f.config}: gives named pools (multi-pool): plan sizes one cluster pool; run \`ipcarve simulate --config ${f.config}\` for per-pool capacity, or \`ipcarve carve\` for the chunks`);
    }
    return { pool: cfg.pool, source: f.config, notes: [...cfg.notes, ...cfg.warnings.map((w) => `warning: ${w}`)] };
  }
  return { pool: { ipv4: { cidrs: [...HELM_DEFAULTS.ipv4.cidrs], maskSize: HELM_DEFAULTS.ipv4.maskSize } }, source: "Cilium's default 10.0.0.0/8 with /24", notes: [] };
}

export function plan(io: Io, f: PlanFlags): { source: string; notes: string[]; families: FamilyPlan[] } {
  const { pool, source, notes } = planPool(io, f);
  const families: FamilyPlan[] = [];
  if (pool.ipv4) families.push(planFamily(4, pool.ipv4, pool.maxNodeSubnets, f));
  if (pool.ipv6) families.push(planFamily(6, pool.ipv6, pool.maxNodeSubnets, f));
  return { source, notes, families };
}

export function planCommand(io: Io, f: PlanFlags): number {
  const p = plan(io, f);
  for (const n of p.notes) io.err(n.startsWith("warning: ") ? `ipcarve: ${n}\n` : `note: ${n}\n`);
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
    if (fp.current) {
      const free = fp.current.free;
      lines.push(`  nodes now           ${int(fp.current.nodes)} (${free >= 0 ? `${int(free)} more fit` : `${int(-free)} more than fit`})`);
    }
    if (fp.exhaustion) lines.push(`  exhaustion          ${fp.exhaustion.text}`);
    if (fp.target) lines.push(`  ${int(fp.target.nodes)} nodes: ${fp.target.fits ? "" : "does not fit: "}${fp.target.advice}`);
    for (const w of fp.warnings) lines.push(`  warning: ${w}`);
    lines.push("");
  }
  if (p.families.length > 1) lines.push(`dual-stack: ${int(nodesFit)} nodes fit (the smaller of the families)`, "");
  io.out(lines.join("\n"));
  return 0;
}
