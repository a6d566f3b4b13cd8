/**
 * The keys of a shared pool under its prefix, and their values (JSON):
 *
 *   <prefix>/options               the pool options (optionsJson), stored by the first connect
 *   <prefix>/nodes/<name>          { status: ready|draining|pending|failed, placed: [{ pool, slot, k }], error?,
 *                                  deadline?, o? }: deadline (draining: clock ms, or "Infinity") is when the
 *                                  node's removal completes; o: true when its subnets were occupied (a
 *                                  CiliumNode import's podCIDRs), which moves no next-fit cursor (name
 *                                  URI-encoded; pending nodes are served in create-revision order)
 *   <prefix>/pool                  { ops: [record] }: the pool-level changes made since the options, in
 *                                  order (reserve, unreserve, addPool, removePool records of
 *                                  src/pool/records.ts); every process replays them onto the options, so
 *                                  pool table indexes agree. Every transaction compares this key.
 *   <prefix>/leader                the client id of the process that runs background clean-up (completing
 *                                  drains past their deadline); put with a lease, so it goes when that
 *                                  process dies, and another takes it
 *   <prefix>/claims/<pool>/<slot>  the node name: one key per slot a node holds, created only if absent
 *   <prefix>/blocks/<pool>/<slot>  { node, n, a: { <offset>: <owner> }, q?: { <offset>: <ms> },
 *                                  b?: { <offset>: <node> } }: the pod addresses of the node subnet starting
 *                                  at that slot; (options.reuse) those in reuse cooldown with their release
 *                                  time; (overflow 'share') those of `a` lent to another node, with its
 *                                  name; the compare-and-swap unit
 *   <prefix>/clients/<id>          a process's marker: every transaction of the process compares and
 *                                  writes it, so a transaction whose answer was lost can be fenced
 *
 * `pool` is the pool table index (the order of the option CIDRs), `slot`
 * the first slot of the subnet, `offset` the address minus the subnet's
 * first usable pod address (.1 of an IPv4 /24), `n` the count of entries
 * (verify() checks it; `q` is not counted in `n`).
 *
 * Release times in `q` are the releasing process's clock (options.clock,
 * Date.now by default). Another process ends the cooldown by its own
 * clock: the processes of a pool with a cooldown must keep their clocks
 * in step (NTP); a clock δ ahead ends cooldowns δ early.
 */
import type { NodeRecord } from "../pool/effects.js";
import { isJournalRecord, type JournalRecord, type PlacedSubnet } from "../pool/records.js";

export interface BlockValue {
  readonly node: string;
  readonly n: number;
  /** offset -> owner ("" for none). */
  readonly a: Readonly<Record<string, string>>;
  /** offset -> release time (clock ms) of the addresses in reuse cooldown. */
  readonly q?: Readonly<Record<string, number>>;
  /** offset (one of `a`) -> the node it is lent to ('share' overflow). */
  readonly b?: Readonly<Record<string, string>>;
}

/** A block's contents as maps: owners, cooldowns (release times) and lent addresses (borrowing node). */
export interface BlockState {
  readonly entries: Map<number, string>;
  readonly cooling: Map<number, number>;
  readonly lent: Map<number, string>;
}

export const emptyBlockState = (): BlockState => ({ entries: new Map(), cooling: new Map(), lent: new Map() });

export type KeyKind =
  | { readonly kind: "options" }
  | { readonly kind: "node"; readonly name: string }
  | { readonly kind: "claim"; readonly pool: number; readonly slot: number }
  | { readonly kind: "block"; readonly pool: number; readonly slot: number }
  | { readonly kind: "client"; readonly id: string }
  | { readonly kind: "leader" }
  | { readonly kind: "pool" }
  | { readonly kind: "other" };

export class Keys {
  /** The prefix with one trailing slash. */
  readonly root: string;
  constructor(prefix: string) {
    this.root = prefix.endsWith("/") ? prefix : `${prefix}/`;
  }
  get options(): string { return `${this.root}options`; }
  node(name: string): string { return `${this.root}nodes/${encodeURIComponent(name)}`; }
  claim(pool: number, slot: number): string { return `${this.root}claims/${pool}/${slot}`; }
  block(pool: number, slot: number): string { return `${this.root}blocks/${pool}/${slot}`; }
  client(id: string): string { return `${this.root}clients/${id}`; }
  get leader(): string { return `${this.root}leader`; }
  get pool(): string { return `${this.root}pool`; }

  /** What a key under the prefix is. */
  parse(key: string): KeyKind {
    if (!key.startsWith(this.root)) return { kind: "other" };
    const rest = key.slice(this.root.length);
    if (rest === "options") return { kind: "options" };
    if (rest === "leader") return { kind: "leader" };
    if (rest === "pool") return { kind: "pool" };
    const [head, a, b, more] = rest.split("/");
    if (head === "nodes" && a !== undefined && b === undefined) {
      try {
        return { kind: "node", name: decodeURIComponent(a) };
      } catch {
        return { kind: "other" };
      }
    }
    if ((head === "claims" || head === "blocks") && a !== undefined && b !== undefined && more === undefined && /^\d+$/.test(a) && /^\d+$/.test(b)) {
      return { kind: head === "claims" ? "claim" : "block", pool: Number(a), slot: Number(b) };
    }
    if (head === "clients" && a !== undefined && b === undefined) return { kind: "client", id: a };
    return { kind: "other" };
  }
}

