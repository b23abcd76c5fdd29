import { createServer } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { Redis } from "ioredis";

/** How the test Redis was obtained. */
export type TestRedisKind = "env" | "testcontainers" | "spawned";

export interface TestRedis {
  url: string;
  kind: TestRedisKind;
  /** Where it runs, for the run's log line (no secrets). */
  detail: string;
  stop: () => Promise<void>;
}

/** What `PATCHROLL_TEST_REDIS` may force: `env` (REDIS_URL), `testcontainers` or `spawn`. */
export type TestRedisChoice = "env" | "testcontainers" | "spawn";

export interface TestRedisSituation {
  /** `PATCHROLL_TEST_REDIS`, if set. */
  forced: string | undefined;
  /** `REDIS_URL`, if set. */
  redisUrl: string | undefined;
  /** Asked only when the choice depends on it. */
  dockerReachable: () => Promise<boolean>;
}

/**
 * Which Redis the tests use: `PATCHROLL_TEST_REDIS` if set; otherwise REDIS_URL if set; otherwise
 * testcontainers when a Docker engine answers; otherwise a spawned redis-server.
 */
export async function chooseTestRedis(s: TestRedisSituation): Promise<TestRedisChoice> {
  const forced = s.forced === "" ? undefined : s.forced;
  if (forced !== undefined) {
    if (forced === "env" || forced === "testcontainers" || forced === "spawn") return forced;
    if (forced === "spawned") return "spawn";
    throw new Error(`PATCHROLL_TEST_REDIS=${forced} is not one of spawn, testcontainers, env.`);
  }
  if (s.redisUrl !== undefined && s.redisUrl !== "") return "env";
  return (await s.dockerReachable()) ? "testcontainers" : "spawn";
}

/** A real Redis for tests, chosen by {@link chooseTestRedis}. */
export async function startTestRedis(env: NodeJS.ProcessEnv = process.env): Promise<TestRedis> {
  const redisUrl = env["REDIS_URL"];
  const choice = await chooseTestRedis({
    forced: env["PATCHROLL_TEST_REDIS"],
    redisUrl,
    dockerReachable: async () => (await import("../docker/redis-container.js")).dockerReachable(),
  });
  switch (choice) {
    case "env": {
      if (redisUrl === undefined || redisUrl === "") throw new Error("PATCHROLL_TEST_REDIS=env needs REDIS_URL (e.g. redis://127.0.0.1:6379/15).");
      await waitForRedis(redisUrl, 10_000);
      const url = new URL(redisUrl);
      return { url: redisUrl, kind: "env", detail: `REDIS_URL ${url.protocol}//${url.host}${url.pathname}`, stop: async () => {} };
    }
    case "testcontainers":
      // Loaded only on this path: testcontainers is heavy, and most importers want freePort() only.
      return (await import("../docker/redis-container.js")).startRedisContainer();
    case "spawn":
      return spawnRedis();
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Spawns `redis-server` on 127.0.0.1 with a private directory; waits until it answers PING. `extraArgs`
 * are appended to its command line (e.g. `["--rename-command", "CONFIG", ""]`).
 */
export async function spawnRedis(extraArgs: readonly string[] = []): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "patchroll-test-redis-"));
  // cleanup (execa's default) kills the server if this process exits without calling stop().
  const child = execa("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", ...extraArgs], {
    stdio: "ignore",
    cleanup: true,
    forceKillAfterDelay: 5000,
  });
  const exited = child.then(
    () => undefined,
    () => undefined,
  );
  const url = `redis://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    child.kill("SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForRedis(url, 10_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, kind: "spawned", detail: `redis-server pid ${child.pid} on 127.0.0.1:${port}`, stop };
}

/** Waits until the Redis at `url` answers PING, or throws after `timeoutMs`. */
export async function waitForRedis(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.ping();
      client.disconnect();
      return;
    } catch (err) {
      client.disconnect();
      if (Date.now() > deadline) throw new Error(`Redis at ${url} did not answer within ${timeoutMs} ms: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
