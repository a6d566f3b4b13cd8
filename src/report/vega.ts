/**
 * vega and vega-lite are optional peer dependencies: only the simulation
 * report's charts use them, so a library user does not install ~20 MB of
 * charting. They are imported on first use; when either is not installed the
 * report is written without charts and says how to get them.
 */
import type * as Vega from "vega";
import type * as VegaLite from "vega-lite";

/** What the chart renderer needs from the two packages. */
export interface VegaModules {
  readonly vega: typeof Vega;
  readonly compile: typeof VegaLite.compile;
}

/** The advice printed and written into the report when the charts cannot be drawn. */
export const CHARTS_HINT = "install vega and vega-lite for the report's charts (npm install vega vega-lite)";

let loading: Promise<VegaModules | undefined> | undefined;

/** True if `e` says that the vega or vega-lite package itself is not installed. */
function isMissingPackage(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown } | null;
  return err?.code === "ERR_MODULE_NOT_FOUND" && typeof err.message === "string" && /['"]vega(-lite)?['"]/.test(err.message);
}

/**
 * vega and vega-lite, imported once; undefined when either package is not
 * installed. Any other failure while loading them (a broken install) rejects.
 */
export function loadVega(): Promise<VegaModules | undefined> {
  loading ??= Promise.all([import("vega"), import("vega-lite")]).then(
    ([vega, vl]) => ({ vega, compile: vl.compile }),
    (e: unknown) => {
      if (isMissingPackage(e)) return undefined;
      throw e;
    },
  );
  return loading;
}
