/**
 * FileStore: snapshot + journal on disk (src/pool/file-store.ts, src/state/journal.ts).
 *   journal = 24-byte header (magic "IPCJRNL\0", u32 version 2, u32 generation, u32 header CRC, u32 0)
 *             then records: u32 length, u32 payload CRC, u32 CRC of those 8 bytes, JSON payload.
 */
import { describe, it, expect } from "vitest";
import { err, crc, frame, tmpStores } from "./helpers.js";
import { rmSync, readFileSync, writeFileSync, truncateSync, statSync, appendFileSync, copyFileSync, existsSync } from "node:fs";
import { ClusterPool, IpamError } from "../src/index.js";
import type { ClusterPoolOptions } from "../src/index.js";
import { FileStore } from "../src/pool/file-store.js";

const tmpPath = tmpStores("fs");


const HEADER = 24;
const RH = 12; // record header
/** Records of a journal file: offset, length of the whole record (12 + payload) and the parsed payload. */
function records(journal: string): { at: number; size: number; rec: { op: string } }[] {
  const b = readFileSync(journal);
  const out: { at: number; size: number; rec: { op: string } }[] = [];
  for (let at = HEADER; at + RH <= b.length; ) {
    const len = b.readUInt32LE(at);
    out.push({ at, size: RH + len, rec: JSON.parse(b.subarray(at + RH, at + RH + len).toString()) as { op: string } });
    at += RH + len;
  }
  return out;
}
const generationOf = (file: string, at: number): number => readFileSync(file).readUInt32LE(at); // snapshot: byte 12, journal: byte 12

const V4: ClusterPoolOptions = { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 26 } }; // 2^(26-24) = 4 node subnets of 64
const DUAL: ClusterPoolOptions = { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 26 }, ipv6: { cidrs: ["fd00::/120"], maskSize: 122 } };

/** Everything a caller can see of the allocations. */
function view(pool: ClusterPool, owners: readonly string[]): unknown {
  // expiries of the reuse cooldown are not journaled: a reopened pool releases them at its first tick
  // (node() and lookup() do not tick, so without this they show expired addresses as in cooldown)
  pool.tick();
  return {
    // handles are left out: they are not kept across a snapshot restore (renumbered 1..n; see the report)
    nodes: pool.nodeNames().map((n) => {
      const { handle: _h, ...rest } = pool.node(n)!;
      return rest;
    }),
    pending: pool.pendingNodes(),
    owners: owners.map((o) => [o, pool.addressesOf(o)]),
    stats: pool.stats(),
    export: pool.exportCiliumNodes(),
    verify: pool.verify(),
  };
}
const OWNERS = Array.from({ length: 12 }, (_, i) => `ns/p${i}`);

