// check() with named pools: leaks against the live cluster (nodes, owners),
// addresses no known owner holds, and every counter against a recount,
// walking the chunks each node holds in each pool. Reads only. The report
// has the shape of the single-pool one (src/pool/check.ts); every entry
// names its pool.
import { show } from "../../errors.js";
import { keyPool, keyRel } from "../owners.js";
import type { CheckReport, StaleNode, StaleOwner, OrphanAddress, CounterMismatch } from "../types.js";
import type { MultiCore, Chunk } from "./state.js";
import { allocationOf, poolAllocations } from "./pods.js";
import { multiVerify } from "./stats.js";

/** The pool a chunk belongs to. */
const poolOf = (c: Chunk): string => c.group.fam.pool.name;

/**
 * The check. Cost: one pass over every held chunk's owner array (a u32 per
 * address) and bitmap counts; a bit-by-bit pass only over chunks whose
 * taken count exceeds what their owners hold (multi-pool reserves no
 * address and has no reuse cooldown: every taken address has an owner).
 */
export function multiCheck(core: MultiCore, live: { nodes: Set<string> | undefined; owners: Set<string> | undefined }): CheckReport {
  const nodes: StaleNode[] = [];
  const owners: StaleOwner[] = [];
  const orphans: OrphanAddress[] = [];
  const counters: CounterMismatch[] = [];
  // the name is built only for a counter that disagrees
  const mismatch = (counter: () => string, value: number, recount: number, pool?: string): void => {
    if (value !== recount) counters.push({ counter: counter(), value, recount, ...(pool !== undefined && { pool }) });
  };

  // chunk-slot counters of every pool CIDR
  for (const e of core.entries) {
    if (e === undefined) continue;
    const r = e.set._recount();
    mismatch(() => `slots of ${String(e.cidr)}`, r.used, r.recount, core.famOf.get(e)?.pool.name);
  }

  // the owners known (holding addresses): ids are small and dense
  const ids = [...core.owners.ids()];
  const known = new Uint8Array((ids.length > 0 ? (ids[ids.length - 1] as number) : 0) + 1);
  for (const id of ids) known[id] = 1;

  let heldBy = new Uint32Array(1024); // owner id -> addresses found in owner arrays
  for (const n of core.nodes.values()) {
    let pods = 0;
    let chunks = 0;
    for (const g of n.groups.values()) {
      for (const c of g.chunks) {
        chunks++;
        const e = c.entry;
        const range = e.range(c.slot);
        if (range === 0) continue; // verify() reports the missing range
        const r = e.recountRange(range);
        mismatch(() => `pods of node ${show(n.name)} (${c.cidr})`, r.used, r.recount, poolOf(c));
        pods += r.recount;
        const arr = e.owners(range);
        let owned = 0;
        if (arr !== undefined) {
          for (let off = 0; off < c.size; off++) {
            const o = arr[off] as number;
            if (o === 0 || !e.hasIndex(range, off)) continue; // a free address may keep a stale id
            if (known[o] === 1) owned++;
            if (o >= heldBy.length) {
              const grown = new Uint32Array(Math.max(o + 1, heldBy.length * 2));
              grown.set(heldBy);
              heldBy = grown;
            }
            heldBy[o] = (heldBy[o] as number) + 1;
          }
        }
        if (r.recount <= owned) continue; // every taken address has a known owner
        for (let off = 0; off < c.size; off++) {
          if (!e.hasIndex(range, off)) continue;
          const o = arr === undefined ? 0 : (arr[off] as number);
          if (o !== 0 && known[o] === 1) continue;
          orphans.push({ ip: c.format(c.base + off), node: n.name, podCIDR: c.cidr, pool: poolOf(c), reason: o === 0 ? "no owner" : `unknown owner id ${o}` });
        }
      }
    }
    if (live.nodes !== undefined && !live.nodes.has(n.name) && chunks > 0) {
      nodes.push({ name: n.name, status: "ready", podCIDRs: allocationOf(n).podCIDRs, pods, pools: poolAllocations(n) });
    }
  }

  // owners: those not live, and each one's key count against the addresses found
  for (const id of ids) {
    const name = core.owners.nameOf(id) as string;
    const keys = core.owners.keys(id);
    mismatch(() => `addresses of owner ${show(name)}`, keys.length, heldBy[id] ?? 0);
    if (live.owners !== undefined && !live.owners.has(name)) {
      const sorted = keys.sort((a, b) => a - b);
      const pools = new Set<string>();
      const addresses = sorted.map((k) => {
        const e = core.entries[keyPool(k)];
        if (e === undefined) return String(k); // verify() reports the key
        const p = core.famOf.get(e)?.pool.name;
        if (p !== undefined) pools.add(p);
        return e.addressOf(keyRel(k));
      });
      owners.push({ owner: name, addresses, pools: [...pools].sort() });
    }
  }
  mismatch(() => "owners", core.owners.live, ids.length);

  // multiVerify's counter findings ("chunk X: used counter differs from a recount") are in `counters` above, with their numbers
  const problems = multiVerify(core).filter((p) => !/: used counter differs from a recount$/.test(p));
  return { nodes, owners, orphans, counters, problems, ok: nodes.length + owners.length + orphans.length + counters.length + problems.length === 0 };
}
