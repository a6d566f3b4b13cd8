/**
 * FileStore: durable state in files, for any state that can be written as a
 * snapshot and changed by journal records (a `Durable` kind: ClusterPool's
 * is in src/pool/cluster-pool.ts). This module knows bytes and files, not
 * pools. A snapshot file at `path`, an
 * append-only journal at `path + ".journal"` (format: ./journal.ts) and a
 * lock folder at `path + ".lock"` (./lock.ts).
 *
 * Guarantees:
 * - One writer. `open` takes the store's lock; a second open, from this
 *   process or another, is LOCKED naming the holder's pid. A holder killed
 *   with SIGKILL does not block the next open. `readOnly` opens take no
 *   lock and write nothing.
 * - Acknowledged means whole on disk. The records of one call are written
 *   with one write() (repeated after a short write) before the call
 *   returns, so an allocation returned to the caller survives kill -9. If
 *   the write fails (ENOSPC, EIO, …) the journal is cut back to where the
 *   call began, the pool is put back to the state on disk (which is the
 *   state before the call), and the call throws IO_ERROR naming the path and
 *   the errno: nothing is acknowledged that is not on disk, and a call that
 *   threw changed nothing.
 * - fsync 'always': each call's records are also fdatasync'ed (power loss).
 *   'interval' (default): at most `fsyncIntervalMs` of records can be lost
 *   to power loss, never to a process crash. 'never': the OS decides.
 * - Recovery reads the snapshot, replays the journal records of the same
 *   generation, and runs verify(). Only a torn final record is cut. Any other
 *   damage (a bad header, a bad record in the middle, a journal without its
 *   snapshot, a generation that does not follow) is CORRUPT_STATE naming the
 *   file and byte offset, and the files are left exactly as they were.
 * - Compaction writes the next-generation snapshot (temp file, fsync,
 *   rename), then an empty journal of that generation. A crash in between
 *   leaves a journal of the previous generation, which recovery ignores: its
 *   records are in the snapshot. A compaction that fails (disk full) keeps
 *   the current generation; automatic compaction then retries after another
 *   `compactEvery` records and reports through `lastError`.
 * - Every filesystem error becomes IO_ERROR naming the path and the errno.
 */
import {
  openSync, closeSync, writeSync, readFileSync, renameSync, fsyncSync, fdatasyncSync, ftruncateSync, statSync, mkdirSync, unlinkSync,
} from "node:fs";
import { dirname, resolve } from "node:path";
import { decodeSnapshot } from "./snapshot.js";
import { encodeRecord, journalHeader, scanJournal, JOURNAL_HEADER, JOURNAL_VERSION, type ScannedJournal } from "./journal.js";
import { StoreLock } from "./lock.js";
import { errors, IpamError, show } from "../errors.js";

/** Runtime parts of a restored state (for pools: the clock and the engine); passed through untouched. */
export type Runtime = Readonly<Record<string, unknown>>;

/**
 * What a FileStore needs of the kind of state it keeps (`P`, e.g. a
 * ClusterPool): how to make one, restore it from snapshot bytes, replay a
 * journal record on it, check it, write it out, and how to hand it the store.
 */
export interface Durable<P> {
  /** A new, empty state (a store that does not exist yet). */
  create(): P;
  /** The state in snapshot bytes (CORRUPT_STATE if they are not one). */
  restore(bytes: Uint8Array, runtime: Runtime): P;
  /** Applies one journal record, as it was applied live. */
  replay(state: P, record: unknown): void;
  /** Problems a recount finds; empty when consistent. */
  verify(state: P): string[];
  /** The state as snapshot bytes, as it is (no implicit changes). */
  encode(state: P, generation: number): Uint8Array;
  /** True if `record` is one of this kind's journal records. */
  isRecord(record: unknown): boolean;
  /** From now on `state` journals its changes into `store` (undefined: stops). */
  attach(state: P, store: FileStore<P> | undefined): void;
  /** After a recovery: the changes a live process would have made since (journaled). */
  afterRecovery(state: P): void;
  /** `state` takes over `fresh` (a rollback to the state on disk); `fresh` is not used again. */
  adopt(state: P, fresh: P): void;
  /** Gives a state that will not be used back (a failed open). */
  dispose(state: P): void;
}