describe("reopen replays the journal", () => {
  // each scenario: operations, then the journal records they leave (derivation in the comment)
  const cases: { name: string; options: ClusterPoolOptions; ops: (p: ClusterPool) => void; records: number; ops_: string[] }[] = [
    {
      name: "two nodes, three pods, one release",
      options: V4,
      ops: (p) => {
        p.addNode("a");
        p.addNode("b");
        p.allocate("a", "ns/p0");
        p.allocate("a", "ns/p1");
        p.allocate("b", "ns/p2");
        p.release("10.0.0.1");
      },
      records: 6, // 2 node + 3 alloc + 1 free
      ops_: ["node", "node", "alloc", "alloc", "alloc", "free"],
    },
    {
      name: "dual stack: one alloc record holds both families",
      options: DUAL,
      ops: (p) => {
        p.addNode("a");
        p.allocate("a", "ns/p0");
        p.allocate("a", "ns/p1");
        p.releaseOwner("ns/p0");
      },
      records: 4, // 1 node + 2 alloc (v4+v6 keys each) + 1 free (releaseOwner frees the whole pod in one record)
      ops_: ["node", "alloc", "alloc", "free"],
    },
    {
      name: "node removal and a pending node",
      options: V4,
      ops: (p) => {
        for (const n of ["a", "b", "c", "d"]) p.addNode(n);
        expect(() => p.addNode("e")).toThrow(/full/); // 4 subnets, a 5th node waits
        p.allocate("b", "ns/p0");
        p.removeNode("a"); // frees a's subnet; e is served from it
      },
      records: 8, // 4 node + 1 pending + 1 alloc + 1 drop + 1 node (e served)
      ops_: ["node", "node", "node", "node", "pending", "alloc", "drop", "node"],
    },
    {
      name: "reservations and pool growth",
      options: V4,
      ops: (p) => {
        p.reserve("10.0.0.64/26");
        p.addPoolCidr(4, "10.0.1.0/24");
        p.addNode("a");
        p.addNode("b");
        p.reserve("10.0.0.5/32");
        p.allocate("a", "ns/p0");
      },
      records: 6, // 2 reserve + 1 addPool + 2 node + 1 alloc
      ops_: ["reserve", "addPool", "node", "node", "reserve", "alloc"],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const path = tmpPath();
      const store = new FileStore(path);
      const live = store.open(c.options);
      c.ops(live);
      expect(store.journalRecords).toBe(c.records);
      expect(records(store.journalPath).map((r) => r.rec.op)).toEqual(c.ops_);
      const before = view(live, OWNERS);
      live.close();

      const again = new FileStore(path);
      const pool = again.open(c.options);
      expect(again.tornRecords).toBe(0);
      expect(again.journalRecords).toBe(c.records);
      expect(view(pool, OWNERS)).toEqual(before);
      pool.close();
    });
  }

  it("a pool opened over existing files ignores the options passed in (the snapshot's win)", () => {
    const path = tmpPath();
    const p = ClusterPool.open(path, V4);
    p.addNode("a");
    p.close();
    const q = ClusterPool.open(path, { ipv4: { cidrs: ["172.16.0.0/16"], maskSize: 24 } });
    expect(q.poolCidrs()).toEqual([{ family: 4, cidrs: ["10.0.0.0/24"] }]);
    expect(q.node("a")?.podCIDRs).toEqual(["10.0.0.0/26"]);
    q.close();
  });

  it("reopened pools behave like the live one for the next operations (random, no pending nodes)", () => {
    for (let seed = 1; seed <= 8; seed++) {
      const path = tmpPath();
      let t = 1000;
      const clock = (): number => t;
      const options: ClusterPoolOptions = { ...DUAL, reuse: { cooldownMs: 30 }, clock };
      const live = ClusterPool.open(path, options, { compactEvery: seed * 7 });
      let s = seed;
      const rand = (n: number): number => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) % n;
      type Step = (p: ClusterPool) => unknown;
      const next = (): Step => {
        const k = rand(10);
        const a = rand(3);
        const o = OWNERS[rand(OWNERS.length)]!;
        const ip = `10.0.0.${rand(256)}`;
        if (k === 0) return (p) => p.addNode(`n${a}`); // 3 names < 4 subnets: nobody waits
        if (k === 1) return (p) => p.removeNode(`n${a}`);
        if (k <= 6) return (p) => p.allocate(`n${a}`, o);
        if (k <= 8) return (p) => p.releaseOwner(o);
        return (p) => p.release(ip);
      };
      const apply = (p: ClusterPool, f: Step): unknown => {
        try {
          return f(p);
        } catch (e) {
          if (e instanceof IpamError) return e.code;
          throw e;
        }
      };
      for (let i = 0; i < 300; i++, t += i % 5 === 0 ? 11 : 0) apply(live, next());
      live.close(); // the live pool goes on in memory, without a journal
      const re = ClusterPool.open(path, options);
      expect(view(re, OWNERS)).toEqual(view(live, OWNERS));
      for (let i = 0; i < 300; i++, t += i % 5 === 0 ? 11 : 0) {
        const f = next();
        expect(apply(re, f), `seed ${seed}, step ${i}`).toEqual(apply(live, f));
      }
      expect(view(re, OWNERS)).toEqual(view(live, OWNERS));
      re.close();
    }
  });
});

