import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, writeSync, existsSync } from "node:fs";
import { join } from "node:path";
import { JOURNAL_VERSION, JournalEntry, type JournalInput } from "./entry.js";

/**
 * Append-only, fsync'd journal of one rollout: `DIR/HOST/ROLLOUT.jsonl`. Every line is written and synced
 * BEFORE the action it announces (write-ahead), so the journal alone tells what was attempted even when the
 * process died half-way; reports are built from it, never from Redis.
 */
export class RolloutJournal {
  readonly file: string;
  private seq: number;

  constructor(
    journalDir: string,
    readonly host: string,
    readonly rollout: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    const dir = join(journalDir, host);
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    this.file = join(dir, `${rollout}.jsonl`);
    this.seq = existsSync(this.file) ? readJournal(this.file).entries.length : 0;
  }

  /** Writes one line and fsyncs it; returns the entry as written. */
  append(input: JournalInput): JournalEntry {
    const entry: JournalEntry = {
      v: JOURNAL_VERSION,
      seq: this.seq + 1,
      ts: this.now().toISOString(),
      host: this.host,
      rollout: this.rollout,
      ...input,
      data: input.data ?? {},
    };
    const fd = openSync(this.file, "a", 0o640);
    try {
      writeSync(fd, `${JSON.stringify(entry)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.seq = entry.seq;
    return entry;
  }

  entries(): JournalEntry[] {
    return readJournal(this.file).entries;
  }
}

export interface JournalRead {
  entries: JournalEntry[];
  /** Lines that could not be read, with their line number; a torn last line after a crash shows here. */
  problems: { line: number; reason: string }[];
}

/** Reads a journal file, tolerating a torn last line and reporting every unreadable one. */
export function readJournal(file: string): JournalRead {
  const text = existsSync(file) ? readFileSync(file, "utf8") : "";
  const entries: JournalEntry[] = [];
  const problems: JournalRead["problems"] = [];
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    if (line === "") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      problems.push({ line: i + 1, reason: i === lines.length - 1 ? "torn last line (write interrupted)" : "not JSON" });
      return;
    }
    const result = JournalEntry.safeParse(parsed);
    if (result.success) entries.push(result.data);
    else problems.push({ line: i + 1, reason: result.error.issues.map((x) => `${x.path.join(".")}: ${x.message}`).join("; ") });
  });
  return { entries, problems };
}

/** Rollout ids with a journal for `host`, oldest first by name (ids sort by time). */
export function listJournals(journalDir: string, host: string): string[] {
  const dir = join(journalDir, host);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".jsonl"))
    .map((f) => f.slice(0, -".jsonl".length))
    .sort();
}
