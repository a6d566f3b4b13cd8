/**
 * The pool inputs of a command: `--config FILE` (any format) and
 * `--pools FILE` (CiliumPodIPPool objects: named pools), read once, with
 * their warnings on stderr; and opening a state file of either kind.
 */
import { existsSync } from "node:fs";
import { loadConfig, loadPodIPPoolConfig, type LoadedConfig } from "../config/load.js";
import { ClusterPool, storedWithPools } from "../pool/cluster-pool.js";
import type { ClusterPoolOptions } from "../pool/options.js";
import type { MultiPoolOptions } from "../pool/multi/options.js";
import { IpamError } from "../errors.js";
import { CliError, pathIn, type Io } from "./io.js";

export interface ConfigFlags {
  readonly config?: string;
  readonly pools?: string;
}

/** The config of --config and --pools (undefined when neither is given); warnings go to stderr. */
export function readConfig(io: Io, f: ConfigFlags): LoadedConfig | undefined {
  let cfg: LoadedConfig | undefined;
  if (f.config !== undefined) cfg = loadConfig(pathIn(io, f.config), f.pools !== undefined ? { pools: pathIn(io, f.pools) } : {});
  else if (f.pools !== undefined) cfg = loadPodIPPoolConfig(pathIn(io, f.pools));
  for (const w of cfg?.warnings ?? []) io.err(`ipcarve: warning: ${w}\n`);
  return cfg;
}

/** The ClusterPool options of a config: the named pools' (multi-pool) or the single pool's. */
export function poolOptions(cfg: LoadedConfig): ClusterPoolOptions | MultiPoolOptions {
  return cfg.multi ?? cfg.options;
}


/**
 * Opens (or, with options, creates) a state file, of either kind: an
 * existing file carries its own options, named pools or a single pool.
 * `readOnly`: no lock, no writes.
 */
export function openState(path: string, options: ClusterPoolOptions | MultiPoolOptions | undefined, readOnly = false, flag = "--state"): ClusterPool {
  const exists = existsSync(path);
  if (!exists && options === undefined) {
    throw new CliError(`ipcarve: ${flag} ${path}: no such state file (import a CiliumNode list with --config or --pools to create one)`);
  }
  // an existing file carries its options; only its kind must be given: named pools ({ pools: {} }) or not
  let named = false;
  try {
    named = exists && storedWithPools(path);
  } catch {
    // a file whose description cannot be read: open() says what is wrong with it
  }
  try {
    return ClusterPool.open(path, exists ? (named ? { pools: {} } : ({} as ClusterPoolOptions)) : (options as ClusterPoolOptions | MultiPoolOptions), { readOnly });
  } catch (e) {
    throw new CliError(`ipcarve: ${flag} ${path}: ${e instanceof IpamError ? e.detail : e instanceof Error ? e.message : String(e)}`);
  }
}
