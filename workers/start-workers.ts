import { type ConnectionOptions, type Job, Worker } from "bullmq";
import { workerConnection } from "../src/queue/connection.js";
import { QUEUE_NAMES, type QueueName, queuePrefix } from "../src/queue/names.js";
import type { WorkerContext } from "./context.js";
import { FINISH_RUN_JOB } from "../src/queue/jobs/finish-run.js";
import { NOTIFY_JOB } from "../src/queue/jobs/notify.js";
import { ROLLOUT_JOB } from "../src/queue/jobs/rollout.js";
import { handleFinishRun } from "./finish-run.js";
import { handleNotify } from "./notify.js";
import { handleRollout } from "./rollout.js";

/** Starts the host's workers: `apt-events` (finishing apt runs), `rollouts` (one at a time), `notifications`. */
export function startWorkers(ctx: WorkerContext): Worker[] {
  return QUEUE_NAMES.map((q) => startWorker(ctx, q));
}

/** Starts the worker of one queue (the watchdog starts a new one in place of a stuck one). */
export function startWorker(ctx: WorkerContext, queue: QueueName): Worker {
  // ioredis options typed without exactOptionalPropertyTypes on BullMQ's side; same object either way.
  const { connection, release } = workerConnection(ctx.config);
  const common = { connection: connection as ConnectionOptions, prefix: queuePrefix(ctx.config) };
  let w: Worker;
  switch (queue) {
    case "apt-events":
      w = new Worker(
        "apt-events",
        async (job: Job, token?: string) => {
          if (job.name === FINISH_RUN_JOB) return handleFinishRun(job, ctx, token);
          throw new Error(`apt-events: unknown job type ${job.name}`);
        },
        { ...common, concurrency: 4 },
      );
      break;
    case "rollouts":
      w = new Worker(
        "rollouts",
        async (job: Job, token?: string, signal?: AbortSignal) => {
          if (job.name === ROLLOUT_JOB) return handleRollout(job, ctx, token, signal);
          throw new Error(`rollouts: unknown job type ${job.name}`);
        },
        // One rollout per host at a time; a long rollout keeps its lock renewed. A rollout whose worker died is
        // taken over once its lock expires and resumes from its journal.
        { ...common, concurrency: 1, lockDuration: ctx.config.queue.lockDurationMs, stalledInterval: ctx.config.queue.stalledIntervalMs, maxStalledCount: ctx.config.queue.maxStalledCount },
      );
      break;
    case "notifications":
      w = new Worker(
        "notifications",
        async (job: Job) => {
          if (job.name === NOTIFY_JOB) return handleNotify(job);
          throw new Error(`notifications: unknown job type ${job.name}`);
        },
        { ...common, concurrency: 4 },
      );
      break;
  }
  w.on("failed", (job, err) => ctx.logger.error({ queue: w.name, jobId: job?.id, err: err.message }, "job failed"));
  w.on("error", (err) => ctx.logger.warn({ queue: w.name, err: err.message }, "worker error"));
  w.on("closed", release);
  return w;
}

/**
 * Closes workers gracefully, raced against a timer (close() can hang when Redis is away), then forces.
 * Running jobs are told first (their abort signal): a rollout stops at its next step boundary and is
 * handed back to the queue, so shutdown never waits on a rollout that waits for a human or a window.
 */
export async function closeWorkers(workers: readonly Worker[], graceMs: number): Promise<void> {
  for (const w of workers) w.cancelAllJobs("the patchroll daemon is stopping");
  await Promise.all(
    workers.map(async (w) => {
      const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), graceMs).unref());
      if ((await Promise.race([w.close().then(() => "closed" as const), timer])) !== "timeout") return;
      // A forced close still waits for Redis (a cluster mid-failover may not answer): bounded as well.
      await Promise.race([w.close(true), new Promise((r) => setTimeout(r, graceMs).unref())]);
    }),
  );
}
