// The three ways to write named pools agree: CiliumPodIPPool objects (a
// List), Cilium's Helm values in multi-pool mode, and ipcarve's pools:
// section give the same pools, as new ClusterPool({ pools }) resolves them.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { parseConfig } from "../../src/config/load.js";
import { parsePodIPPools } from "../../src/config/pod-ip-pool.js";
import { resolveMultiOptions, poolJson, type IpPoolSpec } from "../../src/pool/multi/options.js";

const NAMES = ["default", "blue", "gpu-a", "red.b"];

/** Pool i: 10.i.0.0/16 (and 10.(100+i).0.0/p), fd00:i::/112: disjoint by construction. */
const poolArb = (i: number) => fc.record({
  v4mask: fc.integer({ min: 20, max: 28 }),
  second: fc.option(fc.integer({ min: 16, max: 20 }), { nil: undefined }),
  v6mask: fc.option(fc.integer({ min: 116, max: 124 }), { nil: undefined }),
  pre: fc.integer({ min: 0, max: 32 }),
}).map((p): IpPoolSpec & { pre: number } => ({
  ipv4: { cidrs: [`10.${i}.0.0/16`, ...(p.second !== undefined ? [`10.${100 + i}.0.0/${p.second}`] : [])], maskSize: p.v4mask },
  ...(p.v6mask !== undefined ? { ipv6: { cidrs: [`fd00:${i}::/112`], maskSize: p.v6mask } } : {}),
  pre: p.pre,
}));

const setArb = fc.integer({ min: 1, max: NAMES.length }).chain((n) =>
  fc.tuple(fc.tuple(...NAMES.slice(0, n).map((_, i) => poolArb(i))), fc.boolean()));

const resolved = (pools: Readonly<Record<string, IpPoolSpec>>): unknown => resolveMultiOptions({ pools }).pools.map(poolJson);

describe("named pools: three shapes, one meaning", () => {
  it("a CiliumPodIPPool List, Helm multi-pool values and ipcarve pools: resolve to the same pools", () => {
    fc.assert(fc.property(setArb, ([specs, withPre]) => {
      const names = NAMES.slice(0, specs.length);
      const fam = (s: IpPoolSpec) => ({ ipv4: s.ipv4, ...(s.ipv6 ? { ipv6: s.ipv6 } : {}) });
      // the agent's setting names every pool, or is absent (then Cilium's default=8)
      const pre = withPre ? names.map((n, i) => `${n}=${specs[i]?.pre}`).join(",") : undefined;

      const list = { apiVersion: "v1", kind: "List", items: names.map((n, i) => ({ apiVersion: "cilium.io/v2alpha1", kind: "CiliumPodIPPool", metadata: { name: n }, spec: fam(specs[i] as IpPoolSpec) })) };
      const a = parsePodIPPools("p.yaml", JSON.stringify(list), pre !== undefined ? { preAllocation: pre } : {}).pools;

      const helm = { ipam: { mode: "multi-pool", ...(pre !== undefined ? { multiPoolPreAllocation: pre } : {}), operator: { autoCreateCiliumPodIPPools: Object.fromEntries(names.map((n, i) => [n, fam(specs[i] as IpPoolSpec)])) } }, ipv6: { enabled: true } };
      const b = parseConfig("v.yaml", JSON.stringify(helm));
      expect(b.warnings).toEqual([]);

      const own = { pools: Object.fromEntries(names.map((n, i) => [n, { ...fam(specs[i] as IpPoolSpec), ...(withPre ? { preAllocate: specs[i]?.pre } : {}) }])) };
      const c = parseConfig("c.yaml", JSON.stringify(own));

      const want = resolved(a);
      expect(resolved(b.pools ?? {})).toEqual(want);
      expect(resolved(c.pools ?? {})).toEqual(want);
      // without the setting, default pre-allocates 8 and the others 0 (Cilium's default=8)
      if (!withPre) expect((want as { preAllocate: number }[]).map((p) => p.preAllocate)).toEqual(names.map((n) => (n === "default" ? 8 : 0)));
    }), { numRuns: 200 });
  });
});
