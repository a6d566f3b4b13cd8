// check(): leaks against the live cluster (nodes, owners), addresses no
// known owner holds, and every counter against a recount (calicoctl ipam
// check, for a ClusterPool). Reads only: nothing in the pool changes.
import { errors, show } from "../errors.js";
import { addressKey, keyPool, keyRel } from "./owners.js";
import { PoolCore, type Subnet, type NodeState } from "./core.js";
import { inCooldown } from "./release.js";
import { verify } from "./stats.js";
import { DEFAULT_POOL } from "./usage.js";
import type { CheckReport } from "./types.js";
import { CheckCollector, type LiveLists } from "./check-report.js";

export type { CheckOptions, CheckReport, StaleNode, StaleOwner, OrphanAddress, CounterMismatch } from "./types.js";

/** A set of non-empty strings from an iterable (not a string): INVALID_ARGUMENT naming `what` and the bad element. */
function nameSet(option: string, v: unknown): Set<string> | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "object" || v === null || typeof (v as Iterable<unknown>)[Symbol.iterator] !== "function") {
    throw errors.invalidArgument(`check(${option})`, v, "an array or a Set of names");
  }
  const out = new Set<string>();
  let i = 0;
  for (const x of v as Iterable<unknown>) {
    if (typeof x !== "string" || x === "") throw errors.invalidArgument(`check(${option}[${i}])`, x, "a non-empty string");
    out.add(x);
    i++;
  }
  return out;
}

/** The options of check(): undefined or { nodes?, owners? } (INVALID_ARGUMENT otherwise), read before anything else. */
export function checkOptions(options: unknown): { nodes: Set<string> | undefined; owners: Set<string> | undefined } {
  if (options === undefined) return { nodes: undefined, owners: undefined };
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw errors.invalidArgument("check(options)", options, "undefined or an object { nodes?, owners? }");
  }
  for (const k of Object.keys(options)) {
    if (k !== "nodes" && k !== "owners") throw errors.invalidArgument(`check(options.${k})`, (options as Record<string, unknown>)[k], `absent (options are nodes and owners; ${show(k)} is not one)`);
  }
  const o = options as Record<string, unknown>;
  return { nodes: nameSet("options.nodes", o.nodes), owners: nameSet("options.owners", o.owners) };
}

/** The subnet of `node` that holds rel of `poolIndex`, or undefined. */
function subnetOf(node: NodeState | undefined, poolIndex: number, rel: number): Subnet | undefined {
  return node?.subnets.find((s) => s.pool.index === poolIndex && rel >= s.base && rel < s.base + s.size);
}

/**
 * The check. Cost: one pass over every node subnet's owner array (a
 * u32 per address) and bitmap counts; a bit-by-bit pass only over subnets
 * whose taken count exceeds what is reserved, cooling down and owned.
 */
