/**
 * Disk full and other filesystem errors (src/pool/file-store.ts): a call's
 * records are written whole, or the call throws IO_ERROR naming the path and
 * the errno and leaves the pool exactly as it was (snapshot() bytes);
 * nothing is acknowledged that is not on disk.
 *
 * The full disk is real: a 64 KiB tmpfs, mounted by the test (root only;
 * without root the test says why and is skipped; CI runs as root).
 */
import { describe, it, expect } from "vitest";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readdirSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { ClusterPool, IpamError, registerMetrics } from "../src/index.js";
import type { ClusterPoolOptions } from "../src/index.js";
import { err, tinyTmpfs } from "./helpers.js";

const OPTS: ClusterPoolOptions = {
  ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 }, // 256 node subnets of 254 pods
  ipv6: { cidrs: ["fd00::/104"], maskSize: 120 },
};

const disk = tinyTmpfs("ipcarve-full-");

describe("a 64 KiB tmpfs filled until full", () => {
  it("with metrics registered, an allocation undone by IO_ERROR counts as an IO_ERROR failure, not as an allocation; an undone release is not counted", async (ctx) => {
    const mnt = disk.path;
    if (mnt === undefined) {
      console.warn(`skipped: ${disk.why}`);
      return ctx.skip();
    }
    const path = join(mnt, "metered.ipc");
    const filler = join(mnt, "filler");
    writeFileSync(filler, Buffer.alloc(16 * 1024, 1));
    const pool = ClusterPool.open(path, { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } }, { compactEvery: 40, fsync: "always" });
    const registry = new Registry();
    registerMetrics(pool, registry);
    // per entry point: calls that returned an address (or released one), calls that threw IO_ERROR
    const ok = { allocate: 0, allocateIPv4: 0, releaseIPv4: 0 };
    const io = { allocate: 0, allocateIPv4: 0, releaseIPv4: 0 };
    const held: number[] = []; // addresses from allocateIPv4, for releaseIPv4
    let node = "";
    let onNode = 128;
    try {
      for (let i = 0; i < 4000 && io.allocate + io.allocateIPv4 + io.releaseIPv4 < 60; i++) {
        const which = i % 5 === 4 && held.length > 0 ? "releaseIPv4" : i % 2 === 0 ? "allocate" : "allocateIPv4";
        if (onNode >= 128) {
          // a new node every 128 pods: none fills up
          try {
            pool.addNode(`n${i}`);
            node = `n${i}`;
            onNode = 0;
          } catch (e) {
            if (!(e instanceof IpamError) || e.code !== "IO_ERROR") throw e;
            continue; // a node failure: no pod call this time
          }
        }
        try {
          if (which === "allocate") pool.allocate(node, `ns/p${i}`);
          else if (which === "allocateIPv4") held.push(pool.allocateIPv4(pool.handle(node)));
          else {
            expect(pool.releaseIPv4(held.at(-1) as number)).toBe(true);
            held.pop();
          }
          ok[which]++;
          if (which !== "releaseIPv4") onNode++;
        } catch (e) {
          if (!(e instanceof IpamError) || e.code !== "IO_ERROR") throw e;
          io[which]++;
        }
      }
      expect(io.allocateIPv4).toBeGreaterThan(0); // the disk filled under every entry point
      expect(io.allocate).toBeGreaterThan(0);
      expect(io.releaseIPv4).toBeGreaterThan(0);
      const count = async (re: RegExp): Promise<number> => Number(re.exec(await registry.metrics())?.[1] ?? NaN);
      const PODS = /^ipcarve_allocations_total\{[^}]*kind="pod"[^}]*\} (\d+)$/m;
      const IO = /^ipcarve_allocation_failures_total\{[^}]*kind="pod"[^}]*code="IO_ERROR"[^}]*\} (\d+)$/m;
      // every counted allocation is one the pool holds: stats() recounts them from the bitmaps
      expect(await count(PODS)).toBe(ok.allocate + ok.allocateIPv4);
      expect(pool.stats().pods).toBe(ok.allocate + ok.allocateIPv4 - ok.releaseIPv4);
      expect(await count(IO)).toBe(io.allocate + io.allocateIPv4); // a release is no allocation: its failures are not counted
      expect(await count(/^ipcarve_releases_total\{[^}]*\} (\d+)$/m)).toBe(ok.releaseIPv4);
      // space back: counting goes on (the rollbacks swapped the pool's state for the one on disk)
      unlinkSync(filler);
      expect(pool.allocateIPv4(pool.handle(pool.nodeNames()[0] as string))).toBeGreaterThan(0);
      expect(await count(PODS)).toBe(ok.allocate + ok.allocateIPv4 + 1);
      // and on without the store (close() leaves the pool in memory): the core counts itself
      pool.close();
      expect(pool.allocateIPv4(pool.handle(pool.nodeNames()[0] as string))).toBeGreaterThan(0);
      expect(await count(PODS)).toBe(ok.allocate + ok.allocateIPv4 + 2);
    } finally {
      pool.close();
      for (const f of readdirSync(mnt)) if (f.startsWith("metered.ipc") || f === "filler") rmSync(join(mnt, f), { recursive: true, force: true });
    }
  });

  it("every failed call is IO_ERROR (ENOSPC, naming the path) and changes nothing; every acknowledged call survives reopen", (ctx) => {
    const mnt = disk.path;
    if (mnt === undefined) {
      console.warn(`skipped: ${disk.why}`);
      return ctx.skip();
    }
    const path = join(mnt, "pool.ipc");
    const filler = join(mnt, "filler");
    writeFileSync(filler, Buffer.alloc(16 * 1024, 1)); // space to give back later
    const pool = ClusterPool.open(path, OPTS, { compactEvery: 40, fsync: "always" });
    const acked = new Map<string, { ipv4?: string; ipv6?: string }>();
    const nodes: string[] = [];
    let s = 7;
    const rand = (n: number): number => ((s = (s * 1103515245 + 12345) % 2 ** 31), s % n);
    let failures = 0;
    let afterFull = 0;
    const step = (i: number): void => {
      const before = pool.snapshot();
      const kind = nodes.length === 0 || i % 9 === 0 ? "node" : i % 5 === 0 && acked.size > 0 ? "release" : "pod";
      try {
        if (kind === "node") {
          pool.addNode(`node-${i}`);
          nodes.push(`node-${i}`);
        } else if (kind === "release") {
          const owner = [...acked.keys()][rand(acked.size)] as string;
          pool.releaseOwner(owner);
          acked.delete(owner);
        } else {
          const owner = `ns/pod-${i}`;
          acked.set(owner, pool.allocate(nodes[rand(nodes.length)] as string, owner));
        }
      } catch (e) {
        if (!(e instanceof IpamError) || e.code !== "IO_ERROR") throw e;
        failures++;
        expect(e.message).toMatch(new RegExp(`^ipcarve: (append to ${path}\\.journal|create ${path}(\\.journal)?\\.tmp|write ${path}(\\.journal)?\\.tmp) failed: ENOSPC$`));
        expect(Buffer.from(pool.snapshot()).equals(Buffer.from(before)), `call ${i} (${kind}) changed the pool`).toBe(true);
      }
    };
    let i = 0;
    try {
      for (; i < 4000 && failures < 60; i++) step(i);
      expect(failures).toBe(60); // the disk did fill up
      expect(pool.verify()).toEqual([]);
      // give space back: the same pool carries on, with no reopen
      unlinkSync(filler);
      const failedBefore = failures;
      for (const end = i + 40; i < end; i++) step(i);
      afterFull = failures - failedBefore;
      expect(afterFull).toBe(0);
    } finally {
      pool.close();
    }

    const re = ClusterPool.open(path, OPTS);
    try {
      expect(re.verify()).toEqual([]);
      expect(re.nodeNames()).toEqual(nodes);
      for (const [owner, ips] of acked) expect(re.addressesOf(owner).sort(), owner).toEqual([ips.ipv4, ips.ipv6].sort());
    } finally {
      re.close();
    }
    expect(readdirSync(mnt).filter((f) => f.endsWith(".tmp"))).toEqual([]); // no temp files left behind
  });

  it("a new store on a full disk is IO_ERROR, leaves no lock and no half-made files", (ctx) => {
    const mnt = disk.path;
    if (mnt === undefined) {
      console.warn(`skipped: ${disk.why}`);
      return ctx.skip();
    }
    const dir = join(mnt, "new");
    mkdirSync(dir);
    const fill = join(mnt, "fill");
    let size = 64 * 1024;
    while (size >= 512) {
      try {
        writeFileSync(`${fill}-${size}`, Buffer.alloc(size));
      } catch {
        size >>= 1;
      }
    }
    try {
      const path = join(dir, "pool.ipc");
      const e = err(() => ClusterPool.open(path, OPTS));
      expect(e.code).toBe("IO_ERROR");
      expect(e.message).toContain(dir);
      expect(e.message).toMatch(/ENOSPC$/);
      expect(readdirSync(dir).filter((f) => f !== "pool.ipc.lock")).toEqual([]);
      const lock = readdirSync(dir).includes("pool.ipc.lock") ? readdirSync(join(dir, "pool.ipc.lock")) : [];
      expect(lock).toEqual([]);
    } finally {
      for (const f of readdirSync(mnt)) if (f.startsWith("fill")) unlinkSync(join(mnt, f));
    }
  });
});

describe("other filesystem errors are IO_ERROR naming the path", () => {
  const base = (): string => mkdtempSync(join(tmpdir(), "ipcarve-io-"));
  const cases: { name: string; path: (b: string) => string; message: (b: string) => string }[] = [
    { name: "EISDIR: the store path is a folder", path: (b) => (mkdirSync(join(b, "dir")), join(b, "dir")), message: (b) => `read ${join(b, "dir")} failed: EISDIR` },
    { name: "ENOTDIR: a parent is a file", path: (b) => (writeFileSync(join(b, "f"), ""), join(b, "f", "pool.ipc")), message: (b) => `create folder ${join(b, "f")} failed: ENOTDIR` },
    {
      name: "ENAMETOOLONG: a 300-character file name",
      path: (b) => join(b, "x".repeat(300)),
      message: (b) => `create the lock folder ${join(b, "x".repeat(300))}.lock failed: ENAMETOOLONG`,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const b = base();
      try {
        const e = err(() => ClusterPool.open(c.path(b), OPTS));
        expect(e.code).toBe("IO_ERROR");
        expect(e.message).toBe(`ipcarve: ${c.message(b)}`);
      } finally {
        rmSync(b, { recursive: true, force: true });
      }
    });
  }
});
