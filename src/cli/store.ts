/**
 * `--store etcd://HOST:PORT[,HOST:PORT...]/PREFIX`: a SharedPool on etcd for
 * the state commands, beside `--state FILE`.
 */
import { SharedPool } from "../shared/shared-pool.js";
import type { ClusterPoolOptions } from "../pool/options.js";
import type { ImportResult } from "../pool/cilium-node.js";
import type { LookupResult } from "../pool/cluster-pool.js";
import { IpamError } from "../errors.js";
import { CliError, UsageError } from "./io.js";

/** What the state commands need of a pool, whichever store holds it. */
export interface Backend {
  /** What the messages call it: the state file's path or the store URL. */
  readonly label: string;
  importCiliumNodes(list: unknown): Promise<ImportResult[]>;
  exportCiliumNodes(): Promise<unknown>;
  lookup(ip: string): Promise<LookupResult | undefined>;
  close(): Promise<void>;
}

/** etcd://HOST:PORT[,HOST:PORT]/PREFIX as endpoints and prefix; UsageError naming the flag otherwise. */
export function parseStoreUrl(url: string): { endpoints: string[]; prefix: string } {
  const m = /^etcd:\/\/([^/]+)(\/.+)$/.exec(url);
  const hosts = m?.[1]?.split(",") ?? [];
  if (m === null || hosts.length === 0 || hosts.some((h) => !/^[A-Za-z0-9.\-]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$/.test(h)) || m[2] === "/") {
    throw new UsageError(`--store ${url}: expected etcd://HOST:PORT[,HOST:PORT...]/PREFIX, e.g. etcd://127.0.0.1:2379/ipcarve/prod`);
  }
  return { endpoints: hosts.map((h) => `http://${h}`), prefix: m[2] as string };
}

export async function openStore(url: string, options: ClusterPoolOptions | undefined): Promise<Backend> {
  const store = parseStoreUrl(url);
  let pool: SharedPool;
  try {
    pool = await SharedPool.connect(store, options);
  } catch (e) {
    throw new CliError(`ipcarve: --store ${url}: ${e instanceof IpamError ? e.detail : e instanceof Error ? e.message : String(e)}`);
  }
  return {
    label: url,
    importCiliumNodes: (list) => pool.importCiliumNodes(list),
    exportCiliumNodes: () => pool.exportCiliumNodes(),
    lookup: (ip) => pool.lookup(ip),
    close: () => pool.close(),
  };
}
