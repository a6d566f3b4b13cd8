// A reservation whose pool CIDR is removed (and added again), the same for a
// single pool and for named pools: the reservation stays until unreserve()
// (it names addresses, not a pool CIDR), holds again in any pool CIDR added
// over it, and survives a snapshot in between. Table-driven; each row runs on
// both pool kinds with the same expectations. Reserving what is reserved
// already is a no-op on both (one unreserve undoes it).
//
// Geometry: pool CIDRs 10.0.0.0/28 (one /28 slot) and 10.2.0.0/26 (four /28
// slots: .0, .16, .32, .48), node mask /28 (14 usable addresses: .1 .. .14 of
// each slot). Nodes take slots in order: node a takes 10.0.0.0/28, the next
// ones 10.2.0.x (next-fit from slot 0). A named-pool node takes its chunk on
// its first allocation (preAllocate 0), so each node gets one pod first.
import { describe, it, expect } from "vitest";
import { ClusterPool } from "../src/index.js";
import { err } from "./helpers.js";

type Kind = "single" | "named";

const CIDRS = ["10.0.0.0/28", "10.2.0.0/26"];

function make(kind: Kind): ClusterPool {
  return kind === "single"
    ? new ClusterPool({ ipv4: { cidrs: CIDRS, maskSize: 28 } })
    : new ClusterPool({ pools: { default: { ipv4: { cidrs: CIDRS, maskSize: 28 }, preAllocate: 0 } } });
}

type Step =
  | { op: "reserve" | "unreserve" | "add" | "remove"; cidr: string; error?: string }
  | { op: "node"; name: string; cidrs: string[]; reserved?: number }
  | { op: "restore" }
  | { op: "subnets"; cidr: string; want: { capacity: number; reserved: number; free: number } };

/** Named pools take the pool as an option; the single pool's stats count a reserved slot as used, the named pools' do not: compare reserved, free and capacity. */
function apply(pool: ClusterPool, kind: Kind, s: Step): ClusterPool {
  const where = `${kind}: ${JSON.stringify(s)}`;
  const opt = kind === "named" ? { pool: "default" } : undefined;
  switch (s.op) {
    case "reserve": case "unreserve": case "add": case "remove": {
      const act = (): void => {
        if (s.op === "reserve") pool.reserve(s.cidr);
        else if (s.op === "unreserve") pool.unreserve(s.cidr);
        else if (s.op === "add") (opt ? pool.addPoolCidr(s.cidr, opt) : pool.addPoolCidr(s.cidr));
        else (opt ? pool.removePoolCidr(s.cidr, opt) : pool.removePoolCidr(s.cidr));
      };
      if (s.error) expect(err(act).code, where).toBe(s.error);
      else act();
      break;
    }
    case "node": {
      pool.addNode(s.name);
      if (kind === "named") pool.allocate(s.name, `ns/${s.name}`);
      const d = pool.node(s.name);
      expect(d?.podCIDRs, where).toEqual(s.cidrs);
      if (s.reserved !== undefined) expect(d?.ranges[0]?.reserved, where).toBe(s.reserved);
      break;
    }
    case "restore": {
      const copy = ClusterPool.restore(pool.snapshot());
      expect(copy.stats().pools, where).toEqual(pool.stats().pools);
      pool.dispose();
      return copy;
    }
    case "subnets": {
      const p = pool.stats().pools.find((x) => x.cidr === s.cidr);
      expect(p && { capacity: p.subnets.capacity, reserved: p.subnets.reserved, free: p.subnets.free }, where).toEqual(s.want);
      break;
    }
  }
  expect(pool.verify(), where).toEqual([]);
  return pool;
}

