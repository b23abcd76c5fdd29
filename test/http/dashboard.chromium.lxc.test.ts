import { copyFileSync, mkdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOrCreateToken, tokenFilePath } from "../../src/http/token-file.js";
import { freePort } from "../helpers/redis-server.js";
import { rolloutHarness, type RolloutHarness } from "../helpers/rollout-harness.js";
import { BreakOnNextStart } from "./breaking-driver.js";
import { countColours, launchChromium } from "./chromium.js";

/** Each container's outcome as the timeline's outcome dots tell it (their titles: `NAME: OUTCOME`). */
async function outcomesIn(page: Page): Promise<string[]> {
  return (await page.locator("svg.timeline circle.outcome title").allTextContents()).map((t) => t.slice(t.lastIndexOf(": ") + 2));
}

/**
 * The daemon's dashboard in a real Chromium, over a real rollout of real containers that halted when its
 * canary broke and was rolled back: the pages, the timeline picture in a screenshot, bull-board, signing
 * in with the token and retrying the rollout through the page; a cross-site form and token-less requests
 * refused. Set PATCHROLL_SCREENSHOT_DIR to keep the screenshot.
 */
describe("web dashboard (real Chromium, real LXC, real Redis)", () => {
  let h: RolloutHarness;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  let rolloutId: string;
  let evil: Server;

  beforeAll(async () => {
    const port = await freePort();
    h = await rolloutHarness("dash", [{ canary: true, group: "web" }, { group: "web" }, { group: "api" }], { rollout: { batches: [1, "100%"] }, http: { port } });
    const canary = h.containers[0]!;
    const driver = new BreakOnNextStart(h.bed.driver, canary.name, canary.deltaDir);
    await h.startDaemon({ driver });
    base = `http://127.0.0.1:${port}`;
    driver.arm();
    rolloutId = await h.trigger();
    expect((await h.waitFor(rolloutId, ["halted", "completed"])).status).toBe("halted");
    browser = await launchChromium();
    context = browser.context;
    page = await context.newPage();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    evil?.close();
    await h?.cleanup();
  });

  it("shows the halted rollout on the front page, with its runbook", async () => {
    await page.goto(`${base}/`);
    const banner = page.locator(".banner.critical", { hasText: rolloutId });
    await expect(banner.textContent()).resolves.toMatch(/halted after batch 1: 1 failure\(s\)/);
    await banner.getByRole("link", { name: "runbook: Rollout halted" }).click();
    await page.waitForURL(`${base}/runbooks/rollout-halted`);
    expect(await page.locator("main h1").textContent()).toBe("Rollout halted");
    expect(await page.locator("main pre").first().textContent()).toContain("patchroll rollouts show ROLLOUT");
  });

  it("draws the rollout's timeline: a screenshot shows the rolled-back canary, the steps and the halt", async () => {
    await page.goto(`${base}/rollouts/${rolloutId}`);
    expect(await page.locator("form.controls").count()).toBe(0);
    expect(await page.locator("main").textContent()).toContain("Sign in with the dashboard token");
    const svg = page.locator("svg.timeline");
    expect(await outcomesIn(page)).toEqual(["rolled-back"]);
    expect(await svg.locator("g.container text", { hasText: "untouched" }).count()).toBe(2);
    expect(await svg.locator("rect.step.rollback").count()).toBe(5);
    expect(await svg.locator("rect.step.failed title").allTextContents()).toEqual([expect.stringMatching(/: health UNHEALTHY/)]);
    const png = await page.screenshot({ fullPage: true });
    const dir = process.env["PATCHROLL_SCREENSHOT_DIR"];
    if (dir !== undefined && dir !== "") {
      mkdirSync(dir, { recursive: true });
      await page.screenshot({ fullPage: true, path: join(dir, "rollout-halted.png") });
    }
    const boxes = {
      outcome: (await svg.locator("circle.outcome").boundingBox())!,
      timeline: (await svg.boundingBox())!,
      banner: (await page.locator(".banner.critical").boundingBox())!,
      badge: (await page.locator("dl.facts .badge").boundingBox())!,
    };
    const blank = await context.newPage();
    // Colours of the report's chart (src/report/timeline-svg.ts) and of the dashboard's stylesheet.
    const seen = await countColours(blank, png, boxes, { outcome: "#ea580c", rollback: "#dc2626", start: "#2563eb", batchBand: "#eef2ff", bannerBg: "#ffebee", haltedBadge: "#c62828" });
    await blank.close();
    // The canary's outcome dot (rolled back), the rollback and start bars and the batch band are drawn;
    // the halt banner and the status badge are there in their colours.
    expect(seen["outcome"]!["outcome"]).toBeGreaterThan(0.3 * boxes.outcome.width * boxes.outcome.height);
    expect(seen["timeline"]!["rollback"]).toBeGreaterThan(20);
    expect(seen["timeline"]!["start"]).toBeGreaterThan(5);
    expect(seen["timeline"]!["batchBand"]).toBeGreaterThan(500);
    expect(seen["banner"]!["bannerBg"]).toBeGreaterThan(0.5 * boxes.banner.width * boxes.banner.height);
    expect(seen["badge"]!["haltedBadge"]).toBeGreaterThan(0.4 * boxes.badge.width * boxes.badge.height);
  });

  it("refuses actions without the token: API, bull-board, and a cross-site form even with a session", async () => {
    const noToken = await context.request.post(`${base}/api/rollouts/${rolloutId}/pause`, { data: { why: "x" } });
    expect(noToken.status()).toBe(401);
    const bullBoardWrite = await context.request.put(`${base}/queues/api/queues/rollouts/pause`);
    expect(bullBoardWrite.status()).toBe(401);
    const token = loadOrCreateToken(tokenFilePath(h.env.config));
    const api = await context.request.post(`${base}/api/rollouts/${rolloutId}/pause`, { data: { why: "from a script", who: "cron" }, headers: { authorization: `Bearer ${token}` } });
    expect(api.status()).toBe(200);
    expect(((await api.json()) as { controls: { paused?: { who: string } } }).controls.paused?.who).toBe("api:cron");
    await context.request.post(`${base}/api/rollouts/${rolloutId}/resume`, { data: { why: "undo" }, headers: { authorization: `Bearer ${token}` } });
  });

  it("lists the queues in bull-board, read-only", async () => {
    await page.goto(`${base}/queues`);
    await page.getByText("rollouts", { exact: true }).first().waitFor({ timeout: 20_000 });
    expect(await page.getByText("apt-events", { exact: true }).count()).toBeGreaterThan(0);
  });

  it("signs in with the token and retries the rollout through the page; the rollout goes to its end", async () => {
    await page.goto(`${base}/rollouts/${rolloutId}`);
    await page.getByRole("link", { name: "Sign in with the dashboard token" }).click();
    await page.getByLabel("Your name").fill("alice");
    await page.getByLabel("Token").fill(loadOrCreateToken(tokenFilePath(h.env.config)));
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${base}/rollouts/${rolloutId}`);
    expect(await page.locator("header .who").textContent()).toContain("signed in as alice");

    // A page on another origin posts a pause with the user's session cookie but without the nonce.
    const evilPort = await freePort();
    evil = createServer((_req, res) => {
      res.setHeader("content-type", "text/html");
      res.end(`<form id="f" method="post" action="${base}/rollouts/${rolloutId}/control"><input name="action" value="pause"><input name="why" value="csrf"></form><script>document.getElementById("f").submit()</script>`);
    }).listen(evilPort, "127.0.0.1");
    const evilPage = await context.newPage();
    const refused = evilPage.waitForResponse((r) => r.url().endsWith(`/rollouts/${rolloutId}/control`));
    await evilPage.goto(`http://127.0.0.1:${evilPort}/`);
    expect((await refused).status()).toBe(403);
    await evilPage.close();
    expect(h.journal(rolloutId).filter((e) => e.data["why"] === "csrf")).toEqual([]);

    await page.getByLabel("Why").fill("canary rolled back by a bad test patch; go on with the rest");
    await page.getByRole("button", { name: "Retry" }).click();
    await page.waitForURL(`${base}/rollouts/${rolloutId}?done=retry`);
    expect(await page.locator(".banner.flash").textContent()).toBe("retry recorded");
    // Until the worker takes the retry, the stored state still says "halted": wait for the end itself.
    expect((await h.waitFor(rolloutId, ["completed"])).status).toBe("completed");
    const retry = h.journal(rolloutId).filter((e) => e.type === "control.retry");
    expect(retry.map((e) => [e.data["who"], e.data["why"]])).toEqual([["dashboard:alice", "canary rolled back by a bad test patch; go on with the rest"]]);
    await page.reload();
    expect(await page.locator("dl.facts .badge").textContent()).toBe("completed");
    expect((await outcomesIn(page)).sort()).toEqual(["patched", "patched", "rolled-back"]);
  });

  it("shows containers with their patch state and the pins page", async () => {
    await page.goto(`${base}/containers`);
    for (const c of h.containers) expect(await page.locator("main table").textContent()).toContain(c.name);
    await page.goto(`${base}/pins`);
    expect(await page.locator("main").textContent()).toMatch(/No pins/);
  });
});
