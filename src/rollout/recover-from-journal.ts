import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import { EventStore } from "../intake/event-store.js";
import { listJournals, readJournal } from "../journal/journal.js";
import { journalFile } from "../journal/paths.js";
import type { Logger } from "../log/logger.js";
import { enqueueRollout, rolloutJobId } from "../queue/jobs/rollout.js";
import type { Queues } from "../queue/queues.js";
import { combinePackages } from "./merge.js";
import { changedPackages } from "./prepare.js";
import { eventOfJournal, journalState, stateFromJournal } from "./resume.js";
import { RolloutStore } from "./rollout-store.js";

export interface JournalRecovery {
  /** Unfinished rollouts whose job Redis had lost, queued again (they resume from their journal). */
  requeued: string[];
  /** Rollouts whose live state Redis had lost or left behind the journal, written again from it. */
  restored: string[];
}

/** How many of the newest journals are compared with Redis. */
const RECENT_JOURNALS = 50;

/**
 * Puts back into Redis what it lost of the host's recent rollouts, from their journals (the record of what
 * was done, fsync'd before every step): after an asynchronous-replication failover that dropped the last
 * writes, or a Redis that came back empty. An unfinished rollout gets its event and its job again, and
 * resumes from its journal: no container is restarted twice. Safe to run at any time: what Redis has is kept.
 */
export async function recoverFromJournal(o: { redis: Redis; queues: Pick<Queues, "rollouts">; config: Config; logger: Logger }): Promise<JournalRecovery> {
  const { redis, config } = o;
  const store = new RolloutStore(redis, config);
  const events = new EventStore(redis, config);
  const result: JournalRecovery = { requeued: [], restored: [] };
  for (const id of listJournals(config.journalDir, config.hostId).slice(-RECENT_JOURNALS)) {
    const entries = readJournal(journalFile(config, id)).entries;
    const found = eventOfJournal(entries);
    if (found === undefined) continue;
    const { event, merged } = found;
    const journal = journalState(entries);
    const saved = await store.get(id);
    const finished = journal.ended !== undefined || entries.some((e) => e.type === "rollout.merged");
    if (saved === undefined || (journal.ended !== undefined && saved.status !== journal.ended)) {
      const state = stateFromJournal(entries, event.id, changedPackages({ packages: combinePackages([event, ...merged]) }, config));
      if (state !== undefined && saved?.status !== "merged") {
        await store.save(saved?.mergedInto !== undefined ? { ...state, mergedInto: saved.mergedInto } : state);
        result.restored.push(id);
      }
    }
    if (finished || journal.plan === undefined) continue;
    if ((await events.getEvent(event.id)) === undefined) await events.saveEvent(event);
    await events.claimRollout(event.id, id);
    const attempt = journal.retried ?? 0;
    const job = await o.queues.rollouts.getJob(rolloutJobId(id, attempt));
    if (job === undefined) {
      await enqueueRollout(o.queues, { eventId: event.id, rolloutId: id }, attempt);
      result.requeued.push(id);
    }
  }
  if (result.requeued.length + result.restored.length > 0) o.logger.warn({ ...result }, "Redis had lost rollouts the journal holds; put them back from the journal");
  return result;
}
