/**
 * What a command may touch: output streams, TTY-ness, the working directory.
 * main() gets the process's; tests pass their own and read what was written.
 */
import { isAbsolute, resolve } from "node:path";

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** True if stderr is a terminal (progress bar instead of plain lines). */
  readonly isTTY: boolean;
  readonly cwd: string;
  /** The stream cli-progress draws on, when isTTY. */
  readonly ttyStream?: NodeJS.WriteStream;
}

export function processIo(): Io {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    isTTY: process.stderr.isTTY === true,
    cwd: process.cwd(),
    ttyStream: process.stderr,
  };
}

/** A path relative to the command's working directory. */
export function pathIn(io: Io, p: string): string {
  return isAbsolute(p) ? p : resolve(io.cwd, p);
}

/** Bad command-line usage: exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The command ran and failed: exit code 1. */
export class CliError extends Error {
  override readonly name = "CliError";
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
