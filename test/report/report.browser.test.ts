// The HTML report opens in headless Chromium with no network, its four
// charts rendered (SVG marks present), no console errors; a screenshot is
// saved to test-artifacts/.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { ARGS, ARTIFACTS, CHROMIUM, haveChromium, openReport } from "./browser.js";
import { simulate, type SimResult } from "../../src/sim/simulate.js";
import { applyOverrides, defaultScenario } from "../../src/sim/scenario.js";
import { renderReport } from "../../src/report/html.js";
import { headline } from "../../src/report/headline.js";

let result: SimResult;
let html: string;

beforeAll(async () => {
  // Small, but with every story: a scale-up, pending nodes when the pool runs out, growth, cooldown.
  const scenario = applyOverrides(defaultScenario(), { nodes: 200, duration: 2 * 3600 });
  result = await simulate({ pool: { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } }, scenario: { ...scenario, growth: [{ at: 6500, cidr: "10.1.0.0/20" }] }, threads: 1 });
  html = await renderReport(result, { source: "test", version: "test", generatedAt: new Date(0) });
});

describe("report HTML", () => {
  it("is self-contained: no scripts, no external resources", () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<(link|img|iframe)\b/i);
    expect(html).not.toMatch(/(src|href)=["']https?:/i);
    expect(html).not.toMatch(/url\(\s*["']?https?:/i);
  });

  it("has the four charts as inline SVG and the summary table", () => {
    for (const id of ["utilization", "allocations", "nodes", "forecast"]) expect(html).toContain(`data-chart="${id}"`);
    expect(html.match(/<svg[\s>]/g)?.length).toBeGreaterThanOrEqual(4);
    expect(html).toContain("peak running pods");
    expect(html).toContain(result.digest);
  });
});

const chromiumHere = haveChromium("report.browser.test");

describe.runIf(chromiumHere)("report in headless Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("renders the charts with no console errors and no network requests", async () => {
    const { page, errors, requests } = await openReport(browser, "report.html", html);
    for (const id of ["utilization", "allocations", "nodes", "forecast"]) {
      const fig = page.locator(`figure[data-chart="${id}"] svg`);
      expect(await fig.count(), id).toBeGreaterThanOrEqual(1);
      const box = await fig.first().boundingBox();
      expect(box?.width ?? 0, id).toBeGreaterThan(300);
      const marks = await page.locator(`figure[data-chart="${id}"] svg path[d]:not([d=""])`).count();
      expect(marks, `${id} marks`).toBeGreaterThan(0);
    }
    expect(await page.locator("figure[data-chart='utilization'] .mark-line path").count()).toBe(5);
    expect(await page.locator("figure[data-chart='nodes'] .mark-area path").count()).toBe(2);
    expect(await page.locator("#summary th").count()).toBeGreaterThan(20);
    // The answer comes first, above the tables, in words from the run's data.
    const lead = await page.locator("#answer p.lead").textContent();
    expect(lead).toBe(headline(result).lines[0]);
    const order = (await page.evaluate(`[...document.querySelectorAll("main > section")].map((e) => e.id)`)) as string[];
    expect(order[0]).toBe("answer");
    // Allocations and failures: the three panels draw their vertical (x) grid lines at the same pixels.
    const gridXs = (await page.evaluate(`[0, 1, 2].map((i) => {
      const g = document.querySelector('figure[data-chart="allocations"] g.concat_' + i + '_group');
      const xs = [...(g ? g.querySelectorAll(".role-axis-grid line, .role-axis-grid path") : [])]
        .map((e) => e.getBoundingClientRect())
        .filter((b) => b.width < 1 && b.height > 5)
        .map((b) => Math.round(b.x));
      return [...new Set(xs)].sort((a, b) => a - b);
    })`)) as number[][];
    expect((gridXs[0] as number[]).length).toBeGreaterThan(3);
    expect(gridXs[1]).toEqual(gridXs[0]);
    expect(gridXs[2]).toEqual(gridXs[0]);
    // Per-node and pool utilization are split into two panels: 2 + 3 lines.
    expect(await page.locator("figure[data-chart='utilization'] g.concat_0_group .mark-line path").count()).toBe(2);
    expect(await page.locator("figure[data-chart='utilization'] g.concat_1_group .mark-line path").count()).toBe(3);
    // The forecast shades the stretch in which nodes waited.
    expect(await page.locator("figure[data-chart='forecast'] .mark-rect path").count()).toBe(result.shortage.outages.length);
    await page.screenshot({ path: join(ARTIFACTS, "report.png"), fullPage: true });
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });
});
