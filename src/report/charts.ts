/**
 * The report's charts: Vega-Lite specs built from a simulation's series,
 * rendered at generation time to static SVG (vega's headless renderer), so
 * the report needs no script and no network to show them.
 */
import type { TopLevelSpec } from "vega-lite";
import type { SimResult } from "../sim/simulate.js";
import type { VegaModules } from "./vega.js";

export interface Chart {
  readonly id: string;
  readonly title: string;
  readonly caption: string;
  readonly spec: TopLevelSpec;
}

const WIDTH = 760;
const HEIGHT = 240;
const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const CONFIG = {
  font: FONT,
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#e5e7eb" },
  legend: { labelFontSize: 11, titleFontSize: 11, orient: "bottom" as const, labelLimit: 320, columns: 3 },
};

/** Hours, for the x axes. */
const h = (sec: number): number => Math.round((sec / 3600) * 1e4) / 1e4;

/** The four charts of a simulation report. */
export function chartsFor(r: SimResult): Chart[] {
  const s = r.series;
  const xHours = { field: "t", type: "quantitative" as const, title: "virtual time (hours)" };

  const util = s.flatMap((p) => [
    { t: h(p.t), metric: "pod IPs used, of carved subnets", value: p.ipUtilization },
    { t: h(p.t), metric: "node subnets used, of pool", value: p.subnetUtilization },
    { t: h(p.t), metric: "per node: mean", value: p.nodeUtilizationMean },
    { t: h(p.t), metric: "per node: p95", value: p.nodeUtilizationP95 },
    { t: h(p.t), metric: "per node: max", value: p.nodeUtilizationMax },
  ]);
  const ops = s.flatMap((p) => [
    { t: h(p.t), kind: "pods created", value: p.podCreates },
    { t: h(p.t), kind: "pods deleted", value: p.podDeletes },
  ]);
  const fails = s.flatMap((p) => [
    { t: h(p.t), kind: "pod allocations failed", value: p.podFailures },
    { t: h(p.t), kind: "node subnet allocations failed", value: p.nodeAllocFailures },
  ]);
  const nodes = s.flatMap((p) => [
    { t: h(p.t), kind: "with a subnet", value: p.nodesWithSubnet },
    { t: h(p.t), kind: "without a subnet", value: p.nodesWithoutSubnet },
  ]);
  const f = r.forecast;
  const lastT = s.length > 0 ? (s[s.length - 1]?.t as number) : 0;
  // Project to exhaustion, but at most three run lengths ahead so the observed part stays readable.
  const horizon = Math.min(Number.isFinite(f.exhaustedAt) ? f.exhaustedAt : Infinity, lastT + 3 * r.scenario.duration);
  const observed = s.map((p) => ({ t: h(p.t), series: "subnets used (observed)", value: p.subnetsUsed }));
  const capacity = s.map((p) => ({ t: h(p.t), series: "subnets in service", value: p.subnetCapacity }));
  const projected = f.slope > 0
    ? [
        { t: h(f.from.t), series: "projected", value: f.from.used },
        { t: h(horizon), series: "projected", value: Math.min(f.capacity, f.from.used + f.slope * (horizon - f.from.t)) },
      ]
    : [
        { t: h(f.from.t), series: "projected", value: f.from.used },
        { t: h(horizon), series: "projected", value: f.from.used },
      ];
  const forecastData = [...observed, ...capacity, ...projected];
  const colors4 = { domain: ["subnets used (observed)", "subnets in service", "projected"], range: ["#2563eb", "#9ca3af", "#dc2626"] };

  return [
    {
      id: "utilization",
      title: "Utilization over time",
      caption: "Share of the carved node subnets' pod IPs in use (running pods plus IPs in cooldown), share of the pool's node subnets carved, and the distribution of per-node utilization.",
      spec: {
        width: WIDTH, height: HEIGHT, config: CONFIG,
        data: { values: util },
        mark: { type: "line", strokeWidth: 1.6 },
        encoding: {
          x: xHours,
          y: { field: "value", type: "quantitative", title: "utilization", axis: { format: "%" }, scale: { domain: [0, 1] } },
          color: { field: "metric", type: "nominal", title: null },
          strokeDash: { condition: { test: "indexof(datum.metric, 'per node') === 0", value: [4, 3] }, value: [1, 0] },
        },
      } as TopLevelSpec,
    },
    {
      id: "allocations",
      title: "Allocations and failures over time",
      caption: `Pod creations and deletions, and failed pod IP and node subnet allocations, per ${Math.round(r.scenario.sample)} s sample interval.`,
      spec: {
        config: CONFIG,
        vconcat: [
          {
            width: WIDTH, height: HEIGHT * 0.7,
            data: { values: ops },
            mark: { type: "line", strokeWidth: 1.4 },
            encoding: {
              x: xHours,
              y: { field: "value", type: "quantitative", title: "pods per interval" },
              color: { field: "kind", type: "nominal", title: null, scale: { range: ["#2563eb", "#16a34a"] } },
            },
          },
          {
            width: WIDTH, height: HEIGHT * 0.5,
            data: { values: fails },
            mark: { type: "bar", width: { band: 1 } },
            encoding: {
              x: xHours,
              y: { field: "value", type: "quantitative", title: "failures per interval", axis: { format: "~s" }, scale: { domain: [0, Math.max(1, ...fails.map((x) => x.value))] } },
              color: { field: "kind", type: "nominal", title: null, scale: { range: ["#dc2626", "#f59e0b"] } },
            },
          },
        ],
        resolve: { scale: { color: "independent" } },
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
      caption: Number.isFinite(f.exhaustedAt)
        ? `Node subnets used, projected at ${(f.slope * 3600).toFixed(1)} subnets/hour (${f.basis}) to the pool's ${f.capacity.toLocaleString("en-US")} subnets: exhausted at ${h(f.exhaustedAt).toFixed(2)} h of virtual time${f.exhaustedAt > horizon ? " (beyond the chart)" : ""}.`
        : `Node subnets used; no growth at the end of the run (${f.basis}), so the pool of ${f.capacity.toLocaleString("en-US")} subnets is not projected to run out.`,
      spec: {
        width: WIDTH, height: HEIGHT, config: CONFIG,
        layer: [
          {
            data: { values: forecastData },
            mark: { type: "line", strokeWidth: 1.8 },
            encoding: {
              x: xHours,
              y: { field: "value", type: "quantitative", title: "node subnets" },
              color: { field: "series", type: "nominal", title: null, scale: colors4 },
              strokeDash: { condition: { test: "datum.series === 'projected'", value: [6, 4] }, value: [1, 0] },
            },
          },
          {
            data: { values: [{ capacity: f.capacity, label: `pool capacity ${f.capacity.toLocaleString("en-US")}` }] },
            mark: { type: "rule", color: "#111827", strokeDash: [2, 2] },
            encoding: { y: { field: "capacity", type: "quantitative" } },
          },
          {
            data: { values: [{ capacity: f.capacity, label: `pool capacity ${f.capacity.toLocaleString("en-US")}` }] },
            mark: { type: "text", align: "left", dx: 4, dy: -6, fontSize: 11, color: "#111827" },
            encoding: { y: { field: "capacity", type: "quantitative" }, x: { value: 0 }, text: { field: "label" } },
          },
        ],
      } as TopLevelSpec,
    },
  ];
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
