import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HealthCheck } from "../../src/config/schema.js";
import { runHealthCheck } from "../../src/rollout/health-check.js";
import { lxcTestBed, type TestBed, type TestContainer } from "../helpers/lxc.js";
import { freePort } from "../helpers/redis-server.js";

/** Every kind of health check against a real container, with the evidence each records. */
describe("health checks (real LXC)", () => {
  let bed: TestBed;
  let c: TestContainer;
  beforeAll(async () => {
    bed = await lxcTestBed("hc");
    c = await bed.create();
  });
  afterAll(async () => bed?.cleanup());

  const run = (check: HealthCheck) => runHealthCheck(check, { container: c.name, driver: bed.driver });

  it("http: status, body match and excerpt, latency", async () => {
    const ok = await run({ type: "http", url: c.healthUrl, expectStatus: 200, bodyMatch: "ok", timeoutMs: 2000 });
    expect(ok).toMatchObject({ ok: true, status: 200, target: c.healthUrl });
    expect(ok.bodyExcerpt).toContain("ok");
    expect(ok.latencyMs).toBeGreaterThan(0);
    const body = await run({ type: "http", url: c.healthUrl, expectStatus: 200, bodyMatch: "ready", timeoutMs: 2000 });
    expect(body).toMatchObject({ ok: false, failure: 'body did not contain "ready"' });
    const missing = await run({ type: "http", url: c.healthUrl.replace("/health", "/nope"), expectStatus: 200, timeoutMs: 2000 });
    expect(missing).toMatchObject({ ok: false, status: 404, failure: "returned 404" });
  });

  it("tcp: connect, and a refused port said plainly", async () => {
    expect(await run({ type: "tcp", host: "127.0.0.1", port: c.port, timeoutMs: 2000 })).toMatchObject({ ok: true });
    expect(await run({ type: "tcp", host: "127.0.0.1", port: await freePort(), timeoutMs: 2000 })).toMatchObject({ ok: false, failure: "connection refused" });
  });

  it("command inside the container: exit code and stderr", async () => {
    expect(await run({ type: "command", argv: ["/bin/true"], timeoutMs: 5000 })).toMatchObject({ ok: true, exitCode: 0 });
    const bad = await run({ type: "command", argv: ["/bin/sh", "-c", "echo broken >&2; exit 3"], timeoutMs: 5000 });
    expect(bad).toMatchObject({ ok: false, exitCode: 3, failure: "exited with status 3" });
    expect(bad.stderrExcerpt).toContain("broken");
  });

  it("process running, by name", async () => {
    expect(await run({ type: "process", comm: "busybox" })).toMatchObject({ ok: true });
    const none = await run({ type: "process", comm: "nginx" });
    expect(none.ok).toBe(false);
    expect(none.failure).toMatch(/is not running \(found: .*busybox/);
  });
});
