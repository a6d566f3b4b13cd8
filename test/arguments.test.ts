/**
 * Issue 8, findings 5 and 7: every argument is checked, nothing aliases, a
 * failed call leaves the state as it was. One `it` per finding of the probe,
 * named after it; the rules are in src/args.ts.
 */
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { err, crc, tmpStores } from "./helpers.js";
import { ClusterPool, CidrSet, PodRange, PoolView, Engine, FileStore, IpamError, MAX_POOL_CIDRS, parseIPv4 } from "../src/index.js";
import type { ClusterPoolOptions } from "../src/index.js";
import { checkOverlaps } from "../src/pool/options.js";
import { parseCidr, type Cidr } from "../src/net/ip.js";

const tmpPath = tmpStores("args");

const V4: ClusterPoolOptions = { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } };
const ip4 = (s: string): number => parseIPv4(s);
/** Calls fn, which must throw an IpamError; returns the code and checks the snapshot did not change. */
function refused(pool: ClusterPool, fn: () => unknown): string {
  const before = pool.snapshot();
  const e = err(fn);
  expect(e.message).toMatch(/^ipcarve: /);
  expect(Buffer.from(pool.snapshot()).equals(Buffer.from(before))).toBe(true);
  return e.code;
}

describe("finding 5: aliasing", () => {
  it("releaseIPv4(ip + 2**32), (ip + 0.5), (ip - 2**32) no longer free ip", () => {
    const pool = new ClusterPool(V4);
    pool.addNode("a");
    const ip = pool.allocateIPv4(pool.handle("a")); // 10.0.0.1 = 0x0a000001
    expect(ip).toBe(ip4("10.0.0.1"));
    // ToInt32 maps each of these onto ip; now a non-integer is INVALID_ARGUMENT and an
    // integer outside 0..2^32-1 NOT_IN_RANGE, and nothing is released
    const cases: [number, string][] = [
      [ip + 2 ** 32, "NOT_IN_RANGE"], // 4,362,076,161
      [ip - 2 ** 32, "NOT_IN_RANGE"], // -4,127,195,135
      [ip + 0.5, "INVALID_ARGUMENT"],
      [ip - 0.5, "INVALID_ARGUMENT"],
      [Number.NaN, "INVALID_ARGUMENT"],
      [-1, "NOT_IN_RANGE"], // allocateIPv4's "full": not 255.255.255.255
    ];
    for (const [v, code] of cases) {
      expect(refused(pool, () => pool.releaseIPv4(v))).toBe(code);
      expect(refused(pool, () => pool.lookupIPv4(v))).toBe(code);
    }
    expect(pool.lookup("10.0.0.1")).toMatchObject({ node: "a", allocated: true });
    expect(pool.releaseIPv4(ip)).toBe(true);
    expect(pool.releaseIPv4(-0)).toBe(false); // -0 is the integer 0: 0.0.0.0, in no pool
  });

  it("CidrSet.releaseIndex(NaN | \"\" | 1.5) no longer frees subnet 0", () => {
    const set = new CidrSet("10.0.0.0/16", 24); // 2^(24-16) = 256 subnets
    set.allocateNext(); // subnet 0 = 10.0.0.0/24
    for (const [v, code] of [[Number.NaN, "INVALID_ARGUMENT"], ["", "INVALID_ARGUMENT"], [1.5, "INVALID_ARGUMENT"], [-0.5, "INVALID_ARGUMENT"], [256, "NOT_IN_RANGE"], [2 ** 32, "NOT_IN_RANGE"], [-1, "NOT_IN_RANGE"]] as const) {
      expect(err(() => set.releaseIndex(v as number)).code).toBe(code);
      expect(err(() => set.indexToCidr(v as number)).code).toBe(code);
    }
    expect(set.isAllocated("10.0.0.0/24")).toBe(true);
    expect(set.used).toBe(1);
    expect(set.indexToCidr(255)).toBe("10.0.255.0/24");
  });

  it("PodRange.releaseIndex(NaN) no longer frees offset 0", () => {
    const r = new PodRange("10.0.0.0/24"); // 254 offsets, 0 = 10.0.0.1
    r.allocateNext();
    for (const [v, code] of [[Number.NaN, "INVALID_ARGUMENT"], [0.5, "INVALID_ARGUMENT"], ["0", "INVALID_ARGUMENT"], [254, "NOT_IN_RANGE"], [2 ** 32, "NOT_IN_RANGE"]] as const) {
      expect(err(() => r.releaseIndex(v as number)).code).toBe(code);
      expect(err(() => r.hasIndex(v as number)).code).toBe(code);
      expect(err(() => r.ipAt(v as number)).code).toBe(code);
    }
    expect(r.hasIndex(0)).toBe(true);
    expect(r.ipAt(253)).toBe("10.0.0.254");
  });
});