export interface FileStoreOptions {
  /** When journal writes are fsync'ed. @default 'interval' */
  readonly fsync?: "always" | "interval" | "never";
  /** With fsync 'interval': at most this long between fsyncs. @default 200 */
  readonly fsyncIntervalMs?: number;
  /** Compact once the journal holds this many records. @default 100000 */
  readonly compactEvery?: number;
  /** Runtime parts of the state on recovery (for pools: clock, engine). */
  readonly runtime?: Runtime;
  /**
   * Open without the lock and without writing anything (lookups, exports):
   * needs only read permission, works beside a live writer, and a torn tail
   * is skipped, not cut. Calls that would change the pool throw READ_ONLY.
   * @default false
   */
  readonly readOnly?: boolean;
}

const KNOWN = new Set(["fsync", "fsyncIntervalMs", "compactEvery", "runtime", "readOnly"]);

/** Runs a filesystem call; its error becomes IO_ERROR naming `path`. */
function fsDo<T>(op: string, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw e instanceof IpamError ? e : errors.io(op, path, e);
  }
}

const errnoOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | null)?.code;

/** The file's bytes, or undefined if it does not exist. */
function readIfExists(path: string): Uint8Array | undefined {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    if (errnoOf(e) === "ENOENT") return undefined;
    throw errors.io("read", path, e);
  }
}

/** True if something is at `path` (no read of its bytes); IO_ERROR for anything but "not there". */
function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (e) {
    if (errnoOf(e) === "ENOENT") return false;
    throw errors.io("stat", path, e);
  }
}

/** Writes all of buf at `position`, repeating after a short write. */
function writeAll(fd: number, buf: Uint8Array, position: number): void {
  for (let done = 0; done < buf.length; ) {
    const n = writeSync(fd, buf, done, buf.length - done, position + done);
    if (n <= 0) throw Object.assign(new Error("write returned 0"), { code: "EIO" });
    done += n;
  }
}

export class FileStore<P = unknown> {
  readonly path: string;
  readonly journalPath: string;
  readonly readOnly: boolean;
  readonly #fsync: "always" | "interval" | "never";
  readonly #interval: number;
  readonly #compactEvery: number;
  readonly #runtime: Runtime;
  #lock: StoreLock | undefined;
  #fd = -1;
  /** Where the next record goes: the end of the acknowledged records. */
  #end = 0;
  #generation = 0;
  #records = 0;
  #nextCompact = 0;
  #lastSync = 0;
  #pool: P | undefined;
  #kind: Durable<P> | undefined;
  /** Records of the call in progress, written whole by commit(). */
  #pending: Uint8Array[] = [];
  #depth = 0;
  /** A failed cut left bytes after #end: cut again before the next write. */
  #tailDirty = false;
  /** A compaction wrote its snapshot but could not start the new journal: start it before the next write. */
  #journalMissing = false;
  /** Records dropped from a torn tail at the last open. */
  tornRecords = 0;
  /** The last failure of background work (automatic compaction); calls did not fail for it. */
  lastError: IpamError | undefined;

  constructor(path: string, options: FileStoreOptions = {}) {
    if (typeof path !== "string" || path === "" || path.includes("\0")) throw errors.invalidArgument("FileStore(path)", path, "a non-empty file path");
    if (options === null || typeof options !== "object" || Array.isArray(options)) throw errors.invalidOption("store options", `must be an object (got ${show(options)})`);
    for (const k of Object.keys(options)) if (!KNOWN.has(k)) throw errors.invalidOption(`store options.${k}`, "is not a known option");
    this.path = resolve(path);
    this.journalPath = `${this.path}.journal`;
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
    const rt = options.runtime ?? {};
    if (rt === null || typeof rt !== "object") throw errors.invalidOption("options.runtime", `must be an object { clock?, engine? } (got ${show(rt)})`);
    this.#runtime = rt;
    const ro = options.readOnly ?? false;
    if (typeof ro !== "boolean") throw errors.invalidOption("options.readOnly", `must be a boolean (got ${show(ro)})`);
    this.readOnly = ro;
  }

