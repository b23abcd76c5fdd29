import { once } from "node:events";
import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { execa } from "execa";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { isPatchrollError } from "../../src/errors/patchroll-error.js";
import { createLogger } from "../../src/log/logger.js";
import { embeddedSocket } from "../../src/queue/connection.js";
import { redisHealth, redisHealthProblems } from "../../src/queue/redis-health.js";
import { RedisSupervisor } from "../../src/queue/redis-supervisor.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Harness {
  root: string;
  stateDir: string;
  logs: Array<Record<string, unknown>>;
  supervisor: (overrides?: { binary?: string }) => RedisSupervisor;
}

/** A private state dir, a logger whose lines the test can read, and supervisors that are always stopped. */
function harness(): Harness {
  const root = mkdtempSync("/var/tmp/patchroll-test-supervisor-");
  const stateDir = join(root, "state");
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split("\n")) if (line !== "") logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger("info", sink);
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  return {
    root,
    stateDir,
    logs,
    supervisor: (overrides = {}) => {
      const s = new RedisSupervisor({ stateDir, logger, restartInitialDelayMs: 50, stopTimeoutMs: 5000, ...overrides });
      cleanups.push(() => s.stop());
      return s;
    },
  };
}

async function client(socketPath: string): Promise<Redis> {
  const c = new Redis({ path: socketPath, maxRetriesPerRequest: 1 });
  // Clients of a server the test kills see connection errors while it restarts.
  c.on("error", () => {});
  cleanups.push(() => void c.disconnect());
  return c;
}

/** True while `pid` runs (a zombie has no exe link). */
function alive(pid: number): boolean {
  try {
    readlinkSync(`/proc/${pid}/exe`);
    return true;
  } catch {
    return false;
  }
}

