/**
 * `kubectl get ciliumnodes` as text: the table kubectl prints, read into
 * CiliumNode objects for the import.
 *
 * The default table has the columns of the CiliumNode CRD's printer columns:
 * NAME, CILIUMINTERNALIP, INTERNALIP, AGE. In cluster-pool IPAM the
 * CiliumInternalIP (the node's router address, cilium_host) is taken from
 * the node's own pod CIDR, so that CIDR is the CiliumInternalIP with the
 * pool's node mask applied. A table with a column of pod CIDRs (`-o
 * custom-columns=NAME:.metadata.name,CIDR:.spec.ipam.podCIDRs`, printed as
 * `[10.244.1.0/24 fd00::100/120]`) gives them directly and is preferred.
 * `<none>` (no value) means no CIDR: the node gets a new one.
 */
import { parseCidr, parseIp, isValidCidr, type ParsedIp } from "../net/ip.js";
import { errors } from "../errors.js";
import type { CiliumNode, CiliumNodeList } from "./cilium-node.js";

/** Node mask of each family of the pool (a CiliumInternalIP is masked with it). */
export type NodeMasks = Readonly<Partial<Record<4 | 6, number>>>;

/** True if the text looks like a kubectl table of CiliumNodes (a header line starting with NAME). */
export function isCiliumNodeTable(text: string): boolean {
  return /^\s*NAME(\s|$)/.test(text);
}

/**
 * The columns of the header: name and where it starts. kubectl aligns every
 * row to the header (a tab writer), so a cell is the text from its column's
 * start to the next one's; an empty cell stays empty instead of shifting the rest.
 */
function columns(header: string): { name: string; start: number }[] {
  return [...header.matchAll(/\S+/g)].map((m) => ({ name: m[0].toUpperCase(), start: m.index ?? 0 }));
}

function cell(line: string, cols: readonly { start: number }[], i: number): string | undefined {
  if (i < 0) return undefined;
  const end = cols[i + 1]?.start ?? line.length;
  return line.slice((cols[i] as { start: number }).start, end).trim();
}

function ipOf(s: string): ParsedIp | undefined {
  try {
    return parseIp(s);
  } catch {
    return undefined;
  }
}

/** Values of a cell: a Go list `[a b]`, or values separated by commas; `<none>` and `[]` are none. */
function values(cell: string | undefined): string[] {
  if (cell === undefined || cell === "<none>") return [];
  const inner = cell.startsWith("[") && cell.endsWith("]") ? cell.slice(1, -1) : cell;
  return inner.split(/[\s,]+/).filter((v) => v !== "" && v !== "<none>");
}

/**
 * CiliumNode objects of a `kubectl get ciliumnodes` table, in row order.
 * Throws INVALID_ARGUMENT naming the line for a table without a NAME column,
 * a row without a name, or a value that is no IP or CIDR.
 */
export function parseCiliumNodeTable(text: string, masks: NodeMasks): CiliumNodeList {
  const lines = text.split(/\r?\n/).map((l, i) => ({ l, n: i + 1 })).filter((x) => x.l.trim() !== "");
  const head = lines[0];
  if (head === undefined || !isCiliumNodeTable(head.l)) {
    throw errors.invalidArgument("CiliumNode table line 1", head?.l ?? "", "a header line starting with NAME (kubectl get ciliumnodes)");
  }
  const cols = columns(head.l);
  const nameCol = cols.findIndex((c) => c.name === "NAME");
  const cidrCol = cols.findIndex((c) => /CIDR/.test(c.name));
  const ipCol = cols.findIndex((c) => c.name === "CILIUMINTERNALIP");
  const items: CiliumNode[] = [];
  for (const { l, n } of lines.slice(1)) {
    const name = cell(l, cols, nameCol);
    if (name === undefined || name === "" || /\s/.test(name)) throw errors.invalidArgument(`CiliumNode table line ${n}`, l, "a row with a NAME in the NAME column");
    const podCIDRs: string[] = [];
    if (cidrCol >= 0) {
      for (const c of values(cell(l, cols, cidrCol))) {
        if (!isValidCidr(c)) throw errors.invalidArgument(`CiliumNode table line ${n} (${name}) ${(cols[cidrCol] as { name: string }).name}`, c, "a CIDR");
        podCIDRs.push(c);
      }
    } else if (ipCol >= 0) {
      for (const text of values(cell(l, cols, ipCol))) {
        const ip = ipOf(text);
        if (ip === undefined) throw errors.invalidArgument(`CiliumNode table line ${n} (${name}) CILIUMINTERNALIP`, text, "an IP address");
        const mask = masks[ip.family];
        if (mask !== undefined) podCIDRs.push(String(parseCidr(`${text}/${mask}`)));
      }
    }
    items.push({ apiVersion: "cilium.io/v2", kind: "CiliumNode", metadata: { name }, spec: { ipam: { podCIDRs } } });
  }
  return { apiVersion: "v1", kind: "List", items };
}
