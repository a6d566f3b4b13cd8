/**
 * IP addresses and CIDRs at the string boundary. Inside the engine IPv4 is a
 * u32 number; IPv6 is a bigint here and a pool-relative u32 in WASM.
 */
import { errors, show } from "../errors.js";

export type Family = 4 | 6;

const OCTET: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

// Text is built as char codes in one reused array, then made a string by one
// String.fromCharCode call with a fixed number of arguments (cut to length):
// about 2x faster here than a template literal of four cached octet strings,
// which makes a cons string and flattens it. Nothing is allocated but the result.
/** Char codes of an octet's decimal digits, first digit in the low byte. */
const DIGITS = new Uint32Array(256);
const DIGIT_COUNT = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  const t = String(i);
  DIGIT_COUNT[i] = t.length;
  for (let j = 0; j < t.length; j++) (DIGITS[i] as number) |= t.charCodeAt(j) << (8 * j);
}
/** "255.255.255.255/32" is 18 chars. */
const CHARS: number[] = new Array<number>(18).fill(0);
const fromCodes = String.fromCharCode;

/** Writes the dotted quad of a u32 to CHARS; returns its length. */
function quadChars(ip: number): number {
  const c = CHARS;
  let n = 0;
  for (let shift = 24; shift >= 0; shift -= 8) {
    const o = (ip >>> shift) & 255;
    const d = DIGITS[o] as number;
    c[n++] = d & 255;
    if (o > 9) c[n++] = (d >>> 8) & 255;
    if (o > 99) c[n++] = d >>> 16;
    if (shift > 0) c[n++] = 46;
  }
  return n;
}

/**
 * CHARS[0, n) (7 <= n <= 18) as a string: one fromCharCode call with exactly
 * n arguments, so the result is a flat string of its own (a slice of a longer
 * one would keep the longer one alive: pool subnets keep these texts).
 */
function charsText(n: number): string {
  const c = CHARS;
  switch (n) {
    case 7: return fromCodes(c[0] as number, c[1] as number, c[2] as number, c[3] as number, c[4] as number, c[5] as number, c[6] as number);
    case 8: return fromCodes(c[0] as number, c[1] as number, c[2] as number, c[3] as number, c[4] as number, c[5] as number, c[6] as number, c[7] as number);
    case 9: return fromCodes(c[0] as number, c[1] as number, c[2] as number, c[3] as number, c[4] as number, c[5] as number, c[6] as number, c[7] as number, c[8] as number);
    case 10: return fromCodes(c[0] as number, c[1] as number, c[2] as number, c[3] as number, c[4] as number, c[5] as number, c[6] as number, c[7] as number, c[8] as number, c[9] as number);
    case 11: return fromCodes(c[0] as number, c[1] as number, c[2] as number, c[3] as number, c[4] as number, c[5] as number, c[6] as number, c[7] as number, c[8] as number, c[9] as number, c[10] as number);
    case 12: return fromCodes(c[0] as number, c[1] as number, c[2] as number, c[3] as number, c[4] as number, c[5] as number, c[6] as number, c[7] as number, c[8] as number, c[9] as number, c[10] as number, c[11] as number);
    case 13: return fromCodes(c[0] as number, c[1] as number, c[2] as number, c[3] as number, c[4] as number, c[5] as number, c[6] as number, c[7] as number, c[8] as number, c[9] as number, c[10] as number, c[11] as number, c[12] as number);
    case 14: return fromCodes(c[0] as number, c[1] as number, c[2] as number, c[3] as number, c[4] as number, c[5] as number, c[6] as number, c[7] as number, c[8] as number, c[9] as number, c[10] as number, c[11] as number, c[12] as number, c[13] as number);
    case 15: return fromCodes(c[0] as number, c[1] as number, c[2] as number, c[3] as number, c[4] as number, c[5] as number, c[6] as number, c[7] as number, c[8] as number, c[9] as number, c[10] as number, c[11] as number, c[12] as number, c[13] as number, c[14] as number);
    case 16: return fromCodes(c[0] as number, c[1] as number, c[2] as number, c[3] as number, c[4] as number, c[5] as number, c[6] as number, c[7] as number, c[8] as number, c[9] as number, c[10] as number, c[11] as number, c[12] as number, c[13] as number, c[14] as number, c[15] as number);
    case 17: return fromCodes(c[0] as number, c[1] as number, c[2] as number, c[3] as number, c[4] as number, c[5] as number, c[6] as number, c[7] as number, c[8] as number, c[9] as number, c[10] as number, c[11] as number, c[12] as number, c[13] as number, c[14] as number, c[15] as number, c[16] as number);
    default: return fromCodes(c[0] as number, c[1] as number, c[2] as number, c[3] as number, c[4] as number, c[5] as number, c[6] as number, c[7] as number, c[8] as number, c[9] as number, c[10] as number, c[11] as number, c[12] as number, c[13] as number, c[14] as number, c[15] as number, c[16] as number, c[17] as number);
  }
}

