// Shared test helpers.
import { afterEach, beforeAll, afterAll, expect } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IpamError, type CheckOptions, type CheckReport } from "../src/index.js";

/** The IpamError fn throws; fails the test if it throws nothing or something else. */
export function err(fn: () => unknown): IpamError {
  try {
    fn();
  } catch (e) {
    if (e instanceof IpamError) return e;
    throw e;
  }
  throw new Error("expected an IpamError");
}

/** check(options) of a pool made by `make` reports `want` and changes nothing (the snapshot bytes are the same); the pool is disposed. */
export function expectCheck(
  make: () => { check(o?: CheckOptions): CheckReport; snapshot(): Uint8Array; dispose(): void },
  options: CheckOptions | undefined,
  want: Partial<CheckReport>,
): void {
  const pool = make();
  try {
    const before = pool.snapshot();
    expect(pool.check(options)).toEqual(want);
    expect(pool.snapshot()).toEqual(before); // a check changes nothing
  } finally {
    pool.dispose();
  }
}

/** The IpamError code fn throws, or undefined if it returns. */
export function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof IpamError) return e.code;
    throw e;
  }
  return undefined;
}

/**
 * CRC-32 (IEEE), bit by bit: an independent reference, so that tests can
 * forge well-framed records without trusting src/state/crc32.ts.
 */
export function crc(b: Uint8Array): number {
  let c = -1;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ -1) >>> 0;
}

/** A journal record as ipcarve frames it (src/state/journal.ts), forged with the reference CRC: length, payload CRC, header CRC, payload. */
export function frame(payload: Uint8Array): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt32LE(payload.length, 0);
  head.writeUInt32LE(crc(payload), 4);
  head.writeUInt32LE(crc(head.subarray(0, 8)), 8);
  return Buffer.concat([head, payload]);
}

/**
 * A `tmpPath()` for a test file: each call makes a new temporary folder and
 * returns a store path in it ("<folder>/pool.ipc"); the folders are removed
 * after each test.
 */
export function tmpStores(prefix: string): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), `ipcarve-${prefix}-`));
    dirs.push(d);
    return join(d, "pool.ipc");
  };
}

/**
 * A real full disk: a 64 KiB tmpfs mounted for the file's tests (beforeAll)
 * and unmounted after them. Root only: otherwise `path` stays undefined and
 * `why` says why (the tests print it and skip; CI runs as root).
 */
export function tinyTmpfs(prefix: string): { readonly path: string | undefined; readonly why: string } {
  const disk = { path: undefined as string | undefined, why: "" };
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir], { stdio: "pipe" });
      disk.path = dir;
    } catch (e) {
      disk.why = `cannot mount a 64 KiB tmpfs here (${(e as Error).message.split("\n")[0]}); run as root, as CI does`;
      rmSync(dir, { recursive: true, force: true });
    }
  });
  afterAll(() => {
    if (disk.path === undefined) return;
    execFileSync("umount", [disk.path]);
    rmSync(disk.path, { recursive: true, force: true });
  });
  return disk;
}
