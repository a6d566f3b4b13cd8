// CiliumNode spec.ipam.pools with named pools: export (allocated, requested)
// and import (allocated CIDRs occupied in list order before any node tops up).
import { parseCidr, type Cidr } from "../../net/ip.js";
import { errors, IpamError, show } from "../../errors.js";
import { ciliumErrors, type CiliumNode, type CiliumNodeList, type ImportResult } from "../cilium-node.js";
import type { PoolCidr } from "../../alloc/pool-cidr.js";
import type { MultiCore, MNode, Chunk, PoolFamily } from "./state.js";
import { allocationOf, addNode, labelsArg } from "./pods.js";
import { tick, groupOf, attachChunk, serves, freeOf, topUpNode } from "./chunks.js";
import { untake } from "./moves.js";

/** One CiliumNode item as multi-pool reads it. */
interface PoolItem {
  name: string;
  labels: Readonly<Record<string, string>>;
  allocated: { pool: string; cidrs: string[] }[];
}

function items(list: unknown): PoolItem[] {
  const one = (list as { kind?: unknown } | null)?.kind === "CiliumNode";
  const arr = Array.isArray(list) ? list : one ? [list] : (list as { items?: unknown } | null)?.items;
  if (!Array.isArray(arr)) throw errors.invalidArgument("CiliumNode list", list, "an array, an object with items[] or a CiliumNode (with named pools: spec.ipam.pools, which kubectl's table text does not show)");
  return Array.from(arr, (it: unknown, i) => {
    const o = it as CiliumNode | null;
    const name = o?.metadata?.name;
    if (typeof name !== "string" || name === "") throw errors.invalidArgument(`CiliumNode list items[${i}].metadata.name`, name, "a non-empty string");
    const rawLabels = (o?.metadata as { labels?: unknown } | undefined)?.labels;
    const labels = rawLabels === undefined ? Object.freeze({}) : labelsArg({ labels: rawLabels });
    const pools = (o?.spec?.ipam as { pools?: { allocated?: unknown } } | undefined)?.pools;
    const alloc = pools?.allocated ?? [];
    const path = `CiliumNode list items[${i}].spec.ipam.pools.allocated`;
    if (!Array.isArray(alloc)) throw errors.invalidArgument(path, alloc, "an array of { pool, cidrs }");
    const allocated = Array.from(alloc, (a: unknown, k) => {
      const x = a as { pool?: unknown; cidrs?: unknown } | null;
      if (typeof x?.pool !== "string" || x.pool === "") throw errors.invalidArgument(`${path}[${k}].pool`, x?.pool, "a pool name");
      const cidrs = x.cidrs ?? [];
      if (!Array.isArray(cidrs) || Array.from(cidrs).some((c) => typeof c !== "string")) throw errors.invalidArgument(`${path}[${k}].cidrs`, cidrs, "an array of CIDR strings");
      return { pool: x.pool, cidrs: cidrs as string[] };
    });
    return { name, labels, allocated };
  });
}

/** Takes exactly these chunks for a new node (all or nothing), or returns why not in Cilium's words. */
function claim(core: MultiCore, node: MNode, allocated: PoolItem["allocated"]): string | undefined {
  const taken: Chunk[] = [];
  const undo = (): void => {
    untake(core, taken);
  };
  for (const a of allocated) {
    const pool = core.pools.get(a.pool);
    for (const text of a.cidrs) {
      let c: Cidr;
      try {
        c = parseCidr(text);
      } catch (e) {
        undo();
        if (e instanceof IpamError) return e.detail;
        throw e;
      }
      if (pool === undefined) {
        undo();
        return `unknown IP pool ${show(a.pool)} for CIDR ${String(c)}`;
      }
      if (!serves(pool, node)) {
        undo();
        return `IP pool ${show(a.pool)} does not select node ${show(node.name)} (CIDR ${String(c)})`;
      }
      const fam = pool.families.find((f) => f.family === c.family);
      const entry: PoolCidr | undefined = fam?.entries.find((e) => e.cidr.contains(c));
      if (fam === undefined || entry === undefined || c.prefix !== fam.maskSize) {
        undo();
        return ciliumErrors.notConfigured(String(c));
      }
      const slot = entry.set.indexOf(c);
      if (!entry.set.allocateIndex(slot)) {
        undo();
        return ciliumErrors.allocated(String(c));
      }
      const got = attachChunk(core, groupOf(node, fam), entry, slot);
      if (got instanceof IpamError) {
        undo();
        throw got;
      }
      taken.push(got);
    }
  }
  return undefined;
}

