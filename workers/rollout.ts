import { join } from "node:path";
import { DelayedError, type Job, UnrecoverableError } from "bullmq";
import { z } from "zod";
import { pinOldFiles } from "../src/containers/pins.js";
import { pruneSnapshots, restoreDelta, snapshotDelta } from "../src/containers/snapshot.js";
import { verifyPatched } from "../src/detect/scan.js";
import { type ContainerInfo, getContainer } from "../src/containers/discover.js";
import { RolloutJournal } from "../src/journal/journal.js";
import type { RestartDeps, RestartTarget } from "../src/rollout/container-restart.js";
import { changedPackages, prepareRollout, targetsOf } from "../src/rollout/prepare.js";
import { cvesOfEvent } from "../src/report/changelog-read.js";
import { absorbWaitingRollouts, combinePackages, mergedInto } from "../src/rollout/merge.js";
import { eventOfJournal, journalState, stateFromJournal } from "../src/rollout/resume.js";
import { type RolloutProgress, runRollout } from "../src/rollout/run-rollout.js";
import type { RolloutState } from "../src/rollout/rollout-store.js";
import { discoverContainers } from "../src/containers/discover.js";
import { isFailure } from "../src/rollout/container-outcome.js";
import { controlGate, RolloutReleased } from "../src/rollout/gates.js";
import { MaintenanceWindows } from "../src/rollout/windows.js";
import type { WorkerContext } from "./context.js";
import { jobIdPart, type Queues } from "../src/queue/queues.js";
import { queueNotice } from "./notify.js";

/** `rollouts` job: restart the containers an event affects, batch by batch. */
export const ROLLOUT_JOB = "rollout";

export const RolloutJob = z.strictObject({ v: z.literal(1), eventId: z.string().min(1), rolloutId: z.string().min(1) });
export type RolloutJob = z.infer<typeof RolloutJob>;

/**
 * Queues the rollout of an event. The job id is the rollout id, so queueing the same rollout twice does
 * nothing; an operator's retry (`attempt` > 0) gets a job of its own, since the first one has finished.
 */
export async function queueRollout(queues: Pick<Queues, "rollouts">, eventId: string, rolloutId: string, attempt = 0): Promise<void> {
  const payload: RolloutJob = { v: 1, eventId, rolloutId };
  const jobId = jobIdPart(attempt === 0 ? rolloutId : `${rolloutId}-retry-${attempt}`);
  await queues.rollouts.add(ROLLOUT_JOB, payload, { jobId, removeOnComplete: { age: 7 * 86_400 }, removeOnFail: { age: 30 * 86_400 } });
}

/** Snapshots of a container live beside its delta (same filesystem: cheap copies, atomic renames). */
export function snapshotsDirOf(lxcPath: string, container: string): string {
  return join(lxcPath, container, "patchroll-snapshots");
}

