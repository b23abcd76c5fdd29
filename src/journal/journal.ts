import { closeSync, existsSync, fsync, fsyncSync, mkdirSync, openSync, readdirSync, readSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { type EntryData, type EntryType, JOURNAL_VERSION, JournalEntry, type JournalInput } from "./entry.js";
import { COMPRESSED_EXT, compressedPathOf, inflateJournal, JOURNAL_EXT, readJournalText } from "./journal-file.js";
import { fsyncDirSync } from "../fs/durable-file.js";

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
    this.file = join(dir, `${rollout}${JOURNAL_EXT}`);
    // Retention compressed it, and now someone acts on the rollout again: carry on in the plain file.
    if (!existsSync(this.file) && existsSync(compressedPathOf(this.file))) inflateJournal(this.file);
    if (existsSync(this.file)) sealTornLine(this.file);
    this.seq = readJournal(this.file).entries.reduce((max, e) => Math.max(max, e.seq), 0);
  }

  /**
   * Writes one entry of a type this version knows and fsyncs it; returns the entry as written. A journal
   * that is not streaming (no {@link write} since it was opened or closed) opens the file for this line
   * only, so one-off writers (an operator's control, a merge note) leave no descriptor behind.
   */
  append<T extends EntryType>(type: T, data: EntryData<T>, container?: string): JournalEntry {
    return this.appendAsWritten(input(type, data, container));
  }

  /**
   * {@link append} for an entry of any type, as given: for a tool that copies entries, or a test playing an
   * older or newer writer. The rollout engine uses the typed {@link append} and {@link write}.
   */
  appendAsWritten(input: JournalInput): JournalEntry {
    if (this.fd !== undefined) {
      const entry = this.writeAsWritten(input);
      fsyncSync(this.fd);
      this.synced = this.written;
      return entry;
    }
    const entry = this.next(input);
    const created = !existsSync(this.file);
    const fd = openSync(this.file, "a", 0o640);
    try {
      writeSync(fd, `${JSON.stringify(entry)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    // A new file's name is only durable once its directory is synced too.
    if (created) fsyncDirSync(join(this.file, ".."));
    this.seq = entry.seq;
    return entry;
  }

  /**
   * Writes one line without waiting for the disk and returns the entry; {@link flush} makes it durable.
   * The restart steps write their `step.begin` line, then await `flush()` before they act: write-ahead,
   * with the fsyncs of containers restarting side by side shared (group commit) and off the event loop.
   * The file stays open until {@link close}.
   */
  write<T extends EntryType>(type: T, data: EntryData<T>, container?: string): JournalEntry {
    return this.writeAsWritten(input(type, data, container));
  }

  private writeAsWritten(input: JournalInput): JournalEntry {
    const entry = this.next(input);
    writeSync(this.handle(), `${JSON.stringify(entry)}\n`);
    this.seq = entry.seq;
    this.written++;
    return entry;
  }

  private next(input: JournalInput): JournalEntry {
    return { v: JOURNAL_VERSION, seq: this.seq + 1, ts: this.now().toISOString(), host: this.host, rollout: this.rollout, ...input, data: input.data ?? {} };
  }

  /** Resolves once every line written so far is on disk. Concurrent callers share one fsync. */
  async flush(): Promise<void> {
    while (this.synced < this.written) {
      if (this.syncing === undefined) {
        const upTo = this.written;
        const fd = this.handle();
        this.syncing = new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve()))).then(() => {
          this.synced = Math.max(this.synced, upTo);
        });
        this.syncing.finally(() => (this.syncing = undefined)).catch(() => {});
      }
      await this.syncing;
    }
  }

  /** Closes the file; a later write opens it again. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private fd: number | undefined;
  private written = 0;
  private synced = 0;
  private syncing: Promise<void> | undefined;

  private handle(): number {
    if (this.fd === undefined) {
      const created = !existsSync(this.file);
      this.fd = openSync(this.file, "a", 0o640);
      // A new file's name is only durable once its directory is synced too.
      if (created) fsyncDirSync(join(this.file, ".."));
    }
    return this.fd;
  }

  entries(): JournalEntry[] {
    return readJournal(this.file).entries;
  }
}

function input<T extends EntryType>(type: T, data: EntryData<T>, container: string | undefined): JournalInput {
  return { type, ...(container !== undefined ? { container } : {}), data };
}

/**
 * Ends a torn last line (a write cut short by a crash) with a newline, so the next entry starts on a line of
 * its own instead of being glued to the fragment and lost with it. The fragment stays, and is reported.
 */
function sealTornLine(file: string): void {
  const size = statSync(file).size;
  if (size === 0) return;
  const fd = openSync(file, "r+");
  try {
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    if (last[0] === 0x0a) return;
    writeSync(fd, "\n", size);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface JournalRead {
  entries: JournalEntry[];
  /** Lines that could not be read, with their line number; a torn last line after a crash shows here. */
  problems: { line: number; reason: string }[];
  /** The line number of each entry, in the same order (for messages that point into the file). */
  lines?: number[];
}

/** Reads a journal (plain, or compressed by retention), tolerating a torn last line and reporting every unreadable one. */
export function readJournal(file: string): JournalRead {
  return parseJournalText(readJournalText(file) ?? "");
}

/** Parses journal text (pure): one entry per line, every unreadable line reported with its number. */
export function parseJournalText(text: string): JournalRead {
  const entries: JournalEntry[] = [];
  const problems: JournalRead["problems"] = [];
  const numbers: number[] = [];
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    if (line === "") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      const reason = i === lines.length - 1
        ? "torn last line (write interrupted)"
        : "not JSON (a write torn by a crash that the writer continued after, or damage)";
      problems.push({ line: i + 1, reason });
      return;
    }
    const result = JournalEntry.safeParse(parsed);
    if (result.success) {
      entries.push(result.data);
      numbers.push(i + 1);
    } else problems.push({ line: i + 1, reason: result.error.issues.map((x) => `${x.path.join(".")}: ${x.message}`).join("; ") });
  });
  return { entries, problems, lines: numbers };
}

/** Rollout ids with a journal for `host` (plain or compressed), oldest first by name (ids sort by time). */
export function listJournals(journalDir: string, host: string): string[] {
  const dir = join(journalDir, host);
  if (!existsSync(dir)) return [];
  const ids = new Set<string>();
  for (const f of readdirSync(dir)) {
    if (f.endsWith(JOURNAL_EXT)) ids.add(f.slice(0, -JOURNAL_EXT.length));
    else if (f.endsWith(COMPRESSED_EXT)) ids.add(f.slice(0, -COMPRESSED_EXT.length));
  }
  return [...ids].sort();
}
