// check() with named pools: leaks against the live cluster (nodes, owners),
// addresses no known owner holds, and every counter against a recount,
// walking the chunks each node holds in each pool. Reads only. The report
// has the shape of the single-pool one (src/pool/check.ts); every entry
// names its pool.
import { show } from "../../errors.js";
import { addressKey, keyPool, keyRel } from "../owners.js";
import type { CheckReport } from "../types.js";
import { CheckCollector, type LiveLists } from "../check-report.js";
import type { MultiCore, Chunk } from "./state.js";
import { allocationOf, poolAllocations } from "./pods.js";
import { multiVerify } from "./stats.js";

/** The pool a chunk belongs to. */
const poolOf = (c: Chunk): string => c.group.fam.pool.name;

/**
 * The check. Cost: one pass over every held chunk's owner array (a u32 per
 * address) and bitmap counts; a bit-by-bit pass only over chunks whose
 * taken count exceeds what known owners hold (router addresses, reserved
 * ones and those in reuse cooldown aside: they have no owner by design).
 */
export function multiCheck(core: MultiCore, live: LiveLists): CheckReport {
  const r = new CheckCollector(core.owners);

  // chunk-slot counters of every pool CIDR
  for (const e of core.entries) {
    if (e === undefined) continue;
    const c = e.set._recount();
    r.mismatch(() => `slots of ${String(e.cidr)}`, c.used, c.recount, core.famOf.get(e)?.pool.name);
  }

  for (const n of core.nodes.values()) {
    let pods = 0;
    let chunks = 0;
    for (const g of n.groups.values()) {
      for (const c of g.chunks) {
        chunks++;
        const e = c.entry;
        const range = e.range(c.slot);
        if (range === 0) continue; // verify() reports the missing range
        const k = e.recountRange(range);
        r.mismatch(() => `pods of node ${show(n.name)} (${c.cidr})`, k.used, k.recount, poolOf(c));
        pods += k.recount;
        const arr = e.owners(range);
        // the router address, reserved ones and those in reuse cooldown are taken without an owner, and no leak
        const aside = c.reserved + (c.router >= 0 ? 1 : 0) + c.cooldown;
        if (k.recount - aside <= r.census(arr, c.size)) continue; // every other taken address has a known owner
        for (let off = 0; off < c.size; off++) {
          if (!e.hasIndex(range, off)) continue;
          const o = arr === undefined ? 0 : (arr[off] as number);
          if (o !== 0 && r.known(o)) continue;
          const key = addressKey(e.index, c.base + off);
          if (o === 0 && (core.reservedKeys.has(key) || core.quarantine?.epochOf(key) === c.serial)) continue;
          r.orphans.push({ ip: c.format(c.base + off), node: n.name, podCIDR: c.cidr, pool: poolOf(c), reason: o === 0 ? "no owner" : `unknown owner id ${o}` });
        }
      }
    }
    if (live.nodes !== undefined && !live.nodes.has(n.name) && chunks > 0) {
      r.nodes.push({ name: n.name, status: "ready", podCIDRs: allocationOf(n).podCIDRs, pods, pools: poolAllocations(n) });
    }
  }

  // owners: those not live (with their pools), and each one's key count against the addresses found
  r.closeOwners(live, (k) => {
    const e = core.entries[keyPool(k)];
    return e === undefined ? { address: String(k), pool: undefined } : { address: e.addressOf(keyRel(k)), pool: core.famOf.get(e)?.pool.name };
  });

  // multiVerify's counter findings ("chunk X: used counter differs from a recount") are in `counters` above, with their numbers
  return r.report(multiVerify(core).filter((p) => !/: used counter differs from a recount$/.test(p)));
}