describe("finding 5: memory corruption", () => {
  const cidrs = (n: number): string[] => Array.from({ length: n }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);

  it("more than MAX_POOL_CIDRS (256) pool CIDRs is refused at construction and by addPoolCidr", () => {
    expect(MAX_POOL_CIDRS).toBe(256);
    // 257 /24s: the table of 256 entries would be written past (the first addNode trapped)
    const e = err(() => new ClusterPool({ ipv4: { cidrs: cidrs(257), maskSize: 24 } }));
    expect(e.code).toBe("INVALID_OPTION");
    expect(e.message).toMatch(/options\.ipv4\.cidrs has 257 CIDRs; a pool holds at most 256 pool CIDRs/);
    // 200 + 57 over both families
    const v6 = Array.from({ length: 57 }, (_, i) => `fd00:${i.toString(16)}::/120`);
    expect(err(() => new ClusterPool({ ipv4: { cidrs: cidrs(200), maskSize: 24 }, ipv6: { cidrs: v6, maskSize: 120 } })).message).toMatch(/has 257 pool CIDRs/);
    // 256 is the most, and it works
    const pool = new ClusterPool({ ipv4: { cidrs: cidrs(256), maskSize: 24 } });
    for (let i = 0; i < 256; i++) pool.addNode(`n${i}`);
    expect(pool.node("n255")?.podCIDRs).toEqual(["10.0.255.0/24"]);
    expect(pool.verify()).toEqual([]);
    pool.removeNode("n255");
    pool.removePoolCidr("10.0.255.0/24"); // removed entries still count: the table keeps their index
    expect(refused(pool, () => pool.addPoolCidr("11.0.0.0/24"))).toBe("INVALID_OPTION");
  });

  it("50,000 pool CIDRs answer at once, and the overlap check sorts (n log n) instead of comparing every pair", () => {
    expect(err(() => new ClusterPool({ ipv4: { cidrs: Array.from({ length: 50_000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`), maskSize: 24 } })).message)
      .toMatch(/has 50000 CIDRs/);
    // the check itself, on 50,000 disjoint /32s plus the /16 that holds the first 65,536 of them
    const many: Cidr[] = Array.from({ length: 50_000 }, (_, i) => parseCidr(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}/32`));
    expect(() => checkOverlaps("x", many)).not.toThrow();
    many.push(parseCidr("10.0.0.0/16"));
    expect(() => checkOverlaps("x", many)).toThrow(/x\[50000\] 10\.0\.0\.0\/16 overlaps x\[0\] 10\.0\.0\.0\/32/);
  });

  it("the sorted overlap check agrees with every pair compared, naming the later CIDR", () => {
    const table: { cidrs: string[]; clash?: RegExp }[] = [
      { cidrs: ["10.0.0.0/8", "192.168.0.0/16", "10.20.0.0/16"], clash: /x\[2\] 10\.20\.0\.0\/16 overlaps x\[0\] 10\.0\.0\.0\/8/ },
      { cidrs: ["10.20.0.0/16", "10.0.0.0/8"], clash: /x\[1\] 10\.0\.0\.0\/8 overlaps x\[0\] 10\.20\.0\.0\/16/ }, // the wide one later
      { cidrs: ["10.0.0.0/24", "10.0.0.0/24"], clash: /x\[1\] .* overlaps x\[0\]/ }, // the same CIDR twice
      { cidrs: ["10.0.0.0/25", "10.0.0.128/25", "10.0.1.0/24"] }, // adjacent, disjoint
      { cidrs: ["10.0.1.0/24", "10.0.0.0/24", "9.255.255.255/32"] }, // out of order, disjoint
      { cidrs: ["fd00::/64", "fd00:0:0:1::/64", "fd00::8000:0:0:0/65"], clash: /x\[2\] fd00::8000:0:0:0\/65 overlaps x\[0\] fd00::\/64/ }, // fd00::8000:0:0:0 is in the first /64
    ];
    for (const c of table) {
      const parsed = c.cidrs.map((s) => parseCidr(s));
      const pairs = parsed.some((a, i) => parsed.some((b, j) => i < j && a.overlaps(b)));
      expect(pairs).toBe(c.clash !== undefined);
      if (c.clash) expect(() => checkOverlaps("x", parsed)).toThrow(c.clash);
      else expect(() => checkOverlaps("x", parsed)).not.toThrow();
    }
  });

  it("PoolView.attach/detach with slot = capacity, a string, NaN or 2^20 are refused; node 0's slot is untouched", () => {
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/22"], maskSize: 24 } }); // 4 slots
    pool.addNode("a"); // slot 0
    pool.allocate("a", "ns/p");
    const view = new PoolView(pool.describe());
    const before = pool.snapshot();
    const cases: [unknown, string][] = [[4, "NOT_IN_RANGE"], [2 ** 20, "NOT_IN_RANGE"], [-1, "NOT_IN_RANGE"], ["x", "INVALID_ARGUMENT"], ["0", "INVALID_ARGUMENT"], [Number.NaN, "INVALID_ARGUMENT"], [0.5, "INVALID_ARGUMENT"]];
    for (const [slot, code] of cases) {
      for (const call of [() => view.attach(0, slot as number, 9), () => view.detach(0, slot as number), () => view.allocateNextIndex(0, slot as number), () => view.used(0, slot as number)]) {
        expect(err(call).code).toBe(code);
      }
    }
    // pool, node and rel arguments too
    expect(err(() => view.attach(1, 1, 9)).code).toBe("NOT_IN_RANGE"); // entry 1 does not exist
    expect(err(() => view.allocateNextSlot("0" as never)).code).toBe("INVALID_ARGUMENT");
    expect(err(() => view.allocateNextSlot("constructor" as never)).code).toBe("INVALID_ARGUMENT");
    expect(err(() => view.attach(0, 1, 0)).code).toBe("NOT_IN_RANGE"); // node id 0 means "no node"
    expect(err(() => view.attach(0, 1, 9)).code).toBe("INVALID_ARGUMENT"); // slot 1 was never carved
    expect(err(() => view.attach(0, 0, 9)).code).toBe("IN_USE"); // node a holds slot 0
    expect(err(() => view.releaseIndex(0, 4 * 256)).code).toBe("NOT_IN_RANGE"); // rels of a /22: 0..1023
    expect(err(() => view.releaseIndex(0, 1.5)).code).toBe("INVALID_ARGUMENT");
    expect(Buffer.from(pool.snapshot()).equals(Buffer.from(before))).toBe(true);
    expect(pool.verify()).toEqual([]);
    expect(pool.lookup("10.0.0.1")).toMatchObject({ node: "a", owner: "ns/p" });
    // a descriptor that does not match the memory is refused, not trusted
    const d = pool.describe();
    expect(err(() => new PoolView({ ...d, pools: [{ ...d.pools[0]!, nodeBitmap: 0 }] })).code).toBe("INVALID_ARGUMENT");
    expect(err(() => new PoolView({ ...d, pools: [{ ...d.pools[0]!, slots: 2 ** 20 }] })).code).toBe("INVALID_ARGUMENT");
    expect(err(() => new PoolView({ ...d, podStrategy: "constructor" as never })).code).toBe("INVALID_ARGUMENT");
    expect(err(() => new PoolView(null as never)).code).toBe("INVALID_ARGUMENT");
  });
});

describe("finding 5: half-done calls", () => {
  it("allocateIPv4Batch(h, \"x\") and CidrSet.allocateNextIndexBatch(\"x\") take nothing", () => {
    const pool = new ClusterPool(V4);
    pool.addNode("a");
    const h = pool.handle("a");
    expect(refused(pool, () => pool.allocateIPv4Batch(h, "x" as never))).toBe("INVALID_ARGUMENT");
    expect(refused(pool, () => pool.allocateIPv4Batch(h, [0, 0] as never))).toBe("INVALID_ARGUMENT");
    expect(refused(pool, () => pool.allocateIPv4Batch(h, new Uint32Array(4), 5))).toBe("NOT_IN_RANGE"); // count > length
    expect(refused(pool, () => pool.allocateIPv4Batch(h, new Uint32Array(4), 1.5))).toBe("INVALID_ARGUMENT");
    expect(refused(pool, () => pool.releaseIPv4Batch("x" as never))).toBe("INVALID_ARGUMENT");
    expect(pool.node("a")?.ranges[0]?.used).toBe(0);
    const set = new CidrSet("10.0.0.0/16", 24);
    expect(err(() => set.allocateNextIndexBatch("x" as never)).code).toBe("INVALID_ARGUMENT");
    expect(err(() => set.allocateNextIndexBatch(new Uint32Array(2), -1)).code).toBe("NOT_IN_RANGE");
    expect(set.used).toBe(0);
    const r = new PodRange("10.0.0.0/24");
    expect(err(() => r.allocateNextIPv4Batch("x" as never)).code).toBe("INVALID_ARGUMENT");
    expect(r.used).toBe(0);
  });

  it("a dual-stack allocate whose IPv6 range is full leaves the snapshot (and the IPv4 cursor) as it was", () => {
    // IPv6 /126 node ranges: 2^2 - 2 = 2 usable addresses; IPv4 /24: 254
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 }, ipv6: { cidrs: ["fd00::/120"], maskSize: 126 } });
    pool.addNode("a");
    pool.allocate("a", "ns/p1"); // 10.0.0.1, fd00::1
    pool.allocate("a", "ns/p2"); // 10.0.0.2, fd00::2: the IPv6 range is full
    expect(refused(pool, () => pool.allocate("a", "ns/p3"))).toBe("FULL");
    expect(refused(pool, () => pool.allocate("a", "ns/p3", "10.0.0.9"))).toBe("FULL"); // wanted IPv4, next IPv6
    pool.release("fd00::1");
    // the IPv4 cursor did not move: the next IPv4 address is 10.0.0.3, not 10.0.0.5
    expect(pool.allocate("a", "ns/p3")).toEqual({ ipv4: "10.0.0.3", ipv6: "fd00::1" });
  });

  it("out of shared memory, addNode is FULL and leaves nothing half-made (nodeName names no ghost)", () => {
    // a memory that cannot grow; then fill it so that one /24 pod range (88 bytes at a
    // 32-aligned offset, 96 per range) fits and the second family's does not: 128 bytes left
    const engine = Engine.create({ initialPages: 40, maximumPages: 40 });
    const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 }, ipv6: { cidrs: ["fd00::/104"], maskSize: 120 }, engine });
    pool.addNode("a");
    const end = engine.memory.buffer.byteLength;
    const top = engine.bytesUsed + 128; // the arena starts at byte 128
    engine.alloc(end - top - 128);
    expect(refused(pool, () => pool.addNode("b"))).toBe("FULL");
    expect(err(() => pool.addNode("b")).message).toMatch(/shared memory \(40 pages\) is full: cannot add node "b"/);
    expect(pool.nodeName(2)).toBeUndefined(); // b's handle would have been 2
    expect(pool.nodeNames()).toEqual(["a"]);
    expect(pool.pendingNodes()).toEqual([]);
    expect(pool.verify()).toEqual([]);
    pool.removeNode("a"); // its two ranges are recycled: b fits now
    expect(pool.addNode("b").podCIDRs).toEqual(["10.0.1.0/24", "fd00::100/120"]);
    expect(pool.nodeName(pool.handle("b"))).toBe("b");
  });

  it("restore into an engine too small for the pool is FULL, not CORRUPT_STATE", () => {
    const p = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/8"], maskSize: 24 } }); // a 512 KiB slot table
    p.addNode("a");
    const small = Engine.create({ initialPages: 4, maximumPages: 4 }); // 256 KiB
    const e = err(() => ClusterPool.restore(p.snapshot(), { engine: small }));
    expect(e.code).toBe("FULL");
    expect(e.message).toMatch(/shared memory \(4 pages\) is full/);
  });

  it("a refused allocation gives its bytes back: later ones that fit still succeed", () => {
    // 8 pages = 512 KiB that cannot grow; the arena moved its top before growing, and left it past the end
    const engine = Engine.create({ initialPages: 8, maximumPages: 8 });
    const used = engine.bytesUsed;
    expect(err(() => engine.alloc(1 << 20)).code).toBe("FULL");
    expect(engine.bytesUsed).toBe(used);
    expect(engine.alloc(64)).toBe(used + 128); // the arena's first region starts at byte 128
  });

  it("out of shared memory, an owned allocate is FULL instead of being acknowledged without its owner", () => {
    for (const dual of [false, true]) {
      const engine = Engine.create({ initialPages: 40, maximumPages: 40 });
      const pool = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 }, ...(dual ? { ipv6: { cidrs: ["fd00::/112"], maskSize: 120 } } : {}), engine });
      pool.addNode("a");
      // an owner array is 254 x 4 = 1,016 bytes (1,024 with alignment): leave room for one, not two
      const end = engine.memory.buffer.byteLength;
      engine.alloc(end - (engine.bytesUsed + 128) - 1536);
      let full = "a";
      if (dual) {
        expect(refused(pool, () => pool.allocate("a", "ns/p"))).toBe("FULL"); // the IPv4 array fits, the IPv6 one does not
      } else {
        full = "b";
        expect(pool.allocate("a", "ns/first").ipv4).toBe("10.0.0.1"); // makes a's owner array
        pool.addNode("b");
        expect(refused(pool, () => pool.allocate("b", "ns/p"))).toBe("FULL");
        expect(refused(pool, () => pool.allocate("b", "ns/p", "10.0.1.7"))).toBe("FULL");
        expect(pool.lookup("10.0.1.1")).toMatchObject({ node: "b", allocated: false });
        expect(pool.allocateIPv4(pool.handle("b"))).toBe(ip4("10.0.1.1")); // no owner, no array needed
      }
      expect(err(() => pool.allocate(full, "ns/p")).message).toMatch(/shared memory \(40 pages\) is full: cannot record the owner of a pod of node/);
      expect(pool.addressesOf("ns/p")).toEqual([]);
      expect(pool.verify()).toEqual([]);
    }
  });
});

