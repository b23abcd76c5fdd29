import { setTimeout as sleep } from "node:timers/promises";
import type { Config } from "../config/schema.js";
import type { RolloutJournal } from "../journal/journal.js";
import { type ContainerOutcome, isFailure } from "./container-outcome.js";
import { type RestartDeps, type RestartTarget, restartContainer, revertContainer } from "./container-restart.js";
import { type GateDecision, OPEN_GATE, type RolloutGate, type Wait } from "./gates.js";
import type { Plan } from "./plan.js";
import type { RolloutNotice } from "./notice.js";
import { failureBudget } from "./policy.js";

export type RolloutStatus = "running" | "paused" | "waiting" | "completed" | "halted" | "aborted";

export interface RolloutProgress {
  status: RolloutStatus;
  batch: number;
  batches: number;
  done: number;
  total: number;
  failures: number;
  outcomes: ContainerOutcome[];
  haltReason?: string;
  /** Why it is not moving (paused, waiting for approval or a maintenance window). */
  waitReason?: string;
}

export interface RunRolloutOptions {
  plan: Plan;
  targets: ReadonlyMap<string, RestartTarget>;
  policy: Config["rollout"];
  journal: RolloutJournal;
  deps: Omit<RestartDeps, "journal" | "policy">;
  /** Containers already finished in an earlier attempt of this rollout (resume after a crash or retry). */
  finished?: ReadonlyMap<string, ContainerOutcome>;
  /** Containers whose rollback was cut off by a crash: it is finished, the restart is not redone. */
  rollingBack?: ReadonlyMap<string, { snapshot: string; reason: string }>;
  /** Failures that no longer count against the budget (an operator retried past them). */
  forgivenFailures?: number;
  /** Operator controls, approval gates and maintenance windows. Default: nothing ever waits. */
  gate?: RolloutGate;
  onProgress?: (p: RolloutProgress) => void | Promise<void>;
  /** Told of halts, rollbacks, approvals needed, completion and aborts (webhooks). Must not throw. */
  onNotice?: (n: RolloutNotice) => Promise<void>;
}

/**
 * Runs a plan batch by batch. Before each batch (and each container) the gate may hold the rollout
 * (paused, approval, maintenance window) or abort it. Within a batch at most `maxParallel` containers
 * restart at once; after a batch, the rollout halts when failures exceed the budget, leaving every later
 * container untouched. A bake time keeps the next batch waiting.
 */
export async function runRollout(o: RunRolloutOptions): Promise<RolloutProgress> {
  const { plan, journal, policy } = o;
  const gate = o.gate ?? OPEN_GATE;
  const total = plan.batches.reduce((n, b) => n + b.length, 0);
  const budget = failureBudget(policy.maxFailures, total);
  const outcomes: ContainerOutcome[] = [...(o.finished?.values() ?? [])];
  let current: Pick<RolloutProgress, "status" | "batch"> & { waitReason?: string } = { status: "running", batch: 0 };
  const progress = (extra: Partial<RolloutProgress> = {}): RolloutProgress => ({
    ...current,
    batches: plan.batches.length,
    done: outcomes.length,
    total,
    failures: outcomes.filter(isFailure).length,
    outcomes: [...outcomes],
    ...extra,
  });
  // A finished container only moves the counters: those reports are coalesced (one per
  // PROGRESS_EVERY_MS at most), so a batch of hundreds does not write its state hundreds of times. A change
  // of status is reported at once, after any coalesced report still pending.
  const counters = coalesced(async () => {
    await o.onProgress?.(progress());
  }, PROGRESS_EVERY_MS);
  const report = async (next: typeof current, extra: Partial<RolloutProgress> = {}): Promise<RolloutProgress> => {
    await counters.settle();
    current = next;
    const p = progress(extra);
    await o.onProgress?.(p);
    return p;
  };
  const rollout = journal.rollout;
  const notice = (n: Omit<RolloutNotice, "rollout">) => o.onNotice?.({ rollout, ...n });
  const onWait = async (w: Wait): Promise<void> => {
    journal.append("rollout.waiting", { status: w.status, reason: w.reason, batch: current.batch });
    if (w.approval === true) await notice({ kind: "approval-needed", text: w.reason, batch: current.batch + 1 });
    await report({ status: w.status, batch: current.batch, waitReason: w.reason });
  };
  const fence = async (t: RestartTarget): Promise<void> => {
    await o.deps.fence?.(t);
    await gate.beforeStop?.(onWait);
  };
  const deps: RestartDeps = { ...o.deps, journal, policy, fence };

  for (const [i, batch] of plan.batches.entries()) {
    const todo = batch.filter((name) => !o.finished?.has(name));
    if (todo.length === 0) continue;
    const go = await gate.beforeBatch(i + 1, onWait);
    if (!go.go) return abort(go, o, gate, onWait, deps, outcomes, report, i + 1);
    journal.append("batch.started", { batch: i + 1, of: plan.batches.length, containers: batch });
    await report({ status: "running", batch: i + 1 });
    let aborted: GateDecision | undefined;
    await pool(todo, policy.maxParallel, async (name) => {
      if (aborted !== undefined) return;
      const next = await gate.beforeContainer(onWait);
      if (!next.go) {
        aborted = next;
        return;
      }
      if (current.status !== "running") await report({ status: "running", batch: i + 1 });
      const target = o.targets.get(name);
      const cut = o.rollingBack?.get(name);
      const outcome: ContainerOutcome =
        target === undefined
          ? { container: name, outcome: "skipped", reason: "not found on this host any more" }
          : cut !== undefined
            ? await revertContainer(target, cut.snapshot, cut.reason, deps)
            : await restartContainer(target, deps);
      outcomes.push(outcome);
      if (outcome.outcome === "rolled-back" || outcome.outcome === "rollback-failed") {
        await notice({ kind: "rolled-back", container: name, batch: i + 1, text: `${name} ${outcome.outcome}: ${outcome.reason}` });
      }
      counters.soon();
    });
    await counters.settle();
    if (aborted !== undefined && !aborted.go) return abort(aborted, o, gate, onWait, deps, outcomes, report, i + 1);
    const failed = outcomes.filter(isFailure);
    journal.append("batch.finished", { batch: i + 1, failures: failed.length });
    if (failed.length - (o.forgivenFailures ?? 0) > budget) {
      const reason = haltReason(failed, i + 1, budget);
      journal.append("rollout.halted", { reason, batch: i + 1, untouched: plan.batches.slice(i + 1).flat() });
      await notice({ kind: "halted", batch: i + 1, text: `rollout ${rollout} ${reason}` });
      return report({ status: "halted", batch: i + 1 }, { haltReason: reason });
    }
    if (policy.bakeMs > 0 && i < plan.batches.length - 1) {
      journal.append("batch.bake", { batch: i + 1, ms: policy.bakeMs });
      await sleep(policy.bakeMs);
    }
  }
  journal.append("rollout.completed", { containers: total, failures: outcomes.filter(isFailure).length });
  await notice({ kind: "completed", text: `rollout ${rollout} completed: ${outcomes.filter((x) => x.outcome === "patched").length} of ${total} containers patched in ${plan.batches.length} batches` });
  return report({ status: "completed", batch: plan.batches.length });
}

