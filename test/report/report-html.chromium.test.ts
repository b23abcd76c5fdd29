import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRolloutReport } from "../../src/report/load-report.js";
import { renderRolloutReport } from "../../src/report/render.js";
import { openChromium } from "./chromium.js";
import { JOURNALS } from "./golden.js";

/**
 * The HTML reports of the demo's two real rollouts, opened in real Chromium: the text a reviewer reads is
 * there, the SVG chart is drawn with its batches, steps and rollback, nothing is fetched from anywhere, and
 * a screenshot is taken (PATCHROLL_SCREENSHOT_DIR keeps it for a person to look at).
 */
const src = { journalDir: JOURNALS, hostId: "demo", docRoot: join(JOURNALS, "doc") };
const scratch = mkdtempSync("/var/tmp/patchroll-test-chromium-");
const shots = process.env["PATCHROLL_SCREENSHOT_DIR"] ?? join(scratch, "shots");
let browser: Awaited<ReturnType<typeof openChromium>>;

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  browser = await openChromium(scratch);
}, 90_000);
afterAll(async () => {
  await browser?.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function open(id: string) {
  const file = join(scratch, `${id}.html`);
  writeFileSync(file, renderRolloutReport(await loadRolloutReport(src, id), "html"));
  const page = await browser.context.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`file://${file}`);
  return { page, requests, errors, file };
}

describe("HTML report in Chromium", () => {
  it("halted rollout: summary, sections, the chart with the rollback in red, and the halt", async () => {
    const { page, requests, errors, file } = await open("20261123T064200Z-7dc05133");
    expect(await page.title()).toBe("Rollout 20261123T064200Z-7dc05133 on demo: HALTED");
    await expect.poll(() => page.locator("h1 .outcome").textContent()).toBe("HALTED");
    for (const id of ["summary", "trigger", "cves", "plan", "timeline", "health", "rollbacks", "exposure", "controls", "journal"]) {
      expect(await page.locator(`section#${id}`).isVisible(), id).toBe(true);
    }
    const summary = await page.locator("p.summary").innerText();
    expect(summary).toContain("The rollout halted in batch 1 of 2");
    expect(summary).toContain("demo-api-1, demo-web-2 and demo-api-2");
    expect(await page.locator("section#exposure").innerText()).toContain("runbooks/rollout-halted.md");

    const svg = page.locator("section#timeline svg.timeline");
    expect(await svg.count()).toBe(1);
    expect(await svg.getAttribute("role")).toBe("img");
    const box = (await svg.boundingBox())!;
    expect(box.width).toBeGreaterThan(800);
    expect(box.height).toBeGreaterThan(150);
    expect(await svg.locator("g.container").count()).toBe(4);
    expect(await svg.locator("rect.step").count()).toBe(8);
    const rollbackFills = await svg.locator("rect.step.rollback").evaluateAll((els) => els.map((e) => (globalThis as unknown as { getComputedStyle(x: unknown): { fill: string } }).getComputedStyle(e).fill));
    expect(rollbackFills).toHaveLength(5);
    // Red to orange: a strong red channel over weak green and blue.
    for (const fill of rollbackFills) {
      const [r, g, b] = (fill.match(/\d+/g) ?? []).map(Number);
      expect(r! > 150 && r! > 2 * g! && r! > 4 * b!, fill).toBe(true);
    }
    expect(await svg.locator("rect.step.failed").count()).toBe(1);
    expect(await svg.locator("text", { hasText: "untouched" }).count()).toBe(3);
    expect(await svg.locator("g.mark text").allTextContents()).toEqual(["halted"]);
    // The chart fits the page: no horizontal scrolling at a laptop's width.
    expect(await page.locator("figure.chart").evaluate((f) => f.scrollWidth <= f.clientWidth + 1)).toBe(true);

    expect(requests).toEqual([`file://${file}`]);
    expect(errors).toEqual([]);
    const shot = join(shots, "report-halted.png");
    await page.screenshot({ path: shot, fullPage: true });
    await svg.screenshot({ path: join(shots, "report-halted-chart.png") });
    expect(statSync(shot).size).toBeGreaterThan(50_000);
  });

  it("successful rollout: two batches with a bake between them, every container verified, CVEs listed", async () => {
    const { page, errors } = await open("20261123T064154Z-492746dc");
    const svg = page.locator("svg.timeline");
    expect(await svg.locator("g.batch").count()).toBe(2);
    expect(await svg.locator("g.bake").count()).toBe(1);
    expect(await svg.locator("circle.outcome").count()).toBe(4);
    expect(await svg.locator("rect.step.rollback").count()).toBe(0);
    const cves = await page.locator("section#cves").innerText();
    expect(cves).toContain("CVE-2026-10001, CVE-2026-10002, CVE-2026-10003");
    expect(await page.locator("section#exposure td.bad").count()).toBe(0);
    expect(await page.locator("section#exposure").innerText()).toContain("Nothing: every container that ran the old code runs the new code.");
    // Hovering a step shows its details (SVG <title>).
    expect(await svg.locator("rect.step title").first().textContent()).toBe("demo-web-1: snapshot (33 ms)");
    expect(errors).toEqual([]);
    await page.screenshot({ path: join(shots, "report-success.png"), fullPage: true });
    await svg.screenshot({ path: join(shots, "report-success-chart.png") });
  });
});