/** Formats a u32 as dotted quad. */
export function formatIPv4(ip: number): string {
  return charsText(quadChars(ip));
}

/** Formats a u32 and a prefix length 0..32 as "a.b.c.d/p". */
export function formatIPv4Cidr(ip: number, prefix: number): string {
  let n = quadChars(ip);
  CHARS[n++] = 47;
  if (prefix > 9) CHARS[n++] = 48 + Math.floor(prefix / 10);
  CHARS[n++] = 48 + (prefix % 10);
  return charsText(n);
}

/** The decimal string of an octet 0..255 (shared, never allocated). */
export function octet(n: number): string {
  return OCTET[n] as string;
}

/**
 * Parses dotted-quad IPv4 into a u32, or returns -1. Rejects leading zeros
 * ("010.0.0.1"), as Go's net.ParseIP does. Allocates nothing. A non-string
 * is INVALID_ARGUMENT.
 */
export function parseIPv4(s: string): number {
  if (typeof s !== "string") throw errors.invalidArgument("parseIPv4(s)", s, "a string");
  return parseIPv4To(s, s.length);
}

/** parseIPv4 of s[0, n) (e.g. the address before a CIDR's "/"), without slicing the string. */
export function parseIPv4To(s: string, n: number): number {
  if (n < 7 || n > 15) return -1;
  let ip = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      ip = ip * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // leading zero
      part = part * 10 + (c - 48);
      if (part > 255) return -1;
      digits++;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return ip * 256 + part;
}

/** Value of a hex digit char code, or -1. */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Parses IPv6 text (with "::" and an optional dotted IPv4 tail) into 8
 * 16-bit groups, or undefined. One pass over the characters; allocates only
 * the result (and a substring for an IPv4 tail).
 */
export function parseIPv6Groups(s: string): number[] | undefined {
  const n = s.length;
  if (n < 2 || n > 45) return undefined;
  const g: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
  let count = 0;
  let dbl = -1; // groups before "::"
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return undefined;
    dbl = 0;
    i = 2;
  }
  while (i < n) {
    if (count === 8) return undefined;
    const start = i;
    let v = 0;
    let digits = 0;
    while (i < n && digits < 5) {
      const d = hexDigit(s.charCodeAt(i));
      if (d < 0) break;
      v = v * 16 + d;
      digits++;
      i++;
    }
    if (i < n && s.charCodeAt(i) === 46) {
      // dotted IPv4 tail: the last 2 groups
      const v4 = parseIPv4(s.slice(start));
      if (v4 < 0 || count > 6) return undefined;
      g[count++] = v4 >>> 16;
      g[count++] = v4 & 0xffff;
      i = n;
      break;
    }
    if (digits === 0 || digits > 4) return undefined;
    g[count++] = v;
    if (i === n) break;
    if (s.charCodeAt(i) !== 58) return undefined;
    i++;
    if (i < n && s.charCodeAt(i) === 58) {
      if (dbl >= 0) return undefined;
      dbl = count;
      i++;
    } else if (i === n) return undefined; // a trailing single ":"
  }
  if (dbl < 0) return count === 8 ? g : undefined;
  if (count > 7) return undefined;
  // move the groups after "::" to the end
  const tail = count - dbl;
  for (let k = 0; k < tail; k++) g[7 - k] = g[count - 1 - k] as number;
  for (let k = dbl; k < 8 - tail; k++) g[k] = 0;
  return g;
}

/** Parses IPv6 text into a 128-bit bigint, or undefined. */
export function parseIPv6(s: string): bigint | undefined {
  const g = parseIPv6Groups(s);
  if (!g) return undefined;
  let v = 0n;
  for (const x of g) v = (v << 16n) | BigInt(x);
  return v;
}

/** Canonical IPv6 text (RFC 5952): lowercase, no leading zeros, the longest zero run (>= 2 groups, leftmost) as "::". */
export function formatIPv6Groups(g: ArrayLike<number>): string {
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  // IPv4-mapped addresses keep their dotted tail (RFC 5952 section 5).
  if (bestAt === 0 && bestLen === 5 && g[5] === 0xffff) {
    return `::ffff:${formatIPv4(((g[6] as number) << 16 | (g[7] as number)) >>> 0)}`;
  }
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestAt) { out += i === 0 ? "::" : ":"; i += bestLen - 1; continue; }
    out += (g[i] as number).toString(16);
    if (i < 7) out += ":";
  }
  return out;
}