const rows: { name: string; steps: Step[] }[] = [
  {
    name: "a subnet reservation outlives its pool CIDR and holds again when the CIDR is added back",
    steps: [
      { op: "reserve", cidr: "10.2.0.0/28" },
      { op: "subnets", cidr: "10.2.0.0/26", want: { capacity: 4, reserved: 1, free: 3 } },
      { op: "remove", cidr: "10.2.0.0/26" },
      { op: "restore" }, // the reservation lies in no pool CIDR now: still a valid state
      { op: "add", cidr: "10.2.0.0/26" },
      { op: "subnets", cidr: "10.2.0.0/26", want: { capacity: 4, reserved: 1, free: 3 } }, // slot .0 reserved again
      { op: "node", name: "a", cidrs: ["10.0.0.0/28"] },
      { op: "node", name: "b", cidrs: ["10.2.0.16/28"] }, // slot .0 is skipped
      { op: "restore" },
      { op: "node", name: "c", cidrs: ["10.2.0.32/28"] },
    ],
  },
  {
    name: "an address reservation outlives its pool CIDR: the node that takes its subnet later finds it taken",
    steps: [
      { op: "reserve", cidr: "10.2.0.20/30" }, // 10.2.0.20 .. 23, in slot .16
      { op: "remove", cidr: "10.2.0.0/26" },
      { op: "restore" },
      { op: "add", cidr: "10.2.0.0/26" },
      { op: "node", name: "a", cidrs: ["10.0.0.0/28"], reserved: 0 },
      { op: "node", name: "b", cidrs: ["10.2.0.0/28"], reserved: 0 },
      { op: "node", name: "c", cidrs: ["10.2.0.16/28"], reserved: 4 }, // 4 of its 14 addresses reserved
      { op: "restore" },
      { op: "node", name: "c", cidrs: ["10.2.0.16/28"], reserved: 4 },
    ],
  },
  {
    name: "a reservation holds in another pool CIDR added over the removed one (where they overlap)",
    steps: [
      { op: "reserve", cidr: "10.2.0.0/27" }, // slots .0 and .16
      { op: "remove", cidr: "10.2.0.0/26" },
      { op: "add", cidr: "10.2.0.16/28" }, // one slot, covered by the /27
      { op: "subnets", cidr: "10.2.0.16/28", want: { capacity: 1, reserved: 1, free: 0 } },
      { op: "restore" },
      { op: "subnets", cidr: "10.2.0.16/28", want: { capacity: 1, reserved: 1, free: 0 } },
    ],
  },
  {
    name: "unreserve ends a reservation whose pool CIDR is gone; reserving there again is NOT_IN_RANGE",
    steps: [
      { op: "reserve", cidr: "10.2.0.0/28" },
      { op: "remove", cidr: "10.2.0.0/26" },
      { op: "unreserve", cidr: "10.2.0.0/28" },
      { op: "reserve", cidr: "10.2.0.0/28", error: "NOT_IN_RANGE" },
      { op: "add", cidr: "10.2.0.0/26" },
      { op: "subnets", cidr: "10.2.0.0/26", want: { capacity: 4, reserved: 0, free: 4 } },
      { op: "node", name: "a", cidrs: ["10.0.0.0/28"] },
      { op: "node", name: "b", cidrs: ["10.2.0.0/28"] },
    ],
  },
  {
    name: "reserving a subnet twice is one reservation: one unreserve makes it allocatable",
    steps: [
      { op: "reserve", cidr: "10.2.0.0/28" },
      { op: "reserve", cidr: "10.2.0.0/28" }, // a no-op
      { op: "subnets", cidr: "10.2.0.0/26", want: { capacity: 4, reserved: 1, free: 3 } },
      { op: "unreserve", cidr: "10.2.0.0/28" },
      { op: "subnets", cidr: "10.2.0.0/26", want: { capacity: 4, reserved: 0, free: 4 } },
      { op: "node", name: "a", cidrs: ["10.0.0.0/28"] },
      { op: "node", name: "b", cidrs: ["10.2.0.0/28"] }, // slot .0 is free again
    ],
  },
  {
    name: "reserving addresses twice is one reservation: one unreserve frees them",
    steps: [
      { op: "reserve", cidr: "10.0.0.4/30" }, // 10.0.0.4 .. 7, in a's subnet to come
      { op: "reserve", cidr: "10.0.0.4/30" },
      { op: "restore" }, // a snapshot keeps one reservation
      { op: "unreserve", cidr: "10.0.0.4/30" },
      { op: "node", name: "a", cidrs: ["10.0.0.0/28"], reserved: 0 },
    ],
  },
];

describe("a reservation in a removed pool CIDR", () => {
  for (const kind of ["single", "named"] as const) {
    it.each(rows.map((r) => [r.name, r] as const))(`${kind}: %s`, (_name, row) => {
      let pool = make(kind);
      for (const s of row.steps) pool = apply(pool, kind, s);
      pool.dispose();
    });
  }

  // Where the kinds differ by design: a single pool refuses to remove a pool CIDR while a node holds any
  // subnet of it; named pools give back chunks that hold no allocated address. A chunk that holds only
  // reserve()d addresses (no pod, no router address) is such a chunk: it goes back, the reservation stays.
  it("named: a chunk holding only reserved addresses does not keep its pool CIDR in use", () => {
    const pool = make("named");
    apply(pool, "named", { op: "node", name: "a", cidrs: ["10.0.0.0/28"] });
    apply(pool, "named", { op: "node", name: "b", cidrs: ["10.2.0.0/28"] });
    pool.releaseOwner("ns/b"); // b's chunk is empty now (preAllocate 0, release delay 2 min: b keeps it)
    pool.reserve("10.2.0.4/30"); // 4 addresses of b's chunk
    expect(pool.node("b")?.ranges[0]).toMatchObject({ cidr: "10.2.0.0/28", used: 0, reserved: 4 });
    pool.removePoolCidr("10.2.0.0/26", { pool: "default" });
    expect(pool.node("b")?.podCIDRs).toEqual([]);
    pool.addPoolCidr("10.2.0.0/26", { pool: "default" });
    // the pool CIDR added again is a new one, its next-fit cursor at slot .0: b takes that chunk again, 4 addresses reserved
    expect(pool.allocate("b", "ns/b2")).toEqual({ ipv4: "10.2.0.1" });
    expect(pool.node("b")?.ranges[0]).toMatchObject({ cidr: "10.2.0.0/28", used: 1, reserved: 4 });
    // .1 .2 .3 to pods, .4 .. .7 reserved: the next pod gets .8
    expect([pool.allocate("b", "ns/b3").ipv4, pool.allocate("b", "ns/b4").ipv4, pool.allocate("b", "ns/b5").ipv4]).toEqual(["10.2.0.2", "10.2.0.3", "10.2.0.8"]);
    expect(pool.verify()).toEqual([]);
    pool.dispose();
  });

  it("single: a node's subnet keeps its pool CIDR in use, reserved addresses or not", () => {
    const pool = make("single");
    pool.addNode("a");
    pool.addNode("b");
    pool.reserve("10.2.0.4/30");
    expect(err(() => pool.removePoolCidr("10.2.0.0/26")).code).toBe("IN_USE");
    pool.dispose();
  });
});
