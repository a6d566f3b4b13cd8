// The owner registry in the shared memory (assembly/owners.ts through
// src/pool/owners.ts) against a JS Map model: random ensure / add / removeKey
// / clear / adopt sequences, with colliding names, multi-byte UTF-8, long
// names (past the engine's scratch), ids reused after owners go.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Engine, SCRATCH_BYTES } from "../src/core/engine.js";
import { Owners, addressKey } from "../src/pool/owners.js";

interface ModelOwner { id: number; keys: Set<number> }

class Model {
  readonly byName = new Map<string, ModelOwner>();
  readonly byId = new Map<number, string>();
  /** key -> owner id (a key is held by at most one owner, as in a pool). */
  readonly holder = new Map<number, number>();
  maxId = 0;
  readonly freed = new Set<number>();
  drop(id: number): void {
    const name = this.byId.get(id);
    if (name === undefined) return;
    const o = this.byName.get(name)!;
    if (o.keys.size > 0) return;
    this.byName.delete(name);
    this.byId.delete(id);
    this.freed.add(id);
  }
}

const collide = fc.constantFrom(...Array.from({ length: 160 }, (_, i) => `ns/p${i}`), "a", "b", "é", "日本/ポッド", "🦄/x", "ns/p1 ", " ns/p1");
const anyName = fc.string({ unit: "binary", minLength: 1, maxLength: 40 });
const longName = fc.tuple(fc.constantFrom("x", "é", "日", "🦄"), fc.integer({ min: 60, max: 600 })).map(([c, n]) => `${c.repeat(n)}/${n}`);
const name = fc.oneof({ weight: 8, arbitrary: collide }, { weight: 3, arbitrary: anyName }, { weight: 1, arbitrary: longName });
const key = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 300 })).map(([p, r]) => addressKey(p, r));

type Op =
  | { op: "ensure"; name: string }
  | { op: "add"; name: string; key: number }
  | { op: "remove"; name: string; key: number }
  | { op: "clear"; name: string }
  | { op: "adopt"; id: number; name: string; keys: number[] }
  | { op: "sweep" };

const ops = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: name.map((n): Op => ({ op: "ensure", name: n })) },
    { weight: 6, arbitrary: fc.tuple(name, key).map(([n, k]): Op => ({ op: "add", name: n, key: k })) },
    { weight: 5, arbitrary: fc.tuple(name, key).map(([n, k]): Op => ({ op: "remove", name: n, key: k })) },
    { weight: 1, arbitrary: name.map((n): Op => ({ op: "clear", name: n })) },
    { weight: 1, arbitrary: fc.constant<Op>({ op: "sweep" }) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 400 }), name, fc.array(key, { maxLength: 4 })).map(([id, n, ks]): Op => ({ op: "adopt", id, name: n, keys: ks })) },
  ),
  { minLength: 100, maxLength: 600 },
);

function check(o: Owners, m: Model): void {
  expect(o.size).toBe(m.byName.size);
  for (const [n, mo] of m.byName) {
    expect(o.idOf(n)).toBe(mo.id);
    expect(o.nameOf(mo.id)).toBe(n);
    expect(o.keys(mo.id).sort((a, b) => a - b)).toEqual([...mo.keys].sort((a, b) => a - b));
  }
  for (const id of m.freed) if (!m.byId.has(id)) expect(o.nameOf(id)).toBeUndefined();
  expect(new Set(o.names())).toEqual(new Set(m.byName.keys()));
}

