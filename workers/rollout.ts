import { join } from "node:path";
import { DelayedError, type Job, UnrecoverableError } from "bullmq";
import { pinOldFiles } from "../src/containers/pins.js";
import { precopyDelta, pruneSnapshots, restoreDelta, snapshotDelta } from "../src/containers/snapshot.js";
import { verifyPatched } from "../src/detect/scan.js";
import { judgeVerification } from "../src/rollout/verification.js";
import { type ContainerInfo, getContainer } from "../src/containers/discover.js";
import { RolloutJournal } from "../src/journal/journal.js";
import { journalFile } from "../src/journal/paths.js";
import { lockJournal, lockPathOf } from "../src/journal/writer-lock.js";
import type { AptEvent } from "../src/intake/apt-event.js";
import type { Logger } from "../src/log/logger.js";
import { journalPendingControls, releaseJournal } from "../src/rollout/control-journal.js";
import type { RestartDeps, RestartTarget } from "../src/rollout/container-restart.js";
import { changedPackages, prepareRollout, targetsOf } from "../src/rollout/prepare.js";
import { cvesOfEvent } from "../src/report/changelog-read.js";
import { absorbWaitingRollouts, combinePackages, mergedInto } from "../src/rollout/merge.js";
import { eventOfJournal, journalState, resumeOptions, stateFromJournal } from "../src/rollout/resume.js";
import { type RolloutProgress, runRollout } from "../src/rollout/run-rollout.js";
import type { RolloutState } from "../src/rollout/rollout-store.js";
import { discoverContainers } from "../src/containers/discover.js";
import { controlGate, RolloutReleased } from "../src/rollout/gates.js";
import { MaintenanceWindows } from "../src/rollout/windows.js";
import type { WorkerContext } from "./context.js";
import { enqueueNotice } from "../src/queue/jobs/notify.js";
import { parseJob } from "../src/queue/jobs/parse-job.js";
import { RolloutJob } from "../src/queue/jobs/rollout.js";
import { versionsOf } from "../src/fleet/fleet-rollout.js";
import { isRedisError } from "../src/queue/redis-errors.js";
import { RedisHold } from "../src/rollout/redis-hold.js";

/** Snapshots of a container live beside its delta (same filesystem: cheap copies, atomic renames). */
export function snapshotsDirOf(lxcPath: string, container: string): string {
  return join(lxcPath, container, "patchroll-snapshots");
}

export async function handleRollout(job: Job, ctx: WorkerContext, token?: string, signal?: AbortSignal): Promise<RolloutProgress | { status: string }> {
  const { eventId, rolloutId } = parseJob(RolloutJob, job);
  const { config, logger } = ctx;
  const log = logger.child({ rolloutId, eventId });
  // The runner is the journal's one writer while it runs: operators' controls reach the journal through it.
  const lock = await lockJournal(journalFile(config, rolloutId), `rollout job ${job.id ?? rolloutId}`, 10_000);
  if (lock === undefined) {
    log.warn({ lock: lockPathOf(journalFile(config, rolloutId)) }, "the rollout's journal is held by another process; trying again in a second");
    await handBack(job, token, log);
    throw new DelayedError();
  }
  const journal = new RolloutJournal(config.journalDir, config.hostId, rolloutId);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        // Redis may have lost the event (a failover that dropped the last writes, a Redis that came back
        // empty): the journal of a planned rollout holds it.
        const event = (await ctx.events.getEvent(eventId)) ?? eventOfJournal(journal.entries())?.event;
        if (event === undefined) throw new UnrecoverableError(`rollout ${rolloutId}: event ${eventId} is not in Redis any more`);
        await journalPendingControls(ctx.redis, config, journal);
        return await runJob(job, ctx, { rolloutId, eventId, event, log, journal }, token, signal);
      } catch (err) {
        // A Redis error is no verdict on the rollout: failing the job for good would leave it unfinished
        // for ever (nothing queues a failed job again). No container is mid-restart here (the runner lets
        // every started one finish first); run it again from its journal once Redis answers.
        const released = () => signal?.aborted === true;
        if (!isRedisError(err) || released()) throw err;
        const waitMs = Math.min(10_000, 500 * 2 ** Math.min(attempt, 5));
        log.warn({ err: (err as Error).message, retryInMs: waitMs }, "a Redis error stopped the rollout between two containers; it goes on from its journal once Redis answers");
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, waitMs);
          signal?.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
        });
        if (released()) throw err;
      }
    }
  } finally {
    // Controls that Redis could not hand over now are journaled by the journal's next writer.
    await releaseJournal(ctx.redis, config, rolloutId, lock, journal).catch((err: unknown) => {
      if (!isRedisError(err)) throw err;
      log.warn({ err: (err as Error).message }, "could not journal the operators' pending controls: Redis did not answer; the journal's next writer will");
    });
  }
}

