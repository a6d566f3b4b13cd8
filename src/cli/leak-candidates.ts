/**
 * Candidate-then-confirm for `ipcarve check --release` (what Calico's IPAM
 * garbage collection does with its leak grace period): a leak is freed only
 * if an earlier check reported it too, at least `grace` ago. The leaks of
 * each check are kept beside the state in `<state>.leaks.json` with the time
 * they were first seen, written atomically (temp file, fsync, rename), so a
 * pod that was being created (reported once, then live) is never freed.
 */
import { openSync, writeSync, fsyncSync, closeSync, renameSync, unlinkSync, readFileSync } from "node:fs";
import type { CheckReport } from "../pool/cluster-pool.js";
import { CliError } from "./io.js";

export type LeakKind = "node" | "owner" | "address";

/** One leak: a node not live, an owner not live, an address without a known owner. */
export interface Leak {
  readonly kind: LeakKind;
  /** Node name, owner, or address. */
  readonly id: string;
}

export interface Candidate extends Leak {
  /** When a check first reported it, ms since the epoch. */
  readonly firstSeen: number;
}

/** The leaks of a report, in report order. */
export function leaksOf(r: CheckReport): Leak[] {
  return [
    ...r.nodes.map((n): Leak => ({ kind: "node", id: n.name })),
    ...r.owners.map((o): Leak => ({ kind: "owner", id: o.owner })),
    ...r.orphans.map((o): Leak => ({ kind: "address", id: o.ip })),
  ];
}

const keyOf = (l: Leak): string => `${l.kind}\u0000${l.id}`;

export interface Decision {
  /** Every leak of this check with its first-seen time: the next candidates file. */
  readonly candidates: Candidate[];
  /** Leaks reported by an earlier check at least graceMs before `now`: to be freed. */
  readonly due: Candidate[];
}

/**
 * Decides what a check may free. A leak counts as first seen at its
 * earlier report's time if an earlier check reported it, else now; it is
 * due only if it was in `previous` and first seen at least graceMs before
 * `now`. Leaks of `previous` that this check does not report are dropped
 * (they were not leaks, or are gone).
 */
export function decide(previous: readonly Candidate[], leaks: readonly Leak[], now: number, graceMs: number): Decision {
  const before = new Map(previous.map((c) => [keyOf(c), c] as const));
  const candidates: Candidate[] = [];
  const due: Candidate[] = [];
  for (const l of leaks) {
    const old = before.get(keyOf(l));
    const c: Candidate = { kind: l.kind, id: l.id, firstSeen: old?.firstSeen ?? now };
    candidates.push(c);
    if (old !== undefined && now - old.firstSeen >= graceMs) due.push(c);
  }
  return { candidates, due };
}

const FORMAT = "ipcarve-leak-candidates";

/** The candidates of `file`; none when it does not exist. A file that is not one: CliError naming it. */
export function readCandidates(file: string, shown: string): Candidate[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new CliError(`ipcarve: ${shown}: ${(e as Error).message}`);
  }
  const bad = (why: string): CliError => new CliError(`ipcarve: ${shown}: not a leak candidates file (${why}); remove it to start over`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw bad((e as Error).message);
  }
  const d = data as { format?: unknown; version?: unknown; leaks?: unknown } | null;
  if (d === null || typeof d !== "object" || d.format !== FORMAT || d.version !== 1 || !Array.isArray(d.leaks)) throw bad(`expected format "${FORMAT}", version 1, leaks[]`);
  return d.leaks.map((l: unknown, i: number): Candidate => {
    const c = l as { kind?: unknown; id?: unknown; firstSeen?: unknown } | null;
    const t = typeof c?.firstSeen === "string" ? Date.parse(c.firstSeen) : NaN;
    if (c === null || (c.kind !== "node" && c.kind !== "owner" && c.kind !== "address") || typeof c.id !== "string" || Number.isNaN(t)) {
      throw bad(`leaks[${i}] must be { kind: node|owner|address, id, firstSeen: an ISO time }`);
    }
    return { kind: c.kind, id: c.id, firstSeen: t };
  });
}

/** Writes the candidates to `file` atomically: a temp file beside it, fsync, rename. On failure `file` is untouched. */
export function writeCandidates(file: string, shown: string, state: string, candidates: readonly Candidate[]): void {
  const body = JSON.stringify(
    { format: FORMAT, version: 1, state, leaks: candidates.map((c) => ({ kind: c.kind, id: c.id, firstSeen: new Date(c.firstSeen).toISOString() })) },
    null,
    2,
  ) + "\n";
  const tmp = `${file}.tmp-${process.pid}`;
  let fd = -1;
  try {
    fd = openSync(tmp, "w");
    const bytes = Buffer.from(body);
    for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, file);
  } catch (e) {
    if (fd >= 0) try { closeSync(fd); } catch { /* already failing */ }
    try { unlinkSync(tmp); } catch { /* not there */ }
    throw new CliError(`ipcarve: ${shown}: cannot write the leak candidates: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
