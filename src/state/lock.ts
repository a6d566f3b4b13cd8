/**
 * StoreLock: one writer per store, across processes and within one.
 *
 * Node has no flock(), so the lock is a folder of numbered holder files,
 * `<store>.lock/1`, `2`, … Each is made whole in one step (written to a
 * temp file, then link()ed to its number, which fails if the number is
 * taken) and says who holds it: pid, process start time, boot id, host.
 *
 *   acquire: read the highest number N.
 *            N's holder alive          -> LOCKED, naming it
 *            none, or N's holder dead  -> link our file as N+1 (EEXIST: someone was quicker, look again)
 *            then list again: still the highest? we hold the lock; else back off and look again
 *   release: unlink our number.
 *
 * Only the holder of the highest number holds the lock, and a number is
 * taken only above a dead (or released) holder, so two live holders cannot
 * both be highest. A holder killed with SIGKILL leaves its file; the next
 * open sees that its pid is gone, or belongs to a younger process (start
 * time), or to an earlier boot, and takes the next number: a dead holder
 * never blocks an open. Holders on another host (a shared filesystem)
 * cannot be checked and count as alive.
 */
import { closeSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { errors } from "../errors.js";

interface Holder {
  readonly pid: number;
  /** Start time of the process in clock ticks since boot (/proc/PID/stat field 22), or null off Linux. */
  readonly start: string | null;
  readonly boot: string | null;
  readonly host: string;
}

const readOr = (path: string): string | null => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
};

/** Field 22 of /proc/PID/stat (after the parenthesised command name, which may hold spaces). */
function startTime(pid: number | "self"): string | null {
  const stat = readOr(`/proc/${pid}/stat`);
  if (stat === null) return null;
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
}

let self: Holder | undefined;
function me(): Holder {
  self ??= { pid: process.pid, start: startTime("self"), boot: readOr("/proc/sys/kernel/random/boot_id")?.trim() ?? null, host: hostname() };
  return self;
}

/** True unless the holder is known to be gone. */
function alive(h: Holder): boolean {
  const m = me();
  if (h.host !== m.host) return true;
  if (h.boot !== null && m.boot !== null && h.boot !== m.boot) return false;
  if (m.start !== null) {
    const start = startTime(h.pid);
    return start !== null && (h.start === null || start === h.start);
  }
  try {
    process.kill(h.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function describeHolder(h: Holder): string {
  const m = me();
  if (h.pid === m.pid && h.start === m.start && h.host === m.host) return `this process (pid ${h.pid})`;
  return `pid ${h.pid}${h.host !== m.host ? ` on host ${h.host}` : ""}`;
}

const numbers = (dir: string): number[] =>
  readdirSync(dir).filter((n) => /^[1-9][0-9]*$/.test(n)).map(Number).sort((a, b) => a - b);

function readHolder(file: string): Holder | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined; // released meanwhile
    throw e;
  }
  try {
    const h = JSON.parse(text) as Holder;
    if (typeof h.pid === "number" && typeof h.host === "string") return h;
  } catch {
    // a holder file is written whole before it is linked; garbage is a dead holder's
  }
  return { pid: 0, start: null, boot: null, host: me().host };
}

const tryUnlink = (file: string): void => {
  try {
    unlinkSync(file);
  } catch {
    // gone already
  }
};

export class StoreLock {
  readonly dir: string;
  readonly #file: string;
  #held = true;

  private constructor(dir: string, file: string) {
    this.dir = dir;
    this.#file = file;
  }

  /** Takes the lock of the store at `path`. Throws LOCKED naming the holder, or IO_ERROR. */
  static acquire(path: string): StoreLock {
    const dir = `${path}.lock`;
    let step = "create the lock folder";
    let at = dir;
    const tmp = join(dir, `.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
    try {
      mkdirSync(dir, { recursive: true });
      try {
        step = "write";
        at = tmp;
        const fd = openSync(tmp, "wx");
        try {
          const text = Buffer.from(JSON.stringify(me()));
          if (writeSync(fd, text) !== text.length) throw Object.assign(new Error("short write"), { code: "ENOSPC" });
        } finally {
          closeSync(fd);
        }
        for (let attempt = 0; attempt < 1000; attempt++) {
          step = "read";
          at = dir;
          const top = numbers(dir).at(-1) ?? 0;
          if (top > 0) {
            const h = readHolder(join(dir, String(top)));
            if (h === undefined) continue;
            if (alive(h)) throw errors.locked(path, describeHolder(h));
          }
          const mine = join(dir, String(top + 1));
          step = "link";
          at = mine;
          try {
            linkSync(tmp, mine);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === "EEXIST") continue;
            throw e;
          }
          const now = numbers(dir);
          if (now.at(-1) !== top + 1) {
            // a slower opener re-took a number we had cleaned up: it is not the highest, so it backs off
            tryUnlink(mine);
            continue;
          }
          for (const n of now) if (n <= top) tryUnlink(join(dir, String(n))); // dead holders
          return new StoreLock(dir, mine);
        }
        throw errors.locked(path, "other openers (no progress after 1000 attempts)");
      } finally {
        tryUnlink(tmp);
      }
    } catch (e) {
      if ((e as { code?: unknown }).code === "LOCKED") throw e;
      throw errors.io(step, at, e);
    }
  }

  /** Gives the lock up. Idempotent. */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    tryUnlink(this.#file);
  }
}
