/**
 * Every error ipcarve throws is an IpamError with a stable `code`.
 * Messages start with "ipcarve:" and name the offending input.
 */
export type IpamErrorCode =
  | "INVALID_CIDR"
  | "INVALID_IP"
  | "INVALID_MASK"
  | "SUBNET_TOO_BIG"
  | "CIDR_COLLISION"
  | "FAMILY_MISMATCH"
  | "NOT_IN_RANGE"
  | "ALREADY_ALLOCATED"
  | "FULL"
  | "UNKNOWN_NODE"
  | "INVALID_OPTION"
  | "OWNER_MISMATCH"
  | "IN_USE"
  | "CORRUPT_STATE"
  | "INVALID_ARGUMENT"
  | "LOCKED"
  | "IO_ERROR"
  | "READ_ONLY"
  | "INVALID_CONFIG"
  | "UNKNOWN_POOL"
  | "UNAVAILABLE"
  | "CONFLICT"
  | "MISSING_DEPENDENCY";

export interface IpamErrorOptions {
  readonly cause?: unknown;
  /** The option, argument or config path the error is about, e.g. "options.ipv4.maskSize". */
  readonly path?: string;
  /** How the message joins path and reason: " " (default: "options.x must be ...") or ": " (a wrapped error, see errors.within). */
  readonly sep?: " " | ": ";
  /** Where the input is, before the path: "values.yaml:4:30" (config files). */
  readonly where?: string;
}

export class IpamError extends Error {
  override readonly name: string = "IpamError";
  /** Stable machine-readable code; match on this, not on the message. */
  readonly code: IpamErrorCode;
  /** The option or config path the error is about (e.g. "options.ipv4.maskSize"); absent when it is about no path. */
  readonly path?: string;
  /** What is wrong, without the "ipcarve: " prefix and without the path: "must be a positive integer (got 0)". */
  readonly reason: string;
  /** The message without the "ipcarve: " prefix: where (if any), the path (if any), then the reason. */
  readonly detail: string;
  /**
   * `reason` says what is wrong; with `options.path` the message is
   * "ipcarve: <path> <reason>" (or "<path>: <reason>" with sep ": "), else "ipcarve: <reason>".
   */
  constructor(code: IpamErrorCode, reason: string, options?: IpamErrorOptions) {
    const path = options?.path;
    const at = path === undefined ? reason : `${path}${options?.sep ?? " "}${reason}`;
    const detail = options?.where === undefined ? at : `${options.where}: ${at}`;
    super(`ipcarve: ${detail}`, options !== undefined && "cause" in options ? { cause: options.cause } : undefined);
    this.code = code;
    if (path !== undefined) this.path = path;
    this.reason = reason;
    this.detail = detail;
  }
}

/** True if `e` is an IpamError, optionally with the given code. */
export function isIpamError(e: unknown, code?: IpamErrorCode): e is IpamError {
  return e instanceof IpamError && (code === undefined || e.code === code);
}

/**
 * Text for any value inside a message: strings quoted, numbers and BigInts as
 * written, everything else by its type. Never throws (Object.create(null),
 * symbols and BigInts included) and never returns more than ~80 characters.
 */