const groups = new Array<number>(8);
/** Canonical text of a 128-bit bigint. */
export function formatIPv6(v: bigint): string {
  for (let i = 7; i >= 0; i--) {
    groups[i] = Number(v & 0xffffn);
    v >>= 16n;
  }
  return formatIPv6Groups(groups);
}

/** A parsed address: family and numeric value (bigint for both families). */
export interface ParsedIp {
  readonly family: Family;
  readonly value: bigint;
}

/** Parses an IPv4 or IPv6 address; throws INVALID_IP (INVALID_ARGUMENT for a non-string). */
export function parseIp(s: unknown): ParsedIp {
  if (typeof s !== "string") throw errors.invalidArgument("IP", s, "a string");
  const v4 = parseIPv4(s);
  if (v4 >= 0) return { family: 4, value: BigInt(v4) };
  if (s.includes(":")) {
    const v6 = parseIPv6(s);
    if (v6 !== undefined) return { family: 6, value: v6 };
  }
  throw errors.invalidIp(s);
}

export function formatIp(family: Family, value: bigint): string {
  return family === 4 ? formatIPv4(Number(value)) : formatIPv6(value);
}

/** A CIDR with its host bits masked off. */
export class Cidr {
  /** 4 or 6. */
  readonly family: Family;
  /** Prefix length. */
  readonly prefix: number;
  /** Address width: 32 or 128. */
  readonly bits: 32 | 128;
  /** Network address (host bits zero). */
  readonly network: bigint;
  readonly #text: string;

  constructor(family: Family, network: bigint, prefix: number) {
    this.family = family;
    this.bits = family === 4 ? 32 : 128;
    this.prefix = prefix;
    this.network = network & maskOf(this.bits, prefix);
    this.#text = `${formatIp(family, this.network)}/${prefix}`;
  }

  /** Canonical text, e.g. "2001:db8:1234:f::/64". */
  toString(): string { return this.#text; }
  toJSON(): string { return this.#text; }

  /** The network address as text. */
  get ip(): string { return formatIp(this.family, this.network); }
  /** Number of addresses, as a bigint. */
  get size(): bigint { return 1n << BigInt(this.bits - this.prefix); }
  /** Last address (broadcast for IPv4). */
  get last(): bigint { return this.network + this.size - 1n; }

  /** True if the address (same family) is inside. */
  containsValue(v: bigint): boolean { return v >= this.network && v <= this.last; }
  /** True if `other` (same family) lies entirely inside this CIDR. */
  contains(other: Cidr): boolean {
    return other.family === this.family && other.prefix >= this.prefix && this.containsValue(other.network);
  }
  /** True if the two CIDRs share an address. */
  overlaps(other: Cidr): boolean {
    return other.family === this.family && (this.contains(other) || other.contains(this));
  }
}

/** Netmask of a prefix as a bigint. */
export function maskOf(bits: number, prefix: number): bigint {
  const all = (1n << BigInt(bits)) - 1n;
  return all ^ ((1n << BigInt(bits - prefix)) - 1n);
}

/**
 * Parses "addr/prefix" and masks the host bits: "127.123.3.0/16" gives
 * 127.123.0.0/16. Throws INVALID_CIDR (INVALID_ARGUMENT for a non-string).
 */
export function parseCidr(s: unknown): Cidr {
  if (typeof s !== "string") throw errors.invalidArgument("CIDR", s, "a string");
  const slash = s.indexOf("/");
  if (slash < 0) throw errors.invalidCidr(s, "missing /prefix");
  const addr = s.slice(0, slash);
  const pre = s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(pre)) throw errors.invalidCidr(s, `bad prefix length ${show(pre)}`);
  const prefix = Number(pre);
  const v4 = parseIPv4(addr);
  if (v4 >= 0) {
    if (prefix > 32) throw errors.invalidCidr(s, `prefix /${prefix} is longer than 32 bits`);
    return new Cidr(4, BigInt(v4), prefix);
  }
  const v6 = addr.includes(":") ? parseIPv6(addr) : undefined;
  if (v6 === undefined) throw errors.invalidCidr(s, `${show(addr)} is not an IPv4 or IPv6 address`);
  if (prefix > 128) throw errors.invalidCidr(s, `prefix /${prefix} is longer than 128 bits`);
  return new Cidr(6, v6, prefix);
}

/** A CIDR argument: a Cidr as it is, or a string parsed (INVALID_CIDR); anything else is INVALID_ARGUMENT naming `what`. */
export function cidrArg(what: string, v: unknown): Cidr {
  if (v instanceof Cidr) return v;
  if (typeof v !== "string") throw errors.invalidArgument(what, v, "a CIDR string");
  return parseCidr(v);
}

/** True if `s` parses as a CIDR; never throws. */
export function isValidCidr(s: unknown): boolean {
  try {
    parseCidr(s);
    return true;
  } catch {
    return false;
  }
}
