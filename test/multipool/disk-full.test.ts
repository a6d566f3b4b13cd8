/**
 * A pool with named pools on a full disk (a real 64 KiB tmpfs, as
 * test/disk-full.test.ts; root only, else skipped saying why): a call whose
 * record cannot be written throws IO_ERROR and leaves the pool as it was
 * (snapshot() bytes); every acknowledged call survives reopen. Metrics
 * registered before keep counting across the rollbacks (the pool put back
 * as on disk is another state object).
 */
import { describe, it, expect } from "vitest";
import { writeFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { Registry } from "prom-client";
import { ClusterPool, IpamError, registerMetrics } from "../../src/index.js";
import { tinyTmpfs } from "../helpers.js";

const disk = tinyTmpfs("ipcarve-mpfull-");

const OPTS = {
  pools: {
    default: { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 26 }, preAllocate: 8, releaseDelayMs: 0 },
    blue: { ipv4: { cidrs: ["10.1.0.0/16"], maskSize: 28 }, preAllocate: 0, releaseDelayMs: 0 },
  },
};

describe("named pools on a 64 KiB tmpfs filled until full", () => {
  it("every failed write is IO_ERROR and changes nothing; every acknowledged call survives reopen", async (ctx) => {
    const mnt = disk.path;
    if (mnt === undefined) {
      console.warn(`skipped: ${disk.why}`);
      return ctx.skip();
    }
    const path = join(mnt, "pool.ipc");
    const filler = join(mnt, "filler");
    writeFileSync(filler, Buffer.alloc(16 * 1024, 1));
    const pool = ClusterPool.open(path, OPTS, { compactEvery: 40, fsync: "always" });
    const registry = new Registry();
    registerMetrics(pool, registry);
    const allocated = { default: 0, blue: 0 }; // allocate calls that returned, per pool
    const ioFailed = { default: 0, blue: 0 }; // allocate calls that threw IO_ERROR, per pool
    let released = 0;
    const acked = new Map<string, string>();
    const nodes = new Set<string>();
    let failures = 0;
    try {
    for (let i = 0; i < 3000 && failures < 20; i++) {
      const before = pool.snapshot();
      const owner = `ns/p${i}`;
      const node = `n${Math.floor(i / 20)}`;
      try {
        if (!nodes.has(node)) {
          pool.addNode(node);
          nodes.add(node);
        }
        const which = i % 3 === 0 ? "blue" : "default";
        let ipv4: string | undefined;
        try {
          ipv4 = pool.allocate(node, owner, { pool: which }).ipv4;
        } catch (e) {
          if (e instanceof IpamError && e.code === "IO_ERROR") ioFailed[which]++;
          throw e;
        }
        allocated[which]++;
        acked.set(owner, ipv4 as string);
        if (i % 7 === 0) {
          const gone = `ns/p${i - 3}`;
          if (acked.has(gone)) {
            pool.releaseOwner(gone);
            acked.delete(gone);
            released++;
          }
        }
      } catch (e) {
        if (!(e instanceof IpamError) || e.code !== "IO_ERROR") throw e;
        expect(e.message).toContain(mnt);
        failures++;
        expect(Buffer.from(pool.snapshot()).equals(Buffer.from(before))).toBe(true);
      }
    }
      // the counters: every returned allocate under its pool, every IO_ERROR as a failure, every release
      const metrics = await registry.getMetricsAsJSON();
      const sample = (name: string, labels: Record<string, string>): number =>
        (metrics.find((m) => m.name === name)?.values as { labels: Record<string, string | number>; value: number }[])
          .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0);
      for (const which of ["default", "blue"] as const) {
        expect(sample("ipcarve_allocations_total", { pool: which, kind: "pod" }), which).toBe(allocated[which]);
        expect(sample("ipcarve_allocation_failures_total", { pool: which, kind: "pod", code: "IO_ERROR" }), which).toBe(ioFailed[which]);
      }
      expect(sample("ipcarve_releases_total", {})).toBe(released); // one address per owner (IPv4 pools)
    } finally {
      pool.close();
    }
    expect(failures).toBeGreaterThan(0); // the disk did fill
    unlinkSync(filler);
    const again = ClusterPool.open(path, OPTS);
    for (const [owner, ip] of acked) expect(again.lookup(ip)?.owner, owner).toBe(owner);
    expect(again.verify()).toEqual([]);
    again.close();
  });
});