export function show(v: unknown): string {
  let s: string;
  switch (typeof v) {
    case "string": s = JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}…` : v); break;
    case "number": s = Object.is(v, -0) ? "-0" : String(v); break;
    case "bigint": s = `${v}n`; break;
    case "boolean": case "undefined": s = String(v); break;
    case "symbol": s = v.description === undefined ? "a symbol" : `Symbol(${v.description.slice(0, 40)})`; break;
    case "function": s = "a function"; break;
    default:
      if (v === null) s = "null";
      else if (Array.isArray(v)) s = `an array of ${v.length}`;
      else if (ArrayBuffer.isView(v)) s = `a ${Object.prototype.toString.call(v).slice(8, -1)} of ${(v as { length?: number }).length ?? (v as ArrayBufferView).byteLength}`;
      else s = Object.getPrototypeOf(v) === null ? "an object without prototype" : "an object";
  }
  return s;
}

/** The error table: one constructor per situation, so messages stay uniform. */
export const errors = {
  invalidCidr: (input: unknown, why: string, cause?: unknown) =>
    new IpamError("INVALID_CIDR", `invalid CIDR ${show(input)}: ${why}`, { cause }),
  invalidIp: (input: unknown, why = "not an IPv4 or IPv6 address") =>
    new IpamError("INVALID_IP", `invalid IP ${show(input)}: ${why}`),
  invalidMask: (what: string, mask: unknown, why: string) =>
    new IpamError("INVALID_MASK", `invalid mask size ${show(mask)} for ${what}: ${why}`),
  subnetTooBig: (what: string, why: string) => new IpamError("SUBNET_TOO_BIG", `${what} is too big: ${why}`),
  collision: (what: string, cidr: string, other: string) =>
    new IpamError("CIDR_COLLISION", `${what} ${cidr} overlaps ${other}`),
  /** A CIDR of an option list that overlaps another: `path` is the option, e.g. "options.ipv4.cidrs[2]". */
  collisionAt: (path: string, cidr: string, other: string) =>
    new IpamError("CIDR_COLLISION", `${cidr} overlaps ${other}`, { path }),
  familyMismatch: (what: string, input: unknown, want: 4 | 6) =>
    new IpamError("FAMILY_MISMATCH", `${what} ${show(input)} is not IPv${want}`),
  /** An option value of the wrong family: `path` is the option, e.g. "options.ipv4.cidrs[0]". */
  familyMismatchAt: (path: string, input: unknown, want: 4 | 6) =>
    new IpamError("FAMILY_MISMATCH", `${show(input)} is not IPv${want}`, { path }),
  notInRange: (input: unknown, range: string) =>
    new IpamError("NOT_IN_RANGE", `${show(input)} is not in the range of ${range}`),
  alreadyAllocated: (input: string) => new IpamError("ALREADY_ALLOCATED", `${show(input)} is already allocated`),
  full: (what: string, detail?: string) => new IpamError("FULL", `${what} is full${detail ? `: ${detail}` : ""}`),
  /** `why` says why a known name does not count, e.g. "being removed". */
  unknownNode: (node: unknown, why?: string) => new IpamError("UNKNOWN_NODE", `unknown node ${show(node)}${why === undefined ? "" : ` (${why})`}`),
  /** An option that is wrong: `path` names it ("options.maxNodeSubnets"), `why` is the reason ("must be a positive integer (got 0)"). */
  invalidOption: (path: string, why: string) => new IpamError("INVALID_OPTION", why, { path }),
  /**
   * `e` (an error about a value, thrown by a parser or an allocator) as an
   * error about the option at `path`: same code, `e` as cause, message
   * "<path>: <e's message>", reason e's message without the prefix.
   */
  within: (path: string, e: IpamError) => new IpamError(e.code, e.detail, { path, sep: ": ", cause: e }),
  ownerMismatch: (ip: string, holder: string | undefined, claimed: string) =>
    new IpamError("OWNER_MISMATCH", `${show(ip)} is held by ${holder === undefined ? "no owner" : show(holder)}, not ${show(claimed)}`),
  /** A named IP pool (multi-pool) that does not exist, or (`why`) that does not serve the node. */
  unknownPool: (pool: unknown, why?: string) => new IpamError("UNKNOWN_POOL", `unknown IP pool ${show(pool)}${why === undefined ? "" : ` (${why})`}`),
  inUse: (what: string, by: string) => new IpamError("IN_USE", `${what} is in use by ${by}`),
  corrupt: (what: string, why: string, cause?: unknown) => new IpamError("CORRUPT_STATE", `${what} is corrupt: ${why}`, { cause }),
  /** A method argument of the wrong type or shape: `what` names the argument, e.g. "release(ip)". */
  invalidArgument: (what: string, value: unknown, want: string) =>
    new IpamError("INVALID_ARGUMENT", `must be ${want} (got ${show(value)})`, { path: what }),
  /** A method of a disposed object: `method` as "ClusterPool.allocate", `what` as "pool". */
  disposed: (method: string, what: string) => new IpamError("INVALID_ARGUMENT", `${method}: the ${what} is disposed`),
  /** The store at `path` is held by another open (this process or another). */
  locked: (path: string, holder: string) => new IpamError("LOCKED", `store ${path} is locked by ${holder}`),
  /** A call that would change a pool opened read-only. */
  readOnly: (path: string, call: string) => new IpamError("READ_ONLY", `${call}: store ${path} was opened read-only`),
  /** A shared store (etcd) cannot be reached or has no quorum: names the endpoints; `what` says what was tried. */
  unavailable: (endpoints: readonly string[], what: string, cause?: unknown) => {
    const why = cause === undefined ? "" : ` (${cause instanceof Error ? cause.message : String(cause)})`;
    return new IpamError("UNAVAILABLE", `etcd at ${endpoints.join(", ")} is unavailable: ${what}${why}`, { cause });
  },
  /** A shared-store call lost its compare-and-swap `attempts` times in a row to other writers. */
  conflict: (call: string, attempts: number, keys: string) =>
    new IpamError("CONFLICT", `${call}: gave up after ${attempts} conflicting attempts (other processes kept changing ${keys})`),
  /** An optional peer dependency that a call needs is not installed: names the package, the call and how to get it. */
  missingDependency: (pkg: string, call: string, cause?: unknown) =>
    new IpamError("MISSING_DEPENDENCY", `${call} needs ${pkg}, an optional peer dependency that is not installed: npm install ${pkg}`, { cause }),
  /** A filesystem call failed: names the path and the errno code. */
  io: (op: string, path: string, cause: unknown) => {
    const code = (cause as { code?: unknown } | null)?.code;
    const errno = typeof code === "string" ? code : cause instanceof Error ? cause.message : String(cause);
    return new IpamError("IO_ERROR", `${op} ${path} failed: ${errno}`, { cause });
  },
} as const;
