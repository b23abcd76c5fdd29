import type { Queue } from "bullmq";
import { z } from "zod";
import { jobIdPart } from "../queues.js";

/** `apt-events` job: an apt run was seen; once it is over, its records become one event and one rollout. */
export const FINISH_RUN_JOB = "finish-run";

export const FinishRunJob = z.strictObject({ v: z.literal(1), runKey: z.string().min(1) });
export type FinishRunJob = z.infer<typeof FinishRunJob>;

/** The job id that makes every record of one run share one finish-run job. */
export function finishRunJobId(runKey: string): string {
  return `finish-${jobIdPart(runKey)}`;
}

/**
 * Makes sure the apt run has its finish-run job (BullMQ ignores a job id it has, so every record of the
 * run may call this); a `wake` (dpkg finished) promotes the job if it sleeps, so the event follows the
 * end of the apt run at once. Returns the job id.
 */
export async function enqueueFinishRun(aptEvents: Queue, runKey: string, wake = false): Promise<string> {
  const payload: FinishRunJob = FinishRunJob.parse({ v: 1, runKey });
  const jobId = finishRunJobId(runKey);
  await aptEvents.add(FINISH_RUN_JOB, payload, { jobId, removeOnComplete: { age: 86_400 }, removeOnFail: { age: 30 * 86_400 } });
  if (wake) {
    const job = await aptEvents.getJob(jobId);
    if (job !== undefined && (await job.isDelayed())) await job.promote().catch(() => undefined); // picked up meanwhile: fine
  }
  return jobId;
}