/**
 * Restores nodes from CiliumNodes with spec.ipam.pools.allocated, in list
 * order: each node's chunks are occupied (all or none) before any node tops
 * up to its watermark; then items without allocations are added. A CIDR
 * outside its pool, of another mask, of an unknown pool or already taken
 * fails its node with Cilium's message (never reassigned); a failed node is
 * not added. metadata.labels become the node's labels.
 */
export function importPools(core: MultiCore, list: unknown): ImportResult[] {
  const all = items(list);
  tick(core);
  const results = new Map<string, ImportResult>();
  const restored: MNode[] = [];
  for (const it of all) {
    if (it.allocated.every((a) => a.cidrs.length === 0)) continue;
    const known = core.nodes.get(it.name);
    if (known !== undefined) {
      const want = it.allocated.flatMap((a) => a.cidrs.map((c) => `${a.pool}:${String(parseCidr(c))}`)).sort().join();
      const have = allocationOf(known).pools.flatMap((p) => p.cidrs.map((c) => `${p.pool}:${c}`)).sort().join();
      results.set(it.name, want === have
        ? { name: it.name, podCIDRs: allocationOf(known).podCIDRs, outcome: "restored" }
        : { name: it.name, podCIDRs: allocationOf(known).podCIDRs, outcome: "failed", error: ciliumErrors.allocated(it.allocated.flatMap((a) => a.cidrs).join(", ")) });
      continue;
    }
    const id = core.freeIds.pop() ?? core.byId.length;
    const node = core.newNode(id, it.name, it.labels, ++core.epoch);
    const why = claim(core, node, it.allocated);
    if (why !== undefined) {
      core.byId[id] = undefined;
      core.freeIds.push(id);
      results.set(it.name, { name: it.name, podCIDRs: [], outcome: "failed", error: why });
      continue;
    }
    core.nodes.set(it.name, node);
    restored.push(node);
    results.set(it.name, { name: it.name, podCIDRs: allocationOf(node).podCIDRs, outcome: "restored" });
  }
  const now = core.now();
  for (const node of restored) {
    for (const pool of core.pools.values()) topUpNode(core, node, pool, now);
    results.set(node.name, { name: node.name, podCIDRs: allocationOf(node).podCIDRs, outcome: "restored" });
  }
  for (const it of all) {
    if (results.has(it.name)) continue;
    const a = addNode(core, it.name, { labels: it.labels });
    results.set(it.name, { name: it.name, podCIDRs: a.podCIDRs, outcome: "allocated" });
  }
  return all.map((it) => results.get(it.name) as ImportResult);
}

/** What the node keeps per pool family: the addresses in use plus the pre-allocation (Cilium's spec.ipam.pools.requested[].needed). */
function needed(core: MultiCore, node: MNode): { pool: string; needed: { "ipv4-addrs"?: number; "ipv6-addrs"?: number } }[] {
  const out = new Map<string, { "ipv4-addrs"?: number; "ipv6-addrs"?: number }>();
  for (const [fam, g] of node.groups as Map<PoolFamily, ReturnType<typeof groupOf>>) {
    const size = g.chunks.reduce((n, c) => n + c.size, 0);
    const want = size - freeOf(core, g) + fam.pool.preAllocate;
    if (want === 0) continue;
    const d = out.get(fam.pool.name) ?? {};
    d[fam.family === 4 ? "ipv4-addrs" : "ipv6-addrs"] = want;
    out.set(fam.pool.name, d);
  }
  return [...out.keys()].sort().map((pool) => ({ pool, needed: out.get(pool) as { "ipv4-addrs"?: number } }));
}

/** CiliumNode objects for every node, with metadata.labels and spec.ipam.pools.{requested, allocated} (pools in name order, as Cilium writes them). */
export function exportPools(core: MultiCore): CiliumNodeList {
  const items: CiliumNode[] = [...core.nodes.values()].map((n) => ({
    apiVersion: "cilium.io/v2",
    kind: "CiliumNode",
    metadata: { name: n.name, ...(Object.keys(n.labels).length ? { labels: { ...n.labels } } : {}) },
    spec: { ipam: { pools: { requested: needed(core, n), allocated: allocationOf(n).pools } } },
  }));
  return { apiVersion: "v1", kind: "List", items };
}
