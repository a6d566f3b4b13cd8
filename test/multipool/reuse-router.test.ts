// options.reuse (cooldown) and options.reserveRouterIP with named pools, on a
// virtual clock. Table-driven; each expected value derived in its comment.
//
// Geometry: default 10.0.0.0/27 in /28 chunks (10.0.0.0/28: .1-.14 usable,
// 10.0.0.16/28: .17-.30); blue 10.1.0.0/28 in /29 chunks (.1-.6, .9-.14).
import { describe, it, expect } from "vitest";
import { ClusterPool } from "../../src/index.js";
import { err } from "../helpers.js";

function make(extra: Record<string, unknown>, pre = 0) {
  const clock = { now: 0 };
  const pool = new ClusterPool({
    pools: {
      default: { ipv4: { cidrs: ["10.0.0.0/27"], maskSize: 28 }, preAllocate: pre, releaseDelayMs: 0 },
      blue: { ipv4: { cidrs: ["10.1.0.0/28"], maskSize: 29 }, preAllocate: 0, releaseDelayMs: 0 },
    },
    clock: () => clock.now,
    ...extra,
  } as never);
  pool.addNode("n1");
  return { pool, clock };
}

describe("reuse cooldown with named pools", () => {
  it("a released address waits; a full chunk with one waiting makes the node take another", () => {
    const { pool, clock } = make({ reuse: { cooldownMs: 100 } });
    for (let i = 1; i <= 14; i++) pool.allocate("n1", `ns/p${i}`); // 10.0.0.1 .. .14: the chunk is full
    expect(pool.release("10.0.0.1", "ns/p1")).toBe(true);
    expect(pool.release("10.0.0.1")).toBe(false); // already waiting: as a free address
    expect(pool.release("10.0.0.1", "ns/other")).toBe(false); // no OWNER_MISMATCH for an address in cooldown
    expect(pool.node("n1")?.ranges[0]).toMatchObject({ cidr: "10.0.0.0/28", used: 13, free: 0, cooldown: 1 });
    expect(pool.stats().cooldown).toBe(1);
    // .1 waits: no free address in 10.0.0.0/28, so the next pod takes 10.0.0.16/28 and its first usable, .17
    expect(pool.allocate("n1", "ns/q")).toEqual({ ipv4: "10.0.0.17" });
    clock.now = 99;
    pool.tick();
    expect(pool.lookup("10.0.0.1")?.allocated).toBe(true); // 99 < 0 + 100
    clock.now = 100;
    pool.tick();
    expect(pool.lookup("10.0.0.1")?.allocated).toBe(false); // out of cooldown: free
    // the first chunk with a free address is 10.0.0.0/28 again; its next-fit cursor wrapped past .14: .1
    expect(pool.allocate("n1", "ns/r")).toEqual({ ipv4: "10.0.0.1" });
    expect(pool.verify()).toEqual([]);
  });

  it("a chunk goes back only after its last address left cooldown", () => {
    const { pool, clock } = make({ reuse: { cooldownMs: 50 } });
    const ip = pool.allocate("n1", "ns/a", { pool: "blue" }).ipv4 as string; // 10.1.0.1, chunk 10.1.0.0/29
    expect(pool.release(ip)).toBe(true);
    expect(pool.node("n1")?.podCIDRs).toEqual(["10.1.0.0/29"]); // delay 0, but .1 waits (preAllocate 0: no default chunk)
    clock.now = 50;
    pool.tick(); // .1 leaves cooldown: the chunk is completely free, delay 0: it goes back
    expect(pool.node("n1")?.podCIDRs).toEqual([]);
  });

  it("minFreeBeforeReuse: the oldest leaves once that many were released after it", () => {
    const { pool } = make({ reuse: { minFreeBeforeReuse: 2 } });
    const ips = [1, 2, 3, 4].map((i) => pool.allocate("n1", `ns/p${i}`).ipv4 as string); // .1-.4
    for (const ip of ips.slice(0, 3)) pool.releaseIPv4(ipToU32(ip)); // the numeric path quarantines too
    pool.tick(); // 3 waiting > 2: .1 leaves
    expect(ips.map((ip) => pool.lookup(ip)?.allocated)).toEqual([false, true, true, true]);
  });

  it("cooldown survives a snapshot", () => {
    const { pool, clock } = make({ reuse: { cooldownMs: 100 } });
    pool.allocate("n1", "ns/a");
    pool.release("10.0.0.1");
    const copy = ClusterPool.restore(pool.snapshot(), { clock: () => clock.now });
    expect(copy.release("10.0.0.1")).toBe(false);
    clock.now = 100;
    for (const p of [pool, copy]) p.tick();
    expect(copy.lookup("10.0.0.1")).toBe(undefined); // out of cooldown, the chunk completely free (preAllocate 0, delay 0): gone
    expect(copy.snapshot()).toEqual(pool.snapshot());
  });

  it("check() counts a router address, a reserved one or one in cooldown as no leak", () => {
    const { pool } = make({ reuse: { cooldownMs: 100 }, reserveRouterIP: "first" }, 8); // router 10.0.0.1
    pool.allocate("n1", "ns/a"); // 10.0.0.2
    pool.release("10.0.0.2"); // in cooldown
    pool.reserve("10.0.0.8/30"); // .9-.11 reserved
    expect(pool.check().orphans).toEqual([]);
  });

  it("a bad reuse option is the single pool's INVALID_OPTION", () => {
    expect(err(() => make({ reuse: { cooldownMs: -1 } })).path).toBe("options.reuse.cooldownMs");
  });
});

