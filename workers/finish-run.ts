import { setTimeout as sleep } from "node:timers/promises";
import { DelayedError, type Job, UnrecoverableError } from "bullmq";
import { aptProcessAlive } from "../src/intake/apt-process.js";
import { hookReport } from "../src/intake/change-report.js";
import { matchOptions, recordChange, type RecordedChange } from "../src/intake/record-change.js";
import type { SpoolRecord } from "../src/intake/spool-record.js";
import { FinishRunJob } from "../src/queue/jobs/finish-run.js";
import { parseJob } from "../src/queue/jobs/parse-job.js";
import { ensureRollout } from "../src/rollout/ensure-rollout.js";
import type { WorkerContext } from "./context.js";

/** While dpkg still runs (no post-invoke record yet), the job looks again this often; a post-invoke record promotes it at once. */
const RECHECK_MS = 250;
/** For this long after dpkg finished, the job itself polls for the apt process to go, then falls back to RECHECK_MS. */
const EXIT_POLL_WINDOW_MS = 2_000;
/** A run whose records show no post-invoke is closed this long after apt is gone (hook killed, say). */
const NO_POST_INVOKE_GRACE_MS = 5_000;

/**
 * Resolves with true when `alive()` turns false, or with false after `windowMs`. Looks again after 1 ms,
 * then ever less often up to every `maxPollMs`: apt-get is usually gone within milliseconds.
 */
async function waitForExit(alive: () => boolean, maxPollMs: number, windowMs: number): Promise<boolean> {
  const deadline = Date.now() + windowMs;
  for (let pause = 1; alive(); pause = Math.min(maxPollMs, pause * 2)) {
    if (Date.now() >= deadline) return false;
    await sleep(pause);
  }
  return true;
}

const postInvokes = (records: readonly SpoolRecord[]): number => records.filter((r) => r.kind === "post-invoke").length;

/**
 * The `finish-run` job: once the apt run is over (dpkg finished and the apt process gone; or, without a
 * post-invoke record, apt gone for NO_POST_INVOKE_GRACE_MS), its records become the hook's report, which
 * joins or makes the run's event (src/intake/record-change.ts), and the event gets its one rollout. While
 * apt still runs, the job sleeps (a post-invoke record wakes it, see src/queue/jobs/finish-run.ts). Safe
 * to run again.
 */
export async function handleFinishRun(job: Job, ctx: WorkerContext, token?: string): Promise<{ eventId: string | null; rolloutId: string | null; created: boolean }> {
  const { runKey } = parseJob(FinishRunJob, job);
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
  const rollout = await ensureRollout(ctx, event);
  return { eventId: event.id, rolloutId: rollout?.rolloutId ?? null, created: rollout?.claimed ?? false };
}
