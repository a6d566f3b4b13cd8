/**
 * Small deterministic random numbers for the simulator. Streams are derived
 * from (seed, key) so a node's events do not depend on which thread runs it.
 * The generator is mulberry32: one u32 of state, kept in a typed array per
 * node and loaded into `state` while that node is processed.
 */

/** A 32-bit finalizer (murmur3 fmix32). */
export function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** The initial state of the stream `key` of `seed`. */
export function streamSeed(seed: number, key: number, salt = 0): number {
  return mix32((mix32((seed >>> 0) ^ Math.imul(salt + 1, 0x9e3779b9)) + Math.imul(key >>> 0, 0x7feb352d)) >>> 0);
}

/** A generator over one u32 of state; load and save `state` to switch streams without allocating. */
export class Rng {
  state: number;
  constructor(state: number) {
    this.state = state >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    let r = Math.imul(t ^ (t >>> 15), t | 1);
    r ^= r + Math.imul(r ^ (r >>> 7), r | 61);
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer uniform in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Poisson-distributed count with mean lambda; `expNeg` is exp(-lambda), precomputed by the caller. */
  poisson(lambda: number, expNeg: number): number {
    if (lambda <= 0) return 0;
    if (lambda < 30) {
      let k = 0;
      let p = this.next();
      while (p > expNeg) {
        k++;
        p *= this.next();
      }
      return k;
    }
    // Normal approximation for large means (Box-Muller).
    const u = 1 - this.next();
    const v = this.next();
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * z));
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }
}