function ipToU32(ip: string): number {
  return ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
}

describe("reserveRouterIP with named pools: one router address per node and family, from pool default", () => {
  // Cilium's agent allocates cilium_host's address from the default pool (one per node), not one per CIDR
  const rows: { how: "first" | "last"; router: string; firstPod: string }[] = [
    // "first": 10.0.0.1 of the node's first default chunk; pods start at .2
    { how: "first", router: "10.0.0.1", firstPod: "10.0.0.2" },
    // "last": 10.0.0.14, the chunk's last usable address; pods start at .1
    { how: "last", router: "10.0.0.14", firstPod: "10.0.0.1" },
  ];
  for (const row of rows) {
    it(row.how, () => {
      const { pool } = make({ reserveRouterIP: row.how }, 8); // preAllocate 8: addNode takes 10.0.0.0/28
      expect(pool.node("n1")?.ranges[0]).toMatchObject({ cidr: "10.0.0.0/28", routerIP: row.router, reserved: 1, used: 0, free: 13 });
      expect(pool.allocate("n1", "ns/a")).toEqual({ ipv4: row.firstPod });
      expect(pool.release(row.router)).toBe(false); // not a pod's
      expect(pool.lookup(row.router)).toEqual({ node: "n1", pool: "default", podCIDR: "10.0.0.0/28", allocated: true });
      // blue's chunks have no router address
      pool.allocate("n1", "ns/b", { pool: "blue" });
      expect(pool.node("n1")?.ranges.filter((r) => r.routerIP !== undefined).map((r) => r.cidr)).toEqual(["10.0.0.0/28"]);
      expect(pool.verify()).toEqual([]);
    });
  }

  it("a wanted address that taking its chunk would make the router address (or a reserved one) is ALREADY_ALLOCATED", () => {
    const { pool } = make({ reserveRouterIP: "first" }); // preAllocate 0: n1 holds no default chunk yet
    pool.reserve("10.0.0.20/30"); // .20-.23, in the free 10.0.0.16/28
    const before = pool.snapshot();
    // 10.0.0.17 would be the router address of n1's first default chunk, 10.0.0.16/28; .21 is reserved there
    for (const ip of ["10.0.0.17", "10.0.0.21"]) expect(err(() => pool.allocate("n1", "ns/a", ip)).code, ip).toBe("ALREADY_ALLOCATED");
    expect(pool.snapshot()).toEqual(before); // no chunk taken
    expect(pool.allocate("n1", "ns/a", "10.0.0.18")).toEqual({ ipv4: "10.0.0.18" }); // takes 10.0.0.16/28, router .17
    expect(pool.node("n1")?.ranges[0]).toMatchObject({ cidr: "10.0.0.16/28", routerIP: "10.0.0.17", reserved: 5 }); // the router and .20-.23
  });

  it("a second chunk of default has none; the router chunk stays while the node lives; snapshots keep it", () => {
    const { pool, clock } = make({ reserveRouterIP: "first" }, 8);
    // 13 usable besides the router: 6 pods leave 7 free < 8: the node takes 10.0.0.16/28
    for (let i = 0; i < 6; i++) pool.allocate("n1", `ns/p${i}`);
    expect(pool.node("n1")?.ranges.map((r) => r.routerIP ?? "-")).toEqual(["10.0.0.1", "-"]);
    pool.releaseOwner("ns/p0");
    // 8 free in the first chunk again: 10.0.0.16/28 is free beyond the watermark (22 - 14 >= 8), delay 0: it went back
    const copy = ClusterPool.restore(pool.snapshot(), { clock: () => clock.now });
    expect(copy.node("n1")?.ranges.map((r) => r.routerIP ?? "-")).toEqual(["10.0.0.1"]);
    expect(copy.release("10.0.0.1")).toBe(false);
    expect(copy.snapshot()).toEqual(pool.snapshot());
    pool.removeNode("n1");
    pool.addNode("n2"); // takes 10.0.0.0/28 again, with its router address
    expect(pool.node("n2")?.ranges[0]?.routerIP).toBe("10.0.0.1");
  });
});
