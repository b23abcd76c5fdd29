import { type JournalEntry, knownEntry } from "../journal/entry.js";

/** A health check result as the journal keeps it (the last round of each health step). */
export interface HealthObservation {
  seconds: number;
  outcome: "ok" | "fail";
}

/** A finished rollout's wall-clock duration, from its first journal entry to its end. */
export interface RolloutDuration {
  seconds: number;
  status: "completed" | "halted" | "aborted";
}

/** What one rollout's journal has told so far; carried between reads of a growing file. */
export interface JournalCursor {
  /** Time of the file's first entry (ms). */
  firstMs?: number;
}

const ENDINGS: ReadonlyMap<string, RolloutDuration["status"]> = new Map([
  ["rollout.completed", "completed"],
  ["rollout.halted", "halted"],
  ["rollout.aborted", "aborted"],
]);

/**
 * Turns journal entries into metric observations (pure): every result of the last round of a `health` or
 * `rollback.health` step, and a rollout's duration when it completes, halts or is aborted (a retried rollout that ends again counts again). `cursor` remembers the
 * rollout's start across calls, as the file grows.
 */
export function observeEntries(entries: readonly JournalEntry[], cursor: JournalCursor): { health: HealthObservation[]; durations: RolloutDuration[] } {
  const health: HealthObservation[] = [];
  const durations: RolloutDuration[] = [];
  for (const e of entries) {
    const ms = Date.parse(e.ts);
    if (cursor.firstMs === undefined && Number.isFinite(ms)) cursor.firstMs = ms;
    const k = e.type === "step.end" ? knownEntry(e) : undefined;
    if (k?.type === "step.end" && (k.data.step === "health" || k.data.step === "rollback.health")) {
      for (const r of k.data.last ?? []) health.push({ seconds: r.latencyMs / 1000, outcome: r.ok ? "ok" : "fail" });
    } else if (ENDINGS.has(e.type) && cursor.firstMs !== undefined && Number.isFinite(ms)) {
      durations.push({ seconds: Math.max(0, (ms - cursor.firstMs) / 1000), status: ENDINGS.get(e.type)! });
    }
  }
  return { health, durations };
}
