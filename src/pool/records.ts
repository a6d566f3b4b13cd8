/**
 * Journal records: one per applied effect. Keys are poolIndex * 2^32 + rel
 * (src/pool/owners.ts). Replaying records in order onto the state they were
 * taken from rebuilds the same allocations.
 */

/** Slots a node took in one family: pool index (-1: shares), first slot, log2 of the run. */
export interface PlacedSubnet {
  readonly pool: number;
  readonly slot: number;
  readonly k: number;
}

export type JournalRecord =
  /** occupied: the placement was given (a CiliumNode import), not carved, so it moved no next-fit cursor. */
  | { readonly op: "node"; readonly name: string; readonly placed: readonly PlacedSubnet[]; readonly occupied?: true }
  | { readonly op: "pending"; readonly name: string; readonly error: string }
  | { readonly op: "failed"; readonly name: string; readonly error: string }
  /** deadline: clock ms; a grace period that never ends is "Infinity" (JSON has no Infinity; older journals hold null). */
  | { readonly op: "drain"; readonly name: string; readonly deadline: number | "Infinity" | null }
  | { readonly op: "drop"; readonly name: string }
  /**
   * owner "" = no owner (numeric path); wanted: the keys of asked-for addresses (their range's
   * next-fit cursor did not move; the other families' did), or true for all of them.
   */
  | { readonly op: "alloc"; readonly node: string; readonly owner: string; readonly keys: readonly number[]; readonly wanted?: true | readonly number[] }
  /** q: release time when the addresses went into reuse cooldown. */
  | { readonly op: "free"; readonly keys: readonly number[]; readonly q?: number }
  | { readonly op: "reserve"; readonly cidr: string }
  | { readonly op: "unreserve"; readonly cidr: string }
  | { readonly op: "addPool"; readonly family: 4 | 6; readonly cidr: string }
  | { readonly op: "removePool"; readonly cidr: string };

const isName = (v: unknown): boolean => typeof v === "string" && v !== "";
const isKeys = (v: unknown): boolean => Array.isArray(v) && v.every((k) => Number.isSafeInteger(k) && (k as number) >= 0);
const isMs = (v: unknown): boolean => typeof v === "number" || v === "Infinity" || v === null;
const isPlaced = (v: unknown): boolean =>
  Array.isArray(v) && v.every((p: unknown) => {
    const q = p as PlacedSubnet | null;
    return typeof q === "object" && q !== null && Number.isInteger(q.pool) && q.pool >= -1 && Number.isInteger(q.slot) && q.slot >= 0 && Number.isInteger(q.k) && q.k >= 0;
  });

/** True if `v` has the shape of a journal record (FileStore.append refuses anything else: it could not be replayed). */
export function isJournalRecord(v: unknown): v is JournalRecord {
  if (typeof v !== "object" || v === null) return false;
  const r = v as Record<string, unknown>;
  switch (r.op) {
    case "node": return isName(r.name) && isPlaced(r.placed);
    case "pending": case "failed": return isName(r.name) && typeof r.error === "string";
    case "drain": return isName(r.name) && isMs(r.deadline);
    case "drop": return isName(r.name);
    case "alloc": return isName(r.node) && typeof r.owner === "string" && isKeys(r.keys) && (r.wanted === undefined || r.wanted === true || (isKeys(r.wanted) && (r.wanted as number[]).every((k) => (r.keys as number[]).includes(k))));
    case "free": return isKeys(r.keys) && (r.q === undefined || typeof r.q === "number");
    case "reserve": case "unreserve": case "removePool": return typeof r.cidr === "string";
    case "addPool": return (r.family === 4 || r.family === 6) && typeof r.cidr === "string";
    default: return false;
  }
}
