import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { Redis } from "ioredis";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FleetRegistry } from "../../src/fleet/registry.js";
import { VersionStore } from "../../src/fleet/version-store.js";
import { buildDashboard } from "../../src/http/dashboard.js";
import { silentLogger } from "../../src/log/logger.js";
import { connectRedis } from "../../src/queue/connection.js";
import { closeQueues, openQueues, type Queues } from "../../src/queue/queues.js";
import { launchChromium } from "../http/chromium.js";
import { testEnv, type TestEnv, testRedisUrl } from "../helpers/redis.js";

/** The dashboard's /fleet page in a real Chromium, on the real Redis: it shows the fleet and follows it live. */
describe("the dashboard's fleet page (real Chromium, real Redis)", () => {
  let env: TestEnv;
  let redis: Redis;
  let queues: Queues;
  let app: FastifyInstance;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  let base: string;
  const record = (host: string) => ({ v: 1 as const, host, version: "0.1.0", startedAt: "t", state: "up" as const, containers: { managed: 4, stale: 1, shadowed: 0, pinned: 0 }, rollout: null, exposure: null, lastAptEvent: null });

  beforeAll(async () => {
    env = testEnv("fpage", { redis: { url: testRedisUrl(), prefix: `pp-${randomBytes(3).toString("hex")}` }, fleet: { enabled: true } });
    redis = await connectRedis(env.config, "client");
    queues = openQueues(redis, env.config);
    for (const h of ["web-01", "web-02"]) await new FleetRegistry(redis, env.config).heartbeat(h, record(h));
    app = await buildDashboard({ config: env.config, redis, queues, logger: silentLogger() });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const addr = app.server.address();
    base = `http://127.0.0.1:${typeof addr === "object" && addr !== null ? addr.port : 0}`;
    browser = await launchChromium();
    page = await browser.context.newPage();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    if (queues !== undefined) await closeQueues(queues);
    redis?.disconnect();
    env?.cleanup();
  });

  it("lists the hosts, and shows a version held fleet-wide once it is, without a click", async () => {
    await page.goto(`${base}/fleet`);
    expect(await page.locator("main h1").textContent()).toBe("Fleet");
    expect(await page.locator("header nav a.current").textContent()).toBe("Fleet");
    expect(await page.locator("table.fleet-hosts tr[data-host]").count()).toBe(2);
    expect(await page.locator('tr[data-host="web-02"]').textContent()).toMatch(/web-02\s*up\s*0\.1\.0\s*4 \/ 1 \/ 0 \/ 0\s*idle/);
    expect(await page.locator(".banner.ok").textContent()).toBe("Nothing in the fleet needs a human.");

    await new VersionStore(redis, env.config).hold({ pkg: "libssl3", version: "3.0.22" }, { who: "alice", why: "breaks FIPS mode" });
    // The page reloads by itself.
    await page.locator('tr[data-version="libssl3=3.0.22"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('tr[data-version="libssl3=3.0.22"]').textContent()).toContain("held by alice: breaks FIPS mode");
    const banner = page.locator(".banner.warning");
    expect(await banner.textContent()).toContain("libssl3=3.0.22 is held by alice: breaks FIPS mode");
    expect(await banner.locator("a.runbook").getAttribute("href")).toBe("/runbooks/fleet-version-held");
  });
});
