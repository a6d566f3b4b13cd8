/**
 * `ipcarve check --state S [--nodes FILE] [--pods FILE] [--json] [--release [--grace T]]`:
 * ClusterPool.check() against kubectl's node and pod lists, as `calicoctl
 * ipam check` does it. Without --release the state is opened read-only (no
 * lock). Each check records its leaks with their first-seen time in
 * `<state>.leaks.json` (--candidates to put it elsewhere); --release frees
 * only those an earlier check reported at least --grace ago (default 15m).
 * Exit 0 when nothing is left reported, 1 otherwise.
 */
import { existsSync } from "node:fs";
import type { ClusterPool, CheckReport } from "../pool/cluster-pool.js";
import { openState } from "./config-input.js";
import { DEFAULT_GRACE_S } from "./grace.js";
import { textTable } from "../report/summary.js";
import { CliError, pathIn, type Io } from "./io.js";
import { readNodes, readPods } from "./kube-lists.js";
import { leaksOf, decide, readCandidates, writeCandidates, type Candidate, type LeakKind } from "./leak-candidates.js";

export interface CheckFlags {
  readonly state: string;
  readonly nodes?: string;
  readonly pods?: string;
  readonly json?: boolean;
  readonly release?: boolean;
  /** Seconds. */
  readonly grace?: number;
  readonly candidates?: string;
}

/** What happened to a leak in this run. */
type Outcome = "released" | "waiting" | "new";

interface Row {
  readonly kind: LeakKind;
  readonly id: string;
  readonly detail: string;
  readonly firstSeen: number;
  readonly outcome: Outcome;
  /** For released owners and nodes: what was freed. */
  readonly freed?: string[];
}

export function checkCommand(io: Io, f: CheckFlags): number {
  const statePath = pathIn(io, f.state);
  if (!existsSync(statePath)) throw new CliError(`ipcarve: --state ${f.state}: no such state file`);
  const nodes = f.nodes === undefined ? undefined : readNodes(pathIn(io, f.nodes), f.nodes);
  const owners = f.pods === undefined ? undefined : readPods(pathIn(io, f.pods), f.pods);
  const candFile = f.candidates !== undefined ? pathIn(io, f.candidates) : `${statePath}.leaks.json`;
  const candShown = f.candidates ?? `${f.state}.leaks.json`;
  const previous = readCandidates(candFile, candShown);
  const graceMs = (f.grace ?? DEFAULT_GRACE_S) * 1000;

  const pool: ClusterPool = openState(statePath, undefined, f.release !== true);
  const named = pool.multiPool;
  const now = Date.now();
  let report: CheckReport;
  const rows: Row[] = [];
  let remaining: CheckReport;
  let unrecorded: string | undefined;
  try {
    report = pool.check({ ...(nodes && { nodes }), ...(owners && { owners }) });
    const { candidates, due } = decide(previous, leaksOf(report), now, graceMs);
    const dueKeys = new Set(f.release ? due.map((c) => `${c.kind}\u0000${c.id}`) : []);
    // the candidates first (every leak of this check that is not about to be freed): if they
    // cannot be written, --release frees nothing
    try {
      writeCandidates(candFile, candShown, statePath, candidates.filter((c) => !dueKeys.has(`${c.kind}\u0000${c.id}`)) as Candidate[]);
    } catch (e) {
      // a read-only check still reports (it may run where the state is only readable); --release needs the file
      if (f.release || !(e instanceof CliError)) throw e;
      unrecorded = e.message;
    }
    const freed = new Map<string, string[]>();
    // nodes first: their pods go with them
    for (const c of [...due].sort((a, b) => order(a.kind) - order(b.kind))) {
      if (!f.release) break;
      freed.set(`${c.kind}\u0000${c.id}`, release(pool, c));
    }
    const details = detailsOf(report, named);
    const seen = new Set(previous.map((c) => `${c.kind}\u0000${c.id}`));
    for (const c of candidates) {
      const k = `${c.kind}\u0000${c.id}`;
      const outcome: Outcome = dueKeys.has(k) ? "released" : seen.has(k) ? "waiting" : "new";
      rows.push({ kind: c.kind, id: c.id, detail: details.get(k) ?? "", firstSeen: c.firstSeen, outcome, ...(freed.has(k) && { freed: freed.get(k) as string[] }) });
    }
    remaining = f.release && dueKeys.size > 0 ? pool.check({ ...(nodes && { nodes }), ...(owners && { owners }) }) : report;
  } finally {
    pool.close();
  }

  const clean = remaining.ok;
  if (unrecorded !== undefined) io.err(`${unrecorded} (the report is complete, but a later --release cannot count this check)\n`);
  if (f.json) {
    io.out(JSON.stringify({
      state: statePath, checkedAt: new Date(now).toISOString(), candidates: candFile, graceSeconds: graceMs / 1000, release: f.release === true,
      ok: clean, report,
      recorded: unrecorded === undefined,
      leaks: rows.map((r) => ({ kind: r.kind, id: r.id, detail: r.detail, firstSeen: new Date(r.firstSeen).toISOString(), outcome: r.outcome, ...(r.freed && { freed: r.freed }) })),
    }, null, 2) + "\n");
    return clean ? 0 : 1;
  }
  const released = rows.filter((r) => r.outcome === "released").length;
  io.out(`check of ${f.state}: ${count(report.nodes.length, "stale node")}, ${count(report.owners.length, "stale owner")}, ` +
    `${count(report.orphans.length, "address", "addresses")} without a known owner, ${count(report.counters.length, "counter mismatch", "counter mismatches")}, ` +
    `${count(report.problems.length, "other problem")}${f.nodes === undefined ? " (nodes not compared: no --nodes)" : ""}${f.pods === undefined ? " (owners not compared: no --pods)" : ""}\n`);
  if (rows.length > 0) {
    io.out(textTable(["KIND", "LEAK", "DETAIL", "FIRST SEEN", "ACTION"], rows.map((r) => [
      r.kind, r.id, r.detail, new Date(r.firstSeen).toISOString(),
      r.outcome === "released" ? `released${r.freed && r.freed.length > 0 ? ` (${r.freed.join(", ")})` : ""}`
        : r.outcome === "new" ? "new: a later check may release it"
          : f.release ? `waiting: releasable from ${new Date(r.firstSeen + graceMs).toISOString()}` : "reported before: --release frees it once --grace has passed",
    ])) + "\n");
  }
  for (const c of report.counters) io.out(`counter ${c.counter}: ${c.value}, recount ${c.recount}\n`);
  for (const p of report.problems) io.out(`problem: ${p}\n`);
  if (f.release) io.err(`${released} of ${rows.length} leaks released; candidates in ${candShown}\n`);
  else if (rows.length > 0 && unrecorded === undefined) io.err(`leaks recorded in ${candShown}; run again with --release to free those reported at least ${fmtGrace(graceMs)} earlier\n`);
  return clean ? 0 : 1;
}