  /**
   * Recovers the state at this path, or makes a new one (a writer only),
   * and journals it from now on. Throws LOCKED, CORRUPT_STATE or IO_ERROR;
   * then nothing was written and no lock is held.
   */
  openWith(kind: Durable<P>): P {
    if (this.#kind !== undefined) throw errors.invalidArgument("FileStore.open", this.path, "a store that is not open yet (open it once)");
    this.#kind = kind;
    if (this.readOnly) {
      try {
        return this.#openReadOnly(kind);
      } catch (e) {
        this.#kind = undefined;
        throw e;
      }
    }
    const dir = dirname(this.path);
    try {
      fsDo("create folder", dir, () => {
        try {
          mkdirSync(dir, { recursive: true });
        } catch (e) {
          // recursive mkdir says EEXIST when a part of the path is a file
          throw errnoOf(e) === "EEXIST" ? Object.assign(new Error("not a directory"), { code: "ENOTDIR" }) : e;
        }
      });
      this.#lock = StoreLock.acquire(this.path);
    } catch (e) {
      this.#kind = undefined;
      throw e;
    }
    try {
      return this.#openWriter(kind);
    } catch (e) {
      this.#closeFd();
      this.#lock.release();
      this.#lock = undefined;
      this.#kind = undefined;
      throw e;
    }
  }

  #openWriter(kind: Durable<P>): P {
    let pool: P;
    if (!exists(this.path)) {
      if (exists(this.journalPath)) {
        throw errors.corrupt(`store ${this.path}`, `the snapshot is missing but the journal ${this.journalPath} exists (its records need the snapshot)`);
      }
      pool = kind.create();
      try {
        this.#generation = 0;
        this.#writeSnapshot(pool, 0);
        this.#startJournal();
      } catch (e) {
        kind.dispose(pool);
        throw e;
      }
    } else {
      const loaded = this.#load(Infinity);
      pool = loaded.pool;
      const j = loaded.journal;
      try {
        this.#fixJournal(pool, j);
      } catch (e) {
        kind.dispose(pool);
        throw e;
      }
    }
    this.#nextCompact = Math.max(this.#records, 0) + this.#compactEvery;
    this.#pool = pool;
    kind.attach(pool, this);
    // A crash can land between an effect and the ones it caused (a removal, then the pending
    // node it served). Catch up now, journaled: serve what fits, expire what is due.
    kind.afterRecovery(pool);
    return pool;
  }

  /** After a recovery: a journal to append to, from the one on disk. */
  #fixJournal(pool: P, j: ScannedJournal | undefined): void {
    if (j === undefined || j.generation !== this.#generation) {
      this.#startJournal(); // none yet, or one a compaction left behind
      return;
    }
    if (j.version !== JOURNAL_VERSION) {
      this.#compactNow(pool); // an old format: its records are in memory now
      return;
    }
    this.#fd = fsDo("open", this.journalPath, () => openSync(this.journalPath, "r+"));
    this.#end = j.end;
    this.#records = j.records.length;
    this.tornRecords = j.torn > 0 ? 1 : 0;
    if (j.torn > 0) {
      fsDo("cut the torn tail of", this.journalPath, () => {
        ftruncateSync(this.#fd, j.end);
        fsyncSync(this.#fd);
      });
    }
  }

  #openReadOnly(kind: Durable<P>): P {
    // A writer may compact between our two reads: then the journal is a generation ahead. Read again.
    for (let attempt = 0; ; attempt++) {
      try {
        const { pool } = this.#load(Infinity, true);
        this.#pool = pool;
        kind.attach(pool, this);
        return pool;
      } catch (e) {
        if (!(e instanceof Retry) || attempt >= 10) throw e instanceof Retry ? e.error : e;
      }
    }
  }