export async function handleRollout(job: Job, ctx: WorkerContext, token?: string, signal?: AbortSignal): Promise<RolloutProgress | { status: string }> {
  const parsed = RolloutJob.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`rollout job ${job.id}: bad payload: ${parsed.error.message}`);
  const { eventId, rolloutId } = parsed.data;
  const { config, logger } = ctx;
  const journal = new RolloutJournal(config.journalDir, config.hostId, rolloutId);
  const entries = journal.entries();
  // Redis may have lost the event (a failover that dropped the last writes, a Redis that came back empty):
  // the journal of a planned rollout holds it.
  const event = (await ctx.events.getEvent(eventId)) ?? eventOfJournal(entries)?.event;
  if (event === undefined) throw new UnrecoverableError(`rollout ${rolloutId}: event ${eventId} is not in Redis any more`);
  const log = logger.child({ rolloutId, eventId });
  const before = journalState(entries);
  if (before.ended !== undefined) {
    // Run again after it ended (its completion was lost with a failover): the journal's account stands.
    const state = stateFromJournal(entries, eventId, changedPackages({ packages: combinePackages([event, ...(before.merged ?? []).map((m) => m.event)]) }, config));
    if (state !== undefined) await ctx.rollouts.save(state);
    journal.close();
    return { status: before.ended };
  }
  const into = before.plan === undefined ? await mergedInto(ctx.redis, config, rolloutId) : undefined;
  if (into !== undefined) {
    journal.append({ type: "rollout.merged", data: { into, event } });
    await ctx.rollouts.save({ id: rolloutId, eventId, createdAt: event.time, updatedAt: new Date().toISOString(), status: "merged", packages: changedPackages(event, ctx.config), mergedInto: into });
    return { status: "merged" };
  }

  if (before.plan === undefined && changedPackages(event, config).length === 0) {
    // Only packages the configuration ignores (patchroll's own upgrade, say): nothing to restart.
    journal.append({ type: "rollout.completed", data: { containers: 0, failures: 0, reason: "only ignored packages changed" } });
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
    journal.append({ type: "rollout.planned", data: { event, plan, scans: prepared.scans, merged, cves } });
  } else {
    const found = await discoverContainers({ lxcPath: config.lxc.path, hostRoot: config.lxc.hostRoot, driver: ctx.driver });
    targets = targetsOf(found);
    infos = new Map(found.map((i) => [i.name, i]));
    journal.append({ type: "rollout.resumed", data: { finished: [...before.finished.keys()], inFlight: before.inFlight } });
    log.warn({ inFlight: before.inFlight }, "resuming an interrupted rollout");
  }

  // The packages of this event and of every event folded into it.
  const combined = { packages: combinePackages([event, ...(merged ?? []).map((m) => m.event)]) };
  const packages = changedPackages(combined, config);
  const state: RolloutState = { id: rolloutId, eventId, createdAt: event.time, updatedAt: new Date().toISOString(), status: "planned", packages };
  await ctx.rollouts.save(state);
  const deps: Omit<RestartDeps, "journal" | "policy"> = {
    driver: ctx.driver,
    stopTimeoutSec: config.lxc.stopTimeoutSec,
    logger: log,
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
      const v = await verifyPatched(info, packages);
      const detail = v.ok ? "no process maps an outdated file of the changed packages" : `still maps outdated files: ${v.scan.stale.map((s) => s.path).join(", ")}`;
      return { ok: v.ok, detail, evidence: { verdict: v.scan.verdict, stale: v.scan.stale } };
    },
    ...(ctx.checkpoint !== undefined ? { checkpoint: ctx.checkpoint } : {}),
  };
  const windows = new MaintenanceWindows(config.rollout.windows);
  const gate = controlGate({ redis: ctx.redis, config, rolloutId, windows, approveAfter: config.rollout.approveAfter, ...(signal !== undefined ? { signal } : {}) });
  const forgiven = before.retried !== undefined ? [...before.finished.values()].filter(isFailure).length : 0;
  let result: RolloutProgress;
  try {
    result = await runRollout({
      plan,
      targets,
      policy: config.rollout,
      journal,
      deps,
      gate,
      finished: before.finished,
      rollingBack: before.rollingBack,
      forgivenFailures: forgiven,
      onNotice: (n) => queueNotice(ctx.queues, config, n, log),
      onProgress: async (p) => {
        await job.updateProgress({ batch: p.batch, batches: p.batches, done: p.done, total: p.total, failures: p.failures });
        await ctx.rollouts.save({ ...state, ...p, updatedAt: new Date().toISOString() });
      },
    });
  } catch (err) {
    windows.close();
    if (err instanceof RolloutReleased) {
      // The daemon is stopping: hand the rollout back; the next worker resumes it from the journal.
      journal.append({ type: "rollout.released", data: { reason: err.message } });
    }
    journal.close();
    if (!(err instanceof RolloutReleased)) throw err;
    await job.moveToDelayed(Date.now() + 1000, token);
    throw new DelayedError();
  }
  windows.close();
  journal.close();
  // Old snapshots go once the rollout is over, off the restart path (`snapshots.keep` per container).
  for (const o of result.outcomes) {
    await pruneSnapshots(snapshotsDirOf(config.lxc.path, o.container), config.snapshots.keep).catch((err: unknown) => log.warn({ container: o.container, err: (err as Error).message }, "could not prune old snapshots"));
  }
  log.info({ status: result.status, failures: result.failures, haltReason: result.haltReason }, "rollout finished");
  return result;
}