describe("finding 5: plain TypeErrors are IpamErrors now", () => {
  const pool = (): ClusterPool => {
    const p = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 }, ipv6: { cidrs: ["fd00::/104"], maskSize: 120 } });
    p.addNode("n");
    return p;
  };
  const o: ClusterPoolOptions = { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } };
  const table: { call: string; fn: (p: ClusterPool) => unknown; code: string; msg?: RegExp }[] = [
    { call: "release(null)", fn: (p) => p.release(null as never), code: "INVALID_ARGUMENT", msg: /release\(ip\) must be an IP address string \(got null\)/ },
    { call: "release(ip, 5)", fn: (p) => p.release("10.0.0.1", 5 as never), code: "INVALID_ARGUMENT" },
    { call: "lookup(123)", fn: (p) => p.lookup(123 as never), code: "INVALID_ARGUMENT", msg: /lookup\(ip\) must be a string \(got 123\)/ },
    { call: "addNode(1n)", fn: (p) => p.addNode(1n as never), code: "INVALID_ARGUMENT", msg: /addNode\(name\) must be a non-empty string \(got 1n\)/ },
    { call: "allocate(Object.create(null), owner)", fn: (p) => p.allocate(Object.create(null) as never, "ns/p"), code: "INVALID_ARGUMENT", msg: /got an object without prototype/ },
    { call: "allocate(n, Symbol())", fn: (p) => p.allocate("n", Symbol("s") as never), code: "INVALID_ARGUMENT", msg: /got Symbol\(s\)/ },
    { call: "allocate(n, owner, 7)", fn: (p) => p.allocate("n", "ns/p", 7 as never), code: "INVALID_ARGUMENT" },
    { call: "allocate(n, owner, [null])", fn: (p) => p.allocate("n", "ns/p", [null] as never), code: "INVALID_ARGUMENT" },
    { call: "removeNode(n, null)", fn: (p) => p.removeNode("n", null as never), code: "INVALID_OPTION", msg: /options must be an object/ },
    { call: "removeNode(n, { graceMs: 1n })", fn: (p) => p.removeNode("n", { graceMs: 1n } as never), code: "INVALID_OPTION", msg: /got 1n/ },
    { call: "removeNode(5)", fn: (p) => p.removeNode(5 as never), code: "INVALID_ARGUMENT" },
    { call: "new ClusterPool({ ...o, engine: {} })", fn: () => new ClusterPool({ ...o, engine: {} as never }), code: "INVALID_OPTION", msg: /options\.engine must be an Engine/ },
    { call: "new ClusterPool({ ...o, seed: Symbol() })", fn: () => new ClusterPool({ ...o, seed: Symbol("x") as never }), code: "INVALID_OPTION" },
    { call: "new ClusterPool({ ...o, overflow: 1n })", fn: () => new ClusterPool({ ...o, overflow: 1n as never }), code: "INVALID_OPTION", msg: /got 1n/ },
    { call: "new ClusterPool({ ...o, maxNodeSubnets: Object.create(null) })", fn: () => new ClusterPool({ ...o, maxNodeSubnets: Object.create(null) as never }), code: "INVALID_OPTION" },
    { call: "new ClusterPool({ ipv4: { cidrs: [1n], maskSize: 24 } })", fn: () => new ClusterPool({ ipv4: { cidrs: [1n as never], maskSize: 24 } }), code: "INVALID_OPTION", msg: /options\.ipv4\.cidrs\[0\] must be a CIDR string \(got 1n\)/ },
    { call: "ClusterPool.open(p, o, null)", fn: () => ClusterPool.open(tmpPath(), o, null as never), code: "INVALID_OPTION" },
    { call: "FileStore.open(null)", fn: () => new FileStore(tmpPath()).open(null as never), code: "INVALID_OPTION" },
    { call: "handle(1)", fn: (p) => p.handle(1 as never), code: "INVALID_ARGUMENT" },
    { call: "node({})", fn: (p) => p.node({} as never), code: "INVALID_ARGUMENT" },
    { call: "reserve(null)", fn: (p) => p.reserve(null as never), code: "INVALID_ARGUMENT" },
    { call: "removePoolCidr(1)", fn: (p) => p.removePoolCidr(1 as never), code: "INVALID_ARGUMENT" },
    { call: "importCiliumNodes(1n)", fn: (p) => p.importCiliumNodes(1n), code: "INVALID_ARGUMENT", msg: /CiliumNode list must be an array/ },
    { call: "snapshot(-1)", fn: (p) => p.snapshot(-1), code: "INVALID_ARGUMENT" },
    { call: "restore(\"x\")", fn: () => ClusterPool.restore("x" as never), code: "INVALID_ARGUMENT" },
    { call: "allocateIPv4(\"1\")", fn: (p) => p.allocateIPv4("1" as never), code: "INVALID_ARGUMENT" },
    { call: "allocateIPv4(-1)", fn: (p) => p.allocateIPv4(-1), code: "UNKNOWN_NODE" },
    { call: "lookupIPv4Batch(ips, [])", fn: (p) => p.lookupIPv4Batch(new Uint32Array(1), [] as never), code: "INVALID_ARGUMENT" },
  ];
  it.each(table)("$call", (c) => {
    const p = pool();
    const e = err(() => c.fn(p));
    expect(e.code).toBe(c.code);
    expect(e.message).toMatch(/^ipcarve: /);
    if (c.msg) expect(e.message).toMatch(c.msg);
  });

  const standalone: { call: string; fn: () => unknown; code: string }[] = [
    { call: "CidrSet.occupy(null)", fn: () => new CidrSet("10.0.0.0/16", 24).occupy(null as never), code: "INVALID_ARGUMENT" },
    { call: "CidrSet.inRange(5)", fn: () => new CidrSet("10.0.0.0/16", 24).inRange(5 as never), code: "INVALID_ARGUMENT" },
    { call: "new CidrSet(null, 24)", fn: () => new CidrSet(null as never, 24), code: "INVALID_ARGUMENT" },
    { call: "new CidrSet(c, 24, null)", fn: () => new CidrSet("10.0.0.0/16", 24, null as never), code: "INVALID_OPTION" },
    { call: "new CidrSet(c, 24, { engine: {} })", fn: () => new CidrSet("10.0.0.0/16", 24, { engine: {} as never }), code: "INVALID_OPTION" },
    { call: "PodRange.has(undefined)", fn: () => new PodRange("10.0.0.0/24").has(undefined as never), code: "INVALID_ARGUMENT" },
    { call: "PodRange.allocate(1)", fn: () => new PodRange("10.0.0.0/24").allocate(1 as never), code: "INVALID_ARGUMENT" },
    { call: "IPv6 ipAt(NaN)", fn: () => new PodRange("fd00::/120").ipAt(Number.NaN), code: "INVALID_ARGUMENT" },
    { call: "new PodRange(c, { seed: 1n << 64n })", fn: () => new PodRange("10.0.0.0/24", { seed: 1n << 64n }), code: "INVALID_OPTION" },
    { call: "parseIPv4(null)", fn: () => parseIPv4(null as never), code: "INVALID_ARGUMENT" },
    { call: "Engine.attach({})", fn: () => Engine.attach({} as never), code: "INVALID_ARGUMENT" },
    { call: "Engine.attach(a memory that is not an engine's)", fn: () => Engine.attach(new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true })), code: "INVALID_ARGUMENT" },
    { call: "Engine.create(null)", fn: () => Engine.create(null as never), code: "INVALID_OPTION" },
    { call: "engine.alloc(\"64\")", fn: () => Engine.create().alloc("64" as never), code: "INVALID_ARGUMENT" },
    { call: "engine.free(3, 64)", fn: () => Engine.create().free(3, 64), code: "INVALID_ARGUMENT" },
    { call: "FileStore._emit(1n)", fn: () => new FileStore(tmpPath())._emit(1n as never), code: "INVALID_ARGUMENT" },
    { call: "FileStore.compact({})", fn: () => new FileStore(tmpPath()).compact({} as never), code: "INVALID_ARGUMENT" },
  ];
  it.each(standalone)("$call", (c) => {
    expect(err(c.fn).code).toBe(c.code);
  });

  it("nodeName(\"constructor\") is INVALID_ARGUMENT (it returned \"Array\"); an integer that is no handle gives undefined", () => {
    const p = pool();
    const h = p.handle("n");
    for (const v of ["constructor", "1", 1.5, Number.NaN, Infinity, 1n, null]) expect(err(() => p.nodeName(v as never)).code).toBe("INVALID_ARGUMENT");
    for (const v of [-1, 0, 99, 2 ** 32, 2 ** 53]) expect(p.nodeName(v)).toBeUndefined();
    expect(p.nodeName(h)).toBe("n");
  });

  it("BigInt, Symbol and Object.create(null) inside messages do not throw", () => {
    const p = pool();
    for (const v of [10n, Symbol("s"), Object.create(null), { toString: null }]) {
      for (const fn of [() => p.addNode(v as never), () => p.release(v as never), () => p.allocate("n", v as never), () => new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/8"], maskSize: v as never } })]) {
        const e = err(fn);
        expect(e).toBeInstanceOf(IpamError);
      }
    }
  });
});