/** Slots a placement holds, as (pool, slot) pairs. */
export function slotsOf(placed: readonly PlacedSubnet[]): { pool: number; slot: number }[] {
  const out: { pool: number; slot: number }[] = [];
  for (const p of placed) if (p.pool >= 0) for (let s = p.slot; s < p.slot + (1 << p.k); s++) out.push({ pool: p.pool, slot: s });
  return out;
}

/** A node as stored: with `deadline` (clock ms) when it is draining; `o` when its subnets were occupied (imported), not carved. */
export type StoredNode = NodeRecord & { readonly deadline?: number; readonly o?: true };

/** True for a node record that holds its subnets (ready, or draining until its deadline). */
export const holdsSubnets = (r: NodeRecord | undefined): boolean => r?.status === "ready" || r?.status === "draining";

export const encodeNode = (r: NodeRecord, deadline?: number, occupied?: boolean): string =>
  JSON.stringify({
    status: r.status, placed: r.placed.map((p) => ({ pool: p.pool, slot: p.slot, k: p.k })), ...(r.error !== undefined ? { error: r.error } : {}),
    ...(occupied === true && holdsSubnets(r) ? { o: true } : {}),
    ...(r.status === "draining" ? { deadline: deadline === undefined || deadline === Infinity ? "Infinity" : deadline } : {}),
  });

/** A node value, or undefined when it does not have the shape. */
export function decodeNode(text: string): StoredNode | undefined {
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    if (typeof v !== "object" || v === null) return undefined;
    if (v.status !== "ready" && v.status !== "pending" && v.status !== "failed" && v.status !== "draining") return undefined;
    if (v.status === "draining") {
      if (v.deadline === "Infinity") v.deadline = Infinity;
      else if (typeof v.deadline !== "number" || !Number.isFinite(v.deadline)) return undefined;
    } else if (v.deadline !== undefined) return undefined;
    if (v.o !== undefined && v.o !== true) return undefined;
    if (!Array.isArray(v.placed)) return undefined;
    for (const p of v.placed as Record<string, unknown>[]) {
      if (typeof p !== "object" || p === null || !Number.isInteger(p.pool) || !Number.isInteger(p.slot) || !Number.isInteger(p.k)) return undefined;
      if ((p.pool as number) < -1 || (p.slot as number) < 0 || (p.k as number) < 0 || (p.k as number) > 16) return undefined;
    }
    if (v.error !== undefined && typeof v.error !== "string") return undefined;
    return v as unknown as StoredNode;
  } catch {
    return undefined;
  }
}

export function encodeBlock(node: string, st: BlockState): string {
  const obj = <T>(m: ReadonlyMap<number, T>): Record<string, T> => {
    const o: Record<string, T> = {};
    for (const [off, v] of [...m].sort((x, y) => x[0] - y[0])) o[off] = v;
    return o;
  };
  return JSON.stringify({
    node, n: st.entries.size, a: obj(st.entries), ...(st.cooling.size > 0 ? { q: obj(st.cooling) } : {}), ...(st.lent.size > 0 ? { b: obj(st.lent) } : {}),
  });
}

/** A block value, or undefined when it does not have the shape. */
export function decodeBlock(text: string): BlockValue | undefined {
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    if (typeof v !== "object" || v === null || typeof v.node !== "string" || !Number.isInteger(v.n)) return undefined;
    if (typeof v.a !== "object" || v.a === null || Array.isArray(v.a)) return undefined;
    for (const [k, o] of Object.entries(v.a)) if (!/^\d+$/.test(k) || typeof o !== "string") return undefined;
    if (v.q !== undefined) {
      if (typeof v.q !== "object" || v.q === null || Array.isArray(v.q)) return undefined;
      for (const [k, t] of Object.entries(v.q)) if (!/^\d+$/.test(k) || typeof t !== "number" || !Number.isFinite(t) || k in v.a) return undefined;
    }
    if (v.b !== undefined) {
      if (typeof v.b !== "object" || v.b === null || Array.isArray(v.b)) return undefined;
      for (const [k, n] of Object.entries(v.b)) if (typeof n !== "string" || n === "" || !(k in v.a)) return undefined;
    }
    return v as unknown as BlockValue;
  } catch {
    return undefined;
  }
}

/** Block entries as a map offset -> owner. */
export function entriesOf(b: BlockValue): Map<number, string> {
  const m = new Map<number, string>();
  for (const [k, o] of Object.entries(b.a)) m.set(Number(k), o);
  return m;
}

/** A block value as maps. */
export function stateOf(b: BlockValue): BlockState {
  const cooling = new Map<number, number>();
  for (const [k, t] of Object.entries(b.q ?? {})) cooling.set(Number(k), t);
  const lent = new Map<number, string>();
  for (const [k, n] of Object.entries(b.b ?? {})) lent.set(Number(k), n);
  return { entries: entriesOf(b), cooling, lent };
}

/** Pool-level records: what the pool key holds. */
export type PoolOp = Extract<JournalRecord, { op: "reserve" | "unreserve" | "addPool" | "removePool" }>;
export const isPoolOp = (r: JournalRecord): r is PoolOp => r.op === "reserve" || r.op === "unreserve" || r.op === "addPool" || r.op === "removePool";

export const encodePoolOps = (ops: readonly PoolOp[]): string => JSON.stringify({ ops });

/** The records of a pool key, or undefined when it does not have the shape. */
export function decodePoolOps(text: string): PoolOp[] | undefined {
  try {
    const v = JSON.parse(text) as { ops?: unknown };
    if (typeof v !== "object" || v === null || !Array.isArray(v.ops)) return undefined;
    for (const r of v.ops) if (!isJournalRecord(r) || !isPoolOp(r)) return undefined;
    return v.ops as PoolOp[];
  } catch {
    return undefined;
  }
}