describe("only a torn final record is cut; any other damage is CORRUPT_STATE and the files stay as they were", () => {
  // the last record is `alloc` of ns/p2 (10.0.0.3); a torn tail loses it and nothing else
  const setup = (): { path: string; journal: string; last: { at: number; size: number } } => {
    const path = tmpPath();
    const p = ClusterPool.open(path, V4);
    p.addNode("a");
    p.allocate("a", "ns/p0"); // 10.0.0.1 (offset 0 is the network address)
    p.allocate("a", "ns/p1"); // 10.0.0.2
    p.allocate("a", "ns/p2"); // 10.0.0.3
    p.close();
    const journal = `${path}.journal`;
    const recs = records(journal);
    expect(recs.map((r) => r.rec.op)).toEqual(["node", "alloc", "alloc", "alloc"]);
    return { path, journal, last: recs[3]! };
  };
  const flip = (j: string, at: number, bit = 0x01): void => {
    const b = readFileSync(j);
    b[at]! ^= bit;
    writeFileSync(j, b);
  };
  // torn: what a write() cut short leaves, a prefix of the last record (or zeros the file was extended by)
  const torn: { name: string; hurt: (journal: string, last: { at: number; size: number }) => void; torn: 0 | 1; lost: boolean }[] = [
    { name: "cut 1 byte from the end", hurt: (j) => truncateSync(j, statSync(j).size - 1), torn: 1, lost: true },
    { name: "cut 3 bytes from the end", hurt: (j) => truncateSync(j, statSync(j).size - 3), torn: 1, lost: true },
    { name: "cut mid-payload", hurt: (j, l) => truncateSync(j, l.at + RH + Math.floor((l.size - RH) / 2)), torn: 1, lost: true },
    { name: "cut inside the record header (4 of 12 bytes)", hurt: (j, l) => truncateSync(j, l.at + 4), torn: 1, lost: true },
    { name: "cut exactly at the record boundary", hurt: (j, l) => truncateSync(j, l.at), torn: 0, lost: true },
    { name: "append 7 bytes (less than a record header)", hurt: (j) => appendFileSync(j, Buffer.from([1, 2, 3, 4, 5, 6, 7])), torn: 1, lost: false },
    { name: "append 4 KiB of zeros (extended, never written)", hurt: (j) => appendFileSync(j, Buffer.alloc(4096)), torn: 1, lost: false },
    {
      name: "append a valid record header claiming 1 GiB (the write stopped after the header)",
      hurt: (j) => appendFileSync(j, forgedHeader(1 << 30)),
      torn: 1,
      lost: false,
    },
  ];
  for (const d of torn) {
    it(`torn: ${d.name}`, () => {
      const { path, journal, last } = setup();
      d.hurt(journal, last);
      const store = new FileStore(path);
      const pool = store.open(V4);
      expect(store.tornRecords).toBe(d.torn);
      // records before the damage: node + 2 alloc, plus the last alloc if it was not hurt
      expect(store.journalRecords).toBe(d.lost ? 3 : 4);
      expect(pool.addressesOf("ns/p0")).toEqual(["10.0.0.1"]);
      expect(pool.addressesOf("ns/p1")).toEqual(["10.0.0.2"]);
      expect(pool.addressesOf("ns/p2")).toEqual(d.lost ? [] : ["10.0.0.3"]);
      expect(pool.verify()).toEqual([]);
      // the file was cut back to the last good record: the recovered journal has no tail
      expect(statSync(journal).size).toBe(d.lost ? last.at : last.at + last.size);
      // a later append lands after the good records and survives the next open
      expect(pool.allocate("a", "ns/p3")).toEqual({ ipv4: d.lost ? "10.0.0.3" : "10.0.0.4" }); // next-fit resumes after the last replayed address
      pool.close();
      const s2 = new FileStore(path);
      const p2 = s2.open(V4);
      expect(s2.tornRecords).toBe(0);
      expect(s2.journalRecords).toBe(d.lost ? 4 : 5);
      expect(p2.addressesOf("ns/p3")).toEqual([d.lost ? "10.0.0.3" : "10.0.0.4"]);
      p2.close();
    });
  }

  // damage: bytes a crash cannot produce. Each names the file and the byte offset.
  const damage: { name: string; hurt: (journal: string, recs: { at: number; size: number }[]) => void; at: (recs: { at: number }[]) => number }[] = [
    { name: "one flipped byte in the journal header (generation)", hurt: (j) => flip(j, 12), at: () => 0 },
    { name: "one flipped byte in the journal header (magic)", hurt: (j) => flip(j, 2), at: () => 0 },
    { name: "the journal header torn (10 of 24 bytes)", hurt: (j) => truncateSync(j, 10), at: () => 0 },
    { name: "one flipped byte in the length of a record in the middle", hurt: (j, r) => flip(j, r[1]!.at + 2, 0x10), at: (r) => r[1]!.at },
    { name: "one flipped byte in the length of the last record", hurt: (j, r) => flip(j, r[3]!.at + 1, 0x10), at: (r) => r[3]!.at },
    { name: "one flipped byte in a payload in the middle", hurt: (j, r) => flip(j, r[1]!.at + RH + 3, 0x20), at: (r) => r[1]!.at },
    { name: "one flipped byte in the last record's payload", hurt: (j, r) => flip(j, r[3]!.at + RH + 5, 0x40), at: (r) => r[3]!.at },
    { name: "one flipped byte in the last record's checksum", hurt: (j, r) => flip(j, r[3]!.at + 5), at: (r) => r[3]!.at },
    { name: "12 bytes of garbage appended (a record header that fails its checksum)", hurt: (j) => appendFileSync(j, Buffer.from("garbagegarba")), at: () => -1 },
    {
      name: "a whole record with a bad payload checksum appended",
      hurt: (j) => {
        const f = frame(Buffer.from(JSON.stringify({ op: "free", keys: [1] })));
        f[RH + 2]! ^= 0x01;
        appendFileSync(j, f);
      },
      at: () => -1,
    },
  ];
  for (const d of damage) {
    it(`corrupt: ${d.name}`, () => {
      const { path, journal } = setup();
      const recs = records(journal);
      const end = statSync(journal).size;
      d.hurt(journal, recs);
      const j0 = readFileSync(journal);
      const s0 = readFileSync(path);
      const e = err(() => ClusterPool.open(path, V4));
      expect(e.code).toBe("CORRUPT_STATE");
      expect(e.message).toContain(journal);
      const at = d.at(recs);
      expect(e.message).toContain(`byte ${at < 0 ? end : at}`);
      // the evidence is kept: both files byte for byte, and the store is not left locked
      expect(readFileSync(journal).equals(j0)).toBe(true);
      expect(readFileSync(path).equals(s0)).toBe(true);
      expect(err(() => ClusterPool.open(path, V4)).code).toBe("CORRUPT_STATE");
    });
  }
});

