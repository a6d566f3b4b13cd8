/**
 * Flag value parsers for commander. Each throws InvalidArgumentError, which
 * commander reports naming the flag ("option '--nodes <n>' argument 'x' is
 * invalid"), and main() turns into exit code 2.
 */
import { InvalidArgumentError } from "commander";
import { parseCidr } from "../net/ip.js";
import { isIpamError } from "../errors.js";
import { parseDuration } from "../sim/scenario.js";

export function int(min: number, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v.trim())) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}.`);
    const n = Number(v);
    if (n < min || n > max) throw new InvalidArgumentError(`must be from ${min} to ${max}.`);
    return n;
  };
}

export function positive(v: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("must be a positive number.");
  return n;
}

export function duration(v: string): number {
  const d = parseDuration(v);
  if (Number.isNaN(d) || d <= 0) throw new InvalidArgumentError("must be a positive duration like 90s, 30m, 6h or 2d.");
  return d;
}

/** A CIDR, checked but as written (the command notes host bits it clears); repeatable flags collect into a list. */
export function cidr(v: string, prev: string[] = []): string[] {
  try {
    parseCidr(v);
    return [...prev, v.trim()];
  } catch (e) {
    if (!isIpamError(e)) throw e;
    throw new InvalidArgumentError(`${e.detail}.`);
  }
}

/** A node mask size 0..128 (checked against the CIDR later). */
export function mask(v: string): number {
  const s = v.replace(/^\//, "");
  if (!/^\d+$/.test(s) || Number(s) > 128) throw new InvalidArgumentError("must be a prefix length from 0 to 128 (e.g. 24 or /24).");
  return Number(s);
}

export interface Growth {
  /** Nodes per period ("linear") or fraction per period ("percent"). */
  readonly kind: "linear" | "percent";
  readonly amount: number;
  /** Period in seconds. */
  readonly period: number;
  readonly text: string;
}

const PERIODS: Readonly<Record<string, number>> = {
  h: 3600, hour: 3600, d: 86400, day: 86400, w: 604800, week: 604800, mo: 2629800, month: 2629800, y: 31557600, year: 31557600,
};

/** "200/month" (nodes per period) or "5%/month" (compound growth per period). */
export function growth(v: string): Growth {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*\/\s*(h|hour|d|day|w|week|mo|month|y|year)\s*$/.exec(v);
  if (!m) throw new InvalidArgumentError("must be nodes per period like 200/month, or a rate like 5%/month (periods: hour, day, week, month, year).");
  const amount = Number(m[1]);
  if (amount <= 0) throw new InvalidArgumentError("must be positive.");
  const pct = m[2] === "%";
  return { kind: pct ? "percent" : "linear", amount: pct ? amount / 100 : amount, period: PERIODS[m[3] as string] as number, text: v.trim() };
}
