import type { Config, HealthCheck } from "../config/schema.js";
import type { ContainerDriver } from "../containers/driver.js";
import type { RolloutJournal } from "../journal/journal.js";
import type { Logger } from "../log/logger.js";
import type { ContainerOutcome } from "./container-outcome.js";
import { RolloutReleased } from "./gates.js";
import { awaitHealth, type HealthVerdict } from "./health-gate.js";
import { healthPolicyFor } from "./policy.js";

/** A container as the restart steps need it. */
export interface RestartTarget {
  name: string;
  group: string;
  deltaDir: string;
  health: readonly HealthCheck[];
}

/** Everything a restart touches, injected so the steps stay testable and the world stays in one place. */
export interface RestartDeps {
  driver: ContainerDriver;
  journal: RolloutJournal;
  policy: Config["rollout"];
  stopTimeoutSec: number;
  logger: Logger;
  /**
   * Copies the delta aside while the container still runs (the pre-copy), so that {@link snapshot}, once it
   * is stopped, copies only what changed since: the copy is no longer downtime. Optional; idempotent.
   */
  precopy?(target: RestartTarget): Promise<Record<string, unknown>>;
  /**
   * Called right before the container is stopped (after the pre-copy): fleet mode checks its slot's
   * fencing token there and waits for a slot if it was lost. May throw RolloutReleased, which is passed on
   * with the container still running (untouched but for the pre-copy, which is idempotent).
   */
  fence?(target: RestartTarget): Promise<void>;
  /** Copies the delta aside (exactly as it is: the container is stopped); idempotent per (container, rollout). Returns the snapshot id. */
  snapshot(target: RestartTarget): Promise<string>;
  /** Puts the delta back exactly as the snapshot holds it. The container is stopped. */
  restore(target: RestartTarget, snapshotId: string): Promise<void>;
  /** Makes this container run the old package files again; returns what was pinned, or why not. */
  pin(target: RestartTarget): Promise<{ pinned: boolean; detail: string }>;
  /** Is the container now running only current files of the changed packages? */
  verify(target: RestartTarget): Promise<{ ok: boolean; detail: string; evidence?: unknown }>;
  /** Fault injection for crash tests: called at each step boundary, before the step is journaled. */
  checkpoint?: (container: string, step: string) => void | Promise<void>;
}

type Step = <T>(name: string, data: Record<string, unknown>, act: () => Promise<T>, describe?: (r: T) => Record<string, unknown>) => Promise<T>;

/** Runs one step write-ahead: `step.begin` is fsync'd before it acts, `step.end` records the result. */
function journaledStep(target: RestartTarget, deps: RestartDeps): Step {
  return async (name, data, act, describe) => {
    await deps.checkpoint?.(target.name, name);
    // Write-ahead: the line is on disk before the step acts. Its `step.end` rides on the next fsync.
    deps.journal.write("step.begin", { step: name, ...data }, target.name);
    await deps.journal.flush();
    const started = performance.now();
    try {
      const result = await act();
      deps.journal.write("step.end", { step: name, ok: true, ms: ms(started), ...(describe ? describe(result) : {}) }, target.name);
      return result;
    } catch (err) {
      deps.journal.write("step.end", { step: name, ok: false, ms: ms(started), error: (err as Error).message }, target.name);
      throw err;
    }
  };
}

/**
 * Restarts one container: pre-copy -> stop -> snapshot -> start -> health -> verify; on failure: stop ->
 * restore -> pin -> start -> health. Every step is journaled (fsync'd) before it acts and is safe to
 * repeat. Whatever happens, the container is left running.
 */
