/**
 * The charts of a multi-pool report: per-pool use over time (chunks held
 * and addresses in use, each against the pool's own capacity), nodes short
 * of a chunk, and the CIDRs (chunks) that moved to and from nodes per
 * sample interval per pool family, with the failed allocations on the same time axis.
 */
import type { TopLevelSpec } from "vega-lite";
import type { MultiPoolSimResult } from "../sim/multi-pool.js";
import { CONFIG, WIDTH, HEIGHT, h, type Chart } from "./charts.js";

const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#f59e0b", "#7c3aed", "#0891b2", "#db2777", "#65a30d"];

/** One bar of a chart stacked by hand: an interval, its series, and from y0 to y1 (value = y1 - y0, negative below zero). */
interface Bar { t0: number; t: number; series: string; value: number; y0: number; y1: number }

/** Adds the bars of one interval and direction to `out`, each from where the last one ended; a zero value adds none. */
function stack(out: Bar[], at: { t0: number; t: number }): (series: string, value: number) => void {
  let top = 0;
  return (series, value) => {
    if (value === 0) return;
    out.push({ ...at, series, value, y0: top, y1: top + value });
    top += value;
  };
}

export function poolChartsFor(r: MultiPoolSimResult): Chart[] {
  const s = r.samples;
  const xHours = { field: "t", type: "quantitative" as const, title: "virtual time (hours)", scale: { domain: [0, h(r.duration)], nice: false } };
  const xNoTitle = { ...xHours, title: null, axis: { labels: false, ticks: false } };
  const keys = r.final.map((p) => `${p.pool} IPv${p.family}`);
  const color = { field: "series", type: "nominal" as const, title: null, scale: { domain: keys, range: PALETTE.slice(0, Math.max(1, keys.length)) } };
  const perPool = (f: (p: MultiPoolSimResult["final"][number]) => number) =>
    s.flatMap((x) => x.pools.map((p) => ({ t: h(x.t), series: `${p.pool} IPv${p.family}`, value: f(p) })));
  const chunks = perPool((p) => (p.chunks.capacity > 0 ? p.chunks.used / p.chunks.capacity : 0));
  const addrs = perPool((p) => (p.addresses.capacity > 0 ? p.addresses.used / p.addresses.capacity : 0));
  const short = perPool((p) => p.short);
  // Per sample interval [previous sample, this sample]: chunks taken and given back, failures per pool.
  const interval = (i: number): { t0: number; t: number } => ({ t0: i === 0 ? 0 : h((s[i - 1] as { t: number }).t), t: h((s[i] as { t: number }).t) });
  // per pool family: taken up, given back down, stacked per interval here (y0..y1), one rect per
  // interval, direction and family: Vega-Lite does not stack rects placed by x and x2
  const moved: Bar[] = [];
  s.forEach((x, i) => {
    const up = stack(moved, interval(i));
    const down = stack(moved, interval(i));
    for (const p of x.pools) {
      const prev = s[i - 1]?.pools.find((q) => q.pool === p.pool && q.family === p.family);
      const series = `${p.pool} IPv${p.family}`;
      up(series, p.chunksTaken - (prev?.chunksTaken ?? 0));
      down(series, -(p.chunksReleased - (prev?.chunksReleased ?? 0)));
    }
  });
  // failures are per pool: each in the colour of its pool's first family in the charts above
  const poolNames = Object.keys(r.pools);
  const poolColor = poolNames.map((name) => PALETTE[Math.max(0, keys.findIndex((k) => k === `${name} IPv4` || k === `${name} IPv6`)) % PALETTE.length] as string);
  const fails: Bar[] = [];
  s.forEach((x, i) => {
    const add = stack(fails, interval(i));
    for (const p of poolNames) add(p, (x.failures[p] ?? 0) - (s[i - 1]?.failures[p] ?? 0));
  });
  const anyFail = fails.length > 0;
  const line = (values: { t: number; series: string; value: number }[], title: string, last: boolean, format = "%") => ({
    width: WIDTH, height: HEIGHT * 0.6,
    data: { values },
    mark: { type: "line", strokeWidth: 1.8, interpolate: "step-after" },
    encoding: {
      x: last ? xHours : xNoTitle,
      y: { field: "value", type: "quantitative", title, axis: { format, tickCount: 4 }, ...(format === "%" ? { scale: { domain: [0, 1] } } : {}) },
      color,
      strokeDash: { field: "series", type: "nominal", title: null, scale: { domain: keys, range: keys.map((_, i) => (i % 2 === 0 ? [1, 0] : [6, 3])) } },
    },
  });
  return [
    {
      id: "pool-use",
      title: "Use per pool over time",
      caption: "Per pool and family, each against its own pool: top, the share of its chunks held by nodes; middle, the share of its addresses given to pods; bottom, nodes below the watermark for want of a free chunk. Dashed and solid lines alternate so that lines on top of each other stay apart.",
      spec: {
        config: CONFIG,
        vconcat: [line(chunks, "chunks held", false), line(addrs, "addresses used", false), line(short, "nodes short", true, "d")],
        resolve: { scale: { y: "independent" } },
      } as TopLevelSpec,
    },
    {
      id: "chunks-moved",
      title: "CIDRs moved to and from nodes",
      caption: `Per pool and family (colour), chunks taken by nodes (up, above 0) and given back to their pool after the release delay or with their node (down, below 0, lighter), per ${Math.round(r.sample)} s sample interval, stacked; the pools table has the totals. Below, pod allocations refused per pool, on the same time axis.`,
      spec: {
        config: CONFIG,
        vconcat: [
          {
            width: WIDTH, height: HEIGHT * 0.7,
            data: { values: moved },
            mark: { type: "rect" },
            encoding: {
              x: { ...xNoTitle, field: "t0" }, x2: { field: "t" },
              y: { field: "y0", type: "quantitative", title: "chunks moved", axis: { format: "d" } }, y2: { field: "y1" },
              color,
              opacity: { condition: { test: "datum.value < 0", value: 0.55 }, value: 0.95 }, // given back: lighter
            },
          },
          {
            width: WIDTH, height: HEIGHT * 0.35,
            layer: [
              {
                data: { values: fails },
                mark: { type: "rect" },
                encoding: {
                  x: { ...xHours, field: "t0" }, x2: { field: "t" },
                  y: { field: "y0", type: "quantitative", title: "failed", axis: { format: "~s", tickCount: 3 } }, y2: { field: "y1" },
                  color: { field: "series", type: "nominal", title: null, scale: { domain: poolNames, range: poolColor } },
                },
              },
              ...(anyFail ? [] : [{ data: { values: [{ text: "no pod allocation failed" }] }, mark: { type: "text", fontSize: 12, color: "#6b7280" }, encoding: { text: { field: "text" } } }]),
            ],
          },
        ],
        resolve: { scale: { color: "independent", y: "independent" }, legend: { color: "independent" } },
      } as TopLevelSpec,
    },
  ];
}