  /**
   * The pool on disk: the snapshot, then the journal's records up to byte
   * `limit` (rollback: where the failed call began), checked by verify().
   * Writes nothing.
   */
  #load(limit: number, reader = false): { pool: P; journal: ScannedJournal | undefined } {
    const kind = this.#kind as Durable<P>;
    const snapBytes = readIfExists(this.path);
    if (snapBytes === undefined) throw errors.io("read", this.path, Object.assign(new Error("no such file"), { code: "ENOENT" }));
    const snap = decodeSnapshot(snapBytes, `snapshot ${this.path}`);
    let journalBytes = readIfExists(this.journalPath);
    if (journalBytes !== undefined && journalBytes.length > limit) journalBytes = journalBytes.subarray(0, limit);
    const journal = journalBytes === undefined ? undefined : scanJournal(journalBytes, this.journalPath);
    if (journal !== undefined && journal.generation !== snap.generation && journal.generation + 1 !== snap.generation) {
      const e = errors.corrupt(`journal ${this.journalPath}`, `generation ${journal.generation} at byte 12 does not follow the snapshot's generation ${snap.generation}`);
      if (reader && journal.generation === snap.generation + 1) throw new Retry(e);
      throw e;
    }
    const pool = kind.restore(snapBytes, this.#runtime);
    this.#generation = snap.generation;
    if (journal !== undefined && journal.generation === snap.generation) try {
      for (const [n, { at, value }] of journal.records.entries()) {
        try {
          kind.replay(pool, value);
        } catch (e) {
          throw errors.corrupt(`journal ${this.journalPath}`, `record ${n + 1} at byte ${at} (${show((value as { op?: unknown } | null)?.op)}) does not apply: ${e instanceof Error ? e.message : String(e)}`, e);
        }
      }
      const problems = kind.verify(pool);
      if (problems.length > 0) {
        throw errors.corrupt(`store ${this.path}`, `after replaying ${journal.records.length} journal records: ${problems.slice(0, 3).join("; ")}`);
      }
    } catch (e) {
      kind.dispose(pool); // a state that does not open gives its memory back
      throw e;
    }
    return { pool, journal };
  }

