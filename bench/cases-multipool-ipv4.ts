/**
 * The numeric fast path with named pools against the single pool's, in the
 * same run: allocateIPv4 by node and pool handle (chunks on demand, the
 * watermark) and releaseIPv4, whole /24 chunks per node each way. The ratio
 * is the cost of the multi-pool bookkeeping per address.
 */
import { ClusterPool } from "../src/pool/cluster-pool.js";
import type { CaseSpec } from "./lib/measure.js";

const N = 64;
const PODS = 254;

export const multiPoolIPv4Case: CaseSpec = {
  name: "named pools: allocateIPv4(handle, pool) + releaseIPv4, next-fit (per address, both ops)",
  time: 300,
  impls: () => {
    const single = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 } });
    // a second pool named by handle; the release delay keeps a node's chunks between iterations
    const multi = new ClusterPool({
      pools: {
        default: { ipv4: { cidrs: ["10.0.0.0/9"], maskSize: 24 }, preAllocate: 0 },
        blue: { ipv4: { cidrs: ["10.128.0.0/9"], maskSize: 24 }, preAllocate: 8, releaseDelayMs: 3_600_000 },
      },
    });
    const hs = new Int32Array(N);
    const hm = new Int32Array(N);
    for (let n = 0; n < N; n++) {
      single.addNode(`node-${n}`);
      multi.addNode(`node-${n}`);
      hs[n] = single.handle(`node-${n}`);
      hm[n] = multi.handle(`node-${n}`);
    }
    const blue = multi.poolHandle("blue");
    const ips = new Uint32Array(N * PODS);
    return [
      {
        impl: "ipcarve-named-pools", ops: N * PODS, fn: () => {
          let k = 0;
          for (let n = 0; n < N; n++) { const h = hm[n] as number; for (let j = 0; j < PODS; j++) ips[k++] = multi.allocateIPv4(h, blue); }
          for (let i = 0; i < k; i++) multi.releaseIPv4(ips[i] as number);
        },
      },
      {
        impl: "single-pool", ops: N * PODS, fn: () => {
          let k = 0;
          for (let n = 0; n < N; n++) { const h = hs[n] as number; for (let j = 0; j < PODS; j++) ips[k++] = single.allocateIPv4(h); }
          for (let i = 0; i < k; i++) single.releaseIPv4(ips[i] as number);
        },
      },
    ];
  },
};
