/**
 * The one table from config keys to ClusterPool options. Each row names a
 * key of one of the three formats (a YAML path), the ClusterPoolOptions
 * field it feeds (a path below `options`) and a converter from the file's
 * spelling to the option's (a single CIDR to a list, "2m" to 120000 ms).
 * Converters do not validate: resolveOptions (src/pool/options.ts) does,
 * once, and an error it throws about `options.ipv4.maskSize` is mapped
 * back through the same table to the key, line and column in the file.
 */
import { IpamError } from "../errors.js";
import { resolveOptions, type ClusterPoolOptions, type ResolvedOptions } from "../pool/options.js";
import { parseDuration } from "../sim/scenario.js";
import { describe, pathText, type ConfigError, type Path, type Source } from "./source.js";

export type ConfigFormat = "ClusterPoolConfig" | "helm-values" | "ipcarve";

export interface KeyRow {
  readonly format: ConfigFormat;
  /** The key in the file, a YAML path. */
  readonly key: Path;
  /** The ClusterPoolOptions field it feeds, below `options`: "ipv4.maskSize"; "" is the options object itself. */
  readonly option: string;
  /**
   * The option's raw value from the key's (present, non-null) value. Absent:
   * the row is a mapping that only groups other rows (it locates errors about
   * the whole group, and with `closed` its unknown keys are errors).
   */
  readonly convert?: (v: unknown, src: Source, key: Path) => unknown;
  /** Unknown keys in this mapping are errors (ipcarve's own format). */
  readonly closed?: boolean;
  /** The value when the key is absent (Cilium's Helm defaults), and how a note shows it. */
  readonly default?: { readonly value: unknown; readonly text: string };
  /** The row applies only when this holds (Helm: ipv6.enabled). */
  readonly when?: (src: Source) => boolean;
  /** Not given, the option is derived from this option (the node mask from maxNodeSubnets). */
  readonly derivedFrom?: string;
  /** A key Cilium deprecated: it is read, with a warning naming the key that replaced it and when. */
  readonly deprecated?: { readonly by: string; readonly since: string };
}

// ------------------------------------------------------------ converters: spelling only, no checks

/** The value as written; resolveOptions checks it. */
const asIs = (v: unknown): unknown => v;
/** A CIDR list; one CIDR may be written as a string. */
const cidrList = (v: unknown): unknown => (typeof v === "string" ? [v] : v);
/** A duration ("2m", "90s", or seconds) as milliseconds. */
const durationMs = (v: unknown, src: Source, key: Path): unknown => {
  const s = parseDuration(v);
  if (Number.isNaN(s)) throw src.error(key, `must be a duration like 30s, 15m, 2h (got ${describe(v)})`);
  return s * 1000;
};
/** A seed: a number, or a decimal string for a u64 beyond 2^53 (YAML numbers are doubles). */
const seed = (v: unknown): unknown => (typeof v === "string" && /^[0-9]{1,20}$/.test(v) ? BigInt(v) : v);

// ------------------------------------------------------------ the table

const fam = (n: 4 | 6) => `ipv${n}` as const;
const helmOn = (n: 4 | 6) => (src: Source): boolean => (n === 4 ? src.boolean(["ipv4", "enabled"]) ?? true : src.boolean(["ipv6", "enabled"]) ?? false);
/** Cilium's Helm defaults. */
export const HELM_DEFAULTS = {
  ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 },
  ipv6: { cidrs: ["fd00::/104"], maskSize: 120 },
} as const;

