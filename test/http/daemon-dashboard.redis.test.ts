import { mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { Daemon } from "../../src/daemon/daemon.js";
import { tokenFilePath } from "../../src/http/token-file.js";
import { createLogger } from "../../src/log/logger.js";
import { freePort } from "../helpers/redis-server.js";
import { testEnv, type TestEnv } from "../helpers/redis.js";

/** The daemon serves the dashboard on loopback, makes its token file 0600, and keeps patching when the port is taken. */
describe("daemon with its dashboard (real Redis)", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function daemonOn(port: number): Promise<{ env: TestEnv; daemon: Daemon; logs: () => string }> {
    const lxc = mkdtempSync("/var/tmp/patchroll-test-nolxc-");
    cleanups.push(() => rmSync(lxc, { recursive: true, force: true }));
    const env = testEnv("daemon-http", { lxc: { path: lxc, hostRoot: join(lxc, "host", "rootfs") }, http: { port } });
    cleanups.push(env.cleanup);
    const out = new PassThrough();
    let text = "";
    out.on("data", (d: Buffer) => (text += d.toString()));
    const daemon = new Daemon(env.config, createLogger("info", out));
    await daemon.start();
    cleanups.push(() => daemon.stop(2000));
    return { env, daemon, logs: () => text };
  }

  it("serves /healthz on loopback and creates the token file with mode 0600", async () => {
    const port = await freePort();
    const { env } = await daemonOn(port);
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(await res.json()).toEqual({ ok: true, host: env.config.hostId });
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(statSync(tokenFilePath(env.config)).mode & 0o777).toBe(0o600);
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.headers.get("content-security-policy")).toMatch(/default-src 'none'/);
    expect(await page.text()).toMatch(/<h1>Overview<\/h1>/);
  });

  it("keeps running, with its workers, when the dashboard's port is taken", async () => {
    const port = await freePort();
    const squatter: Server = createServer().listen(port, "127.0.0.1");
    cleanups.push(() => void squatter.close());
    const { logs } = await daemonOn(port);
    expect(logs()).toMatch(/dashboard and \/metrics not served; patching goes on/);
    expect(logs()).toMatch(/EADDRINUSE/);
    expect(logs()).toMatch(/patchroll daemon started/);
  });
});
