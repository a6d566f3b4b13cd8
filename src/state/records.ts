/**
 * Journal records: one per applied effect. Keys are poolIndex * 2^32 + rel
 * (src/owners.ts). Replaying records in order onto the state they were
 * taken from rebuilds the same allocations.
 */

/** Slots a node took in one family: pool index (-1: shares), first slot, log2 of the run. */
export interface PlacedSubnet {
  readonly pool: number;
  readonly slot: number;
  readonly k: number;
}

export type JournalRecord =
  | { readonly op: "node"; readonly name: string; readonly placed: readonly PlacedSubnet[] }
  | { readonly op: "pending"; readonly name: string; readonly error: string }
  | { readonly op: "failed"; readonly name: string; readonly error: string }
  | { readonly op: "drain"; readonly name: string; readonly deadline: number }
  | { readonly op: "drop"; readonly name: string }
  /** owner "" = no owner (numeric path); wanted: asked-for addresses (the next-fit cursor did not move). */
  | { readonly op: "alloc"; readonly node: string; readonly owner: string; readonly keys: readonly number[]; readonly wanted?: true }
  /** q: release time when the addresses went into reuse cooldown. */
  | { readonly op: "free"; readonly keys: readonly number[]; readonly q?: number }
  | { readonly op: "reserve"; readonly cidr: string }
  | { readonly op: "unreserve"; readonly cidr: string }
  | { readonly op: "addPool"; readonly family: 4 | 6; readonly cidr: string }
  | { readonly op: "removePool"; readonly cidr: string };
