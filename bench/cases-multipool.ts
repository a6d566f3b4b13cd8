/**
 * Named pools (Cilium multi-pool, issue 11) on the string API: what chunks
 * on demand and the watermark cost an allocation and a release, against
 * the single pool (one /24 per node) and a plain-TypeScript multi-pool
 * (bench/lib/map-multi.ts) in the same Bench. 64 nodes x 240 pods: with /27
 * chunks (30 addresses) and preAllocate 8, a node fills 8 chunks and holds
 * a 9th; the clock stands still, so released chunks stay on their node and
 * every iteration after the first reuses them (steady state).
 */
import { ClusterPool } from "../src/pool/cluster-pool.js";
import { type CaseSpec, type ImplSpec, now } from "./lib/measure.js";
import { MapMultiPool } from "./lib/map-multi.js";
import { BASE4 } from "./cases-ops.js";

const N = 64;
const PODS = 240;
const CHUNKS = { cidrs: ["10.0.0.0/8"], maskSize: 27 } as const;
const timed = (t0: number): { overriddenDuration: number } => ({ overriddenDuration: now() - t0 });

export function multiPoolCase(op: "allocate" | "release"): CaseSpec {
  return {
    name: op === "allocate" ? "named pools: allocate(node, owner, { pool }) -> ip, /27 chunks on demand" : "named pools: release(ip), /27 chunks",
    time: 400,
    impls: () => {
      const names = Array.from({ length: N }, (_, n) => `node-${n}`);
      const owners = Array.from({ length: N * PODS }, (_, k) => `default/pod-${k}`);
      const ips: string[] = new Array<string>(N * PODS).fill("");
      const clock = (): number => 0;
      const single = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 } });
      const pools = new ClusterPool({ pools: { default: { ipv4: CHUNKS, preAllocate: 8 } }, clock });
      const named = new ClusterPool({
        pools: { default: { ipv4: { cidrs: ["172.16.0.0/12"], maskSize: 24 } }, green: { ipv4: CHUNKS, preAllocate: 8 } },
        clock,
      });
      const map = new MapMultiPool(BASE4, 8, 8);
      for (const n of names) { single.addNode(n); pools.addNode(n); named.addNode(n); map.addNode(n); }
      const green = { pool: "green" } as const;

      const mk = (alloc: (node: string, owner: string) => string, release: (ip: string) => unknown) => {
        const a = (): void => {
          let k = 0;
          for (let n = 0; n < N; n++) { const node = names[n] as string; for (let j = 0; j < PODS; j++, k++) ips[k] = alloc(node, owners[k] as string); }
        };
        const r = (): void => { for (let k = 0; k < N * PODS; k++) release(ips[k] as string); };
        return op === "allocate"
          ? () => { const t0 = now(); a(); const res = timed(t0); r(); return res; }
          : () => { a(); const t0 = now(); r(); return timed(t0); };
      };
      const impls: ImplSpec[] = [
        { impl: "ipcarve-pools", ops: N * PODS, fn: mk((n, o) => pools.allocate(n, o).ipv4 as string, (ip) => pools.release(ip)), target: { kind: "rel", of: "ipcarve-single", factor: 1.5, label: "<= 1.5x single pool" } },
        { impl: "ipcarve-pools-named", ops: N * PODS, fn: mk((n, o) => named.allocate(n, o, green).ipv4 as string, (ip) => named.release(ip)) },
        { impl: "ipcarve-single", ops: N * PODS, fn: mk((n, o) => single.allocate(n, o).ipv4 as string, (ip) => single.release(ip)) },
        { impl: "map-multi-ts", ops: N * PODS, fn: mk((n, o) => map.allocate(n, o), (ip) => map.release(ip)) },
      ];
      return impls;
    },
  };
}
