import { DelayedError, type Job, type Queue, UnrecoverableError } from "bullmq";
import { z } from "zod";
import type { Config } from "../src/config/schema.js";
import type { AptEvent } from "../src/intake/apt-event.js";
import { aptProcessAlive } from "../src/intake/apt-process.js";
import { hookReport } from "../src/intake/change-report.js";
import type { EventStore } from "../src/intake/event-store.js";
import { recordChange, type RecordedChange } from "../src/intake/record-change.js";
import type { SpoolRecord } from "../src/intake/spool-record.js";
import type { Logger } from "../src/log/logger.js";
import { jobIdPart } from "../src/queue/queues.js";
import { changedPackages } from "../src/rollout/prepare.js";
import { rolloutIdFor } from "../src/rollout/rollout-id.js";
import type { WorkerContext } from "./context.js";
import { queueRollout } from "./rollout.js";

/** `apt-events` job: an apt run was seen; once it is over, turn its records into one event and one rollout. */
export const FINISH_RUN_JOB = "finish-run";

export const FinishRunJob = z.strictObject({ v: z.literal(1), runKey: z.string().min(1) });
export type FinishRunJob = z.infer<typeof FinishRunJob>;

/** While dpkg still runs (no post-invoke record yet), the job looks again this often; a post-invoke record promotes it at once. */
const RECHECK_MS = 250;
/** For this long after dpkg finished, the job itself polls for the apt process to go, then falls back to RECHECK_MS. */
const EXIT_POLL_WINDOW_MS = 2_000;
/** A run whose records show no post-invoke is closed this long after apt is gone (hook killed, say). */
const NO_POST_INVOKE_GRACE_MS = 5_000;

/** The job id that makes every record of one run share one finish-run job. */
export function finishRunJobId(runKey: string): string {
  return `finish-${jobIdPart(runKey)}`;
}

/**
 * Takes one spool record into Redis (the daemon's `SpoolIngest.onRecord`): keeps it with its run and
 * makes sure the run's finish-run job exists. A post-invoke record (dpkg finished) wakes the job up if it
 * sleeps, so the event follows the end of the apt run at once. Resolves only once Redis has it all.
 */
export async function takeSpoolRecord(events: EventStore, aptEvents: Queue, rec: SpoolRecord): Promise<void> {
  await events.addRecord(rec);
  const payload: FinishRunJob = { v: 1, runKey: rec.runKey };
  const jobId = finishRunJobId(rec.runKey);
  await aptEvents.add(FINISH_RUN_JOB, payload, { jobId, removeOnComplete: { age: 86_400 }, removeOnFail: { age: 30 * 86_400 } });
  if (rec.kind === "post-invoke") {
    const job = await aptEvents.getJob(jobId);
    if (job !== undefined && (await job.isDelayed())) await job.promote().catch(() => undefined); // picked up meanwhile: fine
  }
}

/**
 * Makes sure an event with packages to roll out has its one rollout: binds the event to a rollout id
 * (the first one wins) and adds the rollout job under that id. Adding is repeated on every call, so a
 * crash between binding and adding loses nothing; BullMQ ignores a job id it has, and a rollout whose
 * journal says it ended does nothing when run again. Returns the rollout id, or undefined when the event
 * needs no rollout (only removals, say, or only packages `config.rollout.ignorePackages` names).
 */
export async function ensureRollout(events: EventStore, rollouts: Queue, event: AptEvent, logger: Logger, config?: Pick<Config, "rollout">): Promise<{ rolloutId: string; claimed: boolean } | undefined> {
  const changed = changedPackages(event, config);
  if (changed.length === 0) return undefined;
  const claim = await events.claimRollout(event.id, rolloutIdFor(event));
  await queueRollout({ rollouts }, event.id, claim.rolloutId);
  if (claim.claimed) logger.info({ eventId: event.id, rolloutId: claim.rolloutId, sources: event.sources, packages: changed }, "package change seen; rollout queued");
  return claim;
}

/** The matching options the configuration asks for. */
export function matchOptions(config: Pick<Config, "intake">): { slackMs: number } {
  return { slackMs: config.intake.matchSlackSec * 1000 };
}

/**
 * Resolves with true when `alive()` turns false, or with false after `windowMs`. Looks again after 1 ms,
 * then ever less often up to every `maxPollMs`: apt-get is usually gone within milliseconds.
 */
async function waitForExit(alive: () => boolean, maxPollMs: number, windowMs: number): Promise<boolean> {
  const deadline = Date.now() + windowMs;
  for (let pause = 1; alive(); pause = Math.min(maxPollMs, pause * 2)) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, pause));
  }
  return true;
}

const postInvokes = (records: readonly SpoolRecord[]): number => records.filter((r) => r.kind === "post-invoke").length;

/**
 * The `finish-run` job: once the apt run is over (dpkg finished and the apt process gone; or, without a
 * post-invoke record, apt gone for NO_POST_INVOKE_GRACE_MS), its records become the hook's report, which
 * joins or makes the run's event (src/intake/record-change.ts), and the event gets its one rollout. While
 * apt still runs, the job sleeps (a post-invoke record wakes it, see takeSpoolRecord). Safe to run again.
 */
export async function handleFinishRun(job: Job, ctx: WorkerContext, token?: string): Promise<{ eventId: string | null; rolloutId: string | null; created: boolean }> {
  const data = FinishRunJob.safeParse(job.data);
  if (!data.success) throw new UnrecoverableError(`finish-run job ${job.id}: bad payload: ${data.error.message}`);
  const { runKey } = data.data;
  let records = await ctx.events.records(runKey);
  if (records.length === 0) throw new UnrecoverableError(`finish-run job ${job.id}: no records for apt run ${runKey}`);
  const first = records[0]!;
  const alive = () => aptProcessAlive(first.aptPid, first.aptStart, first.bootId);
  for (;;) {
    const age = Date.now() - Date.parse(first.time);
    // dpkg just finished: apt-get exits within milliseconds (unattended-upgrade may run dpkg again), so wait here.
    const lastPostInvoke = Math.max(0, ...records.filter((r) => r.kind === "post-invoke").map((r) => Date.parse(r.time)));
    const pollFor = Math.max(0, lastPostInvoke + EXIT_POLL_WINDOW_MS - Date.now());
    const gone = pollFor > 0 ? await waitForExit(alive, ctx.config.intake.aptExitPollMs, pollFor) : !alive();
    const seen = postInvokes(records);
    records = await ctx.events.records(runKey); // records that came while we looked
    if (gone && (seen > 0 || age >= NO_POST_INVOKE_GRACE_MS)) break;
    if (postInvokes(records) > seen) continue; // dpkg finished meanwhile: its wake-up call may have missed us
    await job.moveToDelayed(Date.now() + RECHECK_MS, token);
    throw new DelayedError();
  }
  const taken: RecordedChange[] = await recordChange(ctx.redis, ctx.events, ctx.config, hookReport(records, ctx.config.hostId), matchOptions(ctx.config));
  const event = taken[0]?.event;
  if (event === undefined) return { eventId: null, rolloutId: null, created: false };
  const rollout = await ensureRollout(ctx.events, ctx.queues.rollouts, event, ctx.logger, ctx.config);
  return { eventId: event.id, rolloutId: rollout?.rolloutId ?? null, created: rollout?.claimed ?? false };
}
