import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { CORRUPT_DIR } from "../intake/spool-ingest.js";
import { isSpoolRecordName } from "../intake/spool-record.js";

/** What waits in the spool dir: records the daemon has not taken into Redis yet. */
export interface SpoolBacklog {
  dir: string;
  /** Records waiting (`*.rec`). */
  records: number;
  /** When the oldest waiting record was written (its mtime), ISO 8601; absent when none waits. */
  oldestAt?: string;
  /** Seconds since `oldestAt`. */
  oldestAgeSec?: number;
  /** Records that could not be parsed, kept in `corrupt/`. */
  corrupt: number;
  /** Set when the dir cannot be read (missing, permissions). */
  error?: string;
}

function countFiles(dir: string): number {
  try {
    return readdirSync(dir).length;
  } catch {
    return 0;
  }
}

/** Counts the spool's waiting and corrupt records. Never throws. */
export function spoolBacklog(spoolDir: string, now: Date = new Date()): SpoolBacklog {
  let names: string[];
  try {
    names = readdirSync(spoolDir).filter(isSpoolRecordName);
  } catch (err) {
    // The hooks and the daemon create it on first use: a missing dir holds no backlog.
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { dir: spoolDir, records: 0, corrupt: 0 };
    return { dir: spoolDir, records: 0, corrupt: 0, error: (err as Error).message };
  }
  let oldest = Number.POSITIVE_INFINITY;
  let records = 0;
  for (const name of names) {
    try {
      oldest = Math.min(oldest, statSync(join(spoolDir, name)).mtimeMs);
      records++;
    } catch {
      // taken by the daemon meanwhile
    }
  }
  const out: SpoolBacklog = { dir: spoolDir, records, corrupt: countFiles(join(spoolDir, CORRUPT_DIR)) };
  if (records > 0) {
    out.oldestAt = new Date(oldest).toISOString();
    out.oldestAgeSec = Math.max(0, Math.round((now.getTime() - oldest) / 1000));
  }
  return out;
}