  /** @internal Opens a call (ClusterPool): its records are kept until _commit(). Calls may nest; the outermost commits. */
  _begin(): void {
    if (this.#depth++ === 0) this.#pending.length = 0;
  }

  /** @internal Takes one record of the call in progress (a record outside _begin/_commit is written at once). */
  _emit(rec: unknown): void {
    if (this.#kind === undefined || !this.#kind.isRecord(rec)) throw errors.invalidArgument("_emit(rec)", rec, "a journal record of an open store");
    if (this.readOnly) return;
    if (this.#depth === 0) {
      this._begin();
      this.#pending.push(encodeRecord(rec));
      this._commit();
      return;
    }
    this.#pending.push(encodeRecord(rec));
  }

  /**
   * @internal Ends a call: writes its records whole, or cuts them, puts the
   * pool back to the state on disk and throws IO_ERROR.
   */
  _commit(): void {
    if (this.#depth === 0) return; // no call open
    if (--this.#depth > 0 || this.#pending.length === 0) return;
    const parts = this.#pending;
    this.#pending = [];
    if (this.#fd < 0 && !this.#journalMissing) throw errors.invalidArgument("FileStore", this.path, "open (it is closed)");
    const buf = parts.length === 1 ? (parts[0] as Uint8Array) : concat(parts);
    try {
      if (this.#journalMissing) this.#startJournal();
      if (this.#tailDirty) {
        ftruncateSync(this.#fd, this.#end);
        this.#tailDirty = false;
      }
      writeAll(this.#fd, buf, this.#end);
      if (this.#fsync === "always") fdatasyncSync(this.#fd);
      else if (this.#fsync === "interval") {
        const now = Date.now();
        if (now - this.#lastSync >= this.#interval) {
          fdatasyncSync(this.#fd);
          this.#lastSync = now;
        }
      }
    } catch (e) {
      const io = e instanceof IpamError ? e : errors.io("append to", this.journalPath, e);
      this.#rollback();
      throw io;
    }
    this.#end += buf.length;
    this.#records += parts.length;
    if (this.#records >= this.#nextCompact && this.#pool) {
      try {
        this.compact(this.#pool);
      } catch (e) {
        // the call's records are on disk: it succeeded. Compaction tries again later.
        this.lastError = e instanceof IpamError ? e : errors.io("compact", this.path, e);
        this.#nextCompact = this.#records + this.#compactEvery;
      }
    }
  }

  /** After a failed write: nothing of the call stays, on disk or in memory. */
  #rollback(): void {
    if (this.#fd >= 0) {
      try {
        ftruncateSync(this.#fd, this.#end);
      } catch {
        this.#tailDirty = true; // cut before the next write; recovery would see the tail as torn
      }
    }
    const pool = this.#pool;
    const kind = this.#kind;
    if (pool === undefined || kind === undefined) return;
    const { pool: fresh } = this.#load(this.#end);
    kind.adopt(pool, fresh);
    kind.attach(pool, this);
  }

  /** Snapshot of generation + 1, then an empty journal. Throws READ_ONLY or IO_ERROR; the state is unchanged either way. */
  compact(pool: P): void {
    if (this.readOnly) throw errors.readOnly(this.path, "compact");
    if (pool === undefined || pool !== this.#pool) throw errors.invalidArgument("compact(pool)", pool, "the state this store holds");
    if (this.#pending.length > 0) return; // inside a call: its records go first
    this.#compactNow(pool);
  }

  #compactNow(pool: P): void {
    const next = this.#generation + 1;
    this.#writeSnapshot(pool, next);
    this.#generation = next;
    this.#journalMissing = true;
    this.#startJournal();
  }

  /** A new, empty journal of the current generation (written whole, then renamed over the old one). */
  #startJournal(): void {
    const tmp = `${this.journalPath}.tmp`;
    this.#writeFile(tmp, this.journalPath, journalHeader(this.#generation));
    const fd = fsDo("open", this.journalPath, () => openSync(this.journalPath, "r+"));
    this.#closeFd();
    this.#fd = fd;
    this.#end = JOURNAL_HEADER;
    this.#records = 0;
    this.#nextCompact = this.#compactEvery;
    this.#tailDirty = false;
    this.#journalMissing = false;
  }

  #writeSnapshot(pool: P, generation: number): void {
    this.#writeFile(`${this.path}.tmp`, this.path, (this.#kind as Durable<P>).encode(pool, generation));
  }

  /** tmp, fsync, rename over `path`, fsync the folder. On failure the temp file is removed and `path` untouched. */
  #writeFile(tmp: string, path: string, bytes: Uint8Array): void {
    let fd = -1;
    try {
      fd = fsDo("create", tmp, () => openSync(tmp, "w"));
      fsDo("write", tmp, () => {
        writeAll(fd, bytes, 0);
        fsyncSync(fd);
      });
      fsDo("close", tmp, () => closeSync(fd));
      fd = -1;
      fsDo("rename", `${tmp} to ${path}`, () => renameSync(tmp, path));
    } catch (e) {
      if (fd >= 0) try { closeSync(fd); } catch { /* already failing */ }
      try { unlinkSync(tmp); } catch { /* not there */ }
      throw e;
    }
    this.#syncDir();
  }

  #syncDir(): void {
    try {
      const fd = openSync(dirname(this.path), "r");
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch {
      // some filesystems do not fsync directories
    }
  }

  #closeFd(): void {
    if (this.#fd < 0) return;
    try {
      closeSync(this.#fd);
    } catch {
      // closing is best effort
    }
    this.#fd = -1;
  }

  /** Records in the journal now. */
  get journalRecords(): number {
    return this.#records;
  }

  /** Bytes of the snapshot and the journal. */
  sizes(): { snapshot: number; journal: number } {
    const size = (p: string): number => {
      try {
        return statSync(p).size;
      } catch (e) {
        if (errnoOf(e) === "ENOENT") return 0;
        throw errors.io("stat", p, e);
      }
    };
    return { snapshot: size(this.path), journal: size(this.journalPath) };
  }

  /** Flushes the journal, closes it and gives the lock up. Idempotent. */
  close(): void {
    try {
      if (this.#fd >= 0) fsDo("fsync", this.journalPath, () => fsyncSync(this.#fd));
    } finally {
      this.#closeFd();
      this.#lock?.release();
      this.#lock = undefined;
      this.#pool = undefined;
    }
  }
}

/** A reader raced a writer's compaction: read again. */
class Retry extends Error {
  constructor(readonly error: IpamError) {
    super(error.message);
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
