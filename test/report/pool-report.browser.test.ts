// The multi-pool report opens in headless Chromium with no network: the
// per-pool capacity answer first, per-pool use over time (one line per pool
// and family in each panel) and the CIDRs moved, on one time axis with the
// failures; a screenshot is saved to test-artifacts/pool-report.png.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { ARGS, ARTIFACTS, CHROMIUM, haveChromium, openReport } from "./browser.js";
import { simulateMultiPool, defaultMultiPoolScenario, type MultiPoolSimResult } from "../../src/sim/multi-pool.js";
import { renderPoolsReport } from "../../src/report/pool-report.js";
import { poolsHeadline } from "../../src/report/pool-headline.js";


let result: MultiPoolSimResult;
let html: string;

beforeAll(async () => {
  // The embedded two-pool scenario with a gpu pool too small for its nodes: one pool runs out, one does not.
  const base = defaultMultiPoolScenario(40);
  const gpu = { ...base.pools.gpu, ipv4: { cidrs: ["10.20.0.0/26"], maskSize: 28 } };
  result = simulateMultiPool({ ...base, pools: { ...base.pools, gpu } });
  html = await renderPoolsReport(result, { source: "test", version: "test", generatedAt: new Date(0) });
});

describe("multi-pool report HTML", () => {
  it("is self-contained and has its tables and two charts", () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)=["']https?:/i);
    for (const id of ["pool-use", "chunks-moved"]) expect(html).toContain(`data-chart="${id}"`);
    for (const id of ["pools", "pool-settings", "groups"]) expect(html).toContain(`<table id="${id}">`);
    expect(poolsHeadline(result).pools.map((p) => [p.pool, p.ranOutAt !== undefined])).toEqual([["default", false], ["gpu", true]]);
  });
});

const chromiumHere = haveChromium("pool-report.browser.test");

describe.runIf(chromiumHere)("multi-pool report in headless Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("renders per-pool use and the CIDRs moved, answer first, no errors, no network", async () => {
    const { page, errors, requests } = await openReport(browser, "pool-report.html", html);
    const hl = poolsHeadline(result);
    expect(await page.locator("#answer p.lead").textContent()).toBe(hl.lines[0]);
    expect(await page.locator("#answer").getAttribute("class")).toContain("out");
    const order = (await page.evaluate(`[...document.querySelectorAll("main > section")].map((e) => e.id)`)) as string[];
    expect(order[0]).toBe("answer");
    await page.screenshot({ path: join(ARTIFACTS, "pool-report.png"), fullPage: true }); // before the checks: to look at when one fails
    // one line per pool family (default IPv4, gpu IPv4) in each of the three panels, and a legend naming them
    for (const i of [0, 1, 2]) {
      expect(await page.locator(`figure[data-chart='pool-use'] g.concat_${i}_group .mark-line path`).count(), `panel ${i}`).toBe(result.final.length);
    }
    const legend = await page.locator("figure[data-chart='pool-use'] .role-legend").textContent();
    for (const p of result.final) expect(legend).toContain(`${p.pool} IPv${p.family}`);
    // chunks moved: a bar per interval, direction and pool family (coloured as in pool-use, named in its legend), and the failures below on the same x grid
    // (a bar for each non-zero move; those of one interval stacked, none over another)
    const moves = result.samples.flatMap((x, i) => x.pools.flatMap((p) => {
      const prev = result.samples[i - 1]?.pools.find((q) => q.pool === p.pool && q.family === p.family);
      return [p.chunksTaken - (prev?.chunksTaken ?? 0), p.chunksReleased - (prev?.chunksReleased ?? 0)].filter((v) => v !== 0);
    }));
    expect(moves.length).toBeGreaterThan(4);
    expect(await page.locator("figure[data-chart='chunks-moved'] g.concat_0_group .mark-rect path").count()).toBe(moves.length);
    const boxes = (await page.evaluate(`[...document.querySelectorAll('figure[data-chart="chunks-moved"] g.concat_0_group .mark-rect path')]
      .map((e) => e.getBoundingClientRect()).map((b) => ({ x: Math.round(b.x), top: b.top, bottom: b.bottom }))`)) as { x: number; top: number; bottom: number }[];
    for (const a of boxes) {
      for (const b of boxes) {
        if (a === b || a.x !== b.x) continue;
        expect(Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top), "two bars of one interval overlap").toBeLessThan(1);
      }
    }
    // in both panels the y scale reaches the tallest stack: every bar lies within the y axis line (the plot's height)
    for (const panel of [0, 1]) {
      const sel = `figure[data-chart="chunks-moved"] g.concat_${panel}_group`;
      const [axis, bars] = (await page.evaluate(`[
        [...document.querySelectorAll('${sel} .role-axis-domain path, ${sel} .role-axis-domain line')].map((e) => e.getBoundingClientRect())
          .filter((b) => b.width < 1 && b.height > 5).map((b) => ({ top: b.top, bottom: b.bottom })),
        [...document.querySelectorAll('${sel} .mark-rect path')].map((e) => e.getBoundingClientRect()).map((b) => ({ top: b.top, bottom: b.bottom })),
      ]`)) as { top: number; bottom: number }[][];
      expect(axis?.length, `panel ${panel}`).toBe(1);
      expect(bars?.length, `panel ${panel}`).toBeGreaterThan(3);
      const plot = (axis as { top: number; bottom: number }[])[0] as { top: number; bottom: number };
      for (const bar of bars as { top: number; bottom: number }[]) {
        expect(bar.top, `panel ${panel}: a bar runs past the top of the plot`).toBeGreaterThanOrEqual(plot.top - 0.5);
        expect(bar.bottom, `panel ${panel}: a bar runs past the bottom of the plot`).toBeLessThanOrEqual(plot.bottom + 0.5);
      }
    }
    const movedLegend = await page.locator("figure[data-chart='chunks-moved'] .role-legend").first().textContent();
    for (const p of result.final) expect(movedLegend).toContain(`${p.pool} IPv${p.family}`);
    const gridXs = (await page.evaluate(`[0, 1].map((i) => {
      const g = document.querySelector('figure[data-chart="chunks-moved"] g.concat_' + i + '_group');
      const xs = [...(g ? g.querySelectorAll(".role-axis-grid line, .role-axis-grid path") : [])]
        .map((e) => e.getBoundingClientRect()).filter((b) => b.width < 1 && b.height > 5).map((b) => Math.round(b.x));
      return [...new Set(xs)].sort((a, b) => a - b);
    })`)) as number[][];
    expect((gridXs[0] as number[]).length).toBeGreaterThan(3);
    expect(gridXs[1]).toEqual(gridXs[0]);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });
});