describe("finding 5: options", () => {
  it("options are copied and frozen at construction: changing the caller's object changes neither the pool nor what restore builds", () => {
    const cidrs = ["10.0.0.0/24"];
    const reuse = { cooldownMs: 100 };
    const opts = { ipv4: { cidrs, maskSize: 26 }, reuse, overflow: { smaller: 28 } };
    const pool = new ClusterPool(opts);
    cidrs[0] = "192.168.0.0/16";
    opts.ipv4.maskSize = 20;
    reuse.cooldownMs = 5;
    opts.overflow.smaller = 30;
    expect(pool.options.families[0]?.cidrs.map(String)).toEqual(["10.0.0.0/24"]);
    expect(pool.options.families[0]?.maskSize).toBe(26);
    expect(pool.options.reuse).toEqual({ cooldownMs: 100 });
    expect(pool.options.overflowOption).toEqual({ smaller: 28 });
    expect(Object.isFrozen(pool.options) && Object.isFrozen(pool.options.families[0]) && Object.isFrozen(pool.options.reuse)).toBe(true);
    expect(() => { (pool.options.families as unknown[]).push(1); }).toThrow(TypeError);
    const r = ClusterPool.restore(pool.snapshot());
    expect(r.poolCidrs()).toEqual([{ family: 4, cidrs: ["10.0.0.0/24"] }]);
    expect(r.options.families[0]?.maskSize).toBe(26);
    expect(r.options.reuse).toEqual({ cooldownMs: 100 });
  });

  /** Opens a store, runs fn, then checks `check` live, after reopening from the journal, from the snapshot alone, and after restore. */
  function survives(opts: ClusterPoolOptions, fn: (p: ClusterPool) => void, check: (p: ClusterPool) => void, advance: () => void): string {
    const path = tmpPath();
    const p = ClusterPool.open(path, opts);
    fn(p);
    advance(); // far in the future: anything finite would be due
    check(p);
    const bytes = p.snapshot();
    p.close();
    const journal = readFileSync(`${path}.journal`).toString();
    const q = ClusterPool.open(path, opts); // from the journal
    check(q);
    q.compact(); // then from the snapshot alone
    q.close();
    const r = ClusterPool.open(path, opts);
    check(r);
    r.close();
    check(ClusterPool.restore(bytes, { clock: opts.clock! }));
    return journal;
  }

  it("graceMs: Infinity survives snapshot and reopen (the draining node was dropped on reopen)", () => {
    let t = 1000;
    const opts: ClusterPoolOptions = { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 26 }, clock: () => t };
    const journal = survives(opts, (p) => {
      p.addNode("a");
      p.addNode("b");
      p.removeNode("b", { graceMs: Infinity }); // drains until removed again without grace
    }, (p) => {
      expect(p.node("b")?.status).toBe("draining");
      expect(p.lookup("10.0.0.65")).toMatchObject({ node: "b" });
    }, () => (t += 1e12));
    expect(journal).toContain('{"op":"drain","name":"b","deadline":"Infinity"}'); // JSON has no Infinity: it wrote null
  });

  it("cooldownMs: Infinity survives snapshot and reopen (a store with it could not be reopened)", () => {
    let t = 1000;
    const opts: ClusterPoolOptions = { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 26 }, reuse: { cooldownMs: Infinity }, clock: () => t };
    survives(opts, (p) => {
      p.addNode("a");
      p.allocate("a", "ns/p");
      p.release("10.0.0.1"); // in cooldown for ever
    }, (p) => {
      expect(p.options.reuse?.cooldownMs).toBe(Infinity);
      expect(p.lookup("10.0.0.1")).toMatchObject({ allocated: true });
      expect(p.allocate("a", "ns/q").ipv4).not.toBe("10.0.0.1");
      p.release(p.addressesOf("ns/q")[0]!); // back in cooldown: the next check sees the same state
    }, () => (t += 1e12));
  });

  it("stores written before the encoding (null for Infinity) open as Infinity", () => {
    let t = 1000;
    const opts: ClusterPoolOptions = { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 26 }, clock: () => t };
    const p = new ClusterPool(opts);
    p.addNode("a");
    p.removeNode("a", { graceMs: Infinity });
    // what the earlier code wrote: the snapshot JSON with "deadline":null
    const bytes = p.snapshot();
    const json = Buffer.from(bytes).toString("latin1");
    expect(json).toContain('"deadline":"Infinity"');
    const legacy = Buffer.from(json.replace('"deadline":"Infinity"', '"deadline":null      '), "latin1"); // same length
    const dv = new DataView(legacy.buffer, legacy.byteOffset, legacy.byteLength);
    dv.setUint32(legacy.length - 4, crc(new Uint8Array(legacy.subarray(0, legacy.length - 4))), true);
    t += 1e12;
    expect(ClusterPool.restore(new Uint8Array(legacy), { clock: () => t }).node("a")?.status).toBe("draining");
  });

  it("options inherited through __proto__ are not options: only own enumerable properties are read", () => {
    const inherited = Object.create({ ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 26 } }) as ClusterPoolOptions;
    expect(err(() => new ClusterPool(inherited)).message).toMatch(/options must configure ipv4, ipv6 or both/);
    const nested = { ipv4: Object.create({ cidrs: ["10.0.0.0/24"], maskSize: 26 }) } as ClusterPoolOptions;
    expect(err(() => new ClusterPool(nested)).message).toMatch(/options\.ipv4\.cidrs must be a non-empty array/);
    const reuse = { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 26 }, reuse: Object.create({ cooldownMs: 5 }) } as ClusterPoolOptions;
    expect(new ClusterPool(reuse).options.reuse).toBeUndefined(); // nothing of its own: no cooldown
    // an own "__proto__" key (as JSON.parse makes) is an unknown option
    expect(err(() => new ClusterPool(JSON.parse('{"ipv4":{"cidrs":["10.0.0.0/24"],"maskSize":26},"__proto__":{}}') as ClusterPoolOptions)).message).toMatch(/options\.__proto__ is not a known option/);
  });

  it("restore(bytes, runtimeOptions) takes only clock and engine: anything else is INVALID_OPTION, and never overrides the snapshot", () => {
    const p = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 26 } });
    const bytes = p.snapshot();
    const bad: [unknown, RegExp][] = [
      [{ ipv4: { cidrs: ["192.168.0.0/16"], maskSize: 24 } }, /options\.ipv4 is not a known option/],
      [{ clock: 5 }, /options\.clock must be a function/],
      [{ engine: {} }, /options\.engine must be an Engine/],
      [null, /options must be an object/],
      [Object.create(null), /.^/], // an empty object without prototype is fine
    ];
    for (const [o, msg] of bad.slice(0, 4)) {
      const e = err(() => ClusterPool.restore(bytes, o as never));
      expect(e.code).toBe("INVALID_OPTION");
      expect(e.message).toMatch(msg);
    }
    expect(ClusterPool.restore(bytes, Object.create(null) as never).poolCidrs()).toEqual([{ family: 4, cidrs: ["10.0.0.0/24"] }]);
    const engine = Engine.create();
    expect(ClusterPool.restore(bytes, { engine }).engine).toBe(engine);
  });
});

