import { PassThrough } from "node:stream";
import { type Job, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/log/logger.js";
import { createMetrics } from "../../src/metrics/registry.js";
import { connectRedis, redisOptions } from "../../src/queue/connection.js";
import { type QueueName, queuePrefix } from "../../src/queue/names.js";
import { closeQueues, openQueues, type Queues } from "../../src/queue/queues.js";
import { type WorkerRecreation, WorkerWatchdog } from "../../src/queue/worker-watchdog.js";
import { collectStatus } from "../../src/status/collect-status.js";
import { renderStatus } from "../../src/status/render-status.js";
import { testEnv, type TestEnv } from "../helpers/redis.js";
import { until } from "../helpers/redis-topology.js";

/**
 * BullMQ #3088, #3185, #4378: a worker stays "running" and never takes a job again. Here its wait for the
 * next job never comes back; the watchdog sees a job waiting past its bound while the worker runs none,
 * replaces the worker, and the waiting job runs.
 */
describe("worker watchdog (real Redis, real BullMQ)", () => {
  let env: TestEnv;
  let redis: Redis;
  let queues: Queues;
  const done: string[] = [];
  const logs = new PassThrough();
  const lines: string[] = [];
  logs.on("data", (b: Buffer) => lines.push(...b.toString().split("\n").filter(Boolean)));
  let watchdog: WorkerWatchdog;
  const recreations: WorkerRecreation[] = [];

  const create = (queue: QueueName) =>
    new Worker(queue, async (job: Job) => void done.push(String(job.id)), { connection: redisOptions(env.config, "worker") as never, prefix: queuePrefix(env.config) });

  beforeAll(async () => {
    env = testEnv("watchdog");
    redis = await connectRedis(env.config, "producer");
    queues = openQueues(redis, env.config);
    watchdog = new WorkerWatchdog({ config: env.config, queues, redis, logger: createLogger("info", logs), idleBoundMs: 1000, create, onRecreate: (r) => recreations.push(r) });
    watchdog.watch("notifications", create("notifications"));
  });
  afterAll(async () => {
    await Promise.all(watchdog.workers().map((w) => w.close(true)));
    await closeQueues(queues);
    redis.disconnect();
    env.cleanup();
  });

  it("jobs waiting past the bound while the worker runs none: it is replaced, with a log line, a metric and a status line; the job runs", async () => {
    const [first] = watchdog.workers();
    await first!.waitUntilReady();
    await queues.notifications.add("notify", { n: 1 }, { jobId: "before" });
    await until("the first job", async () => (done.includes("before") ? true : undefined));
    expect(await watchdog.check()).toEqual([]);

    // What #3185 shows: the worker is "running", its blocking call never comes back. Its next wait for a
    // job is made to hang for good; the job after the next one then waits with nobody taking it.
    (first as unknown as { waitForJob: () => Promise<never> }).waitForJob = () => new Promise<never>(() => {});
    await queues.notifications.add("notify", { n: 2 }, { jobId: "wakes-it" });
    await until("the job that wakes the loop", async () => (done.includes("wakes-it") ? true : undefined));
    await queues.notifications.add("notify", { n: 3 }, { jobId: "stuck" });
    await new Promise((r) => setTimeout(r, 300));
    expect(done).not.toContain("stuck");
    expect(first!.isRunning()).toBe(true);
    expect(await watchdog.check()).toEqual([]);
    await new Promise((r) => setTimeout(r, 1100));
    const made = await watchdog.check();
    expect(made.map((r) => [r.queue, r.count])).toEqual([["notifications", 1]]);
    expect(made[0]!.reason).toMatch(/1 job\(s\) waited 1 s while its worker ran none/);
    expect(watchdog.workers()[0]).not.toBe(first);
    await until("the job that waited", async () => (done.includes("stuck") ? true : undefined));

    expect(lines.map((l) => JSON.parse(l) as { msg: string; queue: string }).filter((l) => l.msg.includes("worker found stuck"))).toEqual([expect.objectContaining({ queue: "notifications" })]);
    const metrics = createMetrics({ config: env.config, redis, queues, recreations: () => recreations });
    expect(await metrics.getSingleMetricAsString("patchroll_worker_recreations_total")).toMatch(/patchroll_worker_recreations_total\{queue="notifications"\} 1/);
    const status = renderStatus(await collectStatus(env.config, { redis, queues }));
    expect(status).toMatch(/^watchdog +notifications worker replaced at .* \(1 time\(s\)\): 1 job\(s\) waited/m);
  });
});
