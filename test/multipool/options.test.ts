// Single-pool options with named pools: the ones that have no meaning there
// are refused with a message that says why and what to use instead.
import { describe, it, expect } from "vitest";
import { ClusterPool } from "../../src/index.js";
import { err } from "../helpers.js";

describe("single-pool options with no meaning for named pools", () => {
  // Cilium multi-pool has no overflow policy and no cap on big subnets: a node takes another chunk instead
  const rows: [string, Record<string, unknown>, string][] = [
    ["overflow 'share'", { overflow: "share" }, "ipcarve: options.overflow has no meaning with options.pools: a node never overflows, it takes another chunk of its pool (Cilium multi-pool); keep addresses ready with the pool's preAllocate and grow a pool with addPoolCidr"],
    ["overflow { smaller }", { overflow: { smaller: 28 } }, "ipcarve: options.overflow has no meaning with options.pools: a node never overflows, it takes another chunk of its pool (Cilium multi-pool); keep addresses ready with the pool's preAllocate and grow a pool with addPoolCidr"],
    ["maxNodeSubnets", { maxNodeSubnets: 16 }, "ipcarve: options.maxNodeSubnets has no meaning with options.pools: every chunk has its pool's maskSize and a node takes as many as its pods need (Cilium multi-pool); bound a pool by its CIDRs, or give nodes a pool of their own with nodeSelector"],
  ];
  for (const [name, extra, message] of rows) {
    it(name, () => {
      const e = err(() => new ClusterPool({ pools: { default: { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 28 } } }, ...extra } as never));
      expect([e.code, e.path, e.message]).toEqual(["INVALID_OPTION", `options.${Object.keys(extra)[0]}`, message]);
    });
  }
});
