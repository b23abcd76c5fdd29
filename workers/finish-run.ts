import { DelayedError, type Job, UnrecoverableError } from "bullmq";
import { z } from "zod";
import { aptProcessAlive } from "../src/intake/apt-process.js";
import { assembleEvent } from "../src/intake/assemble.js";
import { jobIdPart } from "../src/queue/queues.js";
import { changedPackages } from "../src/rollout/prepare.js";
import { rolloutIdFor } from "../src/rollout/rollout-id.js";
import type { WorkerContext } from "./context.js";
import { ROLLOUT_JOB, type RolloutJob } from "./rollout.js";

/** `apt-events` job: an apt run was seen; once it is over, turn its records into one event and one rollout. */
export const FINISH_RUN_JOB = "finish-run";

export const FinishRunJob = z.strictObject({ v: z.literal(1), runKey: z.string().min(1) });
export type FinishRunJob = z.infer<typeof FinishRunJob>;

/** How often to look again while apt still runs. */
const RECHECK_MS = 50;
/** A run whose records show no post-invoke is closed this long after apt is gone (hook killed, say). */
const NO_POST_INVOKE_GRACE_MS = 5_000;

/** The job id that makes every record of one run share one finish-run job. */
export function finishRunJobId(runKey: string): string {
  return `finish-${jobIdPart(runKey)}`;
}

export async function handleFinishRun(job: Job, ctx: WorkerContext, token?: string): Promise<{ eventId: string; rolloutId: string; created: boolean }> {
  const data = FinishRunJob.safeParse(job.data);
  if (!data.success) throw new UnrecoverableError(`finish-run job ${job.id}: bad payload: ${data.error.message}`);
  const { runKey } = data.data;
  const records = await ctx.events.records(runKey);
  if (records.length === 0) throw new UnrecoverableError(`finish-run job ${job.id}: no records for apt run ${runKey}`);
  const first = records[0]!;
  const sawPostInvoke = records.some((r) => r.kind === "post-invoke");
  const alive = aptProcessAlive(first.aptPid, first.aptStart, first.bootId);
  const age = Date.now() - Date.parse(first.time);
  if (alive || (!sawPostInvoke && age < NO_POST_INVOKE_GRACE_MS)) {
    await job.moveToDelayed(Date.now() + RECHECK_MS, token);
    throw new DelayedError();
  }
  const event = assembleEvent(records, ctx.config.hostId);
  await ctx.events.saveEvent(event);
  const wanted = rolloutIdFor(event);
  const { rolloutId, claimed } = await ctx.events.claimRollout(event.id, wanted);
  const changed = changedPackages(event);
  if (claimed && changed.length > 0) {
    const payload: RolloutJob = { v: 1, eventId: event.id, rolloutId };
    await ctx.queues.rollouts.add(ROLLOUT_JOB, payload, { jobId: jobIdPart(rolloutId), removeOnComplete: { age: 7 * 86400 }, removeOnFail: { age: 30 * 86400 } });
    ctx.logger.info({ eventId: event.id, rolloutId, packages: changed }, "apt run finished; rollout queued");
  }
  return { eventId: event.id, rolloutId, created: claimed };
}
