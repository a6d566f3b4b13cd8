// What check() gathers, for the single-pool walk (./check.ts) and the
// named-pool one (./multi/check.ts) alike: the report's lists, counters
// that disagree, and the owner census (who the owner arrays name, against
// the keys each owner lists). The walks differ; this is what they share.
import { show } from "../errors.js";
import type { Owners } from "./owners.js";
import type { CheckReport, StaleNode, StaleOwner, OrphanAddress, CounterMismatch } from "./types.js";

/** The live lists check() compares with (undefined: not compared). */
export interface LiveLists {
  readonly nodes: Set<string> | undefined;
  readonly owners: Set<string> | undefined;
}

export class CheckCollector {
  readonly nodes: StaleNode[] = [];
  readonly owners: StaleOwner[] = [];
  readonly orphans: OrphanAddress[] = [];
  readonly counters: CounterMismatch[] = [];
  readonly #reg: Owners;
  /** Owner ids holding addresses, ascending (small and dense). */
  readonly #ids: number[];
  /** 1 at the id of an owner holding addresses. */
  readonly #known: Uint8Array;
  /** Owner id -> addresses found naming it in owner arrays. */
  #held = new Uint32Array(1024);

  constructor(reg: Owners) {
    this.#reg = reg;
    this.#ids = [...reg.ids()];
    this.#known = new Uint8Array((this.#ids.length > 0 ? (this.#ids[this.#ids.length - 1] as number) : 0) + 1);
    for (const id of this.#ids) this.#known[id] = 1;
  }

  /** Records a counter that disagrees with its recount; its name is built only then (a million owners would make a million names). */
  mismatch(counter: () => string, value: number, recount: number, pool?: string): void {
    if (value !== recount) this.counters.push({ counter: counter(), value, recount, ...(pool !== undefined && { pool }) });
  }

  /** True if `o` is an owner that holds addresses. */
  known(o: number): boolean {
    return this.#known[o] === 1;
  }

  /**
   * Counts who the first `size` entries of an owner array name (for the
   * owner census); returns how many name a known owner. An unknown id is
   * left for the caller's bit-by-bit pass.
   */
  census(arr: Uint32Array | undefined, size: number): number {
    if (arr === undefined) return 0;
    let owned = 0;
    for (let off = 0; off < size; off++) {
      const o = arr[off] as number;
      if (o === 0) continue;
      if (this.#known[o] === 1) owned++;
      if (o >= this.#held.length) {
        const grown = new Uint32Array(Math.max(o + 1, this.#held.length * 2));
        grown.set(this.#held);
        this.#held = grown;
      }
      this.#held[o] = (this.#held[o] as number) + 1;
    }
    return owned;
  }

  /**
   * Each owner's key count against the addresses the census found, the
   * owners that are not live (their addresses in key order, their pools in
   * name order, from `place`), and the owner count.
   */
  closeOwners(live: LiveLists, place: (key: number) => { address: string; pool: string | undefined }): void {
    const reg = this.#reg;
    for (const id of this.#ids) {
      const name = reg.nameOf(id) as string;
      const keys = reg.keys(id);
      this.mismatch(() => `addresses of owner ${show(name)}`, keys.length, this.#held[id] ?? 0);
      if (live.owners !== undefined && !live.owners.has(name)) {
        const pools = new Set<string>();
        const addresses = keys.sort((a, b) => a - b).map((k) => {
          const at = place(k);
          if (at.pool !== undefined) pools.add(at.pool);
          return at.address;
        });
        this.owners.push({ owner: name, addresses, pools: [...pools].sort() });
      }
    }
    this.mismatch(() => "owners", reg.live, this.#ids.length);
  }

  /** The report, with verify()'s other findings. */
  report(problems: string[]): CheckReport {
    const { nodes, owners, orphans, counters } = this;
    return { nodes, owners, orphans, counters, problems, ok: nodes.length + owners.length + orphans.length + counters.length + problems.length === 0 };
  }
}
