import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisAwayFile } from "../../src/queue/redis-away.js";
import { collectStatus } from "../../src/status/collect-status.js";
import { renderStatus } from "../../src/status/render-status.js";
import { rolloutHarness, type RolloutHarness } from "../helpers/rollout-harness.js";
import { redisCommand, startStandalone, type StandaloneRedis, until } from "../helpers/redis-topology.js";
import { expectCleanRollout } from "./rollout-assertions.js";

/** How long Redis refuses writes: several progress reports and heartbeats; shorter than the job's lock. */
const REFUSING_MS = 3000;

/**
 * A Redis that answers, but with an error, in the middle of a rollout step: the server runs out of memory
 * (`maxmemory` far below its use, `noeviction`) while a container is stopped, so every write is refused
 * with OOM while reads go on. The job's lock outlives the refusal, so BullMQ does not hand the job out
 * again: the runner itself must get the rollout through (before, the job failed for good on the first
 * refused progress write and the rollout stayed unfinished for ever). Two containers restart side by side,
 * so another one is mid-restart when the error comes; five in the second batch, so some are still to come
 * once the rollout holds.
 */
describe("Redis refusing commands mid-rollout (real LXC, real redis-server out of memory)", { timeout: 120_000 }, () => {
  let redis: StandaloneRedis;
  let h: RolloutHarness;

  beforeAll(async () => {
    redis = await startStandalone();
    h = await rolloutHarness("redis-error", [{}, {}, {}, {}, {}, {}], {
      redis: { url: redis.url },
      rollout: { batches: [1, "100%"], maxParallel: 2 },
      queue: { lockDurationMs: 30_000, stalledIntervalMs: 1000 },
    });
  });
  afterAll(async () => {
    await h?.cleanup();
    await redis?.stop();
  });

  it("writes refused (OOM) while a container is stopped: nothing stays stopped, no container begins until Redis takes writes again, the rollout completes once", async () => {
    let refusedAt = 0;
    let liftingAt = 0;
    let stopped = "";
    const admin = { port: redis.port };
    let starts = 0;
    await h.startDaemon({
      checkpoint: async (container, step) => {
        // The second container to reach its start: it is stopped and snapshotted, its restart half done.
        if (step === "start" && ++starts === 2) {
          stopped = container;
          await redisCommand(admin, "CONFIG", "SET", "maxmemory", "1");
          refusedAt = Date.now();
          setTimeout(() => {
            liftingAt = Date.now();
            void redisCommand(admin, "CONFIG", "SET", "maxmemory", "0");
          }, REFUSING_MS);
        }
      },
    });
    const id = await h.trigger();
    await until("Redis refusing writes", async () => (refusedAt > 0 ? true : undefined), 30_000);
    const held = () => h.journal(id).findIndex((e) => e.type === "rollout.waiting" && /^Redis did not take/.test(String(e.data["reason"])));
    await until("the hold journaled", async () => (held() >= 0 ? true : undefined), 10_000);
    // The stopped container was brought up from local disk, and nothing is stopped while Redis refuses.
    await until("every container running", async () => ((await Promise.all(h.containers.map(async (c) => (await c.info()).state))).every((s) => s === "RUNNING") ? true : undefined), 10_000);
    expect(stopped).not.toBe("");
    // `status` says why: the daemon's heartbeat gets OOM, Redis is full, and what the rollout holds.
    await until("the daemon's record of the refusal", async () => (existsSync(redisAwayFile(h.env.config)) ? true : undefined), 5000);
    const status = renderStatus(await collectStatus(h.env.config));
    expect(liftingAt, "the checks above ran while Redis refused writes").toBe(0);
    expect(status).toMatch(/^redis +Redis away since \d{4}-.*OOM command not allowed/m);
    expect(status).toMatch(new RegExp(`^rollout +${id} held while Redis is away: \\d of 6 containers done`, "m"));
    expect(status).toMatch(/Redis uses \d+% of its maxmemory: with noeviction, writes fail/);

    const done = await h.waitFor(id, ["completed", "halted", "aborted"], 60_000);
    expect(liftingAt).toBeGreaterThan(0);
    expect(done.status).toBe("completed");
    await expectCleanRollout(h, id);
    // Held before the next container: none began its restart between the hold and the end of the refusal.
    const after = h.journal(id).slice(held());
    const begun = after.filter((e) => e.type === "step.begin" && e.data["step"] === "precopy");
    expect(begun.length, "containers left to restart once the rollout held").toBeGreaterThan(0);
    for (const e of begun) expect(Date.parse(e.ts), `${e.container ?? ""} began while Redis refused writes`).toBeGreaterThanOrEqual(liftingAt);
    expect(h.journal(id).filter((e) => e.type === "rollout.resumed")).toEqual([]);
    // The job itself completed: it never failed, so nothing is left for a human to retry.
    const job = await h.queues.rollouts.getJob(id);
    expect(await job?.getState()).toBe("completed");
    expect(job?.failedReason ?? "").toBe("");
  });
});