/** A record header (length, payload CRC, header CRC) whose payload never follows. */
function forgedHeader(len: number): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt32LE(len, 0);
  h.writeUInt32LE(crc(h.subarray(0, 8)), 8);
  return h;
}

describe("compaction", () => {
  it("compactEvery N: a snapshot of generation + 1 and an empty journal of that generation", () => {
    const path = tmpPath();
    const store = new FileStore(path, { compactEvery: 5 });
    const pool = store.open(V4);
    expect(generationOf(path, 12)).toBe(0);
    pool.addNode("a"); // 1 record
    for (let i = 0; i < 3; i++) pool.allocate("a", `ns/p${i}`); // 4 records
    expect(store.journalRecords).toBe(4);
    pool.allocate("a", "ns/p3"); // the 5th record triggers compaction
    expect(store.journalRecords).toBe(0);
    expect(generationOf(path, 12)).toBe(1);
    expect(generationOf(store.journalPath, 12)).toBe(1);
    expect(statSync(store.journalPath).size).toBe(HEADER);
    for (let i = 4; i < 14; i++) pool.allocate("a", `ns/p${i}`); // 10 more: two more compactions (5 + 5)
    expect(generationOf(path, 12)).toBe(3);
    expect(store.journalRecords).toBe(0);
    pool.allocate("a", "ns/p14"); // one record in the journal of generation 3
    const before = view(pool, Array.from({ length: 15 }, (_, i) => `ns/p${i}`));
    pool.close();
    const re = ClusterPool.open(path, V4);
    expect(view(re, Array.from({ length: 15 }, (_, i) => `ns/p${i}`))).toEqual(before);
    re.close();
  });

  it("explicit compact(): same state after reopen, journal emptied", () => {
    const path = tmpPath();
    const store = new FileStore(path);
    const pool = store.open(DUAL);
    pool.addNode("a");
    pool.allocate("a", "ns/p0");
    pool.compact();
    expect(store.journalRecords).toBe(0);
    expect(generationOf(path, 12)).toBe(1);
    const before = view(pool, OWNERS);
    pool.close();
    const re = ClusterPool.open(path, DUAL);
    expect(view(re, OWNERS)).toEqual(before);
    re.close();
  });

  it("a journal of an older generation is ignored (crash between the snapshot rename and the new journal)", () => {
    const path = tmpPath();
    const store = new FileStore(path);
    const pool = store.open(V4);
    pool.addNode("a");
    pool.allocate("a", "ns/p0"); // 10.0.0.1
    pool.release("10.0.0.1");
    pool.allocate("a", "ns/p1"); // 10.0.0.2 (next-fit)
    copyFileSync(store.journalPath, `${path}.old`); // generation 0 with 4 records
    pool.compact(); // snapshot generation 1 holds all 4
    const before = view(pool, OWNERS);
    pool.close();
    copyFileSync(`${path}.old`, store.journalPath); // as if the crash hit before the new journal replaced it
    expect(generationOf(store.journalPath, 12)).toBe(0);
    const s2 = new FileStore(path);
    const re = s2.open(V4);
    expect(s2.journalRecords).toBe(0); // nothing replayed twice
    expect(view(re, OWNERS)).toEqual(before);
    expect(generationOf(s2.journalPath, 12)).toBe(1); // replaced by an empty journal of the snapshot's generation
    expect(statSync(s2.journalPath).size).toBe(HEADER);
    re.close();
  });

  it("a missing journal is recreated (a crash between a new store's snapshot and its journal)", () => {
    const path = tmpPath();
    const p = ClusterPool.open(path, V4);
    p.addNode("a");
    p.compact();
    p.close();
    rmSync(`${path}.journal`);
    const re = ClusterPool.open(path, V4);
    expect(re.node("a")?.podCIDRs).toEqual(["10.0.0.0/26"]);
    re.close();
    expect(existsSync(`${path}.journal`)).toBe(true);
  });

  it("a deleted snapshot beside a non-empty journal is CORRUPT_STATE; neither file is touched", () => {
    const path = tmpPath();
    const p = ClusterPool.open(path, V4);
    p.addNode("a");
    p.allocate("a", "ns/p0");
    p.close();
    rmSync(path);
    const j0 = readFileSync(`${path}.journal`);
    const e = err(() => ClusterPool.open(path, V4));
    expect(e.code).toBe("CORRUPT_STATE");
    expect(e.message).toContain(path);
    expect(existsSync(path)).toBe(false); // not replaced by an empty pool
    expect(readFileSync(`${path}.journal`).equals(j0)).toBe(true);
  });
});

