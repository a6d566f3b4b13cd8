/**
 * Baseline 2: the allocator a user writes without ipcarve: a Set of address
 * strings, a linear scan from the start of the range for the first address
 * not in the Set, and an address library (ipaddr.js) for parsing and
 * formatting. Owners and nodes in Maps keyed by strings.
 */
import ipaddr from "ipaddr.js";

/** The address `i` positions after `base` (an IPv4 or IPv6 network), via ipaddr.js bytes. */
function addressAt(base: number[], i: number): string {
  const b = base.slice();
  let carry = i;
  for (let k = b.length - 1; k >= 0 && carry > 0; k--) {
    const v = (b[k] as number) + (carry & 255);
    b[k] = v & 255;
    carry = (carry >>> 8) + (v >>> 8);
  }
  return ipaddr.fromByteArray(b).toString();
}

export class NaiveRange {
  readonly used = new Set<string>();
  readonly #base: number[];
  readonly #first: number;
  readonly size: number;
  readonly #random: boolean;
  #cidr: [ipaddr.IPv4 | ipaddr.IPv6, number];

  /** A pod range (network and broadcast skipped) or, with `step`, a set of subnets. */
  constructor(cidr: string, options: { random?: boolean; skipEnds?: boolean } = {}) {
    this.#cidr = ipaddr.parseCIDR(cidr);
    const [addr, prefix] = this.#cidr;
    const bits = addr.kind() === "ipv4" ? 32 : 128;
    const total = 2 ** Math.min(bits - prefix, 16 + 8); // user code caps the range it scans
    const skip = options.skipEnds ?? true;
    this.#base = addr.toByteArray();
    this.#first = skip ? 1 : 0;
    this.size = skip ? total - 2 : total;
    this.#random = options.random ?? false;
  }

  allocateNext(): string {
    const start = this.#random ? Math.floor(Math.random() * this.size) : 0;
    for (let k = 0; k < this.size; k++) {
      const i = (start + k) % this.size;
      const ip = addressAt(this.#base, this.#first + i);
      if (!this.used.has(ip)) {
        this.used.add(ip);
        return ip;
      }
    }
    throw new Error("range is full");
  }

  release(ip: string): boolean {
    const addr = ipaddr.parse(ip);
    if (!addr.match(this.#cidr)) return false;
    return this.used.delete(addr.toString());
  }

  has(ip: string): boolean {
    return this.used.has(ipaddr.parse(ip).toString());
  }
}

/** Node subnets carved from a cluster CIDR: first free /nodePrefix by linear scan over a Set of CIDR strings. */
export class NaiveCidrSet {
  readonly used = new Set<string>();
  readonly #base: number[];
  readonly #nodePrefix: number;
  readonly #step: number;
  readonly size: number;

  constructor(cidr: string, nodePrefix: number) {
    const [addr, prefix] = ipaddr.parseCIDR(cidr);
    this.#base = addr.toByteArray();
    this.#nodePrefix = nodePrefix;
    this.#step = 2 ** (32 - nodePrefix);
    this.size = 2 ** (nodePrefix - prefix);
  }

  allocateNext(): string {
    for (let i = 0; i < this.size; i++) {
      const c = `${addressAt(this.#base, i * this.#step)}/${this.#nodePrefix}`;
      if (!this.used.has(c)) {
        this.used.add(c);
        return c;
      }
    }
    throw new Error("CIDR set is full");
  }

  release(cidr: string): boolean {
    const [addr, prefix] = ipaddr.parseCIDR(cidr);
    return this.used.delete(`${addr.toString()}/${prefix}`);
  }
}

/** A naive cluster: nodes by name, each with a NaiveRange; who holds each address in a Map keyed by its string. */
export class NaivePool {
  readonly nodes = new Map<string, NaiveRange>();
  readonly cidrs = new Map<string, string>();
  readonly holders = new Map<string, { node: string; owner: string }>();
  readonly subnets: NaiveCidrSet;
  readonly random: boolean;

  constructor(cidr: string, nodePrefix: number, random = false) {
    this.subnets = new NaiveCidrSet(cidr, nodePrefix);
    this.random = random;
  }

  addNode(name: string): string {
    const cidr = this.subnets.allocateNext();
    this.nodes.set(name, new NaiveRange(cidr, { random: this.random }));
    this.cidrs.set(name, cidr);
    return cidr;
  }

  /** Drops the node's range (and the holders of its addresses) and frees its subnet. */
  removeNode(name: string): boolean {
    const cidr = this.cidrs.get(name);
    const range = this.nodes.get(name);
    if (cidr === undefined || range === undefined) return false;
    for (const ip of range.used) this.holders.delete(ip);
    this.nodes.delete(name);
    this.cidrs.delete(name);
    return this.subnets.release(cidr);
  }

  allocate(node: string, owner: string): string {
    const range = this.nodes.get(node);
    if (!range) throw new Error(`unknown node ${node}`);
    const ip = range.allocateNext();
    this.holders.set(ip, { node, owner });
    return ip;
  }

  release(ip: string): boolean {
    const key = ipaddr.parse(ip).toString();
    const h = this.holders.get(key);
    if (!h) return false;
    this.holders.delete(key);
    return (this.nodes.get(h.node) as NaiveRange).release(key);
  }

  /** Node and owner of an address. */
  lookup(ip: string): { node: string; owner: string } | undefined {
    return this.holders.get(ipaddr.parse(ip).toString());
  }
}