const order = (k: LeakKind): number => (k === "node" ? 0 : k === "owner" ? 1 : 2);

/** Frees one leak; returns what went (the node's subnets, the owner's addresses, the address). */
function release(pool: ClusterPool, c: Candidate): string[] {
  switch (c.kind) {
    case "node": {
      const cidrs = pool.node(c.id)?.podCIDRs ?? [];
      return pool.removeNode(c.id) ? cidrs : [];
    }
    case "owner":
      return pool.releaseOwner(c.id);
    case "address":
      return pool.release(c.id) ? [c.id] : [];
  }
}

/** The DETAIL column; with named pools, each CIDR list, owner and address names its pool. */
function detailsOf(r: CheckReport, named: boolean): Map<string, string> {
  const m = new Map<string, string>();
  for (const n of r.nodes) {
    const cidrs = named ? n.pools.map((p) => `${p.pool}: ${p.cidrs.join(",")}`).join("; ") : n.podCIDRs.join(",");
    m.set(`node\u0000${n.name}`, `${n.status}, ${cidrs || "no subnet"}, ${count(n.pods, "pod")}`);
  }
  for (const o of r.owners) m.set(`owner\u0000${o.owner}`, `${named ? `pool ${o.pools.join(",")}: ` : ""}${o.addresses.join(",")}`);
  for (const o of r.orphans) m.set(`address\u0000${o.ip}`, `${named ? `pool ${o.pool}, ` : ""}node ${o.node} (${o.podCIDR}), ${o.reason}`);
  return m;
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function fmtGrace(ms: number): string {
  const s = ms / 1000;
  return s % 3600 === 0 && s > 0 ? `${s / 3600}h` : s % 60 === 0 && s > 0 ? `${s / 60}m` : `${s}s`;
}