describe("replay gives the live pool's bytes", () => {
  it("a dual-stack allocate that asks for its IPv4 address only: the IPv6 cursor moved live and moves on replay", () => {
    const path = tmpPath();
    const live = ClusterPool.open(path, DUAL);
    live.addNode("a");
    live.allocate("a", "ns/p0", "10.0.0.5"); // IPv4 asked for (cursor stays), IPv6 next-fit: fd00::1 (cursor moves past it)
    live.allocate("a", "ns/p1"); // next-fit in both: 10.0.0.1 and fd00::2
    const bytes = Buffer.from(live.snapshot());
    live.close();
    const recs = records(`${path}.journal`);
    // the record names the one key that was asked for (it used to say wanted: true for both)
    expect((recs[1]!.rec as unknown as { wanted: unknown }).wanted).toEqual([(recs[1]!.rec as unknown as { keys: number[] }).keys[0]]);
    const re = ClusterPool.open(path, DUAL);
    expect(Buffer.from(re.snapshot()).equals(bytes)).toBe(true);
    expect(re.allocate("a", "ns/p2")).toEqual({ ipv4: "10.0.0.2", ipv6: "fd00::3" }); // as the live pool would go on
    re.close();
  });

  it("a CiliumNode import occupies its podCIDRs without moving the cursor, live and on replay", () => {
    const path = tmpPath();
    const V16: ClusterPoolOptions = { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } }; // 256 node subnets; 10.0.2.0/24 is slot 2
    const live = ClusterPool.open(path, V16);
    live.importCiliumNodes({ items: [{ metadata: { name: "old" }, spec: { ipam: { podCIDRs: ["10.0.2.0/24"] } } }] });
    const bytes = Buffer.from(live.snapshot());
    live.close();
    // the record says the placement was occupied (replay used to move the cursor past it)
    expect(records(`${path}.journal`).map((r) => r.rec)).toEqual([{ op: "node", name: "old", placed: [{ pool: 0, slot: 2, k: 0 }], occupied: true }]);
    const re = ClusterPool.open(path, V16);
    expect(Buffer.from(re.snapshot()).equals(bytes)).toBe(true);
    // as the live pool goes on: Cilium's Occupy leaves the cursor at the first slot, so the next node gets 10.0.0.0/24 (it got 10.0.3.0/24)
    expect(re.addNode("n1").podCIDRs).toEqual(["10.0.0.0/24"]);
    re.close();
  });
});

