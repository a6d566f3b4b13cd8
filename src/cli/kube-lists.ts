/**
 * The live cluster as kubectl prints it: node names from `kubectl get nodes
 * -o json` and owners ("namespace/name", as ipcarve names pods everywhere)
 * from `kubectl get pods -A -o json`. JSON is parsed with JSON.parse (a pod
 * list of a large cluster is hundreds of MB); anything else as YAML, with
 * the line of a syntax error. A bad shape names the file and the item.
 */
import { readFileSync } from "node:fs";
import { Source } from "../config/source.js";
import { CliError } from "./io.js";

function read(flag: string, file: string, shown: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(`ipcarve: ${flag} ${shown}: ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory, not a file" : (e as Error).message}`);
  }
  if (/^\s*[{[]/.test(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      throw new CliError(`ipcarve: ${flag} ${shown}: not valid JSON: ${(e as Error).message}`);
    }
  }
  return Source.parse(shown, text).data;
}

/** items[] of a kubectl List (a single object counts as a list of one). */
function items(flag: string, shown: string, data: unknown, kind: string): Record<string, unknown>[] {
  const obj = data as Record<string, unknown> | null;
  if (typeof data !== "object" || obj === null || Array.isArray(data)) {
    throw new CliError(`ipcarve: ${flag} ${shown}: expected the output of kubectl get ${kind} -o json (an object with items[])`);
  }
  const list = Array.isArray(obj.items) ? obj.items : obj.kind === kindName(kind) ? [obj] : undefined;
  if (list === undefined) throw new CliError(`ipcarve: ${flag} ${shown}: expected the output of kubectl get ${kind} -o json (no items[] found)`);
  return list.map((it, i) => {
    if (typeof it !== "object" || it === null || Array.isArray(it)) throw new CliError(`ipcarve: ${flag} ${shown}: items[${i}] is not an object`);
    return it as Record<string, unknown>;
  });
}

const kindName = (kind: string): string => (kind === "nodes" ? "Node" : "Pod");

function field(flag: string, shown: string, item: Record<string, unknown>, i: number, key: "name" | "namespace"): string {
  const meta = item.metadata as Record<string, unknown> | undefined;
  const v = meta?.[key];
  if (typeof v !== "string" || v === "") throw new CliError(`ipcarve: ${flag} ${shown}: items[${i}].metadata.${key} must be a non-empty string`);
  return v;
}

/** Node names of `kubectl get nodes -o json`. */
export function readNodes(file: string, shown: string): string[] {
  return items("--nodes", shown, read("--nodes", file, shown), "nodes").map((it, i) => field("--nodes", shown, it, i, "name"));
}

/**
 * Owners ("namespace/name") of `kubectl get pods -A -o json`. Every pod in
 * the list counts as live, whatever its phase: a pod object that exists
 * never has its addresses freed by a check.
 */
export function readPods(file: string, shown: string): string[] {
  return items("--pods", shown, read("--pods", file, shown), "pods").map((it, i) => `${field("--pods", shown, it, i, "namespace")}/${field("--pods", shown, it, i, "name")}`);
}
