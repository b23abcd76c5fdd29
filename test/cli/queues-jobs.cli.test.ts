import { Worker } from "bullmq";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT } from "../../src/cli/exit-codes.js";
import { connectRedis, redisOptions } from "../../src/queue/connection.js";
import { queuePrefix } from "../../src/queue/names.js";
import { closeQueues, openQueues, type Queues } from "../../src/queue/queues.js";
import { testEnv, type TestEnv } from "../helpers/redis.js";
import { patchroll } from "./run-cli.js";
import { JobShowJson, JobsJson, QueuesJson } from "./schemas.js";

/** `patchroll queues` and `patchroll jobs ...` on the built binary against real BullMQ queues in Redis. */
describe("patchroll queues / jobs (built binary, real Redis)", () => {
  let env: TestEnv;
  let redis: Redis;
  let queues: Queues;
  let failedId: string;

  beforeAll(async () => {
    env = testEnv("cli-jobs", { http: { enabled: false } });
    redis = await connectRedis(env.config, "client");
    queues = openQueues(redis, env.config);
    failedId = (await queues["apt-events"].add("finish-run", { v: 1, runKey: "k1" })).id!;
    const worker = new Worker("apt-events", null, { connection: redisOptions(env.config, "worker") as never, prefix: queuePrefix(env.config), autorun: false });
    const job = await worker.getNextJob("t");
    await job!.moveToFailed(new Error("finish-run job 1: no records for apt run k1"), "t");
    await worker.close();
    await queues.rollouts.add("rollout", { v: 1, eventId: "e1", rolloutId: "r1" }, { jobId: "r1" });
  });
  afterAll(async () => {
    if (queues !== undefined) await closeQueues(queues);
    redis?.disconnect();
    env?.cleanup();
  });

  it("prints counts per queue, as a table and as JSON", async () => {
    const json = await patchroll(env.config, "--json", "queues");
    expect(json.exitCode).toBe(EXIT.OK);
    const { queues: counts } = QueuesJson.parse(JSON.parse(json.stdout));
    expect(counts.find((q) => q.queue === "apt-events")!.counts.failed).toBe(1);
    expect(counts.find((q) => q.queue === "rollouts")!.counts.waiting).toBe(1);
    const text = await patchroll(env.config, "queues");
    expect(text.stdout.split("\n")[0]).toMatch(/^QUEUE\s+WAITING\s+ACTIVE\s+DELAYED.*STALLED\s+WORKERS\s+PAUSED$/);
    expect(text.stdout).toMatch(/^apt-events\s+0\s+0\s+0\s+0\s+0\s+1\s+0\s+0\s+0\s+no$/m);
  });

  it("lists jobs by state, shows one, retries it and removes another", async () => {
    const failed = JobsJson.parse(JSON.parse((await patchroll(env.config, "--json", "jobs", "--state", "failed")).stdout));
    expect(failed.jobs.map((j) => [j.queue, j.id, j.state])).toEqual([["apt-events", failedId, "failed"]]);
    const all = JobsJson.parse(JSON.parse((await patchroll(env.config, "jobs", "--json")).stdout));
    expect(all.jobs.map((j) => j.state).sort()).toEqual(["failed", "waiting"]);
    const show = await patchroll(env.config, "--json", "jobs", "show", failedId);
    expect(JobShowJson.parse(JSON.parse(show.stdout)).job.stacktrace.join("\n")).toMatch(/no records for apt run k1/);
    const text = await patchroll(env.config, "jobs", "show", failedId, "--queue", "apt-events");
    expect(text.stdout).toMatch(/^failed\s+finish-run job 1: no records for apt run k1$/m);
    expect((await patchroll(env.config, "jobs", "retry", failedId)).stdout).toBe(`apt-events/${failedId}: back in waiting`);
    expect((await patchroll(env.config, "jobs", "remove", "r1")).stdout).toBe("rollouts/r1: removed (was waiting)");
    const after = JobsJson.parse(JSON.parse((await patchroll(env.config, "--json", "jobs")).stdout));
    expect(after.jobs.map((j) => [j.id, j.state])).toEqual([[failedId, "waiting"]]);
  });

  it("exits 4 for an unknown job, 2 for a bad state, 5 when Redis is away", async () => {
    const missing = await patchroll(env.config, "jobs", "show", "nope");
    expect(missing.exitCode).toBe(EXIT.NOT_FOUND);
    expect(missing.stderr).toMatch(/no job nope in apt-events or rollouts or notifications/);
    expect((await patchroll(env.config, "jobs", "--state", "sleeping")).exitCode).toBe(EXIT.USAGE);
    const away = await patchroll({ ...env.config, redis: { ...env.config.redis, url: "redis://127.0.0.1:1/0" } }, "queues");
    expect(away.exitCode).toBe(EXIT.REDIS);
    expect(away.stderr).toMatch(/runbooks\/redis-down\.md/);
  });
});