describe("format version 1 journals (16-byte header, records without a header checksum)", () => {
  it("are replayed, then rewritten as version 2 (compacted into the next snapshot)", () => {
    const path = tmpPath();
    const p = ClusterPool.open(path, V4);
    p.addNode("a");
    p.allocate("a", "ns/p0"); // 10.0.0.1
    p.allocate("a", "ns/p1"); // 10.0.0.2
    p.close();
    // the same records as ipcarve 0.1.0 wrote them: "IPCJRNL\0", u32 1, u32 generation; u32 length, u32 CRC, payload
    const v1 = Buffer.concat([
      Buffer.from("IPCJRNL\0"),
      Buffer.from(new Uint32Array([1, 0]).buffer),
      ...records(`${path}.journal`).map(({ rec }) => {
        const payload = Buffer.from(JSON.stringify(rec));
        const head = Buffer.alloc(8);
        head.writeUInt32LE(payload.length, 0);
        head.writeUInt32LE(crc(payload), 4);
        return Buffer.concat([head, payload]);
      }),
    ]);
    writeFileSync(`${path}.journal`, v1);
    const re = ClusterPool.open(path, V4);
    expect(re.addressesOf("ns/p0")).toEqual(["10.0.0.1"]);
    expect(re.addressesOf("ns/p1")).toEqual(["10.0.0.2"]);
    re.close();
    expect(generationOf(path, 12)).toBe(1); // compacted
    expect(readFileSync(`${path}.journal`).readUInt32LE(8)).toBe(2); // a version 2 journal
    expect(statSync(`${path}.journal`).size).toBe(HEADER);
  });
});

