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
import { ClusterPool, IpamError } from "../src/index.js";
import type { ClusterPoolOptions } from "../src/index.js";
import { err, tinyTmpfs } from "./helpers.js";

const OPTS: ClusterPoolOptions = {
  ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 }, // 256 node subnets of 254 pods
  ipv6: { cidrs: ["fd00::/104"], maskSize: 120 },
};

const disk = tinyTmpfs("ipcarve-full-");

describe("a 64 KiB tmpfs filled until full", () => {
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
