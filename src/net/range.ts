/**
 * Pod-range geometry (Cilium ipallocator): which host offsets of a subnet
 * are usable, and how many. Shared by PodRange and ClusterPool.
 */
import type { Cidr } from "./ip.js";
import { errors } from "../errors.js";

/** Largest bitmap the core keeps (2^24 bits = 2 MiB). */
export const MAX_BITS = 1 << 24;
/** Cilium caps an IPv6 pod range at 2^16 addresses. */
export const IPV6_RANGE_CAP_BITS = 16;

export interface RangeGeometry {
  /** Host offset (from the network address) of the first usable address. */
  readonly first: number;
  /** Usable addresses. */
  readonly size: number;
  /** Host bits that address the range: 32 - prefix (IPv4) or min(128 - prefix, 16) (IPv6). */
  readonly hostBits: number;
}

/**
 * Usable addresses of a pod subnet:
 * - the network and the last address of the (capped) range are skipped: /24 -> 254, /27 -> 30;
 * - /31 and /127 keep both addresses, /32 and /128 their one (RFC 3021 style point-to-point);
 * - an IPv6 range is capped at 2^16 addresses as Cilium does, so a /64 gives 65,534.
 */
export function rangeGeometry(cidr: Cidr): RangeGeometry {
  const hostBitsFull = cidr.bits - cidr.prefix;
  const hostBits = cidr.family === 6 ? Math.min(hostBitsFull, IPV6_RANGE_CAP_BITS) : hostBitsFull;
  if (hostBits <= 1) return { first: 0, size: 2 ** hostBits, hostBits };
  const total = 2 ** hostBits;
  if (total > MAX_BITS) {
    throw errors.subnetTooBig(`pod range ${String(cidr)}`, `2^${hostBits} addresses; ipcarve keeps at most 2^24 per range`);
  }
  return { first: 1, size: total - 2, hostBits };
}
