/**
 * `ipcarve carve --config FILE`: the node subnet table a config gives, by
 * adding nodes node-1..node-N to a pool built from it.
 */
import { loadConfig } from "../config/load.js";
import { createPool } from "../config/pool.js";
import { parseCidr } from "../net/ip.js";
import { isIpamError } from "../errors.js";
import { textTable, int } from "../report/summary.js";
import { pathIn, type Io } from "./io.js";
import { subnetCapacity } from "./simulate.js";

export interface CarveFlags {
  readonly config: string;
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
}

/** Default row count when --nodes is absent: the subnet limit, else every subnet up to this many. */
export const CARVE_DEFAULT_MAX = 256;

export function carve(io: Io, f: CarveFlags): { rows: CarveRow[]; notes: string[]; capacity: number } {
  const cfg = loadConfig(pathIn(io, f.config));
  for (const w of cfg.warnings) io.err(`ipcarve: warning: ${w}\n`);
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

export function carveCommand(io: Io, f: CarveFlags): number {
  const r = carve(io, f);
  if (f.json) {
    io.out(JSON.stringify({ nodes: r.rows, notes: r.notes }, null, 2) + "\n");
    return 0;
  }
  const hasV4 = r.rows.some((x) => x.ipv4);
  const hasV6 = r.rows.some((x) => x.ipv6);
  const anyIssue = r.rows.some((x) => x.status !== "ready");
  const head = ["NODE", ...(hasV4 ? ["IPV4 POD CIDR"] : []), ...(hasV6 ? ["IPV6 POD CIDR"] : []), "POD IPS", ...(anyIssue ? ["STATUS"] : [])];
  const rows = r.rows.map((x) => [
    x.node,
    ...(hasV4 ? [x.ipv4 ?? "-"] : []),
    ...(hasV6 ? [x.ipv6 ?? "-"] : []),
    x.podIPs.length > 0 ? x.podIPs.map(int).join(" + ") : "-",
    ...(anyIssue ? [x.error ? `${x.status}: ${x.error}` : x.status] : []),
  ]);
  io.out(textTable(head, rows) + "\n");
  for (const n of r.notes) io.err(`note: ${n}\n`);
  return 0;
}
