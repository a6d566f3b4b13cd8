// `plan` with --cidr flags: overlaps are CIDR_COLLISION, a CIDR with host
// bits is read as Cilium reads it (and says so), and more nodes than fit
// are worded as such.
import { describe, it, expect } from "vitest";
import { run, ROOT } from "./helpers.js";
import { plan } from "../../src/cli/plan.js";
import { IpamError } from "../../src/errors.js";

const io = { out: () => {}, err: () => {}, isTTY: false, cwd: ROOT };

describe("plan --cidr", () => {
  it.each([
    // [flags, the later CIDR, the earlier one]
    [["10.0.0.0/16", "10.0.0.0/16"], "10.0.0.0/16", "10.0.0.0/16"], // the same CIDR twice: was 512 nodes
    [["10.0.0.0/16", "10.0.128.0/17"], "10.0.128.0/17", "10.0.0.0/16"], // the second inside the first
    [["10.0.128.0/17", "10.1.0.0/16", "10.0.0.0/8"], "10.0.0.0/8", "10.0.128.0/17"], // the third holds the first
  ])("%j overlap: CIDR_COLLISION naming both", async (cidrs, later, earlier) => {
    const e = (() => { try { plan(io, { cidr: cidrs }); } catch (x) { return x; } })();
    expect(e).toBeInstanceOf(IpamError);
    expect((e as IpamError).code).toBe("CIDR_COLLISION");
    const r = await run(["plan", ...cidrs.flatMap((c) => ["--cidr", c])]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`--cidr ${later} overlaps --cidr ${earlier}`);
  });

  it("disjoint CIDRs add up", () => {
    const p = plan(io, { cidr: ["10.0.0.0/16", "10.1.0.0/16"] });
    expect(p.families[0]?.nodesThatFit).toBe(512); // 2 × 2^(24-16)
  });

  it("a CIDR with host bits is read as its network, with a note", async () => {
    const p = plan(io, { cidr: ["10.1.2.3/8"] });
    expect(p.families[0]?.pools[0]?.cidr).toBe("10.0.0.0/8");
    expect(p.notes).toEqual(["--cidr 10.1.2.3/8 was read as 10.0.0.0/8 (host bits cleared, as Cilium does)"]);
    const r = await run(["plan", "--cidr", "10.1.2.3/8"]);
    expect(r.code).toBe(0);
    expect(r.err).toContain("note: --cidr 10.1.2.3/8 was read as 10.0.0.0/8");
    expect(r.out).toContain("10.0.0.0/8");
    const clean = await run(["plan", "--cidr", "10.0.0.0/8"]);
    expect(clean.err).toBe("");
  });

  it.each([
    // [nodes, wording]: a /16 of /24s fits 256 nodes
    ["1000", "1,000 (744 more than fit)"], // 1000 - 256
    ["200", "200 (56 more fit)"], // 256 - 200
    ["256", "256 (0 more fit)"],
  ])("--nodes %s: %s", async (nodes, words) => {
    const r = await run(["plan", "--cidr", "10.0.0.0/16", "--nodes", nodes]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`nodes now           ${words}`);
    expect(r.out).not.toMatch(/-\d+ more fit/);
  });
});
