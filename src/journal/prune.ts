import { existsSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/schema.js";
import { compressedPathOf, compressJournal, JOURNAL_EXT } from "./journal-file.js";
import { fsyncDirSync } from "../fs/durable-file.js";
import { listJournals, readJournal } from "./journal.js";
import { type JournalAge, planRetention, type RetentionPlan } from "./retention.js";
import { finalEnd } from "./verify.js";

/** What `pruneJournals` did (or, with `dryRun`, would do). */
export interface PruneResult extends RetentionPlan {
  host: string;
  dryRun: boolean;
  /** Compressions put off because the journal grew meanwhile; the next run retries them. */
  deferred: string[];
}

/** Reads what retention needs of every journal of `host`. */
export function journalAges(journalDir: string, host: string): JournalAge[] {
  return listJournals(journalDir, host).map((rollout) => {
    const plain = join(journalDir, host, `${rollout}${JOURNAL_EXT}`);
    const compressed = !existsSync(plain);
    const { entries } = readJournal(plain);
    const last = entries.at(-1)?.ts;
    const lastAt = last !== undefined && !Number.isNaN(Date.parse(last)) ? new Date(last) : statSync(compressed ? compressedPathOf(plain) : plain).mtime;
    return { rollout, compressed, finished: finalEnd(entries) !== undefined, lastAt };
  });
}

/**
 * Applies the retention policy to the journals of `host`: compresses old finished ones, deletes those past
 * retention (never an unfinished one, never the newest `keepMin`). Safe to run at any time and repeatedly.
 */
export function pruneJournals(journalDir: string, host: string, policy: Config["journal"], opts: { now?: Date; dryRun?: boolean } = {}): PruneResult {
  const plan = planRetention(journalAges(journalDir, host), policy, opts.now ?? new Date());
  const result: PruneResult = { host, dryRun: opts.dryRun === true, ...plan, deferred: [] };
  if (result.dryRun) return result;
  const dir = join(journalDir, host);
  for (const rollout of plan.remove) {
    const plain = join(dir, `${rollout}${JOURNAL_EXT}`);
    for (const f of [plain, compressedPathOf(plain)]) if (existsSync(f)) unlinkSync(f);
  }
  if (plan.remove.length > 0) fsyncDirSync(dir);
  for (const rollout of plan.compress) {
    if (!compressJournal(join(dir, `${rollout}${JOURNAL_EXT}`))) result.deferred.push(rollout);
  }
  result.compress = plan.compress.filter((r) => !result.deferred.includes(r));
  return result;
}
