// The exhaustion forecast, each number against a series whose answer is
// known by construction: it never projects what already happened, and it
// fits only the samples after the last change of regime.
import { describe, it, expect } from "vitest";
import { forecastExhaustion, fitLine, type ForecastPoint, type Outage, type RegimeChange } from "../../src/sim/forecast.js";

const H = 3600;
/** Points every `step` seconds over [0, end], used = f(t), capacity = c(t). */
function series(end: number, step: number, f: (t: number) => number, c: (t: number) => number = () => 100): ForecastPoint[] {
  const out: ForecastPoint[] = [];
  for (let t = 0; t <= end + 1e-9; t += step) out.push({ t, used: f(t), capacity: c(t) });
  return out;
}

interface Case {
  name: string;
  points: ForecastPoint[];
  changes?: RegimeChange[];
  outages?: Outage[];
  status: "exhausted" | "projected" | "not projected";
  at: number; // exhaustedAt, seconds
  slopePerHour?: number;
  windowFrom?: number;
  basis?: RegExp;
}

const cases: Case[] = [
  {
    name: "steady growth over the whole run",
    // used = 10/h from 0, capacity 100, 5 h observed: 100 / 10 = 10 h
    points: series(5 * H, 360, (t) => t / 360),
    status: "projected", at: 10 * H, slopePerHour: 10, windowFrom: 0, basis: /over the whole run/,
  },
  {
    name: "flat, then a ramp after a change of the node curve",
    // 50 until 4 h, then +20/h: 70 at 5 h; (100 - 70) / 20 = 1.5 h after 5 h = 6.5 h
    points: series(5 * H, 360, (t) => (t <= 4 * H ? 50 : 50 + (20 * (t - 4 * H)) / H)),
    changes: [{ at: 4 * H, reason: "node curve bends" }],
    status: "projected", at: 6.5 * H, slopePerHour: 20, windowFrom: 4 * H + 360, basis: /since 4h \(node curve bends\)/, // window: the first sample after the change on
  },
  {
    name: "full at 2.97 h and full to the end (the issue's '4.17 h')",
    // ramps to 100 = capacity at 10,692 s (2.97 h, a sample time: 297 × 36 s), stays: exhausted at 2.97 h, not later
    points: series(4 * H, 36, (t) => Math.min(100, Math.floor((100 * t) / 10_692))),
    status: "exhausted", at: 10_692, basis: /full since 2\.97h/,
  },
  {
    name: "nodes waiting since 0.1 h in a 1 h run (the issue's 150,000 nodes 'at 1 h')",
    // used stays under capacity (subnet limit, fragments), but a node waits from 360 s to the end
    points: series(H, 60, (t) => Math.min(90, t / 4)),
    outages: [{ start: 360 }],
    status: "exhausted", at: 360,
  },
  {
    name: "out, then growth serves the waiting nodes, then a slower trend",
    // out 1 h..2 h; capacity 100 -> 200 at 2 h; used 110 + 10/h after: 130 at 4 h; (200 - 130) / 10 = 7 h after 4 h = 11 h
    points: series(4 * H, 360, (t) => (t < 2 * H ? Math.min(100, t / 36) : 110 + (10 * (t - 2 * H)) / H), (t) => (t < 2 * H ? 100 : 200)),
    outages: [{ start: H, end: 2 * H }],
    status: "projected", at: 11 * H, slopePerHour: 10, windowFrom: 2 * H + 360,
  },
  {
    name: "flat with noise: no significant growth",
    // 50 ± 1 alternating: slope within two standard errors of 0
    points: series(4 * H, 360, (t) => 50 + (Math.round(t / 360) % 2 === 0 ? 1 : -1)),
    status: "not projected", at: Infinity, basis: /no significant growth/,
  },
  {
    name: "too few samples since the last change",
    // change at 3.9 h, samples every 0.1 h to 4 h: only the one at 4 h is after it
    points: series(4 * H, 360, (t) => t / 360),
    changes: [{ at: 3.9 * H, reason: "pool growth" }],
    status: "not projected", at: Infinity, basis: /only 1 sample since 3\.9h/,
  },
];

describe("forecastExhaustion: answers known by construction", () => {
  it.each(cases)("$name", (c) => {
    const f = forecastExhaustion(c.points, c.changes ?? [], c.outages ?? []);
    expect(f.status).toBe(c.status);
    if (Number.isFinite(c.at)) expect(f.exhaustedAt).toBeCloseTo(c.at, 2);
    else expect(f.exhaustedAt).toBe(Infinity);
    if (c.slopePerHour !== undefined) expect(f.slope * H).toBeCloseTo(c.slopePerHour, 6);
    if (c.windowFrom !== undefined) expect(f.window.from).toBe(c.windowFrom);
    if (c.basis !== undefined) expect(f.basis).toMatch(c.basis);
    const last = c.points[c.points.length - 1] as ForecastPoint;
    // Never a future time for something that already happened; never a past time for a projection.
    if (f.status === "exhausted") expect(f.exhaustedAt).toBeLessThanOrEqual(last.t);
    if (f.status === "projected") expect(f.exhaustedAt).toBeGreaterThan(last.t);
  });

  it("without the change of regime, the flat part drags the trend (why the window matters)", () => {
    const c = cases[1] as Case;
    const blind = forecastExhaustion(c.points);
    // the whole-run line through 50-flat-then-ramp has a slope well under 20/h, so it answers later than 6.5 h
    expect(blind.exhaustedAt).toBeGreaterThan(7 * H);
  });

  it("no samples: not projected", () => {
    expect(forecastExhaustion([]).status).toBe("not projected");
  });
});

describe("fitLine", () => {
  it.each([
    // points on y = 3 + 2t: slope 2, intercept 3, no error
    [[0, 1, 2, 3], (t: number) => 3 + 2 * t, 2, 3],
    // y = 7 (flat): slope 0
    [[0, 5, 10], () => 7, 0, 7],
  ])("case %#", (ts, f, slope, intercept) => {
    const r = fitLine(ts.map((t) => ({ t, used: f(t), capacity: 0 })));
    expect(r.slope).toBeCloseTo(slope, 9);
    expect(r.intercept).toBeCloseTo(intercept, 9);
    expect(r.se).toBeCloseTo(0, 9);
  });
});
