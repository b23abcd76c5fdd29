import { z } from "zod";
import { jobIdPart, type Queues } from "../queues.js";

/** `rollouts` job: restart the containers an event affects, batch by batch. */
export const ROLLOUT_JOB = "rollout";

export const RolloutJob = z.strictObject({ v: z.literal(1), eventId: z.string().min(1), rolloutId: z.string().min(1) });
export type RolloutJob = z.infer<typeof RolloutJob>;

/** The job id of a rollout: its id, so queueing it twice does nothing; an operator's retry (`attempt` > 0) gets a job of its own. */
export function rolloutJobId(rolloutId: string, attempt = 0): string {
  return jobIdPart(attempt === 0 ? rolloutId : `${rolloutId}-retry-${attempt}`);
}

/**
 * Puts a rollout job on the queue. New rollouts are queued through `ensureRollout`
 * (src/rollout/ensure-rollout.ts), which binds the event to its rollout first; an operator's retry
 * queues the same rollout again with `attempt` > 0.
 */
export async function enqueueRollout(queues: Pick<Queues, "rollouts">, job: Omit<RolloutJob, "v">, attempt = 0): Promise<void> {
  const payload: RolloutJob = RolloutJob.parse({ v: 1, ...job });
  await queues.rollouts.add(ROLLOUT_JOB, payload, { jobId: rolloutJobId(job.rolloutId, attempt), removeOnComplete: { age: 7 * 86_400 }, removeOnFail: { age: 30 * 86_400 } });
}
