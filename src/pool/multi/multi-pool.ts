/**
 * The multi-pool side of ClusterPool: what `new ClusterPool({ pools })`
 * routes to. Thin: each call goes to the module of src/pool/multi/ that
 * owns it.
 *
 *   options.ts   pools, watermarks, release delays, node selectors
 *   state.ts     MultiCore: pools, table entries, nodes, chunks, owners
 *   chunks.ts    taking chunks, the watermark, the release delay, tick()
 *   pods.ts      addNode/removeNode, allocate/release/releaseOwner/lookup
 *   runtime.ts   addPool/removePool, addPoolCidr/removePoolCidr
 *   cilium.ts    CiliumNode spec.ipam.pools import and export
 *   stats.ts     stats(), node(), verify()
 *   snapshot.ts  snapshot() and restore
 */
import { errors } from "../../errors.js";
import { isU32, badU32, str, u32Array, count as countArg } from "../../args.js";
import type { Engine } from "../../core/engine.js";
import type { PodAddresses } from "../types.js";
import type { CiliumNodeList, ImportResult } from "../cilium-node.js";
import { MultiCore } from "./state.js";
import { resolveMultiOptions, type ResolvedMultiOptions, type IpPoolSpec } from "./options.js";
import { tick } from "./chunks.js";
import { addNode, removeNode, allocate, release, releaseIPv4, releaseOwner, addressesOf, lookup } from "./pods.js";
import { addPool, removePool, addPoolCidr, removePoolCidr, poolList } from "./runtime.js";
import { importPools, exportPools } from "./cilium.js";
import { multiStats, multiNodeDetail, multiVerify, type MultiClusterStats } from "./stats.js";
import { multiSnapshot, multiRebuild, type MultiSnapshotMeta } from "./snapshot.js";
import type { AddNodeOptions, AllocateOptions, MultiNodeAllocation, MultiLookupResult, MultiNodeDetail, PoolCidrOptions } from "./types.js";

export class MultiPool {
  readonly #c: MultiCore;

  constructor(options: unknown, core?: MultiCore) {
    this.#c = core ?? new MultiCore(resolveMultiOptions(options));
  }

  /** A pool rebuilt from a multi-pool snapshot's parts. */
  static rebuild(meta: MultiSnapshotMeta, data: Uint32Array, runtime: { clock?: () => number; engine?: Engine }): MultiPool {
    return new MultiPool(undefined, multiRebuild(meta, data, runtime));
  }

  /** The error for a ClusterPool method that has no multi-pool form. */
  static unsupported(method: string): ReturnType<typeof errors.invalidOption> {
    return errors.invalidOption("options.pools", `is set: ClusterPool.${method} is not available on a pool with named pools`);
  }

  get engine(): Engine {
    this.#c.escaped = true;
    return this.#c.engine;
  }
  get nodeCount(): number { return this.#c.nodes.size; }
  get options(): ResolvedMultiOptions { return this.#c.o; }

  tick(): void { tick(this.#c); }

  addNode(name: string, options?: AddNodeOptions): MultiNodeAllocation { return addNode(this.#c, name, options); }
  removeNode(name: string, options?: unknown): boolean { return removeNode(this.#c, name, options); }
  node(name: string): MultiNodeDetail | undefined {
    const n = this.#c.nodes.get(str("node(name)", name));
    return n && multiNodeDetail(this.#c, n);
  }
  nodeNames(): string[] { return [...this.#c.nodes.keys()]; }

  allocate(node: string, owner: string, options?: AllocateOptions): PodAddresses { return allocate(this.#c, node, owner, options); }
  release(ip: string, owner?: string): boolean { return release(this.#c, ip, owner); }
  releaseOwner(owner: string): string[] { return releaseOwner(this.#c, owner); }
  addressesOf(owner: string): string[] { return addressesOf(this.#c, owner); }
  lookup(ip: string): MultiLookupResult | undefined { return lookup(this.#c, ip); }

  addPool(name: string, spec: IpPoolSpec): void { addPool(this.#c, name, spec); }
  removePool(name: string): void { removePool(this.#c, name); }
  addPoolCidr(cidr: string, options?: PoolCidrOptions): void { addPoolCidr(this.#c, cidr, options); }
  removePoolCidr(cidr: string, options?: PoolCidrOptions): void { removePoolCidr(this.#c, cidr, options); }
  ipPools(): ReturnType<typeof poolList> { return poolList(this.#c); }
  /** Pool CIDRs per family, all pools together (ClusterPool.poolCidrs). */
  poolCidrs(): { family: 4 | 6; cidrs: string[] }[] {
    const out: { family: 4 | 6; cidrs: string[] }[] = [];
    for (const f of [4, 6] as const) {
      const cidrs = poolList(this.#c).flatMap((p) => p.families.filter((x) => x.family === f).flatMap((x) => x.cidrs));
      if (cidrs.length > 0) out.push({ family: f, cidrs });
    }
    return out;
  }

  importCiliumNodes(list: unknown): ImportResult[] { return importPools(this.#c, list); }
  exportCiliumNodes(): CiliumNodeList { return exportPools(this.#c); }

  handle(name: string): number {
    const n = this.#c.nodes.get(str("handle(name)", name));
    if (n === undefined) throw errors.unknownNode(name);
    return n.id;
  }
  nodeName(handle: number): string | undefined {
    if (isU32(handle)) return this.#c.byId[handle]?.name;
    if (typeof handle === "number" && Number.isInteger(handle)) return undefined;
    throw errors.invalidArgument("nodeName(handle)", handle, "a node handle (an integer)");
  }
  lookupIPv4(ip: number): number {
    if (!isU32(ip)) throw badU32("lookupIPv4(ip)", ip);
    return this.#c.table.lookupIPv4(ip);
  }
  lookupIPv4Batch(ips: Uint32Array, out: Uint32Array | Int32Array, count?: number): void {
    u32Array("lookupIPv4Batch(ips)", ips);
    if (!(out instanceof Uint32Array || out instanceof Int32Array)) throw errors.invalidArgument("lookupIPv4Batch(out)", out, "a Uint32Array or Int32Array");
    const n = countArg("lookupIPv4Batch(count)", count, Math.min(ips.length, out.length));
    this.#c.table.lookupIPv4Batch(ips, out, n);
  }
  releaseIPv4(ip: number): boolean {
    if (!isU32(ip)) throw badU32("releaseIPv4(ip)", ip);
    return releaseIPv4(this.#c, ip);
  }
  releaseIPv4Batch(ips: Uint32Array, count?: number): number {
    u32Array("releaseIPv4Batch(ips)", ips);
    const n = countArg("releaseIPv4Batch(count)", count, ips.length);
    let freed = 0;
    for (let i = 0; i < n; i++) if (releaseIPv4(this.#c, ips[i] as number)) freed++;
    return freed;
  }

  stats(): MultiClusterStats {
    tick(this.#c);
    return multiStats(this.#c);
  }
  verify(): string[] { return multiVerify(this.#c); }
  snapshot(generation = 0): Uint8Array { return multiSnapshot(this.#c, generation); }

  /** Gives the memory back (see ClusterPool.dispose). */
  free(): void { this.#c.release(); }
}
