import { Worker } from "bullmq";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isPatchrollError } from "../../src/errors/patchroll-error.js";
import { connectRedis, redisOptions } from "../../src/queue/connection.js";
import { queuePrefix } from "../../src/queue/names.js";
import { closeQueues, openQueues, type Queues } from "../../src/queue/queues.js";
import { findJob, jobDetail, listJobs, removeJob, retryJob } from "../../src/status/jobs.js";
import { queueCounts, stalledJobIds } from "../../src/status/queue-counts.js";
import { testEnv, type TestEnv } from "../helpers/redis.js";

/**
 * Queue counts and job operations against real BullMQ queues in a real Redis: a failed job, a stalled one
 * (taken by a worker that then stopped renewing its lock: what a killed daemon leaves), waiting, delayed.
 */
describe("queues and jobs (real Redis, real BullMQ)", () => {
  let env: TestEnv;
  let redis: Redis;
  let queues: Queues;
  let worker: Worker;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    env = testEnv("jobs");
    redis = await connectRedis(env.config, "client");
    queues = openQueues(redis, env.config);
    // A worker that only takes jobs when told to, with a short lock and no stalled checker of its own.
    worker = new Worker("apt-events", null, { connection: redisOptions(env.config, "worker") as never, prefix: queuePrefix(env.config), autorun: false, lockDuration: 300 });
    ids["failed"] = (await queues["apt-events"].add("finish-run", { v: 1, runKey: "k-failed" })).id!;
    ids["stalled"] = (await queues["apt-events"].add("finish-run", { v: 1, runKey: "k-stalled" })).id!;
    const failing = await worker.getNextJob("token-1");
    await failing!.moveToFailed(new Error("boom: no records for apt run k-failed"), "token-1");
    await worker.getNextJob("token-2");
    ids["waiting"] = (await queues.rollouts.add("rollout", { v: 1, eventId: "e1", rolloutId: "r1" }, { jobId: "r1" })).id!;
    ids["delayed"] = (await queues.rollouts.add("rollout", { v: 1, eventId: "e2", rolloutId: "r2" }, { jobId: "r2", delay: 3600_000 })).id!;
    // The lock expires: the job is stalled until a live worker's checker moves it back.
    const deadline = Date.now() + 10_000;
    while ((await stalledJobIds(redis, queues["apt-events"])).length === 0) {
      if (Date.now() > deadline) throw new Error("the lock did not expire");
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  afterAll(async () => {
    await worker?.close(true);
    if (queues !== undefined) await closeQueues(queues);
    redis?.disconnect();
    env?.cleanup();
  });

  it("counts every state per queue, the stalled job included", async () => {
    const counts = await queueCounts(redis, queues);
    const apt = counts.find((c) => c.queue === "apt-events")!;
    expect(apt.counts).toMatchObject({ failed: 1, active: 1, waiting: 0 });
    expect(apt.stalled).toBe(1);
    expect(counts.find((c) => c.queue === "rollouts")!.counts).toMatchObject({ waiting: 1, delayed: 1, active: 0 });
  });

  it("lists jobs by state, showing an active job without a lock as stalled", async () => {
    const all = await listJobs(redis, queues);
    expect(all.map((j) => [j.queue, j.id, j.state])).toEqual(
      expect.arrayContaining([
        ["apt-events", ids["failed"], "failed"],
        ["apt-events", ids["stalled"], "stalled"],
        ["rollouts", "r1", "waiting"],
        ["rollouts", "r2", "delayed"],
      ]),
    );
    expect((await listJobs(redis, queues, { states: ["stalled"] })).map((j) => j.id)).toEqual([ids["stalled"]]);
    expect(await listJobs(redis, queues, { states: ["failed"], queue: "rollouts" })).toEqual([]);
  });

  it("shows a failed job with its reason and stack, retries it, and removes a waiting one", async () => {
    const detail = await jobDetail(redis, queues, ids["failed"]!);
    expect(detail).toMatchObject({ queue: "apt-events", state: "failed", failedReason: "boom: no records for apt run k-failed", data: { runKey: "k-failed" } });
    expect(detail.stacktrace.join("\n")).toMatch(/Error: boom/);
    await retryJob(redis, queues, ids["failed"]!);
    expect((await findJob(redis, queues, ids["failed"]!)).state).toBe("waiting");
    await removeJob(redis, queues, "r1", "rollouts");
    await expect(findJob(redis, queues, "r1")).rejects.toSatisfy((e) => isPatchrollError(e, "NOT_FOUND"));
  });

  it("refuses to retry a waiting job or remove one a live worker holds", async () => {
    await expect(retryJob(redis, queues, "r2")).rejects.toThrow(/is delayed; only failed or completed/);
    const held = await queues["apt-events"].add("finish-run", { v: 1, runKey: "k-held" });
    const w = new Worker("apt-events", null, { connection: redisOptions(env.config, "worker") as never, prefix: queuePrefix(env.config), autorun: false, lockDuration: 60_000 });
    try {
      let job = await w.getNextJob("token-3");
      while (job !== undefined && job.id !== held.id) job = await w.getNextJob("token-3");
      await expect(removeJob(redis, queues, held.id!)).rejects.toThrow(/is running/);
    } finally {
      await w.close(true);
    }
  });
});
