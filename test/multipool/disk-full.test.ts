/**
 * A pool with named pools on a full disk (a real 64 KiB tmpfs, as
 * test/disk-full.test.ts; root only, else skipped saying why): a call whose
 * record cannot be written throws IO_ERROR and leaves the pool as it was
 * (snapshot() bytes); every acknowledged call survives reopen.
 */
import { describe, it, expect } from "vitest";
import { writeFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { ClusterPool, IpamError } from "../../src/index.js";
import { tinyTmpfs } from "../helpers.js";

const disk = tinyTmpfs("ipcarve-mpfull-");

const OPTS = {
  pools: {
    default: { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 26 }, preAllocate: 8, releaseDelayMs: 0 },
    blue: { ipv4: { cidrs: ["10.1.0.0/16"], maskSize: 28 }, preAllocate: 0, releaseDelayMs: 0 },
  },
};

describe("named pools on a 64 KiB tmpfs filled until full", () => {
  it("every failed write is IO_ERROR and changes nothing; every acknowledged call survives reopen", (ctx) => {
    const mnt = disk.path;
    if (mnt === undefined) {
      console.warn(`skipped: ${disk.why}`);
      return ctx.skip();
    }
    const path = join(mnt, "pool.ipc");
    const filler = join(mnt, "filler");
    writeFileSync(filler, Buffer.alloc(16 * 1024, 1));
    const pool = ClusterPool.open(path, OPTS, { compactEvery: 40, fsync: "always" });
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
        const { ipv4 } = pool.allocate(node, owner, { pool: i % 3 === 0 ? "blue" : "default" });
        acked.set(owner, ipv4 as string);
        if (i % 7 === 0) {
          const gone = `ns/p${i - 3}`;
          if (acked.has(gone)) {
            pool.releaseOwner(gone);
            acked.delete(gone);
          }
        }
      } catch (e) {
        if (!(e instanceof IpamError) || e.code !== "IO_ERROR") throw e;
        expect(e.message).toContain(mnt);
        failures++;
        expect(Buffer.from(pool.snapshot()).equals(Buffer.from(before))).toBe(true);
      }
    }
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