describe("a corrupted snapshot file is CORRUPT_STATE naming the file, and no pool", () => {
  const hurt: { name: string; fn: (b: Buffer) => Buffer }[] = [
    { name: "a flipped byte in the JSON", fn: (b) => ((b[30]! ^= 0x01), b) },
    { name: "a flipped byte in the checksum", fn: (b) => ((b[b.length - 1]! ^= 0x80), b) },
    { name: "truncated by one byte", fn: (b) => b.subarray(0, b.length - 1) },
    { name: "truncated to 10 bytes", fn: (b) => b.subarray(0, 10) },
    { name: "empty", fn: () => Buffer.alloc(0) },
    { name: "bad magic", fn: (b) => ((b[0] = 0x58), b) },
    { name: "version 2", fn: (b) => (b.writeUInt32LE(2, 8), b) },
  ];
  for (const h of hurt) {
    it(h.name, () => {
      const path = tmpPath();
      const p = ClusterPool.open(path, V4);
      p.addNode("a");
      p.allocate("a", "ns/p0");
      p.compact();
      p.close();
      writeFileSync(path, h.fn(readFileSync(path)));
      const journalBefore = readFileSync(`${path}.journal`);
      let pool: ClusterPool | undefined;
      const e = err(() => (pool = ClusterPool.open(path, V4)));
      expect(pool).toBeUndefined();
      expect(e.code).toBe("CORRUPT_STATE");
      expect(e.message).toContain(path);
      // nothing on disk was touched: the operator can still inspect or repair it
      expect(readFileSync(`${path}.journal`).equals(journalBefore)).toBe(true);
    });
  }

  it("a journal record that does not apply is CORRUPT_STATE naming the journal", () => {
    const path = tmpPath();
    const p = ClusterPool.open(path, V4);
    p.addNode("a");
    p.close();
    // a well-framed record with a good checksum that refers to a pool that does not exist
    const at = statSync(`${path}.journal`).size;
    appendFileSync(`${path}.journal`, frame(Buffer.from(JSON.stringify({ op: "alloc", node: "a", owner: "x", keys: [7 * 2 ** 32 + 1] }))));
    const e = err(() => ClusterPool.open(path, V4));
    expect(e.code).toBe("CORRUPT_STATE");
    expect(e.message).toContain(`${path}.journal`);
    expect(e.message).toContain(`record 2 at byte ${at} ("alloc")`); // node is record 1
  });
});

describe("options", () => {
  const good: { fsync?: "always" | "interval" | "never" }[] = [{}, { fsync: "always" }, { fsync: "interval" }, { fsync: "never" }];
  for (const o of good) {
    it(`fsync ${o.fsync ?? "(default interval)"} works`, () => {
      const path = tmpPath();
      const p = ClusterPool.open(path, V4, o);
      p.addNode("a");
      p.allocate("a", "ns/p0");
      p.close();
      const re = ClusterPool.open(path, V4, o);
      expect(re.addressesOf("ns/p0")).toEqual(["10.0.0.1"]);
      re.close();
    });
  }
  const bad: { name: string; make: () => unknown; match: RegExp }[] = [
    { name: "fsync 'sometimes'", make: () => new FileStore("/tmp/x", { fsync: "sometimes" as never }), match: /options\.fsync/ },
    { name: "fsync true", make: () => new FileStore("/tmp/x", { fsync: true as never }), match: /options\.fsync/ },
  ];
  for (const b of bad) {
    it(`${b.name} is INVALID_OPTION`, () => {
      const e = err(b.make);
      expect(e.code).toBe("INVALID_OPTION");
      expect(e.message).toMatch(b.match);
    });
  }

  it("a path that is not a non-empty string is INVALID_ARGUMENT", () => {
    for (const p of ["", 42, null, undefined, "a\0b"]) {
      const e = err(() => new FileStore(p as never));
      expect(e.code).toBe("INVALID_ARGUMENT");
      expect(e.message).toContain("FileStore(path)");
    }
  });

  it("numeric store options are validated (compactEvery 0 / -1 / NaN, fsyncIntervalMs -1)", () => {
    // they used to be accepted: compactEvery 0 or -1 compacted on every record, NaN never
    for (const o of [{ compactEvery: 0 }, { compactEvery: -1 }, { compactEvery: Number.NaN }, { fsyncIntervalMs: -1 }, { compactEvery: "5" as never }]) {
      expect(err(() => new FileStore("/tmp/x", o)).code).toBe("INVALID_OPTION");
    }
  });

  it("a closed store refuses appends, and close is idempotent", () => {
    const path = tmpPath();
    const store = new FileStore(path);
    store.open(V4);
    store.close();
    store.close();
    expect(err(() => store._emit({ op: "drop", name: "x" })).code).toBe("INVALID_ARGUMENT");
  });
});

