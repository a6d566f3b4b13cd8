/**
 * The report's charts: Vega-Lite specs built from a simulation's series,
 * rendered at generation time to static SVG (vega's headless renderer), so
 * the report needs no script and no network to show them.
 */
import type { TopLevelSpec } from "vega-lite";
import type { SimResult } from "../sim/simulate.js";
import type { VegaModules } from "./vega.js";
import { formatDuration } from "../sim/scenario.js";

export interface Chart {
  readonly id: string;
  readonly title: string;
  readonly caption: string;
  readonly spec: TopLevelSpec;
}

export const WIDTH = 760;
export const HEIGHT = 240;
const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
export const CONFIG = {
  font: FONT,
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#e5e7eb" },
  legend: { labelFontSize: 11, titleFontSize: 11, orient: "bottom" as const, labelLimit: 320, columns: 3 },
};

/** Hours, for the x axes. */
export const h = (sec: number): number => Math.round((sec / 3600) * 1e4) / 1e4;

/** The four charts of a simulation report. */
export function chartsFor(r: SimResult): Chart[] {
  const s = r.series;
  const end = h(r.scenario.duration);
  // Every time chart has the same x axis: 0 to the end of the run, not rounded.
  const xHours = { field: "t", type: "quantitative" as const, title: "virtual time (hours)", scale: { domain: [0, end], nice: false } };
  const xNoTitle = { ...xHours, title: null, axis: { labels: false, ticks: false } };

  const pool = s.flatMap((p) => [
    { t: h(p.t), metric: "pod IPs used, of carved subnets", value: p.ipUtilization },
    { t: h(p.t), metric: "node subnets used, of pool", value: p.subnetUtilization },
  ]);
  const perNode = s.flatMap((p) => [
    { t: h(p.t), metric: "per node: max", value: p.nodeUtilizationMax },
    { t: h(p.t), metric: "per node: p95", value: p.nodeUtilizationP95 },
    { t: h(p.t), metric: "per node: mean", value: p.nodeUtilizationMean },
  ]);
  const ops = s.flatMap((p) => [
    { t: h(p.t), kind: "pods created", value: p.podCreates },
    { t: h(p.t), kind: "pods deleted", value: p.podDeletes },
  ]);
  // Failures as rectangles over their sample interval [t - sample, t]: no band padding, the same x as the lines.
  const interval = (p: { t: number }, i: number): { t0: number; t: number } => ({ t0: i === 0 ? 0 : h((s[i - 1] as { t: number }).t), t: h(p.t) });
  const podFails = s.map((p, i) => ({ ...interval(p, i), value: p.podFailures }));
  const nodeFails = s.map((p, i) => ({ ...interval(p, i), value: p.nodeAllocFailures }));
  const nodes = s.flatMap((p) => [
    { t: h(p.t), kind: "with a subnet", value: p.nodesWithSubnet },
    { t: h(p.t), kind: "without a subnet", value: p.nodesWithoutSubnet },
  ]);
  const f = r.forecast;
  const lastT = s.length > 0 ? (s[s.length - 1]?.t as number) : 0;
  // Project to exhaustion, but at most three run lengths ahead so the observed part stays readable.
  const horizon = f.status === "projected" ? Math.min(f.exhaustedAt, lastT + 3 * r.scenario.duration) : lastT;
  const observed = s.map((p) => ({ t: h(p.t), series: "subnets used (observed)", value: p.subnetsUsed }));
  const capacity = s.map((p) => ({ t: h(p.t), series: "subnets in service", value: Math.min(p.subnetCapacity, r.pool.maxNodeSubnets ?? Infinity) }));
  const projected = f.status === "projected"
    ? [
        { t: h(f.from.t), series: "projected", value: f.from.used },
        { t: h(horizon), series: "projected", value: Math.min(f.capacity, f.from.used + f.slope * (horizon - f.from.t)) },
      ]
    : [];
  const outages = r.shortage.outages.map((o) => ({ t0: h(o.start), t: h(o.end ?? r.scenario.duration), label: `ran out ${formatDuration(o.start)}` }));
  const colors4 = f.status === "projected"
    ? { domain: ["subnets in service", "subnets used (observed)", "projected"], range: ["#9ca3af", "#2563eb", "#dc2626"] }
    : { domain: ["subnets in service", "subnets used (observed)"], range: ["#9ca3af", "#2563eb"] };
  const xForecast = { ...xHours, scale: { domain: [0, h(Math.max(horizon, r.scenario.duration))], nice: false } };
  const lastOf = (list: { t: number; value: number }[]): { t: number; value: number }[] => (list.length > 0 ? [list[list.length - 1] as { t: number; value: number }] : []);
  const failPanel = (title: string, values: { t0: number; t: number; value: number }[], color: string, last: boolean, none: string) => ({
    width: WIDTH, height: HEIGHT * 0.3,
    layer: [
      {
        data: { values },
        mark: { type: "rect", color },
        encoding: {
          x: last ? { ...xHours, field: "t0" } : { ...xNoTitle, field: "t0" },
          x2: { field: "t" },
          y: { field: "value", type: "quantitative", title, axis: { format: "~s", tickCount: 3 }, scale: { domain: [0, Math.max(1, ...values.map((x) => x.value))] } },
        },
      },
      // An empty panel says so, rather than looking like a missing chart.
      ...(values.every((x) => x.value === 0)
        ? [{ data: { values: [{ text: none }] }, mark: { type: "text", fontSize: 12, color: "#6b7280" }, encoding: { text: { field: "text" } } }]
        : []),
    ],
  });

  return [
    {
      id: "utilization",
      title: "Utilization over time",
      caption: "Top: share of the carved node subnets' pod IPs in use (running pods plus IPs in cooldown) and share of the pool's node subnets carved. Bottom: per-node utilization, max, p95 and mean (max and p95 often sit together at 100%: max is the wide light line under p95).",
      spec: {
        config: CONFIG,
        vconcat: [
          {
            width: WIDTH, height: HEIGHT * 0.6,
            data: { values: pool },
            mark: { type: "line", strokeWidth: 1.8 },
            encoding: {
              x: xNoTitle,
              y: { field: "value", type: "quantitative", title: "pool", axis: { format: "%" }, scale: { domain: [0, 1] } },
              color: { field: "metric", type: "nominal", title: null, scale: { domain: ["pod IPs used, of carved subnets", "node subnets used, of pool"], range: ["#2563eb", "#111827"] } },
            },
          },
          {
            width: WIDTH, height: HEIGHT * 0.6,
            data: { values: perNode },
            mark: { type: "line" },
            encoding: {
              x: xHours,
              y: { field: "value", type: "quantitative", title: "per node", axis: { format: "%" }, scale: { domain: [0, 1] } },
              color: { field: "metric", type: "nominal", title: null, scale: { domain: ["per node: max", "per node: p95", "per node: mean"], range: ["#fca5a5", "#dc2626", "#f59e0b"] } },
              strokeWidth: { condition: { test: "datum.metric === 'per node: max'", value: 6 }, value: 1.6 },
              order: { field: "metric", sort: "ascending" },
            },
          },
        ],
        resolve: { scale: { color: "independent" }, legend: { color: "independent" } },
      } as TopLevelSpec,
    },
    {
      id: "allocations",
      title: "Allocations and failures over time",
      caption: `Pod creations and deletions per ${Math.round(r.scenario.sample)} s sample interval; below, failed pod IP allocations and failed node subnet allocations (a node that had to wait), each on its own scale, on the same time axis.`,
      spec: {
        config: CONFIG,
        vconcat: [
          {
            width: WIDTH, height: HEIGHT * 0.6,
            data: { values: ops },
            mark: { type: "line", strokeWidth: 1.4 },
            encoding: {
              x: xNoTitle,
              y: { field: "value", type: "quantitative", title: "pods per interval", axis: { format: "~s" } },
              color: { field: "kind", type: "nominal", title: null, scale: { range: ["#2563eb", "#16a34a"] } },
              strokeDash: { field: "kind", type: "nominal", legend: null, scale: { range: [[1, 0], [5, 3]] } },
            },
          },
          failPanel("pod IP failures", podFails, "#dc2626", false, "no pod IP allocation failed"),
          failPanel("node subnet failures", nodeFails, "#f59e0b", true, "no node waited for a subnet"),
        ],
        resolve: { scale: { color: "independent", y: "independent" } },
      } as TopLevelSpec,
    },
    {
      id: "nodes",
      title: "Nodes with and without subnets",
      caption: "Nodes in the cluster, stacked: those holding a node subnet and those waiting for one (the pool or its node-subnet limit was exhausted).",
      spec: {
        width: WIDTH, height: HEIGHT, config: CONFIG,
        data: { values: nodes },
        mark: { type: "area", interpolate: "step-after", opacity: 0.85 },
        encoding: {
          x: xHours,
          y: { field: "value", type: "quantitative", title: "nodes", stack: "zero" },
          color: { field: "kind", type: "nominal", title: null, scale: { domain: ["with a subnet", "without a subnet"], range: ["#2563eb", "#dc2626"] } },
          order: { field: "kind", sort: "ascending" },
        },
      } as TopLevelSpec,
    },
    {
      id: "forecast",
      title: "Pool exhaustion forecast",
      caption: forecastCaption(r, horizon),
      spec: {
        width: WIDTH, height: HEIGHT, config: CONFIG,
        layer: [
          {
            data: { values: outages },
            mark: { type: "rect", color: "#fee2e2" },
            encoding: { x: { ...xForecast, field: "t0" }, x2: { field: "t" } },
          },
          {
            data: { values: outages },
            mark: { type: "text", align: "left", baseline: "top", dx: 3, dy: 3, fontSize: 11, color: "#b91c1c" },
            encoding: { x: { ...xForecast, field: "t0" }, y: { value: 0 }, text: { field: "label" } },
          },
          {
            // capacity under the observed line: wide and light, so both show where the pool is full
            data: { values: capacity },
            mark: { type: "line", strokeWidth: 6, opacity: 0.45, interpolate: "step-after" },
            encoding: { x: xForecast, y: { field: "value", type: "quantitative", title: "node subnets" }, color: { field: "series", type: "nominal", title: null, scale: colors4 } },
          },
          {
            data: { values: [...observed, ...projected] },
            mark: { type: "line", strokeWidth: 1.8 },
            encoding: {
              x: xForecast,
              y: { field: "value", type: "quantitative" },
              color: { field: "series", type: "nominal", title: null, scale: colors4 },
              strokeDash: { condition: { test: "datum.series === 'projected'", value: [6, 4] }, value: [1, 0] },
            },
          },
          // End labels: capacity above its line, used below its line, so close lines keep apart labels.
          ...endLabels(lastOf(capacity)[0], lastOf(observed)[0]).map((l) => ({
            data: { values: [l] },
            mark: { type: "text", align: "right", dx: -4, dy: l.above ? -9 : 13, fontSize: 11, color: "#111827" },
            encoding: { x: xForecast, y: { field: "value", type: "quantitative" }, text: { field: "label" } },
          })),
        ],
      } as TopLevelSpec,
    },
  ];
}

