/**
 * `ipcarve carve --config FILE`: the node subnet table a config gives, by
 * adding nodes node-1..node-N to a pool built from it.
 */
import { createPool } from "../config/pool.js";
import type { LoadedConfig } from "../config/load.js";
import { resolveMultiOptions } from "../pool/multi/options.js";
import { labelsFor } from "../sim/multi-scenario.js";
import { readConfig } from "./config-input.js";
import { parseCidr } from "../net/ip.js";
import { isIpamError } from "../errors.js";
import { textTable, int } from "../report/summary.js";
import { UsageError, type Io } from "./io.js";
import { subnetCapacity } from "./simulate.js";

export interface CarveFlags {
  readonly config?: string;
  /** CiliumPodIPPool objects: named pools. */
  readonly pools?: string;
  readonly nodes?: number;
  readonly json?: boolean;
}

export interface CarveRow {
  readonly node: string;
  readonly ipv4?: string;
  readonly ipv6?: string;
  /** Usable pod IPs per family subnet, IPv4 first. */
  readonly podIPs: number[];
  readonly status: string;
  readonly error?: string;
  /** With named pools: the pool the row's chunks come from. */
  readonly pool?: string;
}

/** Default row count when --nodes is absent: the subnet limit, else every subnet up to this many. */
export const CARVE_DEFAULT_MAX = 256;

export function carve(io: Io, f: CarveFlags): { rows: CarveRow[]; notes: string[]; capacity: number } {
  const cfg = readConfig(io, f);
  if (cfg === undefined) throw new UsageError("give --config FILE, --pools FILE or both");
  if (cfg.pools !== undefined) return carvePools(cfg, f);
  const pool = createPool(cfg);
  const capacity = subnetCapacity(cfg.pool);
  const n = f.nodes ?? cfg.pool.maxNodeSubnets ?? Math.min(capacity, CARVE_DEFAULT_MAX);
  const notes = [...cfg.notes];
  if (f.nodes === undefined && cfg.pool.maxNodeSubnets === undefined && capacity > n) {
    notes.push(`showing the first ${int(n)} of ${int(capacity)} node subnets; use --nodes`);
  }
  const rows: CarveRow[] = [];
  for (let i = 1; i <= n; i++) {
    const name = `node-${i}`;
    let error: string | undefined;
    try {
      pool.addNode(name);
    } catch (e) {
      if (!isIpamError(e)) throw e;
      error = e.detail;
    }
    const d = pool.node(name);
    const cidrs = d?.podCIDRs ?? [];
    const v4 = cidrs.find((c) => parseCidr(c).family === 4);
    const v6 = cidrs.find((c) => parseCidr(c).family === 6);
    const sharing = (d as { sharing?: (4 | 6)[] } | undefined)?.sharing ?? [];
    const status = error !== undefined ? (d ? String((d as { status?: string }).status ?? "pending") : "failed")
      : sharing.length > 0 ? `sharing IPv${sharing.join("/IPv")}` : "ready";
    rows.push({
      node: name,
      ...(v4 ? { ipv4: v4 } : {}),
      ...(v6 ? { ipv6: v6 } : {}),
      podIPs: (d?.ranges ?? []).map((r) => r.size),
      status,
      ...(error !== undefined ? { error } : {}),
    });
  }
  return { rows, notes, capacity };
}

/**
 * Named pools: per pool, nodes <pool>-1..N with the labels its node
 * selector asks for, each drawing one address from the pool, so that each
 * takes its first chunk (per family): the chunks the pool hands out, in order.
 */
function carvePools(cfg: LoadedConfig, f: CarveFlags): { rows: CarveRow[]; notes: string[]; capacity: number } {
  const pool = createPool(cfg);
  const notes = [...cfg.notes];
  const rows: CarveRow[] = [];
  let capacity = 0;
  try {
    for (const p of resolveMultiOptions(cfg.multi).pools) {
      const chunks = Math.min(...p.families.map((fam) => fam.cidrs.reduce((n, c) => n + 2 ** (fam.maskSize - c.prefix), 0)));
      capacity += chunks;
      const n = f.nodes ?? Math.min(chunks, CARVE_DEFAULT_MAX);
      if (f.nodes === undefined && chunks > n) notes.push(`pool ${p.name}: showing the first ${int(n)} of ${int(chunks)} chunks; use --nodes`);
      const labels = labelsFor(p.nodeSelector);
      for (let i = 1; i <= n; i++) {
        const name = `${p.name}-${i}`;
        let error: string | undefined;
        try {
          pool.addNode(name, { labels });
          pool.allocate(name, `carve/${name}`, { pool: p.name });
        } catch (e) {
          if (!isIpamError(e)) throw e;
          error = e.detail;
        }
        const d = pool.node(name);
        const cidrs = d?.pools?.find((x) => x.pool === p.name)?.cidrs ?? [];
        const v4 = cidrs.find((c) => parseCidr(c).family === 4);
        const v6 = cidrs.find((c) => parseCidr(c).family === 6);
        rows.push({
          node: name, pool: p.name,
          ...(v4 ? { ipv4: v4 } : {}),
          ...(v6 ? { ipv6: v6 } : {}),
          podIPs: (d?.usage ?? []).filter((u) => u.pool === p.name).map((u) => u.used + u.free),
          status: error === undefined ? "ready" : "failed",
          ...(error !== undefined ? { error } : {}),
        });
      }
    }
  } finally {
    pool.dispose();
  }
  return { rows, notes, capacity };
}

export function carveCommand(io: Io, f: CarveFlags): number {
  const r = carve(io, f);
  if (f.json) {
    io.out(JSON.stringify({ nodes: r.rows, notes: r.notes }, null, 2) + "\n");
    return 0;
  }
  const hasV4 = r.rows.some((x) => x.ipv4);
  const hasV6 = r.rows.some((x) => x.ipv6);
  const anyIssue = r.rows.some((x) => x.status !== "ready");
  const hasPool = r.rows.some((x) => x.pool !== undefined);
  const head = ["NODE", ...(hasPool ? ["POOL"] : []), ...(hasV4 ? ["IPV4 POD CIDR"] : []), ...(hasV6 ? ["IPV6 POD CIDR"] : []), "POD IPS", ...(anyIssue ? ["STATUS"] : [])];
  const rows = r.rows.map((x) => [
    x.node,
    ...(hasPool ? [x.pool ?? "-"] : []),
    ...(hasV4 ? [x.ipv4 ?? "-"] : []),
    ...(hasV6 ? [x.ipv6 ?? "-"] : []),
    x.podIPs.length > 0 ? x.podIPs.map(int).join(" + ") : "-",
    ...(anyIssue ? [x.error ? `${x.status}: ${x.error}` : x.status] : []),
  ]);
  io.out(textTable(head, rows) + "\n");
  for (const n of r.notes) io.err(`note: ${n}\n`);
  return 0;
}
