/**
 * verify() of a shared pool: checks the keys under the prefix against each
 * other (src/shared/keys.ts), then rebuilds a pool from them and runs
 * ClusterPool.verify on it. Returns one line per problem.
 */
import { optionsFromJson } from "../pool/options.js";
import * as fx from "../pool/effects.js";
import type { NodeRecord } from "../pool/effects.js";
import type { KeyValue } from "./etcd.js";
import { Keys, decodeBlock, decodeNode, decodePoolOps, entriesOf, slotsOf, holdsSubnets, type BlockValue } from "./keys.js";
import { Cache } from "./cache.js";
import type { ResolvedOptions } from "../pool/options.js";

export function verifyKeys(keys: Keys, kvs: readonly KeyValue[], _options: ResolvedOptions): string[] {
  const problems: string[] = [];
  let optionsText: string | undefined;
  const nodes = new Map<string, NodeRecord>();
  const claims = new Map<string, string>(); // "pool/slot" -> node
  const blocks = new Map<string, { pool: number; slot: number; b: BlockValue }>();
  for (const kv of kvs) {
    const key = kv.key.toString();
    const text = kv.value.toString();
    const kind = keys.parse(key);
    switch (kind.kind) {
      case "options": optionsText = text; break;
      case "node": {
        const r = decodeNode(text);
        if (r === undefined) problems.push(`${key}: not a node record`);
        else nodes.set(kind.name, r);
        break;
      }
      case "claim": claims.set(`${kind.pool}/${kind.slot}`, text); break;
      case "block": {
        const b = decodeBlock(text);
        if (b === undefined) problems.push(`${key}: not a block`);
        else blocks.set(`${kind.pool}/${kind.slot}`, { pool: kind.pool, slot: kind.slot, b });
        break;
      }
      case "client": case "leader": break;
      case "pool": if (decodePoolOps(text) === undefined) problems.push(`${key}: not a list of pool-level records`); break;
      default: problems.push(`${key}: not a key of a shared pool`);
    }
  }
  if (optionsText === undefined) problems.push(`${keys.options}: missing`);

  // every slot a ready node holds: held by it alone, and claimed for it
  const holder = new Map<string, string>();
  for (const [name, r] of nodes) {
    if (!holdsSubnets(r)) continue;
    for (const s of slotsOf(r.placed)) {
      const at = `${s.pool}/${s.slot}`;
      const other = holder.get(at);
      if (other !== undefined) problems.push(`subnet slot ${at} is held by two nodes: ${JSON.stringify(other)} and ${JSON.stringify(name)}`);
      else holder.set(at, name);
      const claim = claims.get(at);
      if (claim === undefined) problems.push(`node ${JSON.stringify(name)} holds slot ${at} without its claim`);
      else if (claim !== name && other === undefined) problems.push(`node ${JSON.stringify(name)} holds slot ${at}, claimed by ${JSON.stringify(claim)}`);
    }
    for (const p of r.placed) {
      if (p.pool < 0) continue; // 'share' overflow: the family borrows, it holds no subnet
      const b = blocks.get(`${p.pool}/${p.slot}`);
      if (b === undefined) problems.push(`node ${JSON.stringify(name)} has no block for its subnet ${p.pool}/${p.slot}`);
      else if (b.b.node !== name) problems.push(`block ${p.pool}/${p.slot} names node ${JSON.stringify(b.b.node)}, but ${JSON.stringify(name)} holds the subnet`);
    }
  }
  for (const [at, name] of claims) {
    if (holder.get(at) === undefined) problems.push(`slot ${at} is claimed by ${JSON.stringify(name)}, which does not hold it`);
  }
  for (const [at, { b }] of blocks) {
    const r = nodes.get(b.node);
    if (r === undefined || !holdsSubnets(r) || !r.placed.some((p) => `${p.pool}/${p.slot}` === at)) {
      problems.push(`block ${at} names node ${JSON.stringify(b.node)}, which does not hold that subnet`);
    }
    const n = Object.keys(b.a).length;
    if (b.n !== n) problems.push(`block ${at} counts ${b.n} addresses but lists ${n}`);
    for (const [off, borrower] of Object.entries(b.b ?? {})) {
      const r = nodes.get(borrower);
      if (r === undefined || !holdsSubnets(r) || !r.placed.some((p) => p.pool < 0)) problems.push(`block ${at}: offset ${off} is lent to ${JSON.stringify(borrower)}, which does not share ('share' overflow)`);
    }
  }

  // the keys as a pool: every listed address must land in it, and the pool must verify
  if (optionsText !== undefined) {
    let cache: Cache | undefined;
    try {
      cache = new Cache(optionsFromJson(JSON.parse(optionsText)), keys);
      cache.rebuild(kvs, 0);
      cache.settleAll();
      if (cache.dirty) problems.push("the keys do not rebuild into one pool (a block or node that the others contradict)");
      for (const [at, { pool, slot, b }] of blocks) {
        const got = fx.blockEntries(cache.pool, pool, slot);
        const want = entriesOf(b);
        const size = fx.blockAt(cache.pool, pool, slot)?.size;
        for (const [off, owner] of want) {
          if (size !== undefined && (off >= size)) problems.push(`block ${at}: offset ${off} is outside its subnet (${size} addresses)`);
          else if (size !== undefined && got.get(off) !== owner) problems.push(`block ${at}: offset ${off} (owner ${JSON.stringify(owner)}) is not allocatable (reserved or taken)`);
        }
      }
      problems.push(...cache.pool.verify());
    } catch (e) {
      problems.push(`the keys do not rebuild into a pool: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      cache?.dispose();
    }
  }
  return problems;
}
