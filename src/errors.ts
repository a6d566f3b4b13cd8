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
  | "CORRUPT_STATE";

export class IpamError extends Error {
  override readonly name = "IpamError";
  /** Stable machine-readable code; match on this, not on the message. */
  readonly code: IpamErrorCode;
  constructor(code: IpamErrorCode, message: string, options?: { cause?: unknown }) {
    super(`ipcarve: ${message}`, options);
    this.code = code;
  }
}

/** True if `e` is an IpamError, optionally with the given code. */
export function isIpamError(e: unknown, code?: IpamErrorCode): e is IpamError {
  return e instanceof IpamError && (code === undefined || e.code === code);
}

const show = (v: unknown): string => (typeof v === "string" ? JSON.stringify(v) : String(v));

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
  familyMismatch: (what: string, input: string, want: 4 | 6) =>
    new IpamError("FAMILY_MISMATCH", `${what} ${show(input)} is not IPv${want}`),
  notInRange: (input: string, range: string) =>
    new IpamError("NOT_IN_RANGE", `${show(input)} is not in the range of ${range}`),
  alreadyAllocated: (input: string) => new IpamError("ALREADY_ALLOCATED", `${show(input)} is already allocated`),
  full: (what: string, detail?: string) => new IpamError("FULL", `${what} is full${detail ? `: ${detail}` : ""}`),
  unknownNode: (node: unknown) => new IpamError("UNKNOWN_NODE", `unknown node ${show(node)}`),
  invalidOption: (path: string, why: string) => new IpamError("INVALID_OPTION", `${path} ${why}`),
  ownerMismatch: (ip: string, holder: string | undefined, claimed: string) =>
    new IpamError("OWNER_MISMATCH", `${show(ip)} is held by ${holder === undefined ? "no owner" : show(holder)}, not ${show(claimed)}`),
  inUse: (what: string, by: string) => new IpamError("IN_USE", `${what} is in use by ${by}`),
  corrupt: (what: string, why: string, cause?: unknown) => new IpamError("CORRUPT_STATE", `${what} is corrupt: ${why}`, { cause }),
} as const;
