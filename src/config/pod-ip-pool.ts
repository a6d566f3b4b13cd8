/**
 * CiliumPodIPPool objects (Cilium multi-pool IPAM) as ClusterPool `pools`
 * options: YAML or JSON, one object, a List / CiliumPodIPPoolList (what
 * `kubectl get ciliumpodippools -o yaml` prints), or several YAML documents.
 * Errors name the file, line and path of the offending value.
 *
 *   apiVersion: cilium.io/v2alpha1        # or cilium.io/v2
 *   kind: CiliumPodIPPool
 *   metadata: { name: green-pool }
 *   spec:
 *     ipv4: { cidrs: [10.20.0.0/16], maskSize: 24 }
 *     ipv6: { cidrs: [fd00::/104], maskSize: 120 }
 *
 * The agent's pre-allocation (`ipam-multi-pool-pre-allocation`,
 * "default=8,blue=4") is not part of the objects: pass it as `preAllocation`.
 * `spec.nodeSelector` (a label selector) is ipcarve's own field.
 */
import { parseAllDocuments } from "yaml";
import { readFileSync } from "node:fs";
import { IpamError } from "../errors.js";
import { Source, ConfigError, type Path } from "./source.js";
import type { IpPoolSpec, LabelSelector } from "../pool/multi/options.js";
import { readFamily, checkPools, applyPreAllocation, type PoolAt } from "./pools.js";

export interface LoadedPodIPPools {
  readonly file: string;
  /** ClusterPool options.pools: new ClusterPool({ pools }) builds them. */
  readonly pools: Record<string, IpPoolSpec>;
  readonly notes: readonly string[];
  /** Where each pool is in the file (its spec), to locate later errors. */
  readonly at: ReadonlyMap<string, PoolAt>;
}

export interface PodIPPoolOptions {
  /**
   * Cilium's ipam-multi-pool-pre-allocation: "default=8,blue=4" or { default: 8 }. As Cilium's agent
   * reads it, it replaces the default: a pool it does not name pre-allocates 0. @default Cilium's: default=8, others 0
   */
  readonly preAllocation?: string | Readonly<Record<string, number>>;
  /** Release delay of every pool, ms. @default 120000 */
  readonly releaseDelayMs?: number;
}

const API_VERSIONS = ["cilium.io/v2alpha1", "cilium.io/v2"];
const SPEC_KEYS = ["ipv4", "ipv6", "nodeSelector", "podSelector", "namespaceSelector"];

/** Parses Cilium's `ipam-multi-pool-pre-allocation` flag ("default=8,blue=4"); throws INVALID_CONFIG naming the bad entry. */
export function parsePreAllocation(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const m = /^([a-z0-9.-]+)=(\d+)$/.exec(part);
    if (!m) throw new IpamError("INVALID_CONFIG", `invalid pre-allocation ${JSON.stringify(part)}: want <pool>=<addresses>, e.g. default=8`, { path: "preAllocation" });
    out[m[1] as string] = Number(m[2]);
  }
  return out;
}

/** Reads CiliumPodIPPools from a YAML or JSON file. Throws ConfigError (IO_ERROR when unreadable). */
export function loadPodIPPools(file: string, how: PodIPPoolOptions = {}): LoadedPodIPPools {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(file, undefined, undefined, "", code === "ENOENT" ? "no such file" : (e as Error).message, { cause: e, code: "IO_ERROR" });
  }
  return parsePodIPPools(file, text, how);
}

/** One YAML document per Source, each keeping its line numbers in the whole text. */
function sources(file: string, text: string): Source[] {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs) || docs.length <= 1) return [Source.parse(file, text)];
  return docs.map((d) => {
    const [start, , end] = d.range;
    const before = text.slice(0, start).replace(/[^\n]/g, "");
    return Source.parse(file, before + text.slice(start, end));
  });
}

/** Reads CiliumPodIPPools from text (YAML or JSON) as if from `file`. */
export function parsePodIPPools(file: string, text: string, how: PodIPPoolOptions = {}): LoadedPodIPPools {
  const notes: string[] = [];
  const found: { src: Source; path: Path; name: string; spec: IpPoolSpec }[] = [];
  for (const src of sources(file, text)) {
    if (src.data === null || src.data === undefined) continue;
    const kind = src.string(["kind"]);
    if (kind === "List" || kind === "CiliumPodIPPoolList") {
      const items = src.get(["items"]);
      if (!Array.isArray(items)) throw src.error(["items"], "must be a list of CiliumPodIPPool objects");
      items.forEach((_, i) => found.push(readPool(src, ["items", i], notes)));
    } else {
      found.push(readPool(src, [], notes));
    }
  }
  if (found.length === 0) throw new ConfigError(file, undefined, undefined, "", "holds no CiliumPodIPPool");
  const pre = typeof how.preAllocation === "string" ? parsePreAllocation(how.preAllocation) : how.preAllocation;
  const pools: Record<string, IpPoolSpec> = {};
  const at = new Map<string, PoolAt>();
  for (const f of found) {
    if (Object.prototype.hasOwnProperty.call(pools, f.name)) throw f.src.error([...f.path, "metadata", "name"], `names pool ${JSON.stringify(f.name)} a second time`);
    pools[f.name] = applyPreAllocation(f.spec, f.name, pre);
    at.set(f.name, { src: f.src, path: [...f.path, "spec"] });
  }
  for (const name of Object.keys(pre ?? {})) if (!(name in pools)) notes.push(`pre-allocation for pool ${JSON.stringify(name)}, which no CiliumPodIPPool defines, is ignored`);
  checkPools(pools, at, how.releaseDelayMs);
  return { file, pools, notes, at };
}

function readPool(src: Source, path: Path, notes: string[]): { src: Source; path: Path; name: string; spec: IpPoolSpec } {
  const kind = src.string([...path, "kind"]);
  if (kind !== "CiliumPodIPPool") throw src.error([...path, "kind"], `must be CiliumPodIPPool (got ${kind === undefined ? "none" : JSON.stringify(kind)})`);
  const api = src.string([...path, "apiVersion"]);
  if (api !== undefined && !API_VERSIONS.includes(api)) throw src.error([...path, "apiVersion"], `must be ${API_VERSIONS.join(" or ")} (got ${JSON.stringify(api)})`);
  const name = src.string([...path, "metadata", "name"]);
  if (name === undefined || name === "") throw src.error([...path, "metadata", "name"], "is required: the pool's name");
  src.map([...path, "spec"], true);
  src.onlyKeys([...path, "spec"], SPEC_KEYS);
  for (const k of ["podSelector", "namespaceSelector"]) {
    if (src.has([...path, "spec", k])) notes.push(`pool ${JSON.stringify(name)}: spec.${k} is not used (allocate names the pool)`);
  }
  const ipv4 = readFamily(src, [...path, "spec", "ipv4"], 4);
  const ipv6 = readFamily(src, [...path, "spec", "ipv6"], 6);
  const sel = src.get([...path, "spec", "nodeSelector"]);
  const spec: IpPoolSpec = {
    ...(ipv4 ? { ipv4 } : {}),
    ...(ipv6 ? { ipv6 } : {}),
    ...(sel !== undefined ? { nodeSelector: sel as LabelSelector } : {}),
  };
  return { src, path, name, spec };
}
