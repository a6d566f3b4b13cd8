// --grace of `ipcarve check --release`: how long a leak must have been reported before it is freed.
import { InvalidArgumentError } from "commander";
import { parseDuration } from "../sim/scenario.js";

/** Default --grace in seconds: 15 minutes, Calico's leak grace period. */
export const DEFAULT_GRACE_S = 15 * 60;

/** A duration in seconds, 0 allowed (any earlier check will do): 0, 90s, 15m, 2h. */
export function grace(v: string): number {
  const d = parseDuration(v);
  if (Number.isNaN(d)) throw new InvalidArgumentError("must be a duration like 0, 90s, 15m or 2h.");
  return d;
}
