/** The first place two JSON values differ, as an option path ("options.ipv4.maskSize"), or undefined when equal. */
import { show } from "../errors.js";

export function firstDifference(stored: unknown, given: unknown, path: string): { path: string; stored: string; given: string } | undefined {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (Array.isArray(stored) && Array.isArray(given)) {
    for (let i = 0; i < Math.max(stored.length, given.length); i++) {
      const d = firstDifference(stored[i], given[i], `${path}[${i}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (isObj(stored) && isObj(given)) {
    for (const k of [...new Set([...Object.keys(given), ...Object.keys(stored)])].sort()) {
      const d = firstDifference(stored[k], given[k], `${path}.${k}`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (stored === given) return undefined;
  const text = (v: unknown): string => (v === undefined ? "nothing" : typeof v === "object" && v !== null ? JSON.stringify(v) : show(v));
  return { path, stored: text(stored), given: text(given) };
}
