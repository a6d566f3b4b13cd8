// CiliumNode import (restore in list order, Cilium's conflict messages) and export.
import { Cidr, parseCidr, isValidCidr } from "../net/ip.js";
import { IpamError } from "../errors.js";
import { PoolCidr } from "../alloc/pool-cidr.js";
import { ciliumErrors, ciliumItems, type CiliumNode, type CiliumNodeList, type ImportResult } from "./cilium-node.js";
import { isCiliumNodeTable, parseCiliumNodeTable } from "./cilium-table.js";
import { type PlacedSubnet } from "./records.js";
import { PoolCore, allocationOf } from "./core.js";
import { addNode, applyPlace, forgetNew, idMark, newNode, releaseSlots, tick } from "./nodes.js";

/**
 * Restores nodes from `kubectl get ciliumnodes -o json` (a List, an array,
 * one CiliumNode, or the text of `kubectl get ciliumnodes`: see
 * cilium-table.ts), in list order,
 * occupying their podCIDRs before any node without CIDRs is served, as
 * Cilium's operator does. A CIDR outside every pool or already taken fails
 * its node (never reassigned) with Cilium's message.
 */
export function importCiliumNodes(core: PoolCore, list: unknown): ImportResult[] {
  const items = ciliumItems(typeof list === "string" && isCiliumNodeTable(list)
    ? parseCiliumNodeTable(list, Object.fromEntries(core.families.map((f) => [f.family, f.maskSize])))
    : list);
  tick(core);
  const results = new Map<string, ImportResult>();
  for (const it of items) {
    if (it.podCIDRs.length === 0) continue;
    const known = core.nodes.get(it.name);
    if (known && (known.status === "ready" || known.status === "draining")) {
      const same = allocationOf(known).podCIDRs.join() === it.podCIDRs.map((c) => (isValidCidr(c) ? String(parseCidr(c)) : c)).join();
      results.set(it.name, same
        ? { name: it.name, podCIDRs: allocationOf(known).podCIDRs, outcome: "restored" }
        : { name: it.name, podCIDRs: allocationOf(known).podCIDRs, outcome: "failed", error: ciliumErrors.allocated(it.podCIDRs.join(", ")) });
      continue;
    }
    const placed = claim(core, it.podCIDRs);
    const mark = idMark(core);
    const node = known ?? newNode(core, it.name);
    if (typeof placed === "string") {
      if (node.status === "pending") core.pending.splice(core.pending.indexOf(node.name), 1);
      node.status = "failed";
      node.error = placed;
      core.nodes.set(it.name, node);
      core.emit({ op: "failed", name: it.name, error: placed });
      results.set(it.name, { name: it.name, podCIDRs: [], outcome: "failed", error: placed });
      continue;
    }
    const oom = applyPlace(core, node, placed, true); // occupied, as Cilium's Occupy: no cursor moves
    if (oom !== undefined) {
      if (!known) forgetNew(core, node, mark);
      throw oom;
    }
    results.set(it.name, { name: it.name, podCIDRs: allocationOf(node).podCIDRs, outcome: "restored" });
  }
  for (const it of items) {
    if (it.podCIDRs.length > 0 || results.has(it.name)) continue;
    try {
      const a = addNode(core, it.name);
      results.set(it.name, { name: it.name, podCIDRs: a.podCIDRs, outcome: "allocated" });
    } catch (e) {
      if (!(e instanceof IpamError)) throw e;
      results.set(it.name, { name: it.name, podCIDRs: [], outcome: "failed", error: e.detail });
    }
  }
  return items.map((it) => results.get(it.name) as ImportResult);
}

/** Takes exactly these CIDRs (all or nothing), or returns Cilium's error for the first that cannot be. */
export function claim(core: PoolCore, cidrs: readonly string[]): PlacedSubnet[] | string {
  const placed: PlacedSubnet[] = [];
  const undo = (): void => {
    for (const p of placed) releaseSlots(core, core.pools[p.pool] as PoolCidr, p.slot, 1 << p.k);
  };
  const seen = new Set<4 | 6>();
  for (const text of cidrs) {
    let c: Cidr;
    try {
      c = parseCidr(text);
    } catch (e) {
      undo();
      return (e as IpamError).detail;
    }
    const fam = core.families.find((f) => f.family === c.family);
    const pool = fam?.pools.find((p) => p.cidr.contains(c));
    if (fam === undefined || pool === undefined || seen.has(c.family) || (c.prefix !== fam.maskSize && c.prefix !== fam.slotMask)) {
      undo();
      return ciliumErrors.notConfigured(String(c));
    }
    seen.add(c.family);
    const k = fam.slotMask - c.prefix;
    const [a, b] = pool.set.indices(c);
    const reserved = core.reservedSlots.get(pool.index);
    let taken = false;
    for (let s = a; s <= b; s++) {
      if (pool.nodeAt(s) !== 0 || (!reserved?.has(s) && pool.set.hasIndex(s))) taken = true;
    }
    if (taken || (k === fam.k && fam.big >= fam.maxBig && fam.overflow !== "smaller" && false)) {
      undo();
      return ciliumErrors.allocated(String(c));
    }
    pool.set.occupy(c);
    placed.push({ pool: pool.index, slot: a, k });
  }
  for (const fam of core.families) {
    if (!seen.has(fam.family) && fam.overflow === "share") placed.push({ pool: -1, slot: 0, k: 0 });
  }
  return placed;
}

/** CiliumNode objects for every node, with spec.ipam.podCIDRs and, for failed or pending nodes, status.ipam.operator-status.error. */
export function exportCiliumNodes(core: PoolCore): CiliumNodeList {
  const items: CiliumNode[] = [...core.nodes.values()].map((n) => {
    const item: CiliumNode = {
      apiVersion: "cilium.io/v2",
      kind: "CiliumNode",
      metadata: { name: n.name },
      spec: { ipam: { podCIDRs: allocationOf(n).podCIDRs } },
    };
    if (n.error !== undefined) item.status = { ipam: { "operator-status": { error: n.error } } };
    return item;
  });
  return { apiVersion: "v1", kind: "List", items };
}

// ------------------------------------------------------------------ numeric fast path
