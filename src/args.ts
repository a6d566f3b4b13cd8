/**
 * Argument checks shared by every public method, so the rules live in one place:
 *
 * - A number argument (an IPv4 address as u32, a node handle, an index, an
 *   offset, a slot, a rel, a count) must be a number that is an integer. A
 *   non-number or a non-integer (NaN, 1.5, "3", 3n, ±Infinity) is
 *   INVALID_ARGUMENT; an integer outside its domain (an IPv4 u32 outside
 *   0..2^32-1, an index at or past the capacity) is NOT_IN_RANGE. Nothing is
 *   converted: ToInt32 would make 2^32 + ip, ip + 0.5 and ip - 2^32 alias ip.
 *   -0 is the integer 0.
 * - A string argument (node name, owner, IP, CIDR) must be a string; a name or
 *   an owner a non-empty one (INVALID_ARGUMENT). INVALID_IP and INVALID_CIDR
 *   stay for strings that do not parse.
 * - A batch array must be a Uint32Array (an Int32Array would turn addresses
 *   from 128.0.0.0 up into negative numbers).
 *
 * The predicates are tiny so that V8 inlines them on the numeric fast path: a
 * typeof and one integer compare, no parse. The error is built by a separate,
 * cold function, only when the check failed.
 */
import { errors, show, type IpamError } from "./errors.js";

/** 2^32: one past the largest u32. */
export const U32_END = 4294967296;

/** True if v is an integer with 0 <= v < end (end <= 2^32). */
export function isIndex(v: unknown, end: number): v is number {
  return typeof v === "number" && v >>> 0 === v && v < end;
}

/** True if v is an integer with 0 <= v < 2^32. */
export function isU32(v: unknown): v is number {
  return typeof v === "number" && v >>> 0 === v;
}

/**
 * The error for a number argument that failed isIndex or isU32: INVALID_ARGUMENT
 * for a non-number or a non-integer, NOT_IN_RANGE for an integer outside 0..end-1.
 * `what` names the argument ("releaseIndex(i)"), `domain` what the number counts.
 */
export function badIndex(what: string, v: unknown, end: number, domain: string): IpamError {
  if (typeof v !== "number" || !Number.isInteger(v)) return errors.invalidArgument(what, v, `an integer (${domain})`);
  return errors.notInRange(v, `${domain}, 0 to ${end - 1}, of ${what}`);
}

/** The error for an IPv4 address given as u32 that failed isU32. */
export function badU32(what: string, v: unknown): IpamError {
  return badIndex(what, v, U32_END, "IPv4 addresses as u32");
}

/** Throws unless v is an integer 0 <= v < end; returns it. */
export function index(what: string, v: unknown, end: number, domain: string): number {
  if (!isIndex(v, end)) throw badIndex(what, v, end, domain);
  return v;
}

/** Throws INVALID_ARGUMENT unless v is a string. */
export function str(what: string, v: unknown): string {
  if (typeof v !== "string") throw errors.invalidArgument(what, v, "a string");
  return v;
}

/** Throws INVALID_ARGUMENT unless v is a non-empty string (node names, owners). */
export function name(what: string, v: unknown): string {
  if (typeof v !== "string" || v === "") throw errors.invalidArgument(what, v, "a non-empty string");
  return v;
}

/** Throws INVALID_ARGUMENT unless v is a Uint32Array. */
export function u32Array(what: string, v: unknown): Uint32Array {
  if (!(v instanceof Uint32Array)) throw errors.invalidArgument(what, v, "a Uint32Array");
  return v;
}

/**
 * The count of a batch call: `length` when left out, else an integer from 0
 * to `length` (the array's length): INVALID_ARGUMENT or NOT_IN_RANGE.
 */
export function count(what: string, v: unknown, length: number): number {
  if (v === undefined) return length;
  if (!isIndex(v, length + 1)) throw badIndex(what, v, length + 1, "a count up to the array's length");
  return v;
}

/**
 * An options argument: undefined (no options) or a plain object, read as a
 * copy of its own enumerable properties (inherited ones are not options).
 * Unknown keys are INVALID_OPTION naming `path`.
 */
export function optionsObject(path: string, v: unknown, known: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  if (v === undefined) return out;
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw errors.invalidOption(path, "must be an object");
  for (const k of Object.keys(v)) {
    if (!known.includes(k)) throw errors.invalidOption(`${path}.${k}`, "is not a known option");
    out[k] = (v as Record<string, unknown>)[k];
  }
  return out;
}

/** The shape of allocate's `wanted`: an IP string or an array of them (INVALID_ARGUMENT otherwise); undefined for an empty array. */
export function wantedList(wanted: unknown): readonly string[] | undefined {
  if (typeof wanted === "string") return [wanted];
  if (!Array.isArray(wanted) || wanted.some((ip) => typeof ip !== "string")) {
    throw errors.invalidArgument("allocate(wanted)", wanted, "an IP address string or an array of them");
  }
  return wanted.length === 0 ? undefined : (wanted as readonly string[]);
}

/** The error for a handle that is not a u32: UNKNOWN_NODE for an integer (it names no node), else INVALID_ARGUMENT. */
export function badHandle(what: string, handle: unknown): IpamError {
  if (typeof handle === "number" && Number.isInteger(handle)) return errors.unknownNode(`handle ${handle}`);
  return errors.invalidArgument(what, handle, "a node handle (an integer from handle(name))");
}

/** removeNode's options: undefined or { graceMs } (a non-negative number of ms, Infinity included); INVALID_OPTION otherwise. Returns graceMs (0 when left out). */
export function graceArg(options: unknown): number {
  const graceMs = options === undefined ? 0 : (optionsObject("options", options, ["graceMs"]).graceMs ?? 0);
  if (typeof graceMs !== "number" || !(graceMs >= 0)) throw errors.invalidOption("options.graceMs", `must be a non-negative number (got ${show(graceMs)})`);
  return graceMs;
}
