import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { Daemon } from "../../src/daemon/daemon.js";
import { createLogger } from "../../src/log/logger.js";
import { freePort, waitForRedis } from "../helpers/redis-server.js";
import { testEnv } from "../helpers/redis.js";

/** A daemon started while its Redis is away says so, in plain words, and finishes starting once Redis comes. */
describe("daemon start with Redis away (real redis-server, started late)", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("logs why it waits, then starts when Redis answers", async () => {
    const port = await freePort();
    const lxc = mkdtempSync("/var/tmp/patchroll-test-nolxc-");
    cleanups.push(() => rmSync(lxc, { recursive: true, force: true }));
    const env = testEnv("daemon-wait", { lxc: { path: lxc, hostRoot: join(lxc, "host", "rootfs") }, redis: { url: `redis://127.0.0.1:${port}` } });
    cleanups.push(env.cleanup);
    const out = new PassThrough();
    let logs = "";
    out.on("data", (d: Buffer) => (logs += d.toString()));
    const daemon = new Daemon(env.config, createLogger("info", out));
    let started = false;
    const starting = daemon.start().then(() => (started = true));
    cleanups.push(async () => {
      await starting.catch(() => undefined);
      await daemon.stop(2000);
    });

    const until = async (re: RegExp): Promise<void> => {
      for (let i = 0; i < 300 && !re.test(logs); i += 1) await new Promise((r) => setTimeout(r, 50));
      expect(logs).toMatch(re);
    };
    await until(/cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ yet: .*ECONNREFUSED.*waiting for it \(apt records wait in the spool/);
    expect(started).toBe(false);

    const dir = mkdtempSync("/var/tmp/patchroll-test-late-redis-");
    const server = execa("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"], { stdio: "ignore", cleanup: true, reject: false });
    cleanups.push(async () => {
      server.kill("SIGTERM");
      await server;
      rmSync(dir, { recursive: true, force: true });
    });
    await waitForRedis(`redis://127.0.0.1:${port}`, 10_000);
    await starting;
    expect(logs).toMatch(/patchroll daemon started/);
  }, 60_000);
});