/** Every live process whose working directory is `dir` (Redis chdirs to its `dir`). */
function processesIn(dir: string): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readlinkSync(`/proc/${d}/cwd`) === dir;
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe("RedisSupervisor", () => {
  it("runs redis-server on a 0700 unix socket only, with AOF everysec and noeviction", async () => {
    const h = harness();
    const sup = h.supervisor();
    await sup.start();
    expect(sup.socketPath).toBe(embeddedSocket({ stateDir: h.stateDir }));
    expect(statSync(join(h.stateDir, "redis")).mode & 0o777).toBe(0o700);
    expect(statSync(sup.socketPath).mode & 0o777).toBe(0o700);

    const c = await client(sup.socketPath);
    const health = await redisHealth(c);
    expect(health.persistence).toMatchObject({ aof: true, appendfsync: "everysec" });
    expect(health.maxmemoryPolicy).toBe("noeviction");
    expect(health.usedMemory).toBeGreaterThan(0);
    expect(health.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(redisHealthProblems(health)).toEqual([]);
    // No TCP listener at all.
    expect(await c.call("CONFIG", "GET", "port")).toEqual(["port", "0"]);
    expect(await c.call("CONFIG", "GET", "protected-mode")).toEqual(["protected-mode", "yes"]);
  });

  it("restarts a redis-server killed with SIGKILL, logs it, and keeps the data (AOF)", async () => {
    const h = harness();
    const sup = h.supervisor();
    await sup.start();
    const c = await client(sup.socketPath);
    await c.set("survivor", "still-here");
    const firstPid = sup.pid!;

    const exited = once(sup, "exit");
    const restarted = once(sup, "restart");
    process.kill(firstPid, "SIGKILL");
    const [exit] = (await exited) as [{ pid: number; signal: string | undefined }];
    expect(exit).toMatchObject({ pid: firstPid, signal: "SIGKILL" });
    const [restart] = (await restarted) as [{ pid: number; attempt: number }];
    expect(restart.attempt).toBe(1);
    expect(restart.pid).not.toBe(firstPid);
    expect(sup.pid).toBe(restart.pid);
    expect(alive(firstPid)).toBe(false);

    const after = await client(sup.socketPath);
    expect(await after.get("survivor")).toBe("still-here");
    expect(h.logs.some((l) => l["msg"] === "embedded redis-server exited unexpectedly; restarting it" && l["signal"] === "SIGKILL")).toBe(true);
    expect(h.logs.some((l) => l["msg"] === "embedded redis-server restarted" && l["pid"] === restart.pid)).toBe(true);
  });

  it("keeps trying with backoff when a restart fails, and recovers once redis-server can start again", async () => {
    const h = harness();
    // A redis-server that refuses to start while a flag file exists.
    const flag = join(h.root, "broken");
    const wrapper = join(h.root, "redis-server-wrapper");
    writeFileSync(wrapper, `#!/bin/sh\n[ -e '${flag}' ] && { echo 'simulated start failure' >&2; exit 3; }\nexec redis-server "$@"\n`, { mode: 0o755 });
    const sup = h.supervisor({ binary: wrapper });
    await sup.start();
    const firstPid = sup.pid!;
    const failures: number[] = [];
    const firstFailure = new Promise<void>((resolve) => sup.on("restart-failed", ({ attempt }) => (failures.push(attempt), resolve())));
    writeFileSync(flag, "");
    const restarted = once(sup, "restart");
    process.kill(firstPid, "SIGKILL");
    await firstFailure;
    rmSync(flag);
    const [restart] = (await restarted) as [{ pid: number; attempt: number }];
    expect(failures[0]).toBe(1);
    expect(restart.attempt).toBe(failures.length + 1);
    expect(await (await client(sup.socketPath)).ping()).toBe("PONG");
    expect(h.logs.some((l) => l["msg"] === "restarting the embedded redis-server failed; trying again")).toBe(true);
  });

  it("stop() leaves no redis-server behind and does not restart it", async () => {
    const h = harness();
    const sup = h.supervisor();
    let restarts = 0;
    sup.on("restart", () => (restarts += 1));
    await sup.start();
    const pid = sup.pid!;
    const dir = join(h.stateDir, "redis");
    expect(processesIn(dir)).toEqual([pid]);
    await sup.stop();
    expect(alive(pid)).toBe(false);
    expect(processesIn(dir)).toEqual([]);
    expect(existsSync(sup.socketPath)).toBe(false);
    expect(sup.pid).toBeUndefined();
    expect(restarts).toBe(0);
  });

  it("starts over an orphaned redis-server and a stale pid file from a crashed daemon, keeping its data", async () => {
    const h = harness();
    const first = h.supervisor();
    await first.start();
    await first.stop();
    // A daemon killed with SIGKILL leaves its redis-server running, reparented to init: start one the
    // same way (sh backgrounds it and exits), with the configuration the supervisor wrote.
    await execa("sh", ["-c", 'redis-server "$1" >/dev/null 2>&1 &', "sh", first.paths.configFile], { timeout: 10_000 });
    const orphanClient = new Redis({ path: first.paths.socketPath, maxRetriesPerRequest: 5, retryStrategy: (n) => (n > 100 ? null : 50) });
    orphanClient.on("error", () => {});
    cleanups.push(() => void orphanClient.disconnect());
    await orphanClient.set("from-orphan", "1");
    const orphanPid = Number((await orphanClient.info("server")).match(/process_id:(\d+)/)?.[1]);
    orphanClient.disconnect();
    cleanups.push(() => {
      if (alive(orphanPid)) process.kill(orphanPid, "SIGKILL");
    });
    expect(alive(orphanPid)).toBe(true);

    const second = h.supervisor();
    await second.start();
    expect(alive(orphanPid)).toBe(false);
    expect(second.pid).not.toBe(orphanPid);
    expect(processesIn(join(h.stateDir, "redis"))).toEqual([second.pid]);
    expect(await (await client(second.socketPath)).get("from-orphan")).toBe("1");
    expect(h.logs.some((l) => l["msg"] === "stopping an orphaned embedded redis-server left by a previous run" && l["pid"] === orphanPid)).toBe(true);
  });

  it("refuses to start a second supervisor on a state dir whose redis-server is supervised", async () => {
    const h = harness();
    const first = h.supervisor();
    await first.start();
    const second = h.supervisor();
    const err = await second.start().then(() => undefined, (e: unknown) => e);
    expect(isPatchrollError(err, "REDIS_UNAVAILABLE")).toBe(true);
    expect((err as Error).message).toMatch(/already supervised/);
    // The first one is untouched.
    expect(await (await client(first.socketPath)).ping()).toBe("PONG");
  });

  it("fails start() with a clear error when the binary is missing, leaving nothing running", async () => {
    const h = harness();
    const sup = h.supervisor({ binary: "/nonexistent/redis-server" });
    const err = await sup.start().then(() => undefined, (e: unknown) => e);
    expect(isPatchrollError(err, "REDIS_UNAVAILABLE")).toBe(true);
    expect((err as Error).message).toMatch(/could not be started \(spawn \/nonexistent\/redis-server ENOENT\).*apt-get install redis-server/s);
    expect(sup.pid).toBeUndefined();
  });
});