export const KEY_TABLE: readonly KeyRow[] = [
  // 1. Cilium's ClusterPoolConfig as the seed writes it.
  { format: "ClusterPoolConfig", key: ["spec"], option: "" },
  ...([4, 6] as const).flatMap((n): KeyRow[] => [
    { format: "ClusterPoolConfig", key: ["spec", `clusterPoolIPv${n}PodCIDR`], option: `${fam(n)}.cidrs`, convert: cidrList },
    { format: "ClusterPoolConfig", key: ["spec", `clusterPoolIPv${n}PodCIDRList`], option: `${fam(n)}.cidrs`, convert: cidrList },
    { format: "ClusterPoolConfig", key: ["spec", `clusterPoolIPv${n}MaskSize`], option: `${fam(n)}.maskSize`, convert: asIs, derivedFrom: "maxNodeSubnets" },
  ]),
  { format: "ClusterPoolConfig", key: ["spec", "numBigHoleIPAMs"], option: "maxNodeSubnets", convert: asIs },
  { format: "ClusterPoolConfig", key: ["spec", "clusterPoolIPAM", "numBigHoleIPAMs"], option: "maxNodeSubnets", convert: asIs },
  { format: "ClusterPoolConfig", key: ["spec", "allocator", "numBigHoleIPAMs"], option: "maxNodeSubnets", convert: asIs },
  { format: "ClusterPoolConfig", key: ["spec", "allocator", "clusterPoolIPAM", "numBigHoleIPAMs"], option: "maxNodeSubnets", convert: asIs },

  // 2. Cilium Helm values: ipam.operator.*, with Cilium's defaults; a family counts when ipvN.enabled.
  //    The single-CIDR keys of Cilium <= 1.10 come first: deprecated in 1.11 (cilium/cilium#17780) for the
  //    *List keys, removed from the chart in 1.14; read with a warning (a List key with another value is an error).
  { format: "helm-values", key: ["ipam", "operator"], option: "" },
  ...([4, 6] as const).flatMap((n): KeyRow[] => [
    {
      format: "helm-values", key: ["ipam", "operator", `clusterPoolIPv${n}PodCIDR`], option: `${fam(n)}.cidrs`, convert: cidrList, when: helmOn(n),
      deprecated: { by: `ipam.operator.clusterPoolIPv${n}PodCIDRList`, since: "Cilium 1.11 (removed from the chart in 1.14)" },
    },
    {
      format: "helm-values", key: ["ipam", "operator", `clusterPoolIPv${n}PodCIDRList`], option: `${fam(n)}.cidrs`, convert: cidrList, when: helmOn(n),
      default: { value: HELM_DEFAULTS[fam(n)].cidrs, text: HELM_DEFAULTS[fam(n)].cidrs.join(", ") },
    },
    {
      format: "helm-values", key: ["ipam", "operator", `clusterPoolIPv${n}MaskSize`], option: `${fam(n)}.maskSize`, convert: asIs, when: helmOn(n),
      default: { value: HELM_DEFAULTS[fam(n)].maskSize, text: `/${HELM_DEFAULTS[fam(n)].maskSize}` },
    },
  ]),

  // 3. ipcarve's own `pool:` section: every option a file can carry (clock and engine are runtime objects).
  { format: "ipcarve", key: ["pool"], option: "", closed: true },
  ...([4, 6] as const).flatMap((n): KeyRow[] => [
    { format: "ipcarve", key: ["pool", fam(n)], option: fam(n), closed: true },
    { format: "ipcarve", key: ["pool", fam(n), "cidrs"], option: `${fam(n)}.cidrs`, convert: cidrList },
    { format: "ipcarve", key: ["pool", fam(n), "maskSize"], option: `${fam(n)}.maskSize`, convert: asIs, derivedFrom: "maxNodeSubnets" },
  ]),
  { format: "ipcarve", key: ["pool", "maxNodeSubnets"], option: "maxNodeSubnets", convert: asIs },
  { format: "ipcarve", key: ["pool", "podStrategy"], option: "podStrategy", convert: asIs },
  { format: "ipcarve", key: ["pool", "seed"], option: "seed", convert: seed },
  { format: "ipcarve", key: ["pool", "overflow"], option: "overflow", convert: asIs }, // reject | share | { smaller, ipv6 }
  { format: "ipcarve", key: ["pool", "reuse"], option: "reuse", closed: true },
  { format: "ipcarve", key: ["pool", "reuse", "cooldown"], option: "reuse.cooldownMs", convert: durationMs },
  { format: "ipcarve", key: ["pool", "reuse", "minFreeBeforeReuse"], option: "reuse.minFreeBeforeReuse", convert: asIs },
  { format: "ipcarve", key: ["pool", "reserveRouterIP"], option: "reserveRouterIP", convert: asIs },
];

