/**
 * A parsed YAML (or JSON) config file that knows where each value is:
 * every error names the file, the line and column, and the YAML path.
 */
import { readFileSync } from "node:fs";
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Document, type Node } from "yaml";
import { parseCidr, type Cidr } from "../net/ip.js";
import { checkNodeMask } from "../alloc/cidr-set.js";
import { IpamError, type IpamErrorCode } from "../errors.js";
import { parseDuration } from "../sim/scenario.js";

export type Path = readonly (string | number)[];

/**
 * A config file that cannot be used: an IpamError that names the file, line
 * and column (`where`) and the YAML path (`path`, absent for the whole file). The code is the one of
 * the error it maps (resolveOptions' INVALID_OPTION, INVALID_MASK, ...),
 * INVALID_CONFIG for what the format itself rejects, IO_ERROR if unreadable.
 */
export class ConfigError extends IpamError {
  override readonly name: string = "ConfigError";
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly column: number | undefined,
    path: string,
    reason: string,
    options?: { cause?: unknown; code?: IpamErrorCode },
  ) {
    super(options?.code ?? "INVALID_CONFIG", reason, {
      where: line === undefined ? file : `${file}:${line}:${column ?? 1}`,
      ...(path ? { path, sep: ": " as const } : {}),
      ...(options !== undefined && "cause" in options ? { cause: options.cause } : {}),
    });
  }
}

