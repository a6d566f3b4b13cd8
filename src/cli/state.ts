/**
 * State commands over ClusterPool.open (a FileStore: snapshot plus journal,
 * `--state FILE`) or a SharedPool on etcd (`--store etcd://HOST:PORT/PREFIX`):
 * `import FILE` of CiliumNode lists, `export`, `lookup IP`.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { ClusterPool } from "../pool/cluster-pool.js";
import { isCiliumNodeTable } from "../pool/cilium-table.js";
import type { ClusterPoolOptions } from "../pool/options.js";
import { parseIp } from "../net/ip.js";
import { IpamError, isIpamError } from "../errors.js";
import { isMultiPoolOptions, type MultiPoolOptions } from "../pool/multi/options.js";
import { readConfig, poolOptions, openState } from "./config-input.js";
import { Source } from "../config/source.js";
import { textTable } from "../report/summary.js";
import { CliError, UsageError, pathIn, type Io } from "./io.js";
import { openStore, type Backend } from "./store.js";

/** The pool behind --state or --store (exactly one of them): UsageError otherwise. */
async function backend(io: Io, f: { state?: string; store?: string }, options: ClusterPoolOptions | MultiPoolOptions | undefined, readOnly: boolean): Promise<Backend> {
  if ((f.state === undefined) === (f.store === undefined)) throw new UsageError("give exactly one of --state FILE and --store etcd://HOST:PORT/PREFIX");
  if (f.store !== undefined) {
    if (options !== undefined && isMultiPoolOptions(options)) throw new UsageError(`--store ${f.store}: a shared pool on etcd holds one cluster pool; named pools (multi-pool) are kept in a --state file`);
    return openStore(f.store, options);
  }
  const statePath = pathIn(io, f.state as string);
  const pool = openState(statePath, existsSync(statePath) ? undefined : options, readOnly);
  return {
    label: statePath,
    importCiliumNodes: async (list) => pool.importCiliumNodes(list),
    exportCiliumNodes: async () => pool.exportCiliumNodes(),
    lookup: async (ip) => pool.lookup(ip),
    close: async () => close(pool),
  };
}

const LIST = "CiliumNode list ";

/** "items[2].spec.ipam.podCIDRs" as YAML path segments; undefined for a path that is not under items[]. */
function yamlPath(p: string): (string | number)[] | undefined {
  if (!/^items\[\d+\]/.test(p)) return undefined;
  return [...p.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : (m[1] as string)));
}

function close(pool: ClusterPool): void {
  pool.close();
}

export interface ImportFlags {
  readonly state?: string;
  readonly store?: string;
  readonly config?: string;
  /** CiliumPodIPPool objects: named pools of a state file to create. */
  readonly pools?: string;
  readonly json?: boolean;
}

/**
 * `import FILE`: CiliumNodes into a state file or store; conflicts per node. FILE is
 * `kubectl get ciliumnodes -o json|yaml` (a List), one CiliumNode (`kubectl
 * get cn X -o yaml`), or the table `kubectl get ciliumnodes` prints.
 */
export async function importCommand(io: Io, file: string, f: ImportFlags): Promise<number> {
  const path = pathIn(io, file);
  let text: string | undefined;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    text = undefined; // Source.read reports it
  }
  const table = text !== undefined && isCiliumNodeTable(text);
  const src = table ? undefined : Source.read(path);
  const cfg = readConfig(io, f);
  const options = cfg && poolOptions(cfg);
  if (f.state !== undefined && !existsSync(pathIn(io, f.state)) && options === undefined) {
    throw new UsageError(`--state ${f.state} does not exist yet: give --config FILE (or --pools FILE) with the pool to create it`);
  }
  const pool = await backend(io, f, options, false);
  const statePath = pool.label;
  let results: { name: string; podCIDRs: string[]; outcome: string; error?: string }[];
  try {
    results = await pool.importCiliumNodes(src === undefined ? text : src.data);
  } catch (e) {
    if (isIpamError(e) && src !== undefined) {
      // "CiliumNode list items[2].metadata.name": the error's path, located in the file
      const at = e.path?.startsWith(LIST) ? yamlPath(e.path.slice(LIST.length)) : undefined;
      throw at !== undefined ? src.error(at, e.reason, e) : new CliError(`ipcarve: ${file}: ${e.detail}`);
    }
    throw e;
  } finally {
    await pool.close();
  }
  const failed = results.filter((r) => r.outcome === "failed").length;
  if (f.json) io.out(JSON.stringify({ state: statePath, results }, null, 2) + "\n");
  else {
    io.out(textTable(["NODE", "OUTCOME", "POD CIDRS", "ERROR"], results.map((r) => [r.name, r.outcome, r.podCIDRs.join(",") || "-", r.error ?? ""])) + "\n");
    io.err(`${results.length - failed} of ${results.length} nodes imported into ${statePath}${failed > 0 ? `; ${failed} with conflicts` : ""}\n`);
  }
  return failed > 0 ? 1 : 0;
}

export interface ExportFlags {
  readonly state?: string;
  readonly store?: string;
  readonly output?: string;
}

/** `export`: the state file's nodes as a CiliumNode List (JSON). */
export async function exportCommand(io: Io, f: ExportFlags): Promise<number> {
  const pool = await backend(io, f, undefined, true);
  let list: unknown;
  try {
    list = await pool.exportCiliumNodes();
  } finally {
    await pool.close();
  }
  const json = JSON.stringify(list, null, 2) + "\n";
  if (f.output !== undefined) {
    try {
      writeFileSync(pathIn(io, f.output), json);
    } catch (e) {
      throw new CliError(`ipcarve: --output ${f.output}: ${(e as Error).message}`);
    }
  } else io.out(json);
  return 0;
}

export interface LookupFlags {
  readonly state?: string;
  readonly store?: string;
  readonly json?: boolean;
}

/** `lookup IP`: which node (and pod) holds an address. Exit 1 if no node subnet holds it. */
export async function lookupCommand(io: Io, ip: string, f: LookupFlags): Promise<number> {
  try {
    parseIp(ip);
  } catch (e) {
    throw new UsageError(`IP argument: ${e instanceof IpamError ? e.detail : String(e)}`);
  }
  const pool = await backend(io, f, undefined, true);
  let r: ReturnType<ClusterPool["lookup"]>;
  try {
    r = await pool.lookup(ip);
  } finally {
    await pool.close();
  }
  if (f.json) io.out(JSON.stringify(r === undefined ? { ip, found: false } : { ip, found: true, ...r }, null, 2) + "\n");
  else if (r === undefined) io.err(`ipcarve: ${ip} is not in any node subnet of ${f.state ?? f.store}\n`);
  else io.out(`${ip}: node ${r.node} (${r.podCIDR}), ${r.owner !== undefined ? `pod ${r.owner}` : r.allocated ? "allocated, no owner recorded" : "free"}\n`);
  return r === undefined ? 1 : 0;
}
