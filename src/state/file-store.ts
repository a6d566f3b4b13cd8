/**
 * FileStore: the embedded durable default. A snapshot file at `path` plus
 * an append-only journal at `path + ".journal"`:
 *
 *   journal  = header (16 bytes: magic "IPCJRNL\0", u32 version, u32 generation)
 *              then records: u32 length, u32 CRC-32 of the payload, payload (JSON of a JournalRecord)
 *
 * Guarantees:
 * - Every mutation of the pool is appended with one write() before the call
 *   returns: an allocation returned to the caller survives kill -9 of the
 *   process (the bytes are in the OS page cache).
 * - fsync 'always': each record is also fdatasync'ed, so it survives power
 *   loss. 'interval' (default): at most `fsyncIntervalMs` of records can be
 *   lost to power loss. 'never': the OS decides.
 * - Recovery on open reads the snapshot, replays the journal records of the
 *   same generation in order, and cuts the journal at the first record that
 *   is torn (short) or fails its checksum: a crash mid-write loses at most
 *   that unacknowledged record.
 * - Compaction writes a new snapshot (generation + 1) to a temp file,
 *   fsyncs and renames it over the old one, then starts an empty journal of
 *   the new generation. A crash in between leaves a journal of the old
 *   generation, which recovery ignores: its records are in the snapshot.
 */
