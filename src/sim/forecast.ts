/**
 * Exhaustion forecast: when does a growing count reach its capacity?
 * Fits a least-squares line to the last part of a series; if that window
 * does not grow, falls back to the mean growth over the whole series.
 */
export interface Forecast {
  /** Growth used, per second (0 or less: no exhaustion). */
  readonly slope: number;
  /** How the slope was found. */
  readonly basis: "recent trend" | "mean growth over the run" | "no growth";
  /** Time (same unit as the series) at which the count reaches capacity; Infinity if never. */
  readonly exhaustedAt: number;
  /** The last observed point. */
  readonly from: { readonly t: number; readonly used: number };
  readonly capacity: number;
}

/** Forecast from points (t, used) in time order. */
export function forecastExhaustion(t: readonly number[], used: readonly number[], capacity: number, recentFraction = 1 / 3): Forecast {
  const n = Math.min(t.length, used.length);
  const lastT = n > 0 ? (t[n - 1] as number) : 0;
  const lastU = n > 0 ? (used[n - 1] as number) : 0;
  const from = { t: lastT, used: lastU };
  const done = (slope: number, basis: Forecast["basis"]): Forecast => ({
    slope,
    basis,
    from,
    capacity,
    exhaustedAt: lastU >= capacity ? lastT : slope > 0 ? lastT + (capacity - lastU) / slope : Infinity,
  });
  if (n < 2) return done(0, "no growth");
  const start = Math.max(0, Math.floor(n * (1 - recentFraction)));
  const m = n - start;
  if (m >= 2) {
    let sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (let i = start; i < n; i++) {
      const x = t[i] as number;
      const y = used[i] as number;
      sx += x; sy += y; sxx += x * x; sxy += x * y;
    }
    const den = m * sxx - sx * sx;
    const slope = den === 0 ? 0 : (m * sxy - sx * sy) / den;
    if (slope > 1e-12) return done(slope, "recent trend");
  }
  const span = lastT - (t[0] as number);
  const mean = span > 0 ? (lastU - (used[0] as number)) / span : 0;
  return mean > 1e-12 ? done(mean, "mean growth over the run") : done(0, "no growth");
}