function apply(o: Owners, m: Model, x: Op): void {
  switch (x.op) {
    case "ensure": {
      const id = o.ensure(x.name);
      const known = m.byName.get(x.name);
      if (known) expect(id).toBe(known.id);
      else {
        // a new owner takes a freed id or the next one: ids stay dense
        expect(m.byId.has(id)).toBe(false);
        expect(m.freed.has(id) || id === m.maxId + 1).toBe(true);
        m.maxId = Math.max(m.maxId, id);
        m.freed.delete(id);
        m.byName.set(x.name, { id, keys: new Set() });
        m.byId.set(id, x.name);
        // an owner that never gets a key is dropped by its caller (allocate does)
        o.dropIfEmpty(id);
        m.drop(id);
      }
      return;
    }
    case "add": {
      if (m.holder.has(x.key)) return;
      let mo = m.byName.get(x.name);
      const id = o.ensure(x.name);
      if (!mo) {
        expect(m.byId.has(id)).toBe(false);
        m.maxId = Math.max(m.maxId, id);
        m.freed.delete(id);
        mo = { id, keys: new Set() };
        m.byName.set(x.name, mo);
        m.byId.set(id, x.name);
      }
      o.add(id, x.key);
      mo.keys.add(x.key);
      m.holder.set(x.key, id);
      return;
    }
    case "remove": {
      const mo = m.byName.get(x.name);
      if (!mo) {
        expect(o.idOf(x.name)).toBeUndefined();
        return;
      }
      o.removeKey(mo.id, x.key);
      if (mo.keys.delete(x.key)) {
        m.holder.delete(x.key);
        m.drop(mo.id);
      }
      return;
    }
    case "clear": {
      const mo = m.byName.get(x.name);
      if (!mo) return;
      o.clear(mo.id);
      for (const k of mo.keys) m.holder.delete(k);
      mo.keys.clear();
      m.drop(mo.id);
      return;
    }
    case "sweep": {
      // dormant owners (released, not yet freed) go: nothing visible changes
      o.sweep();
      return;
    }
    case "adopt": {
      // restore: only an id and a name nobody has, keys nobody holds
      const keys = [...new Set(x.keys)].filter((k) => !m.holder.has(k));
      if (m.byId.has(x.id) || m.byName.has(x.name) || keys.length === 0) return;
      o.adopt(x.id, x.name, keys);
      for (let i = m.maxId + 1; i < x.id; i++) m.freed.add(i);
      m.maxId = Math.max(m.maxId, x.id);
      m.freed.delete(x.id);
      m.byName.set(x.name, { id: x.id, keys: new Set(keys) });
      m.byId.set(x.id, x.name);
      for (const k of keys) m.holder.set(k, x.id);
      return;
    }
  }
}