describe("finding 5: Int32Array", () => {
  it("allocateIPv4Batch into an Int32Array is refused; into a Uint32Array addresses from 128.0.0.0 up journal and reopen", () => {
    const opts: ClusterPoolOptions = { ipv4: { cidrs: ["192.168.0.0/24"], maskSize: 26 } }; // 192.168.0.1 = 0xc0a80001 > 2^31
    const path = tmpPath();
    const p = ClusterPool.open(path, opts);
    p.addNode("a");
    const h = p.handle("a");
    expect(refused(p, () => p.allocateIPv4Batch(h, new Int32Array(4) as never))).toBe("INVALID_ARGUMENT");
    expect(refused(p, () => p.releaseIPv4Batch(new Int32Array([-1062731775]) as never))).toBe("INVALID_ARGUMENT"); // 192.168.0.1 as i32
    const out = new Uint32Array(3);
    expect(p.allocateIPv4Batch(h, out)).toBe(3);
    expect([...out]).toEqual([0xc0a80001, 0xc0a80002, 0xc0a80003]);
    p.close();
    const q = ClusterPool.open(path, opts);
    expect(q.lookup("192.168.0.3")).toMatchObject({ node: "a", allocated: true });
    expect(q.lookup("192.168.0.4")).toMatchObject({ allocated: false });
    q.close();
  });
});