describe("regressions found by these tests: pending nodes across recovery, atomic releaseOwner", () => {
  const CAP2: ClusterPoolOptions = { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 26 }, maxNodeSubnets: 2 }; // 4 slots, at most 2 big

  it("a pending node is still queued after journal replay (and is served when a subnet frees)", () => {
    const path = tmpPath();
    const p = ClusterPool.open(path, CAP2);
    p.addNode("a");
    p.addNode("b");
    expect(() => p.addNode("c")).toThrow(/maxNodeSubnets 2 reached/);
    expect(p.pendingNodes()).toEqual(["c"]);
    p.close();
    const re = ClusterPool.open(path, CAP2);
    try {
      expect(re.node("c")?.status).toBe("pending");
      expect(re.pendingNodes()).toEqual(["c"]); // was [] (replay of "pending" did not queue a new node)
      re.removeNode("a");
      expect(re.node("c")?.status).toBe("ready"); // live, c is served here
    } finally {
      re.close();
    }
  });

  it("after compaction, replaying a removal does not place the served pending node twice", () => {
    const run = (reopen: boolean): string => {
      const path = tmpPath();
      let p = ClusterPool.open(path, CAP2);
      p.addNode("a");
      p.addNode("b");
      expect(() => p.addNode("c")).toThrow(/full/);
      p.compact(); // the snapshot holds c as pending
      p.removeNode("a"); // journal: drop a, node c
      if (reopen) {
        p.close();
        p = ClusterPool.open(path, CAP2); // replaying "drop a" serves c, then "node c" places it again
      }
      p.removeNode("b");
      try {
        return p.addNode("d").podCIDRs.join(); // 2 big subnets held (c, d): allowed
      } catch (e) {
        return (e as IpamError).code;
      } finally {
        p.close();
      }
    };
    expect(run(false)).toBe("10.0.0.192/26");
    expect(run(true)).toBe("10.0.0.192/26"); // was FULL (the big-subnet count was raised twice)
  });

  it("a kill between a removal's drop record and the served node's record: the pending node is served after recovery", () => {
    // removeNode writes "drop a", then "node c" for the pending node it serves. A kill between the
    // two write()s leaves "drop a" only; replay no longer serves on its own, and nothing after
    // recovery does either: c waits with a free subnet until some later removal.
    const path = tmpPath();
    const p = ClusterPool.open(path, CAP2);
    p.addNode("a");
    p.addNode("b");
    expect(() => p.addNode("c")).toThrow(/full/);
    p.removeNode("a");
    p.close();
    const recs = records(`${path}.journal`);
    expect(recs.map((r) => r.rec.op)).toEqual(["node", "node", "pending", "drop", "node"]);
    truncateSync(`${path}.journal`, recs[4]!.at); // the kill landed after "drop a"
    const re = ClusterPool.open(path, CAP2);
    try {
      expect(re.node("a")).toBeUndefined();
      expect(re.node("c")?.status).toBe("ready"); // today: pending, with 1 of 2 big subnets held
    } finally {
      re.close();
    }
  });

  it("releaseOwner is one journal record: a crash cannot leave half of a dual-stack pod", () => {
    const path = tmpPath();
    const p = ClusterPool.open(path, DUAL);
    p.addNode("a");
    p.allocate("a", "ns/p0"); // 10.0.0.1 and fd00::1
    p.releaseOwner("ns/p0");
    p.close();
    const recs = records(`${path}.journal`);
    // a kill between two write()s of one call leaves a journal cut at a record boundary
    truncateSync(`${path}.journal`, recs[recs.length - 1]!.at);
    const re = ClusterPool.open(path, DUAL);
    try {
      const left = re.addressesOf("ns/p0");
      expect(left.length === 0 || left.length === 2).toBe(true); // was: one of the two addresses left (a free record per key)
    } finally {
      re.close();
    }
  });
});
