import { afterEach, describe, expect, inject, it } from "vitest";
import { execa } from "execa";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { connectRedis, redisOptions } from "../../src/queue/connection.js";
import { hostKey, queuePrefix } from "../../src/queue/names.js";
import { parseRedisInfo } from "../../src/queue/redis-health.js";
import { testEnv, type TestEnv } from "../helpers/redis.js";
import { dockerRuntime, REDIS_CONTAINER_LABEL, REDIS_TEST_IMAGE, startRedisContainer } from "../docker/redis-container.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function env(label: string): TestEnv {
  const e = testEnv(label);
  cleanups.push(e.cleanup);
  return e;
}

/** The host's redis-server version, which both the spawned server and the locally built image run. */
async function hostRedisVersion(): Promise<string> {
  const { stdout } = await execa("redis-server", ["--version"], { timeout: 10_000 });
  return /v=(\S+)/.exec(stdout)?.[1] ?? "?";
}

describe("the harness Redis", () => {
  it("is the kind the run chose, and the one PATCHROLL_TEST_REDIS forces", () => {
    const kind = inject("redisKind");
    expect(["env", "testcontainers", "spawned"]).toContain(kind);
    const forced = process.env["PATCHROLL_TEST_REDIS"];
    if (forced === "spawn") expect(kind).toBe("spawned");
    if (forced === "testcontainers" || forced === "env") expect(kind).toBe(forced);
  });

  it("stores and returns a value under the test's own host prefix", async () => {
    const { config } = env("harness-kv");
    const client = await connectRedis(config, "client");
    cleanups.push(() => void client.disconnect());
    const key = hostKey(config, "probe");
    await client.set(key, "hello", "EX", 60);
    expect(await client.get(key)).toBe("hello");
    expect(key.startsWith(`{patchroll:${config.hostId}}`)).toBe(true);
  });

  it("runs a BullMQ job from Queue.add to a Worker and back", async () => {
    const { config } = env("harness-bullmq");
    const prefix = queuePrefix(config);
    const producerConnection = new Redis(redisOptions(config, "client"));
    const workerConnection = new Redis(redisOptions(config, "worker"));
    const inspector = await connectRedis(config, "client");
    const queue = new Queue("probe", { connection: producerConnection, prefix });
    const worker = new Worker("probe", async (job) => ({ doubled: (job.data as { n: number }).n * 2 }), { connection: workerConnection, prefix });
    cleanups.push(() => {
      // BullMQ leaves connections it was handed open.
      for (const c of [producerConnection, workerConnection, inspector]) c.disconnect();
    });
    cleanups.push(async () => {
      // worker.close() can hang when Redis is away (docs/platform.md): race it, then force.
      await Promise.race([worker.close(), new Promise((r) => setTimeout(r, 5000))]);
      await worker.close(true);
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
    });
    const done = new Promise<unknown>((resolve, reject) => {
      worker.on("completed", (_job, result) => resolve(result));
      worker.on("failed", (_job, err) => reject(err));
    });
    const job = await queue.add("double", { n: 21 });
    expect(await done).toEqual({ doubled: 42 });
    expect(await queue.getJobState(job.id!)).toBe("completed");
    const keys = await inspector.keys(`${prefix}:probe:*`);
    expect(keys.length).toBeGreaterThan(0);
  });
});

describe("the testcontainers Redis", () => {
  it("starts from the local image in host network mode on loopback, serves, and is gone after stop", async (ctx) => {
    const runtime = await dockerRuntime();
    if (runtime === undefined) {
      // CI runs .ci/docker-setup first, so there the testcontainers path must run for real.
      if (process.env["CI"] === "true") throw new Error("No Docker engine is reachable in CI: .ci/run must call .ci/docker-setup before the tests.");
      ctx.skip();
      return;
    }
    const redis = await startRedisContainer();
    let stopped = false;
    cleanups.push(async () => {
      if (!stopped) await redis.stop();
    });
    expect(redis.kind).toBe("testcontainers");
    const url = new URL(redis.url);
    expect(url.hostname).toBe("127.0.0.1");

    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    cleanups.push(() => void client.disconnect());
    await client.set("tc:probe", "from-container");
    expect(await client.get("tc:probe")).toBe("from-container");
    const info = parseRedisInfo(await client.info("server"));
    expect(info["redis_version"]).toBe(await hostRedisVersion());
    expect(info["tcp_port"]).toBe(url.port);

    const containers = await runtime.container.dockerode.listContainers({ filters: { label: [`${REDIS_CONTAINER_LABEL}=redis`] } });
    const mine = containers.find((c) => c.Labels["patchroll.owner-pid"] === String(process.pid) && c.Image === REDIS_TEST_IMAGE);
    expect(mine?.HostConfig.NetworkMode).toBe("host");

    client.disconnect();
    await redis.stop();
    stopped = true;
    const after = await runtime.container.dockerode.listContainers({ all: true, filters: { id: [mine!.Id] } });
    expect(after).toEqual([]);
    const probe = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on("error", () => {});
    await expect(probe.connect()).rejects.toThrow();
    probe.disconnect();
  });
});