export function check(core: PoolCore, live: LiveLists): CheckReport {
  const r = new CheckCollector(core.owners);

  // slot counters of every pool CIDR
  for (const p of core.pools) {
    if (p === undefined) continue;
    const c = p.set._recount();
    r.mismatch(() => `slots of ${String(p.cidr)}`, c.used, c.recount, DEFAULT_POOL);
  }

  // reserved addresses and cooldown entries, per subnet, recounted from their sets
  const reservedIn = new Map<Subnet, number>();
  for (const key of core.reservedKeys) {
    const pool = core.pools[keyPool(key)];
    if (pool === undefined) continue;
    const rel = keyRel(key);
    const s = subnetOf(core.byId[pool.nodeAt(pool.slotOfRel(rel))], pool.index, rel);
    if (s !== undefined) reservedIn.set(s, (reservedIn.get(s) ?? 0) + 1);
  }
  const coolingIn = new Map<Subnet, number>();
  for (const e of core.quarantine?.entries() ?? []) {
    const pool = core.pools[keyPool(e.key)];
    if (pool === undefined) continue;
    const rel = keyRel(e.key);
    const holder = core.byId[pool.nodeAt(pool.slotOfRel(rel))];
    if (holder === undefined || holder.epoch !== e.epoch) continue; // a stale entry of a removed node: freed nothing, frees nothing
    const s = subnetOf(holder, pool.index, rel);
    if (s !== undefined) coolingIn.set(s, (coolingIn.get(s) ?? 0) + 1);
  }

  // every node subnet: its pod counter, who holds its addresses, what nobody holds
  const bigByFamily = new Map<4 | 6, number>();
  let pending = 0;
  let draining = 0;
  for (const n of core.nodes.values()) {
    if (n.status === "pending") pending++;
    if (n.status === "draining") draining++;
    let pods = 0;
    for (const s of n.subnets) {
      const pool = s.pool;
      if (s.cls === 0) bigByFamily.set(pool.family, (bigByFamily.get(pool.family) ?? 0) + 1);
      const range = pool.range(s.slot);
      if (range === 0) continue; // verify() reports the broken link
      const c = pool.recountRange(range);
      const reserved = reservedIn.get(s) ?? 0;
      const cooling = coolingIn.get(s) ?? 0;
      if (c.used !== c.recount || s.reserved !== reserved || s.quarantined !== cooling) {
        const where = `node ${show(n.name)} (${s.cidr})`;
        r.mismatch(() => `pods of ${where}`, c.used, c.recount, DEFAULT_POOL);
        r.mismatch(() => `reserved addresses of ${where}`, s.reserved, reserved, DEFAULT_POOL);
        r.mismatch(() => `addresses in cooldown of ${where}`, s.quarantined, cooling, DEFAULT_POOL);
      }
      const arr = pool.owners(range);
      const owned = r.census(arr, s.size);
      pods += c.recount - s.reserved - s.quarantined;
      if (c.recount <= s.reserved + s.quarantined + owned) continue; // every taken address is accounted for
      for (let off = 0; off < s.size; off++) {
        if (!pool.hasIndex(range, off)) continue;
        const rel = s.base + off;
        const key = addressKey(pool.index, rel);
        const o = arr === undefined ? 0 : (arr[off] as number);
        if (o === 0 && (core.reservedKeys.has(key) || inCooldown(core, pool, rel, key))) continue;
        if (o !== 0 && r.known(o)) continue;
        const holder = core.byId[core.borrowed.get(key) ?? 0] ?? n;
        r.orphans.push({ ip: pool.addressOf(rel), node: holder.name, podCIDR: s.cidr, pool: DEFAULT_POOL, reason: o === 0 ? "no owner" : `unknown owner id ${o}` });
      }
    }
    if (live.nodes !== undefined && !live.nodes.has(n.name) && (n.subnets.length > 0 || n.status === "pending")) {
      const podCIDRs = n.subnets.map((s) => s.cidr);
      r.nodes.push({ name: n.name, status: n.status, podCIDRs, pods, pools: podCIDRs.length > 0 ? [{ pool: DEFAULT_POOL, cidrs: podCIDRs }] : [] });
    }
  }

  // owners: those not live, and each one's key count against the addresses found
  r.closeOwners(live, (k) => ({ address: core.pools[keyPool(k)]?.addressOf(keyRel(k)) ?? String(k), pool: DEFAULT_POOL }));
  for (const f of core.families) r.mismatch(() => `big subnets of IPv${f.family}`, f.big, bigByFamily.get(f.family) ?? 0, DEFAULT_POOL);
  r.mismatch(() => "pending nodes", core.pending.length, pending);
  r.mismatch(() => "draining nodes", core.draining, draining);

  // verify()'s counter findings ("slot counter of X != recount", "pod counter of n (X) != recount")
  // are in `counters` above, with their numbers
  return r.report(verify(core).filter((p) => !/ counter of .* != recount$/.test(p)));
}