interface JobScope {
  rolloutId: string;
  eventId: string;
  event: AptEvent;
  log: Logger;
  journal: RolloutJournal;
}

async function runJob(job: Job, ctx: WorkerContext, scope: JobScope, token?: string, signal?: AbortSignal): Promise<RolloutProgress | { status: string }> {
  const { rolloutId, eventId, event, log, journal } = scope;
  const { config } = ctx;
  const entries = journal.entries();
  const before = journalState(entries);
  if (before.ended !== undefined) {
    // Run again after it ended (its completion was lost with a failover): the journal's account stands.
    const state = stateFromJournal(entries, eventId, changedPackages({ packages: combinePackages([event, ...(before.merged ?? []).map((m) => m.event)]) }, config));
    if (state !== undefined) await ctx.rollouts.save(state);
    return { status: before.ended };
  }
  const into = before.plan === undefined ? await mergedInto(ctx.redis, config, rolloutId) : undefined;
  if (into !== undefined) {
    journal.append("rollout.merged", { into, event });
    await ctx.rollouts.save({ id: rolloutId, eventId, createdAt: event.time, updatedAt: new Date().toISOString(), status: "merged", packages: changedPackages(event, ctx.config), mergedInto: into });
    return { status: "merged" };
  }

  if (before.plan === undefined && changedPackages(event, config).length === 0) {
    // Only packages the configuration ignores (patchroll's own upgrade, say): nothing to restart.
    journal.append("rollout.completed", { containers: 0, failures: 0, reason: "only ignored packages changed" });
    await ctx.rollouts.save({ id: rolloutId, eventId, createdAt: event.time, updatedAt: new Date().toISOString(), status: "completed", packages: [], outcomes: [], done: 0, total: 0 });
    return { status: "completed" };
  }
  let plan = before.plan;
  let merged = before.merged;
  let targets: Map<string, RestartTarget>;
  let infos: Map<string, ContainerInfo>;
  if (plan === undefined) {
    merged = await absorbWaitingRollouts(ctx.redis, ctx.queues, ctx.events, config, rolloutId);
    const all = { packages: combinePackages([event, ...merged.map((m) => m.event)]) };
    const prepared = await prepareRollout(all, config, ctx.driver);
    plan = prepared.plan;
    targets = prepared.targets;
    infos = prepared.infos;
    // The CVEs the new versions close, read now, while their changelogs are certainly installed.
    const cves = await cvesOfEvent(all);
    journal.append("rollout.planned", { event, plan, scans: prepared.scans, merged, cves });
  } else {
    const found = await discoverContainers({ lxcPath: config.lxc.path, hostRoot: config.lxc.hostRoot, driver: ctx.driver });
    targets = targetsOf(found);
    infos = new Map(found.map((i) => [i.name, i]));
    journal.append("rollout.resumed", { finished: [...before.finished.keys()], inFlight: before.inFlight });
    log.warn({ inFlight: before.inFlight }, "resuming an interrupted rollout");
  }

  // The packages of this event and of every event folded into it.
  const combined = { packages: combinePackages([event, ...(merged ?? []).map((m) => m.event)]) };
  const packages = changedPackages(combined, config);
  const state: RolloutState = { id: rolloutId, eventId, createdAt: event.time, updatedAt: new Date().toISOString(), status: "planned", packages };
  // Redis holds the live state, not the record: a command it refuses or cannot answer holds the rollout
  // before its next container (never in the middle of one) until it answers; the hold is journaled.
  let batch = 0;
  // Once the rollout's end is journaled, only Redis' copy is behind: a hold then is no news for the journal.
  let ended = false;
  const hold = new RedisHold({
    log,
    ...(signal !== undefined ? { signal } : {}),
    onHold: (reason) => void (ended ? undefined : journal.append("rollout.waiting", { status: "waiting", reason, batch })),
  });
  await hold.run("the rollout's state", () => ctx.rollouts.save(state));
  const deps: Omit<RestartDeps, "journal" | "policy"> = {
    driver: ctx.driver,
    stopTimeoutSec: config.lxc.stopTimeoutSec,
    logger: log,
    precopy: async (t) => {
      const pass = await precopyDelta({ deltaDir: t.deltaDir, snapshotsDir: snapshotsDirOf(config.lxc.path, t.name), id: rolloutId, logger: log });
      return pass === undefined ? { precopied: false } : { precopied: true, copied: pass.copied + pass.cloned, linked: pass.linked, kept: pass.kept, bytes: pass.bytes };
    },
    snapshot: async (t) => {
      const dir = snapshotsDirOf(config.lxc.path, t.name);
      const info = await snapshotDelta({ deltaDir: t.deltaDir, snapshotsDir: dir, id: rolloutId, logger: log });
      return info.id;
    },
    restore: (t, id) => restoreDelta({ snapshot: join(snapshotsDirOf(config.lxc.path, t.name), id), deltaDir: t.deltaDir }),
    pin: (t) => pinOldFiles({ stateDir: config.stateDir, container: t.name, deltaDir: t.deltaDir, event: combined, rolloutId }),
    verify: async (t) => {
      // Layers and metadata do not change with a restart: only the processes are looked up again.
      const known = infos.get(t.name);
      const pids = await ctx.driver.pids(t.name);
      const info = known !== undefined ? { ...known, pids, state: pids.length > 0 ? ("RUNNING" as const) : ("STOPPED" as const) } : await getContainer({ lxcPath: config.lxc.path, hostRoot: config.lxc.hostRoot, driver: ctx.driver }, t.name);
      return judgeVerification((await verifyPatched(info, packages)).scan);
    },
    ...(ctx.checkpoint !== undefined ? { checkpoint: ctx.checkpoint } : {}),
  };
  const windows = new MaintenanceWindows(config.rollout.windows);
  const onControls = async (): Promise<void> => {
    await journalPendingControls(ctx.redis, config, journal);
  };
  const controls = controlGate({ redis: ctx.redis, config, rolloutId, windows, approveAfter: config.rollout.approveAfter, onControls, ...(signal !== undefined ? { signal } : {}) });
  const fleet = ctx.fleet?.rollout(rolloutId, versionsOf(combined, packages), journal);
  const gate = hold.gate(fleet?.gate(controls, signal) ?? controls);
  let result: RolloutProgress;
  try {
    result = await runRollout({
      plan,
      targets,
      policy: config.rollout,
      journal,
      deps,
      gate,
      ...resumeOptions(before),
      onNotice: (n) => enqueueNotice(ctx.queues, config, n, log),
      onProgress: async (p) => {
        batch = p.batch;
        ended = p.status === "completed" || p.status === "halted" || p.status === "aborted";
        // The job's own progress only feeds bull-board: one Redis refuses (a job it lost) holds nothing.
        await job.updateProgress({ batch: p.batch, batches: p.batches, done: p.done, total: p.total, failures: p.failures }).catch((err: unknown) => {
          if (!isRedisError(err)) throw err;
          log.debug({ err: (err as Error).message }, "job progress not recorded");
        });
        await hold.run("the rollout's progress", async () => {
          await ctx.rollouts.save({ ...state, ...p, updatedAt: new Date().toISOString() });
          await fleet?.progress(p);
        });
      },
    });
  } catch (err) {
    windows.close();
    await fleet?.end();
    if (err instanceof RolloutReleased) {
      // The daemon is stopping: hand the rollout back; the next worker resumes it from the journal.
      if (journalState(journal.entries()).ended === undefined) journal.append("rollout.released", { reason: err.message });
    }
    journal.close();
    if (!(err instanceof RolloutReleased)) throw err;
    await handBack(job, token, log);
    throw new DelayedError();
  }
  windows.close();
  if (fleet !== undefined) await hold.run("the rollout's end in the fleet", () => fleet.finished(result));
  journal.close();
  // Old snapshots go once the rollout is over, off the restart path (`snapshots.keep` per container).
  for (const o of result.outcomes) {
    await pruneSnapshots(snapshotsDirOf(config.lxc.path, o.container), config.snapshots.keep).catch((err: unknown) => log.warn({ container: o.container, err: (err as Error).message }, "could not prune old snapshots"));
  }
  log.info({ status: result.status, failures: result.failures, haltReason: result.haltReason }, "rollout finished");
  return result;
}

/**
 * Puts the job back in the queue for a second from now. When Redis does not take that, the job stays
 * active: its lock lapses and the next worker takes it up from the journal. Failing it instead would end
 * the rollout for good (nothing queues a failed job again).
 */
async function handBack(job: Job, token: string | undefined, log: Logger): Promise<void> {
  await job.moveToDelayed(Date.now() + 1000, token).catch((err: unknown) => {
    if (!isRedisError(err)) throw err;
    log.warn({ err: (err as Error).message }, "could not hand the rollout's job back now (Redis did not take it): its lock lapses and the next worker takes it up from the journal");
  });
}
