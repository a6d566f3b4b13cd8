/**
 * The whole-/8 ClusterPool fill (65,536 nodes x 254 pods through the numeric
 * batch API), in a module that imports nothing but the library: the memory
 * children (bench/workers/*) load it without the benchmark suite's modules
 * (tinybench, piscina, the baselines), which would add ~15 MiB of RSS that
 * is not ipcarve's.
 */
import { ClusterPool } from "../../src/pool/cluster-pool.js";

export const FILL8_NODES = 65536;
export const FILL8_PODS = 254;
const names = Array.from({ length: FILL8_NODES }, (_, i) => `node-${i}`);

export function fillClusterPool(): ClusterPool {
  const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 } });
  const out = new Uint32Array(FILL8_PODS);
  for (let i = 0; i < FILL8_NODES; i++) {
    const name = names[i] as string;
    pool.addNode(name);
    if (pool.allocateIPv4Batch(pool.handle(name), out, FILL8_PODS) !== FILL8_PODS) throw new Error("fill: short batch");
  }
  return pool;
}
