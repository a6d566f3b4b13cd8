// removeNode(name, { graceMs }) with named pools: the node drains (no new
// allocation, no top-up), and its chunks go back when the grace runs out, as
// the single pool does. Table-driven on a virtual clock; each expected value
// derived in its comment.
//
// Geometry: default 10.0.0.0/27 in /28 chunks (2 chunks: 10.0.0.0/28 and
// 10.0.0.16/28, 14 usable each), preAllocate 8, releaseDelayMs 1000.
import { describe, it, expect } from "vitest";
import { ClusterPool } from "../../src/index.js";
import { err } from "../helpers.js";

function fresh() {
  const clock = { now: 0 };
  const pool = new ClusterPool({
    pools: { default: { ipv4: { cidrs: ["10.0.0.0/27"], maskSize: 28 }, preAllocate: 8, releaseDelayMs: 1000 } },
    clock: () => clock.now,
  });
  pool.addNode("n1"); // takes 10.0.0.0/28
  pool.addNode("n2"); // takes 10.0.0.16/28
  pool.allocate("n1", "ns/a"); // 10.0.0.1
  return { pool, clock };
}

describe("removeNode with graceMs, named pools", () => {
  const rows: { name: string; grace: number; at: number; present: boolean; cidrs: string[] }[] = [
    // removed at 0 with 100 ms of grace: at 99 it still holds its chunk and its pod
    { name: "before the grace ends", grace: 100, at: 99, present: true, cidrs: ["10.0.0.0/28"] },
    // at 100 (deadline = 0 + 100, due when deadline <= now) the next call drops it: its chunk is free
    { name: "when the grace ends", grace: 100, at: 100, present: false, cidrs: [] },
    // Infinity: never by time (as the single pool: until removed again without grace)
    { name: "Infinity", grace: Infinity, at: 1e12, present: true, cidrs: ["10.0.0.0/28"] },
    // 0: at once
    { name: "0 is at once", grace: 0, at: 0, present: false, cidrs: [] },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const { pool, clock } = fresh();
      expect(pool.removeNode("n1", { graceMs: row.grace })).toBe(true);
      clock.now = row.at;
      pool.tick();
      expect(pool.nodeNames().includes("n1")).toBe(row.present);
      expect(pool.node("n1")?.podCIDRs ?? []).toEqual(row.cidrs);
      expect(pool.lookup("10.0.0.1")?.allocated ?? false).toBe(row.present);
      expect(pool.verify()).toEqual([]);
    });
  }

  it("a draining node takes no new allocation and no top-up; releases still work", () => {
    const { pool } = fresh();
    pool.removeNode("n1", { graceMs: 500 });
    expect(pool.node("n1")?.status).toBe("draining");
    expect(err(() => pool.allocate("n1", "ns/b")).message).toBe('ipcarve: unknown node "n1" (being removed)');
    expect(err(() => pool.allocateIPv4(pool.handle("n1"))).code).toBe("UNKNOWN_NODE");
    // addNode of a draining node returns what it holds and leaves it draining (as the single pool)
    expect(pool.addNode("n1").podCIDRs).toEqual(["10.0.0.0/28"]);
    expect(pool.node("n1")?.status).toBe("draining");
    expect(pool.release("10.0.0.1", "ns/a")).toBe(true);
    // the pool is full (2 chunks, 2 nodes); a new CIDR tops up nodes below their watermark, but n1 drains:
    // n1 has 14 free anyway; make n2 short first: 7 pods leave it 7 free < 8, and no chunk is free
    for (let i = 0; i < 7; i++) pool.allocate("n2", `ns/n2-${i}`);
    expect(pool.node("n2")?.podCIDRs).toEqual(["10.0.0.16/28"]);
    pool.addPoolCidr("10.0.1.0/28");
    expect(pool.node("n2")?.podCIDRs).toEqual(["10.0.0.16/28", "10.0.1.0/28"]);
    expect(pool.node("n1")?.podCIDRs).toEqual(["10.0.0.0/28"]);
  });

  it("removing a draining node again without grace drops it now, and its chunk tops up a short node", () => {
    const { pool } = fresh();
    for (let i = 0; i < 7; i++) pool.allocate("n2", `ns/n2-${i}`); // n2: 7 free < 8, short (the pool is full)
    pool.removeNode("n1", { graceMs: Infinity });
    expect(pool.node("n2")?.podCIDRs).toEqual(["10.0.0.16/28"]); // draining: n1's chunk is not free yet
    expect(pool.removeNode("n1")).toBe(true);
    // n1's 10.0.0.0/28 went back; n2 was short: it takes it
    expect(pool.node("n2")?.podCIDRs).toEqual(["10.0.0.0/28", "10.0.0.16/28"]);
    expect(pool.nodeNames()).toEqual(["n2"]);
  });

  it("a bad graceMs is INVALID_OPTION, as the single pool says it", () => {
    const { pool } = fresh();
    const before = pool.snapshot();
    for (const [grace, message] of [
      [-1, "ipcarve: options.graceMs must be a non-negative number (got -1)"],
      ["5", 'ipcarve: options.graceMs must be a non-negative number (got "5")'],
      [Number.NaN, "ipcarve: options.graceMs must be a non-negative number (got NaN)"],
    ] as const) {
      const e = err(() => pool.removeNode("n1", { graceMs: grace as number }));
      expect([e.code, e.message]).toEqual(["INVALID_OPTION", message]);
    }
    expect(err(() => pool.removeNode("n1", { grace: 5 } as never)).path).toBe("options.grace");
    expect(pool.snapshot()).toEqual(before);
  });

  it("a draining node survives a snapshot with its deadline", () => {
    const { pool, clock } = fresh();
    pool.removeNode("n1", { graceMs: 100 });
    const copy = ClusterPool.restore(pool.snapshot(), { clock: () => clock.now });
    expect(copy.node("n1")?.status).toBe("draining");
    clock.now = 100;
    copy.tick();
    pool.tick();
    expect(copy.nodeNames()).toEqual(["n2"]);
    expect(copy.snapshot()).toEqual(pool.snapshot());
  });
});