export const rowsOf = (format: ConfigFormat): readonly KeyRow[] => KEY_TABLE.filter((r) => r.format === format);

/**
 * Keys Cilium's chart has under `ipam` (and `ipam.operator`) that do not size
 * a cluster pool: known, so not warned about, and not read. Any other key
 * there is a warning naming it (a typo must not fall back to a default silently).
 */
export const HELM_IPAM_OTHER_KEYS: Readonly<Record<string, readonly string[]>> = {
  ipam: ["mode", "operator", "ciliumNodeUpdateRate", "multiPoolPreAllocation", "installUplinkRoutesForDelegatedIPAM"],
  "ipam.operator": ["autoCreateCiliumPodIPPools", "externalAPILimitBurstSize", "externalAPILimitQPS"],
};

// ------------------------------------------------------------ walking the table

/** A row whose key the file gives (or whose default applies), with the option value it fed. */
interface Fed {
  readonly row: KeyRow;
  readonly value: unknown;
  readonly defaulted: boolean;
}

export interface MappedOptions {
  /** The raw options object, as resolveOptions received it. */
  readonly options: ClusterPoolOptions;
  /** The options resolveOptions returned: validated, defaults filled. */
  readonly resolved: ResolvedOptions;
  /** Option path ("ipv4.maskSize") to the row that fed it. */
  readonly fed: ReadonlyMap<string, Fed>;
  readonly notes: readonly string[];
  /** What the file gives that is probably not what its author meant (deprecated keys), located in the file. */
  readonly warnings: readonly string[];
}

const valueText = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? String(x) : x));

function setOption(o: Record<string, unknown>, option: string, value: unknown): void {
  const parts = option.split(".");
  let at = o;
  for (const p of parts.slice(0, -1)) at = (at[p] ??= {}) as Record<string, unknown>;
  at[parts[parts.length - 1] as string] = value;
}

/**
 * Reads the format's keys through the table into a raw options object and
 * resolves it once. An IpamError of resolveOptions becomes a ConfigError at
 * the key that fed the option (see locate). `base` is the options object
 * before the table's rows (ipcarve's default pool when the file has no pool:).
 */
