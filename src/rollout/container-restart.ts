import type { Config } from "../config/schema.js";
import type { ContainerDriver } from "../containers/driver.js";
import type { RolloutJournal } from "../journal/journal.js";
import type { Logger } from "../log/logger.js";
import type { ContainerOutcome } from "./container-outcome.js";
import { awaitHealth, type HealthVerdict } from "./health-gate.js";
import type { HealthCheck } from "../config/schema.js";

/** A container as the restart steps need it. */
export interface RestartTarget {
  name: string;
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
  /** Copies the delta aside; idempotent per (container, rollout). Returns the snapshot id. */
  snapshot(target: RestartTarget): Promise<string>;
  /** Puts the delta back exactly as the snapshot holds it. The container is stopped. */
  restore(target: RestartTarget, snapshotId: string): Promise<void>;
  /** Makes this container run the old package files again; returns what was pinned, or why not. */
  pin(target: RestartTarget): Promise<{ pinned: boolean; detail: string }>;
  /** Is the container now running only current files of the changed packages? */
  verify(target: RestartTarget): Promise<{ ok: boolean; detail: string; evidence?: unknown }>;
  /** Fault injection for crash tests: called at each step boundary. */
  checkpoint?: (container: string, step: string) => void | Promise<void>;
}

/**
 * Restarts one container: snapshot -> stop -> start -> health -> verify; on failure: stop -> restore ->
 * pin -> start -> health. Every step is journaled (fsync'd) before it acts and is safe to repeat.
 * Whatever happens, the container is left running.
 */
export async function restartContainer(target: RestartTarget, deps: RestartDeps): Promise<ContainerOutcome> {
  const { journal, driver } = deps;
  const step = async <T>(name: string, data: Record<string, unknown>, act: () => Promise<T>, describe?: (r: T) => Record<string, unknown>): Promise<T> => {
    await deps.checkpoint?.(target.name, name);
    journal.append({ type: "step.begin", container: target.name, data: { step: name, ...data } });
    const started = performance.now();
    try {
      const result = await act();
      journal.append({ type: "step.end", container: target.name, data: { step: name, ok: true, ms: ms(started), ...(describe ? describe(result) : {}) } });
      return result;
    } catch (err) {
      journal.append({ type: "step.end", container: target.name, data: { step: name, ok: false, ms: ms(started), error: (err as Error).message } });
      throw err;
    }
  };

  let snapshotId: string;
  try {
    snapshotId = await step("snapshot", { delta: target.deltaDir }, () => deps.snapshot(target), (id) => ({ snapshot: id }));
  } catch (err) {
    return finish(journal, { container: target.name, outcome: "skipped", reason: `not restarted: the snapshot of its delta failed (${(err as Error).message})` });
  }

  let failure: string;
  try {
    await step("stop", { timeoutSec: deps.stopTimeoutSec }, () => driver.stop(target.name, deps.stopTimeoutSec));
    await step("start", {}, () => driver.start(target.name));
    const health = await step("health", { checks: target.health.length }, () => awaitHealth(target.health, deps.policy, { container: target.name, driver }), summarize);
    if (health.healthy) {
      const verdict = await step("verify", {}, () => deps.verify(target), (v) => ({ verified: v.ok, detail: v.detail, evidence: v.evidence }));
      if (verdict.ok) return finish(journal, { container: target.name, outcome: "patched", reason: verdict.detail });
      return finish(journal, { container: target.name, outcome: "unverified", reason: `healthy, but ${verdict.detail}` });
    }
    failure = health.reason;
  } catch (err) {
    failure = (err as Error).message;
  }
  return rollBack(target, snapshotId, failure, deps, step);
}

type Step = <T>(name: string, data: Record<string, unknown>, act: () => Promise<T>, describe?: (r: T) => Record<string, unknown>) => Promise<T>;

async function rollBack(target: RestartTarget, snapshotId: string, failure: string, deps: RestartDeps, step: Step): Promise<ContainerOutcome> {
  const { journal, driver } = deps;
  deps.logger.warn({ container: target.name, failure }, "restart failed; rolling back");
  journal.append({ type: "rollback.begin", container: target.name, data: { reason: failure, snapshot: snapshotId } });
  let pinNote = "";
  try {
    await step("rollback.stop", {}, () => driver.stop(target.name, deps.stopTimeoutSec));
    await step("rollback.restore", { snapshot: snapshotId }, () => deps.restore(target, snapshotId));
    const pin = await step("rollback.pin", {}, () => deps.pin(target), (p) => ({ pinned: p.pinned, detail: p.detail }));
    pinNote = pin.pinned ? ", pinned to the old package files" : ` (not pinned: ${pin.detail})`;
  } catch (err) {
    pinNote = ` (rollback step failed: ${(err as Error).message})`;
  }
  let health: HealthVerdict | undefined;
  try {
    await step("rollback.start", {}, () => ensureRunning(driver, target.name));
    health = await step("rollback.health", {}, () => awaitHealth(target.health, deps.policy, { container: target.name, driver }), summarize);
  } catch (err) {
    return finish(journal, { container: target.name, outcome: "rollback-failed", reason: `${failure}; rollback could not start it again: ${(err as Error).message}` });
  }
  if (health.healthy) return finish(journal, { container: target.name, outcome: "rolled-back", reason: `${failure}; delta restored${pinNote}, healthy again` });
  return finish(journal, { container: target.name, outcome: "rollback-failed", reason: `${failure}; delta restored${pinNote}, but still unhealthy: ${health.reason}` });
}

async function ensureRunning(driver: ContainerDriver, name: string): Promise<void> {
  if ((await driver.state(name)) !== "RUNNING") await driver.start(name);
}

function finish(journal: RolloutJournal, outcome: ContainerOutcome): ContainerOutcome {
  journal.append({ type: "container.done", container: outcome.container, data: { outcome: outcome.outcome, reason: outcome.reason } });
  return outcome;
}

function summarize(v: HealthVerdict): Record<string, unknown> {
  return { healthy: v.healthy, reason: v.reason, rounds: v.rounds.length, last: v.rounds.at(-1) };
}

function ms(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
