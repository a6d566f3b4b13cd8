/**
 * What registerMetrics costs an allocation (issue 11: within 2% of the same
 * case without metrics). Three identical pools race in one Bench: one with
 * metrics registered (its allocations are counted), one without, and a
 * second one without, run last, whose ratio to the first shows how much the
 * machine alone moves a figure between two tasks of one run.
 */
import { Registry } from "prom-client";
import { ClusterPool } from "../src/pool/cluster-pool.js";
import { registerMetrics } from "../src/metrics/prometheus.js";
import { type CaseSpec, type ImplSpec, now } from "./lib/measure.js";

const N = 64;
const PODS = 254;
const OPTIONS = { ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 } };

const timed = (t0: number): { overriddenDuration: number } => ({ overriddenDuration: now() - t0 });

function pools(): { plain: ClusterPool; metered: ClusterPool; rerun: ClusterPool; names: string[] } {
  const names = Array.from({ length: N }, (_, n) => `node-${n}`);
  const plain = new ClusterPool(OPTIONS);
  const metered = new ClusterPool(OPTIONS);
  const rerun = new ClusterPool(OPTIONS);
  for (const p of [plain, metered, rerun]) for (const n of names) p.addNode(n);
  registerMetrics(metered, new Registry());
  return { plain, metered, rerun, names };
}

const TARGET = { kind: "rel", of: "ipcarve", factor: 1.02, label: "<= 1.02x without metrics" } as const;

/** allocate(node, owner) of 64 nodes x 254 pods, timed; the release of them all is not. */
export const metricsAllocateCase: CaseSpec = {
  name: "metrics: allocate(node, owner) with registerMetrics vs without",
  time: 600,
  impls: () => {
    const { plain, metered, rerun, names } = pools();
    const owners = Array.from({ length: N * PODS }, (_, k) => `default/pod-${k}`);
    const ips: string[] = new Array<string>(N * PODS).fill("");
    const fn = (p: ClusterPool) => (): { overriddenDuration: number } => {
      const t0 = now();
      let k = 0;
      for (let n = 0; n < N; n++) {
        const node = names[n] as string;
        for (let j = 0; j < PODS; j++, k++) ips[k] = p.allocate(node, owners[k] as string).ipv4 as string;
      }
      const res = timed(t0);
      for (let i = 0; i < k; i++) p.release(ips[i] as string);
      return res;
    };
    const impls: ImplSpec[] = [
      { impl: "ipcarve", ops: N * PODS, fn: fn(plain) },
      { impl: "ipcarve+metrics", ops: N * PODS, fn: fn(metered), target: TARGET },
      { impl: "ipcarve-rerun", ops: N * PODS, fn: fn(rerun) },
    ];
    return impls;
  },
};

/** allocateIPv4(handle) per call (the cheapest allocation, so the counting shows most), timed; the batch release is not. */
export const metricsIPv4Case: CaseSpec = {
  name: "metrics: allocateIPv4(handle) with registerMetrics vs without",
  time: 600,
  impls: () => {
    const { plain, metered, rerun, names } = pools();
    const out = new Uint32Array(N * PODS);
    const fn = (p: ClusterPool) => {
      const handles = names.map((n) => p.handle(n));
      return (): { overriddenDuration: number } => {
        const t0 = now();
        let k = 0;
        for (let n = 0; n < N; n++) {
          const h = handles[n] as number;
          for (let j = 0; j < PODS; j++) out[k++] = p.allocateIPv4(h);
        }
        const res = timed(t0);
        p.releaseIPv4Batch(out, k);
        return res;
      };
    };
    const impls: ImplSpec[] = [
      { impl: "ipcarve", ops: N * PODS, fn: fn(plain) },
      { impl: "ipcarve+metrics", ops: N * PODS, fn: fn(metered), target: TARGET },
      { impl: "ipcarve-rerun", ops: N * PODS, fn: fn(rerun) },
    ];
    return impls;
  },
};
