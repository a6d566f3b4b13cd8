/**
 * Named pools (Cilium multi-pool) from any config: read one pool's families
 * at a YAML path, then validate every pool at once with resolveMultiOptions,
 * an error of which comes back as a ConfigError at the file, line and key
 * that gave the value (the pools may come from several files).
 */
import { IpamError } from "../errors.js";
import { resolveMultiOptions, type IpPoolSpec, type IpPoolFamily } from "../pool/multi/options.js";
import type { Source, Path } from "./source.js";

/** Where a pool was given: its source and the path of the mapping that holds ipv4/ipv6 (a CiliumPodIPPool's spec). */
export interface PoolAt {
  readonly src: Source;
  readonly path: Path;
  /** Option name to the file's key, where they differ (ipcarve's `releaseDelay` feeds releaseDelayMs). */
  readonly keys?: Readonly<Record<string, string>>;
}

/**
 * One family mapping { cidrs, maskSize } at `p`, or undefined when absent.
 * Unknown keys: an error (`warnings` undefined) or a warning naming the key.
 */
export function readFamily(src: Source, p: Path, family: 4 | 6, warnings?: string[]): IpPoolFamily | undefined {
  if (!src.has(p)) return undefined;
  src.map(p, true);
  if (warnings === undefined) src.onlyKeys(p, ["cidrs", "maskSize"]);
  else warnings.push(...unknownKeys(src, p, ["cidrs", "maskSize"], `a pool's ipv${family}`));
  const list = src.get([...p, "cidrs"]);
  if (!Array.isArray(list) || list.length === 0) throw src.error([...p, "cidrs"], "must be a non-empty list of CIDRs");
  const cidrs = list.map((_, i) => String(src.cidr([...p, "cidrs", i], family)));
  const maskSize = src.number([...p, "maskSize"], { min: 0, max: family === 4 ? 32 : 128 });
  if (maskSize === undefined) throw src.error([...p, "maskSize"], "is required: the prefix length of a node's chunk");
  return { cidrs, maskSize };
}

/** A warning for each key of the mapping at `p` that is not in `known`. */
export function unknownKeys(src: Source, p: Path, known: readonly string[], what: string): string[] {
  const out: string[] = [];
  for (const k of Object.keys(src.map(p))) {
    if (known.includes(k)) continue;
    const near = known.find((x) => x.toLowerCase() === k.toLowerCase());
    out.push(src.warning([...p, k], `is not a key of ${what} and is ignored${near !== undefined ? ` (did you mean ${near}?)` : ""}`));
  }
  return out;
}

/** Pre-allocation as Cilium's agent reads it: the setting replaces default=8 (a pool it does not name pre-allocates 0). */
export function applyPreAllocation(spec: IpPoolSpec, name: string, pre: Readonly<Record<string, number>> | undefined): IpPoolSpec {
  if (pre === undefined) return spec;
  return { ...spec, preAllocate: pre[name] ?? 0 };
}

/**
 * Validates the pools (names, masks, overlaps across every pool) as
 * new ClusterPool({ pools }) would; an error is located at the pool's key.
 */
export function checkPools(pools: Readonly<Record<string, IpPoolSpec>>, at: ReadonlyMap<string, PoolAt>, releaseDelayMs?: number): void {
  try {
    resolveMultiOptions({ pools, ...(releaseDelayMs !== undefined ? { releaseDelayMs } : {}) });
  } catch (e) {
    if (!(e instanceof IpamError) || e.path === undefined) throw e;
    // "options.pools.<name>.ipv4.cidrs[1]" -> <the pool's path>.ipv4.cidrs[1]
    const m = /^options\.pools\.([a-z0-9.-]+?)((?:\.(?:ipv4|ipv6|nodeSelector|preAllocate|releaseDelayMs).*)?)$/.exec(e.path);
    const f = m ? at.get(m[1] as string) : undefined;
    if (!m || !f) throw e;
    const rest: Path = (m[2] ?? "").split(/\.|\[(\d+)\]/).filter((s) => s !== undefined && s !== "")
      .map((s) => (/^\d+$/.test(s) ? Number(s) : f.keys?.[s] ?? s));
    let path: Path = f.path;
    for (const s of rest) {
      if (!f.src.has([...path, s])) break;
      path = [...path, s];
    }
    throw f.src.error(path, e.reason, e);
  }
}
