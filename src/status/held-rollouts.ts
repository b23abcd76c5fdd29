import type { Config } from "../config/schema.js";
import { listJournals, readJournal } from "../journal/journal.js";
import { journalFile } from "../journal/paths.js";
import { journalState } from "../rollout/resume.js";

/** An unfinished rollout as its journal tells it: what `status` shows is held while Redis is away. */
export interface HeldRollout {
  id: string;
  done: number;
  total: number;
  /** Containers with a step begun and no outcome yet (being restarted from local disk right now). */
  inFlight: string[];
}

/** Unfinished rollouts among the newest `recent` journals, read from disk alone (no Redis). */
export function heldRollouts(config: Pick<Config, "journalDir" | "hostId">, recent = 50): HeldRollout[] {
  const held: HeldRollout[] = [];
  for (const id of listJournals(config.journalDir, config.hostId).slice(-recent)) {
    const entries = readJournal(journalFile(config, id)).entries;
    if (entries.some((e) => e.type === "rollout.merged")) continue;
    const s = journalState(entries);
    if (s.ended !== undefined || s.plan === undefined) continue;
    held.push({ id, done: s.finished.size, total: s.plan.batches.reduce((n, b) => n + b.length, 0), inFlight: s.inFlight });
  }
  return held;
}