/**
 * Stops after the current step; with `rollBackCompleted`, also takes the patched containers back, once the
 * gate's `beforeRollback` (the fleet's slot) let it.
 */
async function abort(
  decision: Extract<GateDecision, { go: false }>,
  o: RunRolloutOptions,
  gate: RolloutGate,
  onWait: (w: Wait) => Promise<void>,
  deps: RestartDeps,
  outcomes: ContainerOutcome[],
  report: (next: { status: RolloutStatus; batch: number }, extra?: Partial<RolloutProgress>) => Promise<RolloutProgress>,
  batch: number,
): Promise<RolloutProgress> {
  const { who, why, rollBackCompleted } = decision.abort;
  const reverted: string[] = [];
  // Taking containers back restarts them: the gate (the fleet's slot) is asked first, as before a batch.
  if (rollBackCompleted && outcomes.some((out) => out.outcome === "patched" && out.snapshot !== undefined && o.targets.has(out.container))) await gate.beforeRollback?.(onWait);
  if (rollBackCompleted) {
    for (const [k, out] of outcomes.entries()) {
      const target = o.targets.get(out.container);
      if (out.outcome !== "patched" || out.snapshot === undefined || target === undefined) continue;
      outcomes[k] = await revertContainer(target, out.snapshot, `rollout aborted by ${who}: ${why}`, deps);
      reverted.push(out.container);
    }
  }
  const reason = `aborted by ${who}: ${why}${reverted.length > 0 ? `; rolled back ${reverted.join(", ")}` : ""}`;
  o.journal.append("rollout.aborted", { who, why, batch, rolledBack: reverted, untouched: o.plan.batches.flat().filter((n) => !outcomes.some((x) => x.container === n)) });
  await o.onNotice?.({ kind: "aborted", rollout: o.journal.rollout, batch, text: `rollout ${o.journal.rollout} ${reason}` });
  return report({ status: "aborted", batch }, { haltReason: reason });
}

function haltReason(failed: readonly ContainerOutcome[], batch: number, budget: number): string {
  const first = failed[0]!;
  const more = failed.length > 1 ? ` (and ${failed.length - 1} more)` : "";
  return `halted after batch ${batch}: ${failed.length} failure(s), budget ${budget}. ${first.container} ${first.outcome}: ${first.reason}${more}`;
}

/** How often, at most, finished containers are reported while a batch runs. */
const PROGRESS_EVERY_MS = 100;

/**
 * `soon()` runs `fn` within `everyMs`, once for any number of calls meanwhile; `settle()` runs what is
 * pending now, waits for it and throws what any run since the last `settle()` threw.
 */
export function coalesced(fn: () => Promise<void>, everyMs: number): { soon(): void; settle(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let failed: { error: unknown } | undefined;
  const fire = () => {
    timer = undefined;
    running = running.then(fn).catch((error: unknown) => {
      failed ??= { error };
    });
    return running;
  };
  return {
    soon: () => {
      timer ??= setTimeout(() => void fire(), everyMs);
    },
    settle: async () => {
      if (timer !== undefined) {
        clearTimeout(timer);
        await fire();
      }
      await running;
      if (failed !== undefined) {
        const { error } = failed;
        failed = undefined;
        throw error;
      }
    },
  };
}

/**
 * Runs `work` over `items` with at most `limit` at once. When one throws, no further item is begun, the
 * items under way are finished (a container half restarted is never left behind to a runner that went on
 * without it), and then the first error is thrown.
 */
export async function pool<T>(items: readonly T[], limit: number, work: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: { error: unknown } | undefined;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (failed === undefined && next < items.length) {
      try {
        await work(items[next++]!);
      } catch (error) {
        failed ??= { error };
      }
    }
  });
  await Promise.all(lanes);
  if (failed !== undefined) throw failed.error;
}