export async function restartContainer(target: RestartTarget, deps: RestartDeps): Promise<ContainerOutcome> {
  const { journal, driver } = deps;
  const step = journaledStep(target, deps);
  // The bulk of the copy is made while the service runs; the snapshot proper is taken once it is stopped
  // (a running service can change its delta while it is read, and a rollback must restore a consistent
  // one) and copies only what changed since. Both check free space before they copy anything.
  let snapshotId: string;
  try {
    const { precopy } = deps;
    if (precopy !== undefined) await step("precopy", { delta: target.deltaDir }, () => precopy(target), (r) => r);
    await deps.fence?.(target);
    await step("stop", { timeoutSec: deps.stopTimeoutSec }, () => driver.stop(target.name, deps.stopTimeoutSec));
    snapshotId = await step("snapshot", { delta: target.deltaDir }, () => deps.snapshot(target), (id) => ({ snapshot: id }));
  } catch (err) {
    // Released at the fence: nothing was stopped; the next worker takes the container up again.
    if (err instanceof RolloutReleased) throw err;
    const started = await step("start", { after: "pre-copy, stop or snapshot failed" }, () => ensureRunning(driver, target.name)).then(
      () => "started again with its delta unchanged",
      (e: unknown) => `and it could not be started again: ${(e as Error).message}`,
    );
    return finish(journal, { container: target.name, outcome: "skipped", reason: `not patched: ${(err as Error).message}; ${started}; without a snapshot there is no way back, so it counts as a failure` });
  }

  let failure: string;
  try {
    await step("start", {}, () => driver.start(target.name));
    const health = await step("health", { checks: target.health.length }, () => checkHealth(target, deps), summarize);
    if (health.healthy) {
      const verdict = await step("verify", {}, () => deps.verify(target), (v) => ({ verified: v.ok, detail: v.detail, evidence: v.evidence }));
      if (verdict.ok) return finish(journal, { container: target.name, outcome: "patched", reason: verdict.detail, snapshot: snapshotId });
      return finish(journal, { container: target.name, outcome: "unverified", reason: `healthy, but ${verdict.detail}`, snapshot: snapshotId });
    }
    failure = health.reason;
  } catch (err) {
    failure = (err as Error).message;
  }
  return revertContainer(target, snapshotId, failure, deps);
}

/**
 * Takes a container back to where it was before this rollout touched it: stop -> restore the delta from
 * `snapshotId` -> pin the old package files -> start -> health. Used after a failed restart, and for the
 * completed batches of an aborted rollout.
 */
export async function revertContainer(target: RestartTarget, snapshotId: string, why: string, deps: RestartDeps): Promise<ContainerOutcome> {
  const { journal, driver } = deps;
  const step = journaledStep(target, deps);
  deps.logger.warn({ container: target.name, why }, "rolling back");
  journal.write("rollback.begin", { reason: why, snapshot: snapshotId }, target.name);
  let pinNote = "";
  try {
    await step("rollback.stop", {}, () => driver.stop(target.name, deps.stopTimeoutSec));
    await step("rollback.restore", { snapshot: snapshotId }, () => deps.restore(target, snapshotId));
    const pin = await step("rollback.pin", {}, () => deps.pin(target), (p) => ({ pinned: p.pinned, detail: p.detail }));
    pinNote = pin.pinned ? ", pinned to the old package files" : ` (not pinned: ${pin.detail})`;
  } catch (err) {
    pinNote = ` (rollback step failed: ${(err as Error).message})`;
  }
  let health: HealthVerdict;
  try {
    await step("rollback.start", {}, () => ensureRunning(driver, target.name));
    health = await step("rollback.health", {}, () => checkHealth(target, deps), summarize);
  } catch (err) {
    return finish(journal, { container: target.name, outcome: "rollback-failed", reason: `${why}; rollback could not start it again: ${(err as Error).message}` });
  }
  if (health.healthy) return finish(journal, { container: target.name, outcome: "rolled-back", reason: `${why}; delta restored${pinNote}, healthy again` });
  return finish(journal, { container: target.name, outcome: "rollback-failed", reason: `${why}; delta restored${pinNote}, but still unhealthy: ${health.reason}` });
}

function checkHealth(target: RestartTarget, deps: RestartDeps): Promise<HealthVerdict> {
  return awaitHealth(target.health, healthPolicyFor(target.group, deps.policy), { container: target.name, driver: deps.driver });
}

async function ensureRunning(driver: ContainerDriver, name: string): Promise<void> {
  if ((await driver.state(name)) !== "RUNNING") await driver.start(name);
}

/** Records a container's outcome durably: a resumed rollout must not restart a finished container again. */
async function finish(journal: RolloutJournal, outcome: ContainerOutcome): Promise<ContainerOutcome> {
  journal.write("container.done", { outcome: outcome.outcome, reason: outcome.reason, ...(outcome.snapshot ? { snapshot: outcome.snapshot } : {}) }, outcome.container);
  await journal.flush();
  return outcome;
}

/** A health step's end: `ok` is the verdict (the checks ran either way), `reason` says why. */
function summarize(v: HealthVerdict): Record<string, unknown> {
  return { ok: v.healthy, healthy: v.healthy, reason: v.reason, rounds: v.rounds.length, last: v.rounds.at(-1) };
}

function ms(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
