import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import { PatchrollError } from "../errors/patchroll-error.js";
import { jobIdPart, type Queues } from "../queue/queues.js";
import { type ControlRequest, type ControlState, requestControl } from "../rollout/controls.js";
import { RolloutStore } from "../rollout/rollout-store.js";
import { ROLLOUT_JOB, type RolloutJob } from "../../workers/rollout.js";

/** What an operator's control did. */
export interface ControlResult {
  rolloutId: string;
  action: ControlRequest["action"];
  controls: ControlState;
  /** Approve: the batch whose gate was opened. */
  batch?: number;
  /** Retry: what happened to the rollout job. */
  requeued?: "added" | "retried" | "already-queued";
}

/**
 * Puts a rollout's job back on the queue for `retry`: a failed job is retried in place, a finished one is
 * replaced (same job id, so the rollout still runs once at a time), a queued or running one is left alone.
 */
export async function requeueRollout(queues: Queues, rolloutId: string, eventId: string): Promise<NonNullable<ControlResult["requeued"]>> {
  const queue = queues.rollouts;
  const jobId = jobIdPart(rolloutId);
  const job = await queue.getJob(jobId);
  const payload: RolloutJob = { v: 1, eventId, rolloutId };
  const opts = { jobId, removeOnComplete: { age: 7 * 86400 }, removeOnFail: { age: 30 * 86400 } };
  if (job === undefined) {
    await queue.add(ROLLOUT_JOB, payload, opts);
    return "added";
  }
  const state = await job.getState();
  if (state === "failed") {
    await job.retry("failed");
    return "retried";
  }
  if (state === "completed") {
    await job.remove();
    await queue.add(ROLLOUT_JOB, payload, opts);
    return "added";
  }
  return "already-queued";
}

/**
 * An operator's control of a rollout (CLI and dashboard): checks the rollout exists, journals and records
 * the request ({@link requestControl}); `approve` defaults to the batch after the current one; `retry` also
 * puts the rollout job back on the queue.
 */
export async function controlRollout(redis: Redis, queues: Queues, config: Config, req: ControlRequest & { batch?: number }): Promise<ControlResult> {
  const state = await new RolloutStore(redis, config).get(req.rolloutId);
  if (state === undefined) throw new PatchrollError("NOT_FOUND", `no rollout ${req.rolloutId} on host ${config.hostId}; see patchroll rollouts list`);
  const { batch: wanted, ...request } = req;
  const batch = req.action === "approve" ? (wanted ?? (state.batch ?? 0) + 1) : undefined;
  const controls = await requestControl(redis, config, request, batch);
  const result: ControlResult = { rolloutId: req.rolloutId, action: req.action, controls, ...(batch !== undefined ? { batch } : {}) };
  if (req.action === "retry") result.requeued = await requeueRollout(queues, req.rolloutId, state.eventId);
  return result;
}