import { openSync, closeSync, writeSync, readFileSync, existsSync, renameSync, fsyncSync, fdatasyncSync, ftruncateSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { crc32 } from "./crc32.js";
import { decodeSnapshot } from "./snapshot.js";
import { isJournalRecord, type JournalRecord } from "./records.js";
import { errors, show } from "../errors.js";
import type { ClusterPoolOptions } from "../options.js";
import { ClusterPool } from "../cluster-pool.js";

const MAGIC = "IPCJRNL\0";
const VERSION = 1;
const HEADER = 16;

export interface FileStoreOptions {
  /** When journal writes are fsync'ed. @default 'interval' */
  readonly fsync?: "always" | "interval" | "never";
  /** With fsync 'interval': at most this long between fsyncs. @default 200 */
  readonly fsyncIntervalMs?: number;
  /** Compact once the journal holds this many records. @default 100000 */
  readonly compactEvery?: number;
  /** Runtime parts of the pool (clock, engine) on recovery. */
  readonly runtime?: Pick<ClusterPoolOptions, "clock" | "engine">;
}

export class FileStore {
  readonly path: string;
  readonly journalPath: string;
  readonly #fsync: "always" | "interval" | "never";
  readonly #interval: number;
  readonly #compactEvery: number;
  readonly #runtime: Pick<ClusterPoolOptions, "clock" | "engine">;
  #fd = -1;
  #generation = 0;
  #records = 0;
  #lastSync = 0;
  #pool: ClusterPool | undefined;
  #compacting = false;
  /** Records dropped from a torn tail at the last open. */
  tornRecords = 0;

  constructor(path: string, options: FileStoreOptions = {}) {
    if (typeof path !== "string" || path === "") throw errors.invalidOption("path", "must be a non-empty file path");
    if (typeof options !== "object" || options === null) throw errors.invalidOption("options", "must be an object");
    this.path = path;
    this.journalPath = `${path}.journal`;
    this.#fsync = options.fsync ?? "interval";
    if (!["always", "interval", "never"].includes(this.#fsync)) throw errors.invalidOption("options.fsync", "must be 'always', 'interval' or 'never'");
    this.#interval = options.fsyncIntervalMs ?? 200;
    if (typeof this.#interval !== "number" || !(this.#interval >= 0)) {
      throw errors.invalidOption("options.fsyncIntervalMs", `must be a non-negative number (got ${show(options.fsyncIntervalMs)})`);
    }
    this.#compactEvery = options.compactEvery ?? 100_000;
    if (typeof this.#compactEvery !== "number" || !Number.isInteger(this.#compactEvery) || this.#compactEvery < 1) {
      throw errors.invalidOption("options.compactEvery", `must be a positive integer (got ${show(options.compactEvery)})`);
    }
    this.#runtime = options.runtime ?? {};
  }

  /** Recovers the pool at this path, or makes a new one from `options`, and journals it from now on. */
  open(options: ClusterPoolOptions): ClusterPool {
    if (typeof options !== "object" || options === null) throw errors.invalidOption("options", "must be an object");
    const runtime = { ...this.#runtime, ...(options.clock ? { clock: options.clock } : {}), ...(options.engine ? { engine: options.engine } : {}) };
    let pool: ClusterPool;
    if (existsSync(this.path)) {
      const snap = decodeSnapshot(new Uint8Array(readFileSync(this.path)), `snapshot ${this.path}`);
      pool = ClusterPool.restore(readFileSync(this.path), runtime);
      this.#generation = snap.generation;
      this.#replayJournal(pool);
    } else {
      pool = new ClusterPool(options);
      this.#generation = 0;
      this.#writeSnapshot(pool);
      this.#resetJournal();
    }
    this.#pool = pool;
    pool._attachStore(this);
    // A crash can land between an effect and the ones it caused (a removal, then the pending
    // node it served). Catch up now, journaled: serve what fits, expire what is due.
    pool._afterRecovery();
    return pool;
  }

  #replayJournal(pool: ClusterPool): void {
    if (!existsSync(this.journalPath)) {
      this.#resetJournal();
      return;
    }
    const bytes = new Uint8Array(readFileSync(this.journalPath));
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const okHeader = bytes.length >= HEADER && new TextDecoder().decode(bytes.subarray(0, 8)) === MAGIC && dv.getUint32(8, true) === VERSION;
    if (!okHeader || dv.getUint32(12, true) !== this.#generation) {
      // no journal, a torn header, or one from before the last compaction: its records are in the snapshot
      this.#resetJournal();
      return;
    }
    let at = HEADER;
    let n = 0;
    while (at + 8 <= bytes.length) {
      const len = dv.getUint32(at, true);
      const sum = dv.getUint32(at + 4, true);
      const end = at + 8 + len;
      if (end > bytes.length) break; // torn: the last write did not finish
      if (crc32(bytes, at + 8, end) !== sum) {
        // A crash can only tear the last record. A bad record with more after it is damage,
        // and cutting there would drop acknowledged records: refuse, and keep the file as evidence.
        if (end < bytes.length) throw errors.corrupt(`journal ${this.journalPath}`, `record ${n + 1} at byte ${at} fails its checksum and ${bytes.length - end} bytes follow it`);
        break;
      }
      let rec: JournalRecord;
      try {
        rec = JSON.parse(new TextDecoder().decode(bytes.subarray(at + 8, at + 8 + len))) as JournalRecord;
      } catch {
        break;
      }
      try {
        pool._replay(rec);
      } catch (e) {
        throw errors.corrupt(`journal ${this.journalPath}`, `record ${n + 1} (${rec.op}) does not apply: ${e instanceof Error ? e.message : String(e)}`, e);
      }
      at += 8 + len;
      n++;
    }
    this.tornRecords = at < bytes.length ? 1 : 0;
    this.#records = n;
    this.#fd = openSync(this.journalPath, "r+");
    if (at < bytes.length) {
      ftruncateSync(this.#fd, at); // discard the torn tail
      fsyncSync(this.#fd);
    }
    this.#fdAppend();
  }

  #fdAppend(): void {
    closeSync(this.#fd);
    this.#fd = openSync(this.journalPath, "a");
  }

  /** A new, empty journal of the current generation (atomically, via rename). */
  #resetJournal(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    const tmp = `${this.journalPath}.tmp`;
    const fd = openSync(tmp, "w");
    const header = new Uint8Array(HEADER);
    header.set(new TextEncoder().encode(MAGIC));
    const dv = new DataView(header.buffer);
    dv.setUint32(8, VERSION, true);
    dv.setUint32(12, this.#generation, true);
    writeSync(fd, header);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.journalPath);
    this.#syncDir();
    this.#fd = openSync(this.journalPath, "a");
    this.#records = 0;
  }

  #writeSnapshot(pool: ClusterPool): void {
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, "w");
    writeSync(fd, pool.snapshot(this.#generation));
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.path);
    this.#syncDir();
  }

  #syncDir(): void {
    try {
      const fd = openSync(dirname(this.path), "r");
      fsyncSync(fd);
      closeSync(fd);
    } catch {
      // some filesystems do not fsync directories
    }
  }

  /** Appends one record with a single write(); called by the pool before a mutating call returns. */
  append(rec: JournalRecord): void {
    if (!isJournalRecord(rec)) throw errors.invalidArgument("append(rec)", rec, "a journal record");
    if (this.#fd < 0) throw errors.invalidOption("FileStore", `${this.path} is closed`);
    const payload = new TextEncoder().encode(JSON.stringify(rec));
    const buf = new Uint8Array(8 + payload.length);
    const dv = new DataView(buf.buffer);
    dv.setUint32(0, payload.length, true);
    dv.setUint32(4, crc32(payload), true);
    buf.set(payload, 8);
    writeSync(this.#fd, buf);
    this.#records++;
    if (this.#fsync === "always") fdatasyncSync(this.#fd);
    else if (this.#fsync === "interval") {
      const now = Date.now();
      if (now - this.#lastSync >= this.#interval) {
        fdatasyncSync(this.#fd);
        this.#lastSync = now;
      }
    }
    if (this.#records >= this.#compactEvery && !this.#compacting && this.#pool) this.compact(this.#pool);
  }

  /** Snapshot of generation + 1, then an empty journal. */
  compact(pool: ClusterPool): void {
    if (!(pool instanceof ClusterPool)) throw errors.invalidArgument("compact(pool)", pool, "a ClusterPool");
    this.#compacting = true;
    try {
      this.#generation++;
      this.#writeSnapshot(pool);
      this.#resetJournal();
    } finally {
      this.#compacting = false;
    }
  }

  /** Records in the journal now. */
  get journalRecords(): number {
    return this.#records;
  }

  /** Bytes of the snapshot and the journal. */
  sizes(): { snapshot: number; journal: number } {
    return { snapshot: existsSync(this.path) ? statSync(this.path).size : 0, journal: existsSync(this.journalPath) ? statSync(this.journalPath).size : 0 };
  }

  close(): void {
    if (this.#fd < 0) return;
    fsyncSync(this.#fd);
    closeSync(this.#fd);
    this.#fd = -1;
  }
}
