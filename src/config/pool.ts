/**
 * From a loaded config to ClusterPool options and a pool. Pool-level errors
 * (an option the core rejects) come back as ConfigErrors naming the file.
 */
import { ClusterPool } from "../pool/cluster-pool.js";
import type { ClusterPoolOptions } from "../pool/options.js";
import { ConfigError, stripPrefix } from "./source.js";
import type { PoolConfig } from "./load.js";

/** ClusterPool options for a pool config. */
export function poolOptions(p: PoolConfig, extra: Partial<ClusterPoolOptions> = {}): ClusterPoolOptions {
  return {
    ...(p.ipv4 ? { ipv4: { cidrs: [...p.ipv4.cidrs], maskSize: p.ipv4.maskSize } } : {}),
    ...(p.ipv6 ? { ipv6: { cidrs: [...p.ipv6.cidrs], maskSize: p.ipv6.maskSize } } : {}),
    ...(p.maxNodeSubnets !== undefined ? { maxNodeSubnets: p.maxNodeSubnets } : {}),
    ...(p.podStrategy !== undefined ? { podStrategy: p.podStrategy } : {}),
    ...(p.overflow !== undefined ? { overflow: p.overflow } : {}),
    ...(p.reuse !== undefined ? { reuse: p.reuse } : {}),
    ...(p.reserveRouterIP !== undefined ? { reserveRouterIP: p.reserveRouterIP } : {}),
    ...extra,
  };
}

/** A ClusterPool for a config; an option the core refuses is a ConfigError naming the file. */
export function createPool(p: PoolConfig, file: string, extra: Partial<ClusterPoolOptions> = {}): ClusterPool {
  try {
    return new ClusterPool(poolOptions(p, extra));
  } catch (e) {
    throw new ConfigError(file, undefined, undefined, "", stripPrefix(e), { cause: e });
  }
}
