import type { Config } from "../config/schema.js";
import type { RolloutJournal } from "../journal/journal.js";
import { type ContainerOutcome, isFailure } from "./container-outcome.js";
import { type RestartDeps, type RestartTarget, restartContainer } from "./container-restart.js";
import type { Plan } from "./plan.js";

export type RolloutStatus = "running" | "completed" | "halted";

export interface RolloutProgress {
  status: RolloutStatus;
  batch: number;
  batches: number;
  done: number;
  total: number;
  failures: number;
  outcomes: ContainerOutcome[];
  haltReason?: string;
}

export interface RunRolloutOptions {
  plan: Plan;
  targets: ReadonlyMap<string, RestartTarget>;
  policy: Config["rollout"];
  journal: RolloutJournal;
  deps: Omit<RestartDeps, "journal" | "policy">;
  /** Containers already finished in an earlier attempt of this rollout (resume after a crash). */
  finished?: ReadonlyMap<string, ContainerOutcome>;
  onProgress?: (p: RolloutProgress) => void | Promise<void>;
}

/**
 * Runs a plan batch by batch. Within a batch at most `maxParallel` containers restart at once; after a
 * batch, the rollout halts when failures exceed the budget (`maxFailures`; default 0: the first failure
 * halts), leaving every later container untouched. A bake time keeps the next batch waiting.
 */
export async function runRollout(o: RunRolloutOptions): Promise<RolloutProgress> {
  const { plan, journal, policy } = o;
  const total = plan.batches.reduce((n, b) => n + b.length, 0);
  const outcomes: ContainerOutcome[] = [...(o.finished?.values() ?? [])];
  const progress = (status: RolloutStatus, batch: number, haltReason?: string): RolloutProgress => ({
    status,
    batch,
    batches: plan.batches.length,
    done: outcomes.length,
    total,
    failures: outcomes.filter(isFailure).length,
    outcomes: [...outcomes],
    ...(haltReason !== undefined ? { haltReason } : {}),
  });
  const deps: RestartDeps = { ...o.deps, journal, policy };

  for (const [i, batch] of plan.batches.entries()) {
    const todo = batch.filter((name) => !o.finished?.has(name));
    if (todo.length > 0) {
      journal.append({ type: "batch.started", data: { batch: i + 1, of: plan.batches.length, containers: batch } });
      await o.onProgress?.(progress("running", i + 1));
      await pool(todo, policy.maxParallel, async (name) => {
        const target = o.targets.get(name);
        const outcome: ContainerOutcome = target === undefined
          ? { container: name, outcome: "skipped", reason: "not found on this host any more" }
          : await restartContainer(target, deps);
        outcomes.push(outcome);
        await o.onProgress?.(progress("running", i + 1));
      });
      const failed = outcomes.filter(isFailure);
      journal.append({ type: "batch.finished", data: { batch: i + 1, failures: failed.length } });
      if (failed.length > policy.maxFailures) {
        const reason = haltReason(failed, i + 1, policy.maxFailures);
        const untouched = plan.batches.slice(i + 1).flat();
        journal.append({ type: "rollout.halted", data: { reason, batch: i + 1, untouched } });
        const p = progress("halted", i + 1, reason);
        await o.onProgress?.(p);
        return p;
      }
      if (policy.bakeMs > 0 && i < plan.batches.length - 1) {
        journal.append({ type: "batch.bake", data: { batch: i + 1, ms: policy.bakeMs } });
        await new Promise((r) => setTimeout(r, policy.bakeMs));
      }
    }
  }
  journal.append({ type: "rollout.completed", data: { containers: total, failures: outcomes.filter(isFailure).length } });
  const p = progress("completed", plan.batches.length);
  await o.onProgress?.(p);
  return p;
}

function haltReason(failed: readonly ContainerOutcome[], batch: number, budget: number): string {
  const first = failed[0]!;
  const more = failed.length > 1 ? ` (and ${failed.length - 1} more)` : "";
  return `halted after batch ${batch}: ${failed.length} failure(s), budget ${budget}. ${first.container} ${first.outcome}: ${first.reason}${more}`;
}

/** Runs `work` over `items` with at most `limit` at once. */
async function pool<T>(items: readonly T[], limit: number, work: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}
