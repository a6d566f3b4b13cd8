/**
 * From a loaded config to a pool. The config's options were resolved once
 * when it was loaded (table.ts); an error here is about `extra` or the pool
 * itself, and comes back as a ConfigError naming the file, with its code.
 */
import { ClusterPool } from "../pool/cluster-pool.js";
import type { ClusterPoolOptions } from "../pool/options.js";
import { IpamError } from "../errors.js";
import { ConfigError } from "./source.js";
import type { LoadedConfig } from "./load.js";

/** A ClusterPool for a config's options (plus runtime `extra`: clock, engine). */
export function createPool(cfg: LoadedConfig, extra: Partial<ClusterPoolOptions> = {}): ClusterPool {
  try {
    return new ClusterPool({ ...(cfg.multi ?? cfg.options), ...extra });
  } catch (e) {
    if (!(e instanceof IpamError)) throw e;
    throw new ConfigError(cfg.file, undefined, undefined, "", e.detail, { cause: e, code: e.code });
  }
}