export function mapOptions(src: Source, format: ConfigFormat, base: Record<string, unknown> = {}): MappedOptions {
  const rows = rowsOf(format);
  const options: Record<string, unknown> = structuredClone(base);
  const fed = new Map<string, Fed>();
  const notes: string[] = [];
  const warnings: string[] = [];
  for (const row of rows) {
    for (let n = 1; n < row.key.length; n++) src.map(row.key.slice(0, n)); // parents are mappings (or absent)
    if (row.convert === undefined) {
      if (src.has(row.key) && src.get(row.key) !== null) src.map(row.key);
      if (row.closed) src.onlyKeys(row.key, rows.filter((r) => r.key.length === row.key.length + 1 && pathText(r.key).startsWith(pathText(row.key))).map((r) => String(r.key[row.key.length])));
      continue;
    }
    if (row.when !== undefined && !row.when(src)) continue;
    const raw = src.get(row.key);
    if (raw === undefined || raw === null) {
      if (row.default !== undefined && !fed.has(row.option)) {
        fed.set(row.option, { row, value: row.default.value, defaulted: true });
        setOption(options, row.option, structuredClone(row.default.value));
        notes.push(`${pathText(row.key)} not set: Cilium's default ${row.default.text}`);
      }
      continue;
    }
    const value = row.convert(raw, src, row.key);
    const prev = fed.get(row.option);
    if (prev !== undefined && !prev.defaulted) {
      if (valueText(prev.value) !== valueText(value)) {
        throw src.error(row.key, `is ${valueText(value)} but ${pathText(prev.row.key)} is ${valueText(prev.value)}; give one of them`);
      }
      continue;
    }
    fed.set(row.option, { row, value, defaulted: false });
    setOption(options, row.option, value);
    if (row.deprecated !== undefined) {
      warnings.push(src.warning(row.key, `is deprecated since ${row.deprecated.since}: use ${row.deprecated.by}; read as ${valueText(value)}`));
    }
  }
  let resolved: ResolvedOptions;
  try {
    resolved = resolveOptions(options);
  } catch (e) {
    if (e instanceof IpamError) throw locate(src, format, fed, e);
    throw e;
  }
  const holes = fed.get("maxNodeSubnets");
  for (const f of resolved.families) {
    if (fed.has(`ipv${f.family}.maskSize`) || holes === undefined) continue;
    const first = f.cidrs[0];
    const name = String(holes.row.key[holes.row.key.length - 1]);
    notes.push(`IPv${f.family} node mask /${f.maskSize} derived from ${name} ${valueText(holes.value)} and ${String(first)} (/${first?.prefix} + ceil(log2 ${valueText(holes.value)}))`);
  }
  return { options: options as ClusterPoolOptions, resolved, fed, notes, warnings };
}

/** "ipv4.cidrs[1]" as path segments: ["ipv4", "cidrs", 1]. */
function optionSegments(option: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of option.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : (m[1] as string));
  return out;
}

const under = (option: string, prefix: string): boolean =>
  prefix === "" || option === prefix || option.startsWith(`${prefix}.`) || option.startsWith(`${prefix}[`);

/**
 * The ConfigError for an IpamError of resolveOptions: at the key whose row
 * feeds the longest prefix of the error's option path (a given key before an
 * absent one), then down the rest of the path as far as the file has it
 * (options.ipv4.cidrs[1] is clusterPoolIPv4PodCIDRList[1]). A derived value
 * the file does not give (the node mask) is located at the key it was derived from.
 */
export function locate(src: Source, format: ConfigFormat, fed: ReadonlyMap<string, Fed>, e: IpamError): ConfigError {
  const rows = rowsOf(format);
  const root = rows.find((r) => r.option === "") as KeyRow;
  const p = e.path;
  if (p === undefined || !(p === "options" || p.startsWith("options.") || p.startsWith("options["))) return src.error(root.key, e.detail, e);
  const option = p.slice("options".length).replace(/^\./, "");
  const given = (r: KeyRow): boolean => fed.get(r.option)?.row === r || (r.convert === undefined && src.has(r.key));
  const candidates = rows
    .filter((r) => under(option, r.option))
    .sort((a, b) => b.option.length - a.option.length || Number(given(b)) - Number(given(a)));
  let row = candidates[0] ?? root;
  let reason = e.reason;
  if (!given(row) && row.derivedFrom !== undefined) {
    const from = fed.get(row.derivedFrom);
    if (from !== undefined) {
      reason = `sizes ${pathText(row.key)}, which is not given: ${reason}`;
      row = from.row;
    } else {
      const names = [...new Set(rows.filter((r) => r.option === row.derivedFrom).map((r) => String(r.key[r.key.length - 1])))];
      if (names.length > 0 && names[0] !== row.derivedFrom) reason = `${reason}; in this file ${row.derivedFrom} is ${names.join(" or ")}`;
    }
  }
  const path: (string | number)[] = [...row.key];
  if (row.option !== "" || option !== "") {
    for (const s of optionSegments(option.slice(row.option.length))) {
      if (!src.has([...path, s])) break;
      path.push(s);
    }
  }
  return src.error(path, reason, e);
}
