// Headless Chromium for the report tests: Debian's chromium, no network, and a page that records its errors and requests.
import { mkdirSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
export const ARTIFACTS = new URL("../../test-artifacts/", import.meta.url).pathname;

/** True if Chromium is there; if not, says on the console which checks are skipped and why. */
export function haveChromium(test: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  console.warn(`${test}: ${CHROMIUM} not found, the headless-Chromium checks are skipped (apt-get install chromium)`);
  return false;
}

/** Writes `html` to test-artifacts/NAME and opens it; `errors` and `requests` fill as the page runs. */
export async function openReport(browser: Browser, name: string, html: string): Promise<{ page: Page; errors: string[]; requests: string[] }> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, name);
  writeFileSync(file, html);
  const page = await browser.newPage({ viewport: { width: 1000, height: 1000 } });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("request", (r) => { if (!r.url().startsWith("file:")) requests.push(r.url()); });
  await page.goto(`file://${file}`);
  return { page, errors, requests };
}
