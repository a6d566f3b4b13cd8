/**
 * Exhaustion forecast: when does a growing count reach its capacity?
 *
 * It never projects what already happened: a pool that is out at the end
 * of the run (a node is waiting for a subnet, or every subnet is taken) is
 * reported as exhausted since the moment it ran out. Otherwise it fits a
 * least-squares line only to the samples after the last change of regime
 * (a change of the node curve, the pool growing, the end of a stretch in
 * which the pool was out), and projects only a slope that is significant
 * (more than two standard errors above zero).
 */
export interface Forecast {
  /**
   * "exhausted": out at the end of the run, since `exhaustedAt` (a past time);
   * "projected": runs out at `exhaustedAt`, after the run;
   * "not projected": no significant growth, or too few samples since the last change.
   */
  readonly status: "exhausted" | "projected" | "not projected";
  /** Growth used, per second (0 when not projected). */
  readonly slope: number;
  /** How the answer was found, in words ("trend since 3.40h (pool growth)"). */
  readonly basis: string;
  /**
   * Exhausted: when it ran out (in the past). Projected: when it will (after
   * the last sample). Not projected: Infinity.
   */
  readonly exhaustedAt: number;
  /** The samples the line was fitted to: from..to (time) and how many. */
  readonly window: { readonly from: number; readonly to: number; readonly samples: number; readonly reason: string };
  /** The last observed point. */
  readonly from: { readonly t: number; readonly used: number };
  /** Capacity at the last sample. */
  readonly capacity: number;
}

/** One observation: count used and capacity at time t. */
export interface ForecastPoint {
  readonly t: number;
  readonly used: number;
  readonly capacity: number;
}

/** A known change of regime at time `at` (the node curve bends, the pool grows). */
export interface RegimeChange {
  readonly at: number;
  readonly reason: string;
}

/** A stretch of time in which the pool was out (a node waited for a subnet); `end` undefined: still out at the end. */
export interface Outage {
  readonly start: number;
  readonly end?: number;
}

/** Fewest samples a trend is fitted to. */
export const MIN_SAMPLES = 3;

const hours = (sec: number): string => `${+(sec / 3600).toFixed(2)}h`;

/**
 * The forecast of points in time order. `changes` are known regime changes;
 * `outages` the stretches in which the pool was out (from the simulation's
 * clock, exact to the epoch). A point whose used count reaches its capacity
 * also counts as out.
 */
export function forecastExhaustion(points: readonly ForecastPoint[], changes: readonly RegimeChange[] = [], outages: readonly Outage[] = []): Forecast {
  const n = points.length;
  const last = points[n - 1];
  if (last === undefined) {
    return { status: "not projected", slope: 0, basis: "no samples", exhaustedAt: Infinity, window: { from: 0, to: 0, samples: 0, reason: "no samples" }, from: { t: 0, used: 0 }, capacity: 0 };
  }
  const from = { t: last.t, used: last.used };
  const capacity = last.capacity;
  const base = { from, capacity };

  // 1. Out at the end: exhausted since the start of the stretch that reaches the end (the exact outage
  //    record first; without one, since the samples show the count at its capacity).
  const open = outages.find((o) => o.end === undefined || o.end > last.t);
  let fullSince: number | undefined;
  if (open === undefined && last.used >= last.capacity) {
    let i = n - 1;
    while (i > 0 && (points[i - 1] as ForecastPoint).used >= (points[i - 1] as ForecastPoint).capacity) i--;
    fullSince = (points[i] as ForecastPoint).t;
  }
  if (open !== undefined || fullSince !== undefined) {
    const since = open?.start ?? (fullSince as number);
    return {
      ...base, status: "exhausted", slope: 0, exhaustedAt: since,
      basis: open !== undefined
        ? `out since ${hours(since)}, nodes still waiting at the end of the run`
        : `full since ${hours(since)}, every subnet taken at the end of the run`,
      window: { from: since, to: last.t, samples: 0, reason: "the pool is out" },
    };
  }

  // 2. The last change of regime before the last sample.
  const all: RegimeChange[] = [...changes];
  for (const o of outages) if (o.end !== undefined) all.push({ at: o.end, reason: "the pool stopped being out" });
  for (let i = 1; i < n; i++) {
    const a = points[i - 1] as ForecastPoint, b = points[i] as ForecastPoint;
    if (a.capacity !== b.capacity) all.push({ at: a.t, reason: "pool capacity changed" });
    if (a.used >= a.capacity && b.used < b.capacity) all.push({ at: a.t, reason: "the pool stopped being full" });
  }
  let cut: RegimeChange = { at: -Infinity, reason: "the whole run" };
  for (const c of all) if (c.at < last.t && c.at > cut.at) cut = c;
  // A sample at time t shows the state at the end of the interval ending at t: the new regime starts after `at`.
  const win = points.filter((p) => p.t > cut.at);
  const window = { from: (win[0] ?? last).t, to: last.t, samples: win.length, reason: cut.reason };
  const since = Number.isFinite(cut.at) ? `since ${hours(cut.at)} (${cut.reason})` : "over the whole run";
  if (win.length < MIN_SAMPLES) {
    return { ...base, status: "not projected", slope: 0, exhaustedAt: Infinity, window, basis: `only ${win.length} sample${win.length === 1 ? "" : "s"} ${since}` };
  }

  // 3. Least squares on the window; project only a slope above two standard errors.
  const { slope, se } = fitLine(win);
  if (!(slope > 0 && slope > 2 * se)) {
    return { ...base, status: "not projected", slope: 0, exhaustedAt: Infinity, window, basis: `no significant growth ${since}` };
  }
  return {
    ...base, status: "projected", slope, window,
    exhaustedAt: last.t + (last.capacity - last.used) / slope,
    basis: `trend ${since}`,
  };
}

/** Least-squares slope of used over t and its standard error. */
export function fitLine(points: readonly ForecastPoint[]): { slope: number; intercept: number; se: number } {
  const m = points.length;
  let mx = 0, my = 0;
  for (const p of points) { mx += p.t; my += p.used; }
  mx /= m; my /= m;
  let sxx = 0, sxy = 0;
  for (const p of points) { sxx += (p.t - mx) ** 2; sxy += (p.t - mx) * (p.used - my); }
  if (sxx === 0) return { slope: 0, intercept: my, se: Infinity };
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  let sse = 0;
  for (const p of points) sse += (p.used - (intercept + slope * p.t)) ** 2;
  const se = m > 2 ? Math.sqrt(sse / (m - 2) / sxx) : Infinity;
  return { slope, intercept, se };
}
