/**
 * CiliumNode objects as `kubectl get ciliumnodes -o json` prints them: only
 * the fields cluster-pool IPAM reads and writes.
 */
import { errors } from "../errors.js";

export interface CiliumNode {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; [k: string]: unknown };
  spec?: { ipam?: { podCIDRs?: string[]; [k: string]: unknown }; [k: string]: unknown };
  status?: { ipam?: { "operator-status"?: { error?: string }; [k: string]: unknown }; [k: string]: unknown };
}

export interface CiliumNodeList {
  apiVersion: string;
  kind: string;
  items: CiliumNode[];
}

/** Per-node outcome of an import, in list order. */
export interface ImportResult {
  readonly name: string;
  /** CIDRs the node holds after the import. */
  readonly podCIDRs: string[];
  /** "restored": its CIDRs were occupied; "allocated": it had none and got new ones; "failed": see error. */
  readonly outcome: "restored" | "allocated" | "failed";
  readonly error?: string;
}

/** Cilium operator messages (pkg/ipam/allocator/podcidr). */
export const ciliumErrors = {
  notConfigured: (cidr: string) => `allocator not configured for the requested CIDR ${cidr}`,
  allocated: (cidr: string) => `requested CIDR (${cidr}) is already allocated`,
};

/**
 * Reads the items of a List, an array, or one CiliumNode object (`kubectl get
 * cn X -o yaml`); validates the parts we use, naming the item (INVALID_ARGUMENT).
 */
export function ciliumItems(list: unknown): { name: string; podCIDRs: string[] }[] {
  const one = (list as { kind?: unknown } | null)?.kind === "CiliumNode";
  const items = Array.isArray(list) ? list : one ? [list] : (list as { items?: unknown } | null)?.items;
  if (!Array.isArray(items)) throw errors.invalidArgument("CiliumNode list", list, "an array, an object with items[], a CiliumNode or kubectl's table text");
  // Array.from, not map: a hole in a sparse array is an item too (undefined), refused below
  return Array.from(items, (it: unknown, i) => {
    const o = it as CiliumNode | null;
    const name = o?.metadata?.name;
    if (typeof name !== "string" || name === "") throw errors.invalidArgument(`CiliumNode list items[${i}].metadata.name`, name, "a non-empty string");
    const cidrs = o?.spec?.ipam?.podCIDRs ?? [];
    if (!Array.isArray(cidrs) || Array.from(cidrs).some((c) => typeof c !== "string")) {
      throw errors.invalidArgument(`CiliumNode list items[${i}].spec.ipam.podCIDRs`, cidrs, "an array of CIDR strings");
    }
    return { name, podCIDRs: cidrs as string[] };
  });
}
