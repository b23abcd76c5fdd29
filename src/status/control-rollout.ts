import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import { PatchrollError } from "../errors/patchroll-error.js";
import { readJournal } from "../journal/journal.js";
import { journalFile } from "../journal/paths.js";
import type { Queues } from "../queue/queues.js";
import { type ControlRequest, type ControlState, requestControl } from "../rollout/controls.js";
import { RolloutStore } from "../rollout/rollout-store.js";
import { enqueueRollout } from "../queue/jobs/rollout.js";

/** What an operator's control did. */
export interface ControlResult {
  rolloutId: string;
  action: ControlRequest["action"];
  controls: ControlState;
  /** Approve: the batch whose gate was opened. */
  batch?: number;
  /** Retry: the attempt number of the job queued for it. */
  requeued?: number;
}

/**
 * Queues the rollout again after a `retry` was journaled: each retry gets a job of its own (the first
 * job has finished), numbered by the retries in the journal; the worker resumes from the journal.
 */
export async function requeueRollout(queues: Queues, config: Pick<Config, "journalDir" | "hostId">, rolloutId: string, eventId: string): Promise<number> {
  const attempt = readJournal(journalFile(config, rolloutId)).entries.filter((e) => e.type === "control.retry").length;
  await enqueueRollout(queues, { eventId, rolloutId }, Math.max(1, attempt));
  return Math.max(1, attempt);
}

/**
 * An operator's control of a rollout (CLI and dashboard): checks the rollout exists, journals and records
 * the request ({@link requestControl}); `approve` without a batch opens the gate the rollout waits at (or
 * the next one it reaches); `retry` also puts the rollout job back on the queue.
 */
export async function controlRollout(redis: Redis, queues: Queues, config: Config, req: ControlRequest & { batch?: number }): Promise<ControlResult> {
  const state = await new RolloutStore(redis, config).get(req.rolloutId);
  if (state === undefined) throw new PatchrollError("NOT_FOUND", `no rollout ${req.rolloutId} on host ${config.hostId}; see patchroll rollouts list`);
  const { batch: wanted, ...request } = req;
  const batch = req.action === "approve" ? wanted : undefined;
  const controls = await requestControl(redis, config, request, batch);
  const result: ControlResult = { rolloutId: req.rolloutId, action: req.action, controls, ...(batch !== undefined ? { batch } : {}) };
  if (req.action === "retry") result.requeued = await requeueRollout(queues, config, req.rolloutId, state.eventId);
  return result;
}
