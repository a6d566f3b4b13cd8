// ClusterPool.open with named pools: every call is journaled (method, arguments,
// the one clock reading it ran at) and replayed on reopen onto the snapshot it
// follows; the reopened pool is the live one, byte for byte.
import { describe, it, expect } from "vitest";
import { ClusterPool } from "../../src/index.js";
import { err, tmpStores } from "../helpers.js";

const tmp = tmpStores("multipool-store");

const options = (clock: () => number) => ({
  pools: {
    default: { ipv4: { cidrs: ["10.0.0.0/27"], maskSize: 28 }, preAllocate: 8, releaseDelayMs: 100 },
    blue: { ipv4: { cidrs: ["10.1.0.0/27"], maskSize: 29 }, ipv6: { cidrs: ["fd00:1::/120"], maskSize: 124 }, preAllocate: 0, releaseDelayMs: 50 },
  },
  clock,
});

/**
 * The same calls on any pool (the fast path by handles and removal with grace
 * included), from a fixed sequence of numbers: the clock moves
 * 0..60 ms between calls, so release delays (50 and 100 ms) run out in between;
 * the pools are small, so allocations also fail (FULL) after a tick gave chunks back.
 */
function work(p: ClusterPool, clock: { now: number }, from: number, to: number, seen: { full: number; fast?: number; drains?: number }): void {
  let x = 12345 + from;
  const next = (n: number): number => ((x = (x * 48271) % 2147483647), x % n); // MINSTD: exact in doubles
  for (let i = from; i < to; i++) {
    clock.now += next(61);
    const node = `n${next(4)}`;
    const r = next(100);
    try {
      if (r < 10) p.addNode(node, { labels: { i: String(i) } });
      else if (r < 40) p.allocate(node, `ns/p${next(23)}`);
      else if (r < 55) p.allocate(node, `blue/p${next(3)}`, { pool: "blue" }); // few owners: blue chunks empty often
      else if (r < 70) p.releaseOwner(`ns/p${next(23)}`);
      else if (r < 80) p.releaseOwner(`blue/p${next(3)}`);
      else if (r < 83) p.removeNode(node);
      else if (r < 85) {
        if (p.node(node)?.status === "ready" && p.removeNode(node, { graceMs: [30, 200, Infinity][next(3)] as number })) seen.drains = (seen.drains ?? 0) + 1; // journaled "Infinity" too
      } else if (r < 89) {
        if (p.allocateIPv4(p.handle(node), next(2) === 0 ? undefined : p.poolHandle("blue")) !== -1) seen.fast = (seen.fast ?? 0) + 1; // by name in the journal
      }
      else if (r < 89.5) p.allocate(node, `blue/w${next(3)}`, { pool: "blue", ips: `10.1.0.${next(32)}` }); // a wanted address: maybe a free chunk
      else if (r < 91) p.allocateIPv4Batch(p.handle(node), new Uint32Array(9), next(9), p.poolHandle(next(2) === 0 ? "default" : "blue"));
      else p.tick();
    } catch (e) {
      if ((e as { code?: string }).code === "FULL") seen.full++;
    }
    if (i === 140) p.addPool("red", { ipv4: { cidrs: ["10.2.0.0/27"], maskSize: 28 }, preAllocate: 4 });
    if (i === 160) p.addPoolCidr("10.0.1.0/28");
  }
}

