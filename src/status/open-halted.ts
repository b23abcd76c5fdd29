import type { RolloutState } from "../rollout/rollout-store.js";

/**
 * Halted rollouts that still matter (pure): a halted rollout is superseded once a later rollout of the
 * same packages (or more) completed, i.e. the fixed version went out.
 */
export function openHalted(rollouts: readonly RolloutState[]): RolloutState[] {
  const completed = rollouts.filter((r) => r.status === "completed");
  return rollouts.filter(
    (h) => h.status === "halted" && !completed.some((c) => c.createdAt > h.createdAt && h.packages.every((p) => c.packages.includes(p))),
  );
}

/** Rollouts not ended: planned, running, paused by an operator, or waiting (approval, maintenance window). */
export function activeRollouts(rollouts: readonly RolloutState[]): RolloutState[] {
  return rollouts.filter((r) => r.status === "running" || r.status === "planned" || r.status === "paused" || r.status === "waiting");
}

/** Every package of these rollouts, sorted, once each. */
export function packagesOf(rollouts: readonly RolloutState[]): string[] {
  return [...new Set(rollouts.flatMap((r) => r.packages))].sort();
}