describe("finding 7: small things a user hit", () => {
  it("random strategy: seeds 1 to 19 give at least 15 distinct first addresses (they all gave 10.0.0.1)", () => {
    // 19 draws from 254 addresses: expected distinct ~ 254 * (1 - (253/254)^19) = 18.3; 15 leaves room
    const first = (seed: number): string => new PodRange("10.0.0.0/24", { strategy: "random", seed }).allocateNext();
    const seeds = Array.from({ length: 19 }, (_, i) => i + 1);
    expect(new Set(seeds.map(first)).size).toBeGreaterThanOrEqual(15);
    expect(first(12345)).not.toBe("10.0.0.1");
    expect(first(1000000)).not.toBe("10.0.0.1");
    // and through a ClusterPool's seed option (each node seeds from it and its incarnation)
    const pools = seeds.map((seed) => {
      const p = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 24 }, podStrategy: "random", seed });
      p.addNode("a");
      return p.allocate("a", "ns/p").ipv4;
    });
    expect(new Set(pools).size).toBeGreaterThanOrEqual(15);
    // still reproducible: the same seed, the same sequence
    const seq = (seed: number): string[] => {
      const r = new PodRange("10.0.0.0/24", { strategy: "random", seed });
      return Array.from({ length: 10 }, () => r.allocateNext());
    };
    expect(seq(7)).toEqual(seq(7));
  });

  it("allocating on a draining node says: unknown node \"a\" (being removed)", () => {
    const pool = new ClusterPool(V4);
    pool.addNode("a");
    pool.removeNode("a", { graceMs: 60_000 });
    const e = err(() => pool.allocate("a", "ns/p"));
    expect(e.code).toBe("UNKNOWN_NODE");
    expect(e.message).toBe('ipcarve: unknown node "a" (being removed)');
  });

  it("addPoolCidr(cidr): the family comes from the CIDR; a leading 4 or 6 is still accepted, anything else is INVALID_ARGUMENT", () => {
    const dual = new ClusterPool({ ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 24 }, ipv6: { cidrs: ["fd00::/120"], maskSize: 120 } });
    dual.addPoolCidr("10.1.0.0/24");
    dual.addPoolCidr("fd01::/120");
    dual.addPoolCidr(4, "10.2.0.0/24");
    dual.addPoolCidr(6, "fd02::/120");
    expect(dual.poolCidrs()).toEqual([
      { family: 4, cidrs: ["10.0.0.0/24", "10.1.0.0/24", "10.2.0.0/24"] },
      { family: 6, cidrs: ["fd00::/120", "fd01::/120", "fd02::/120"] },
    ]);
    const cases: { args: unknown[]; code: string; msg: RegExp }[] = [
      // it said 'ipv4 is not configured' and 'ipvipv4 is not configured'
      { args: ["4", "10.3.0.0/24"], code: "INVALID_ARGUMENT", msg: /addPoolCidr\(family, cidr\) must be 4 or 6 \(or leave it out: addPoolCidr\(cidr\)\) \(got "4"\)/ },
      { args: ["ipv4", "10.3.0.0/24"], code: "INVALID_ARGUMENT", msg: /got "ipv4"/ },
      { args: [4, "fd03::/120"], code: "FAMILY_MISMATCH", msg: /pool CIDR "fd03::\/120" is not IPv4/ },
      { args: [4], code: "INVALID_ARGUMENT", msg: /addPoolCidr\(cidr\) must be a string \(got 4\)/ },
      { args: ["10.0.0.0/33"], code: "INVALID_CIDR", msg: /pool CIDR: invalid CIDR/ },
      { args: ["10.0.0.0/16"], code: "CIDR_COLLISION", msg: /overlaps pool CIDR 10\.0\.0\.0\/24/ },
    ];
    for (const c of cases) {
      const before = dual.snapshot();
      const e = err(() => (dual.addPoolCidr as (...a: unknown[]) => void)(...c.args));
      expect(e.code).toBe(c.code);
      expect(e.message).toMatch(c.msg);
      expect(Buffer.from(dual.snapshot()).equals(Buffer.from(before))).toBe(true);
    }
  });

  it("addPoolCidr(cidr) is journaled and replays (the record keeps its family)", () => {
    const path = tmpPath();
    const opts: ClusterPoolOptions = { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 24 } };
    const p = ClusterPool.open(path, opts);
    p.addNode("a");
    expect(err(() => p.addNode("b")).code).toBe("FULL"); // pending
    p.addPoolCidr("10.9.0.0/24"); // b is served from it
    expect(readFileSync(`${path}.journal`).toString()).toContain('{"op":"addPool","family":4,"cidr":"10.9.0.0/24"}');
    p.close();
    const q = ClusterPool.open(path, opts);
    expect(q.node("b")?.podCIDRs).toEqual(["10.9.0.0/24"]);
    q.close();
  });
});