describe("ClusterPool.open with named pools", () => {
  it("reopens to the live state, byte for byte, after a journal replay and after compaction", () => {
    const path = tmp();
    const clock = { now: 0 };
    const live = new ClusterPool(options(() => clock.now));
    const lclock = { now: 0 };
    const stored = ClusterPool.open(path, options(() => lclock.now), { fsync: "never" });
    const seen: { full: number; fast?: number; drains?: number } = { full: 0 };
    work(live, clock, 0, 200, seen);
    work(stored, lclock, 0, 200, { full: 0 });
    stored.close();
    let reopened = ClusterPool.open(path, options(() => lclock.now), { fsync: "never" });
    expect(reopened.snapshot()).toEqual(live.snapshot());
    work(live, clock, 200, 300, seen);
    work(reopened, lclock, 200, 300, { full: 0 });
    // the run exercised what a replay must reproduce: chunks given back by delay, refused allocations
    expect(live.stats().chunksReleased).toBeGreaterThan(5);
    expect(seen.full).toBeGreaterThan(0);
    expect([seen.fast! > 0, seen.drains! > 0]).toEqual([true, true]); // the fast path and a draining node were journaled (4 and 1 here)
    reopened.compact();
    reopened.close();
    reopened = ClusterPool.open(path, options(() => lclock.now), { fsync: "never" });
    expect(reopened.snapshot()).toEqual(live.snapshot());
    expect(reopened.exportCiliumNodes()).toEqual(live.exportCiliumNodes());
    expect(reopened.ipPools()).toEqual(live.ipPools());
    expect(reopened.verify()).toEqual([]);
    reopened.close();
  });

  it("reuse cooldown, router addresses and reservations replay to the same bytes", () => {
    const path = tmp();
    const clock = { now: 0 };
    const lclock = { now: 0 };
    const opts = (c: () => number) => ({ ...options(c), reuse: { cooldownMs: 400 }, reserveRouterIP: "first" as const });
    const live = new ClusterPool(opts(() => clock.now));
    let stored = ClusterPool.open(path, opts(() => lclock.now), { fsync: "never" });
    const both = (fn: (p: ClusterPool) => void): void => {
      for (const p of [live, stored]) {
        try {
          fn(p);
        } catch (e) {
          if (!(e as { code?: string }).code) throw e;
        }
      }
    };
    const seen = { full: 0 };
    both((p) => p.reserve("10.1.0.16/29")); // a blue chunk no node holds yet
    both((p) => {
      p.addNode("zz");
      p.release(p.allocate("zz", "ns/zz").ipv4 as string); // waits 400 ms: leaves cooldown during the run
    });
    expect(live.stats().cooldown).toBe(1);
    expect(live.node("zz")?.ranges[0]?.routerIP).toBe("10.0.0.1"); // zz's first default chunk, 10.0.0.0/28
    work(live, clock, 0, 100, seen);
    work(stored, lclock, 0, 100, { full: 0 });
    both((p) => p.reserve("10.0.0.4/31")); // addresses, maybe in a held chunk (ALREADY_ALLOCATED is fine: both refuse)
    work(live, clock, 100, 200, seen);
    work(stored, lclock, 100, 200, { full: 0 });
    both((p) => p.unreserve("10.1.0.16/29"));

    stored.close();
    stored = ClusterPool.open(path, opts(() => lclock.now), { fsync: "never" });
    expect(stored.snapshot()).toEqual(live.snapshot());
    stored.compact();
    stored.close();
    stored = ClusterPool.open(path, opts(() => lclock.now), { fsync: "never" });
    expect(stored.snapshot()).toEqual(live.snapshot());
    expect(stored.verify()).toEqual([]);
    stored.close();
  });

  it("a read-only open sees what the writer acknowledged and refuses changes", () => {
    const path = tmp();
    const clock = { now: 0 };
    const w = ClusterPool.open(path, options(() => clock.now), { fsync: "never" });
    w.addNode("n1");
    const { ipv4 } = w.allocate("n1", "ns/a", { pool: "blue" });
    const ro = ClusterPool.open(path, options(() => clock.now), { readOnly: true });
    expect(ro.lookup(ipv4!)).toEqual({ node: "n1", pool: "blue", podCIDR: "10.1.0.0/29", owner: "ns/a", allocated: true });
    expect(err(() => ro.allocate("n1", "ns/b")).code).toBe("READ_ONLY");
    expect(ro.stats().ipPools?.length).toBe(3); // default v4, blue v4, blue v6
    ro.close();
    w.close();
  });

  it("a store keeps its kind: single-pool options on a store of named pools are INVALID_OPTION", () => {
    const path = tmp();
    ClusterPool.open(path, options(() => 0)).close();
    const e = err(() => ClusterPool.open(path, { ipv4: { cidrs: ["10.0.0.0/24"], maskSize: 28 } }));
    expect(e.code).toBe("INVALID_OPTION");
    expect(e.path).toBe("options.pools");
    ClusterPool.open(path, options(() => 0)).close(); // the lock was given back
  });
});
