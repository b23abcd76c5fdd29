import type { Config } from "../config/schema.js";

/** What retention needs to know of one journal. */
export interface JournalAge {
  rollout: string;
  compressed: boolean;
  /** The rollout has ended (completed, halted, aborted): nobody appends to it any more, except controls. */
  finished: boolean;
  /** Time of its last entry (or of the file's last change when no entry is readable). */
  lastAt: Date;
}

/** What to do with the journals of one host. */
export interface RetentionPlan {
  compress: string[];
  remove: string[];
  /** Unfinished rollouts older than the retention: never removed automatically, shown to a human instead. */
  unfinishedPastRetention: string[];
}

const DAY_MS = 86_400_000;

/**
 * Decides retention (pure): a finished journal older than `retainDays` goes, unless it is among the newest
 * `keepMin`; one older than `compressAfterDays` is compressed. Unfinished rollouts are kept whatever their
 * age: they may still resume, and their record is the only one of what was left half-done.
 */
export function planRetention(journals: readonly JournalAge[], policy: Config["journal"], now: Date): RetentionPlan {
  const plan: RetentionPlan = { compress: [], remove: [], unfinishedPastRetention: [] };
  const newestFirst = [...journals].sort((a, b) => (a.rollout < b.rollout ? 1 : a.rollout > b.rollout ? -1 : 0));
  for (const [i, j] of newestFirst.entries()) {
    const ageDays = (now.getTime() - j.lastAt.getTime()) / DAY_MS;
    if (!j.finished) {
      if (ageDays > policy.retainDays) plan.unfinishedPastRetention.push(j.rollout);
      continue;
    }
    if (ageDays > policy.retainDays && i >= policy.keepMin) plan.remove.push(j.rollout);
    else if (ageDays > policy.compressAfterDays && !j.compressed) plan.compress.push(j.rollout);
  }
  for (const list of Object.values(plan) as string[][]) list.sort();
  return plan;
}