/** "spec.allocator.clusterPoolIPAM.numBigHoleIPAMs", "list[2]". */
export function pathText(path: Path): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? p : `.${p}`;
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export class Source {
  readonly file: string;
  /** The data below `prefix` (the whole document when the prefix is empty). */
  readonly data: unknown;
  /** Where this view starts in the document (["cilium"]: values of an umbrella chart); every path is below it. */
  readonly prefix: Path;
  readonly #doc: Document;
  readonly #lines: LineCounter;

  private constructor(file: string, doc: Document, lines: LineCounter, prefix: Path = [], data?: unknown) {
    this.file = file;
    this.#doc = doc;
    this.#lines = lines;
    this.prefix = prefix;
    this.data = prefix.length === 0 ? (doc.toJS({ maxAliasCount: 100 }) as unknown) : data;
  }

  /** The same file seen from the mapping at `path`: paths, positions and messages keep the full path. */
  at(path: Path): Source {
    return new Source(this.file, this.#doc, this.#lines, [...this.prefix, ...path], this.get(path));
  }

  /** Reads and parses a file; a missing file or malformed YAML is a ConfigError with its line. */
  static read(file: string): Source {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory, not a file" : (e as Error).message;
      throw new ConfigError(file, undefined, undefined, "", why, { cause: e, code: "IO_ERROR" });
    }
    return Source.parse(file, text);
  }

  /** Parses text as if read from `file`. */
  static parse(file: string, text: string): Source {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      const msg = err.message.split("\n")[0] ?? err.message;
      throw new ConfigError(file, pos?.line, pos?.col, "", `malformed YAML: ${msg.replace(/ at line \d+, column \d+:?$/, "")}`);
    }
    return new Source(file, doc, lines);
  }

  /** The value at a path, or undefined. */
  get(path: Path): unknown {
    let v: unknown = this.data;
    for (const p of path) {
      if (typeof p === "number") v = Array.isArray(v) ? v[p] : undefined;
      else v = isObject(v) ? v[p] : undefined;
      if (v === undefined) return undefined;
    }
    return v;
  }

  /** True if the key exists (even with a null value). */
  has(path: Path): boolean {
    const parent = path.length === 1 ? this.data : this.get(path.slice(0, -1));
    const k = path[path.length - 1];
    if (typeof k === "number") return Array.isArray(parent) && k < parent.length;
    return isObject(parent) && k !== undefined && Object.prototype.hasOwnProperty.call(parent, k);
  }

  /** Line and column of the value at a path; for a missing value, of the key of its nearest existing parent. */
  position(rel: Path): { line: number; col: number } | undefined {
    const path = [...this.prefix, ...rel];
    const exact = nodeStart(path.length === 0 ? this.#doc.contents : (this.#doc.getIn(path, true) as Node | undefined));
    if (exact !== undefined) return this.#lines.linePos(exact);
    for (let n = path.length; n >= 1; n--) {
      // The key of path[0..n) in its parent mapping (present even when its value is null).
      const parent = n === 1 ? this.#doc.contents : this.#doc.getIn(path.slice(0, n - 1), true);
      if (isMap(parent)) {
        const pair = parent.items.find((it) => isScalar(it.key) && it.key.value === path[n - 1]);
        const ks = nodeStart(pair?.key as Node | undefined);
        if (ks !== undefined) return this.#lines.linePos(ks);
      } else if (isSeq(parent)) {
        const at = nodeStart(parent.items[path[n - 1] as number] as Node | undefined);
        if (at !== undefined) return this.#lines.linePos(at);
      }
    }
    const top = nodeStart(this.#doc.contents);
    return top === undefined ? undefined : this.#lines.linePos(top);
  }

  /** A ConfigError at a path; with an IpamError as cause, of its code (else INVALID_CONFIG). */
  error(path: Path, reason: string, cause?: unknown): ConfigError {
    const pos = this.position(path);
    const code = cause instanceof IpamError ? cause.code : "INVALID_CONFIG";
    return new ConfigError(this.file, pos?.line, pos?.col, pathText([...this.prefix, ...path]), reason, { cause, code });
  }

  /** A warning at a path, as text: "values.yaml:4:5: ipam.operator.x: reason". */
  warning(path: Path, reason: string): string {
    const pos = this.position(path);
    return `${this.file}${pos ? `:${pos.line}:${pos.col}` : ""}: ${pathText([...this.prefix, ...path])}: ${reason}`;
  }

  // ------------------------------------------------------------ typed reads

  /** The mapping at a path ({} when absent and optional). */
  map(path: Path, required = false): Record<string, unknown> {
    const v = this.get(path);
    if (v === undefined || v === null) {
      if (required) throw this.error(path, this.has(path) ? "is empty; expected a mapping" : "is required");
      return {};
    }
    if (!isObject(v)) throw this.error(path, `must be a mapping (got ${describe(v)})`);
    return v;
  }

  /** Rejects keys of the mapping at `path` that are not in `known`. */
  onlyKeys(path: Path, known: readonly string[]): void {
    const m = this.map(path);
    for (const k of Object.keys(m)) {
      if (!known.includes(k)) throw this.error([...path, k], `is not a known key (known: ${known.join(", ")})`);
    }
  }

  string(path: Path): string | undefined {
    const v = this.get(path);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") throw this.error(path, `must be a string (got ${describe(v)})`);
    return v;
  }

  /** A number in [min, max]; integer unless `real`. */
  number(path: Path, o: { min?: number; max?: number; real?: boolean } = {}): number | undefined {
    const v = this.get(path);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v)) throw this.error(path, `must be a number (got ${describe(v)})`);
    if (!o.real && !Number.isInteger(v)) throw this.error(path, `must be an integer (got ${v})`);
    if (o.min !== undefined && v < o.min) throw this.error(path, `must be at least ${o.min} (got ${v})`);
    if (o.max !== undefined && v > o.max) throw this.error(path, `must be at most ${o.max} (got ${v})`);
    return v;
  }

  boolean(path: Path): boolean | undefined {
    const v = this.get(path);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean") throw this.error(path, `must be true or false (got ${describe(v)})`);
    return v;
  }

  /** A duration ("30s", "15m", "2h", or seconds). */
  duration(path: Path): number | undefined {
    const v = this.get(path);
    if (v === undefined || v === null) return undefined;
    const d = parseDuration(v);
    if (Number.isNaN(d)) throw this.error(path, `must be a duration like 30s, 15m, 2h (got ${describe(v)})`);
    return d;
  }

  /** A CIDR of the given family; the message of the core's parser, at this path. */
  cidr(path: Path, family?: 4 | 6): Cidr {
    const v = this.get(path);
    if (typeof v !== "string") throw this.error(path, v === undefined ? "is required" : `must be a CIDR string (got ${describe(v)})`);
    let c: Cidr;
    try {
      c = parseCidr(v);
    } catch (e) {
      if (!(e instanceof IpamError)) throw e;
      throw this.error(path, e.detail, e);
    }
    if (family !== undefined && c.family !== family) throw this.error(path, `${JSON.stringify(v)} is not an IPv${family} CIDR`);
    return c;
  }

  /** A node mask valid for every CIDR (a scenario's growth CIDRs: pool options are checked by resolveOptions). */
  mask(path: Path, cidrs: readonly string[], value: number): number {
    for (const c of cidrs) {
      try {
        checkNodeMask(parseCidr(c), value);
      } catch (e) {
        if (!(e instanceof IpamError)) throw e;
        throw this.error(path, e.detail, e);
      }
    }
    return value;
  }
}

function nodeStart(node: Node | null | undefined): number | undefined {
  if (node === null || node === undefined) return undefined;
  if (isMap(node) || isSeq(node) || isScalar(node)) return node.range?.[0];
  return undefined;
}

/** A value's kind for messages: "a list", "the string \"x\"", "the number 3". */
export function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `the string ${JSON.stringify(v)}`;
  return `the ${typeof v} ${String(v)}`;
}