const int = (n: number): string => Math.round(n).toLocaleString("en-US");

/** Labels at the end of the capacity and used lines; one label when they meet. */
function endLabels(cap: { t: number; value: number } | undefined, used: { t: number; value: number } | undefined): { t: number; value: number; label: string; above: boolean }[] {
  if (cap === undefined || used === undefined) return [];
  if (used.value >= cap.value) return [{ ...cap, label: `used ${int(used.value)} of ${int(cap.value)}: full`, above: true }];
  return [{ ...cap, label: `in service ${int(cap.value)}`, above: true }, { ...used, label: `used ${int(used.value)}`, above: false }];
}

function forecastCaption(r: SimResult, horizon: number): string {
  const f = r.forecast;
  const cap = int(f.capacity);
  switch (f.status) {
    case "exhausted":
      return f.basis.startsWith("full")
        ? `Node subnets used against those in service (shaded: stretches in which nodes waited for a subnet). Every node subnet has been taken since ${formatDuration(f.exhaustedAt)}: the next node waits; nothing to project.`
        : `Node subnets used against those in service (shaded: stretches in which nodes waited for a subnet). The pool ran out at ${formatDuration(f.exhaustedAt)} and nodes were still waiting at the end: nothing to project.`;
    case "projected":
      return `Node subnets used, projected at ${(f.slope * 3600).toFixed(1)} subnets/hour (${f.basis}) to the pool's ${cap} subnets: runs out at ${formatDuration(f.exhaustedAt)} of virtual time${f.exhaustedAt > horizon ? " (beyond the chart)" : ""}.`;
    case "not projected":
      return `Node subnets used against those in service${r.shortage.outages.length > 0 ? " (shaded: stretches in which nodes waited for a subnet)" : ""}; not projected to run out: ${f.basis}.`;
  }
}

/** Renders a Vega-Lite spec to an SVG string (no DOM, no canvas, no network) with `loadVega()`'s modules. */
export async function renderSvg({ vega, compile }: VegaModules, spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