describe("owner registry in the shared memory vs a Map model", () => {
  it("random ensure / add / remove / clear / adopt sequences agree, checked every 10 steps", () => {
    const engine = Engine.create();
    fc.assert(
      fc.property(ops, (seq) => {
        const o = new Owners(engine);
        const m = new Model();
        try {
          seq.forEach((x, i) => {
            apply(o, m, x);
            if (i % 10 === 9) check(o, m);
          });
          check(o, m);
        } finally {
          o.release();
        }
      }),
      { numRuns: 100 },
    );
  });

  it("10,000 owners in, every other one out, back in: table rehashes and tombstone deletes keep every name findable", () => {
    const o = new Owners(Engine.create());
    const N = 10_000;
    const ids: number[] = [];
    for (let i = 0; i < N; i++) {
      const id = o.ensure(`ns/pod-${i}`);
      expect(id).toBe(i + 1); // dense from 1
      o.add(id, addressKey(0, i));
      ids.push(id);
    }
    for (let i = 0; i < N; i += 2) o.removeKey(ids[i]!, addressKey(0, i));
    expect(o.size).toBe(N / 2);
    for (let i = 0; i < N; i++) expect(o.idOf(`ns/pod-${i}`)).toBe(i % 2 === 0 ? undefined : ids[i]);
    // the released owners are dormant (their ids and names not yet freed); the new names
    // take the ids left in the records chunk, then the registry needs memory, sweeps the
    // dormant ones instead, and reuses their ids and name slots: it takes no new memory
    const bytes = o.bytes;
    const again = new Set<number>();
    for (let i = 0; i < N; i += 2) {
      const id = o.ensure(`other/pod-${i}`);
      o.add(id, addressKey(1, i));
      again.add(id);
    }
    expect(o.bytes).toBe(bytes);
    expect(again.size).toBe(N / 2);
    for (let i = 0; i < N; i += 2) expect(o.idOf(`ns/pod-${i}`)).toBeUndefined();
    expect(o.size).toBe(N);
    for (let i = 1; i < N; i += 2) expect(o.nameOf(ids[i]!)).toBe(`ns/pod-${i}`);
  });

  it("a released owner is dormant: invisible, woken by its name with its old id, freed by sweep or before the registry grows", () => {
    const engine = Engine.create();
    const o = new Owners(engine);
    const w = engine.wasm as unknown as { ownDormant(h: number): number };
    const a = o.ensure("ns/a");
    o.add(a, addressKey(0, 1));
    const b = o.ensure("ns/b");
    o.add(b, addressKey(0, 2));
    o.removeKey(a, addressKey(0, 1));
    expect(w.ownDormant(o.header)).toBe(1);
    // invisible: not known, no name, not counted, not listed
    expect(o.idOf("ns/a")).toBeUndefined();
    expect(o.nameOf(a)).toBeUndefined();
    expect(o.size).toBe(1);
    expect([...o.names()]).toEqual(["ns/b"]);
    // woken by its name: the same id, nothing new taken
    const bytes = o.bytes;
    expect(o.ensure("ns/a")).toBe(a);
    expect(w.ownDormant(o.header)).toBe(0);
    expect(o.bytes).toBe(bytes);
    expect(o.nameOf(a)).toBe("ns/a");
    // swept: its id goes back on the free list and is the next one handed out
    o.add(a, addressKey(0, 1));
    o.removeKey(a, addressKey(0, 1));
    o.sweep();
    expect(w.ownDormant(o.header)).toBe(0);
    expect(o.ensure("ns/c")).toBe(a);
    expect(o.idOf("ns/b")).toBe(b);
    // adopt (restore) may take a dormant owner's id or name: it sweeps first
    o.add(o.idOf("ns/c")!, addressKey(0, 3));
    o.removeKey(b, addressKey(0, 2));
    o.adopt(b, "ns/b2", [addressKey(0, 4)]);
    expect(o.nameOf(b)).toBe("ns/b2");
    o.release();
  });

  it("churn at a steady population: tombstones are reused or purged in place, the table does not grow, every name stays findable", () => {
    const engine = Engine.create();
    const o = new Owners(engine);
    const LIVE = 1_000;
    const live: [string, number][] = [];
    let n = 0;
    const make = (): void => {
      const name = `churn/pod-${n}`;
      const id = o.ensure(name);
      o.add(id, addressKey(0, n));
      live.push([name, n++]);
    };
    for (let i = 0; i < LIVE; i++) make();
    const slots = (engine.wasm as unknown as { ownSlots(h: number): number }).ownSlots(o.header);
    let seed = 7;
    for (let step = 0; step < 50_000; step++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const [name, k] = live.splice(seed % live.length, 1)[0]!;
      o.removeKey(o.idOf(name)!, addressKey(0, k));
      expect(o.idOf(name)).toBeUndefined();
      make();
    }
    expect((engine.wasm as unknown as { ownSlots(h: number): number }).ownSlots(o.header)).toBe(slots);
    expect(o.size).toBe(LIVE);
    for (const [name] of live) expect(o.nameOf(o.idOf(name)!)).toBe(name);
    o.release();
  });

  it("names longer than the engine's scratch, and multi-byte ones, round-trip", () => {
    const o = new Owners(Engine.create());
    const names = ["é".repeat(SCRATCH_BYTES / 2 + 10), "🦄".repeat(40_000), `a${"b".repeat(SCRATCH_BYTES)}`, "x", "ß/ü", "\u{10FFFF}"];
    names.forEach((n, i) => o.add(o.ensure(n), i));
    names.forEach((n, i) => {
      const id = o.idOf(n)!;
      expect(o.nameOf(id)).toBe(n);
      expect(o.keys(id)).toEqual([i]);
    });
    expect(o.idOf("é".repeat(SCRATCH_BYTES / 2 + 9))).toBeUndefined();
  });

  it("a third and later key of one owner are kept and released like the first two", () => {
    const o = new Owners(Engine.create());
    const id = o.ensure("ns/many");
    for (let k = 0; k < 6; k++) o.add(id, addressKey(k % 2, k));
    expect(o.keys(id).sort((a, b) => a - b)).toEqual([0, 2, 4, addressKey(1, 1), addressKey(1, 3), addressKey(1, 5)].sort((a, b) => a - b));
    for (let k = 0; k < 5; k++) o.removeKey(id, addressKey(k % 2, k));
    expect(o.nameOf(id)).toBe("ns/many");
    o.removeKey(id, addressKey(1, 5));
    expect(o.nameOf(id)).toBeUndefined();
    expect(o.size).toBe(0);
  });
});
