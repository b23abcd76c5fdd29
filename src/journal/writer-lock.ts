import { randomBytes } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** The one writer of a journal: held while appending, released once. */
export interface JournalLock {
  readonly file: string;
  release(): void;
}

/** The lock file of a journal: `ROLLOUT.jsonl.lock` (retention and listings only look at `.jsonl` and `.jsonl.gz`). */
export function lockPathOf(journalFile: string): string {
  return `${journalFile}.lock`;
}

/**
 * Takes the writer lock of a journal, or returns undefined when a live process holds it. A journal has one
 * writer at a time: the rollout's runner for as long as it runs, or else whoever journals an operator's
 * control; each reads the last `seq` from the file after taking the lock, so numbers never repeat. The
 * lock file holds the holder's pid and start time (pids are reused); one left by a process that died
 * (kill -9) is taken over. Within one process the lock is not reentrant: a second taker gets undefined.
 */
export function tryLockJournal(journalFile: string, what: string): JournalLock | undefined {
  const lockPath = lockPathOf(journalFile);
  const me = `${process.pid} ${startTimeOf(process.pid) ?? "?"}\n${what}\n`;
  // Written in full under a private name, then hard-linked into place: no one sees a half-written lock.
  const mine = `${lockPath}.${process.pid}.${randomBytes(4).toString("hex")}`;
  mkdirSync(dirname(lockPath), { recursive: true, mode: 0o750 });
  writeFileSync(mine, me, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        linkSync(mine, lockPath);
        return { file: journalFile, release: once(() => unlinkIfMine(lockPath, me)) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      if (holderAlive(lockPath)) return undefined;
      // The holder died without letting go: take the lock over.
      unlinkIfMine(lockPath, readText(lockPath));
    }
    return undefined;
  } finally {
    unlinkSync(mine);
  }
}

/** Waits (polling) for the writer lock of a journal; undefined when `waitMs` passes first. */
export async function lockJournal(journalFile: string, what: string, waitMs: number): Promise<JournalLock | undefined> {
  const deadline = Date.now() + waitMs;
  for (let pause = 5; ; pause = Math.min(200, pause * 2)) {
    const lock = tryLockJournal(journalFile, what);
    if (lock !== undefined || Date.now() > deadline) return lock;
    await new Promise((r) => setTimeout(r, pause));
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) fn();
    done = true;
  };
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Removes the lock file only while it still says what we read (another may have taken it over since). */
function unlinkIfMine(lockPath: string, expected: string | undefined): void {
  if (expected === undefined || readText(lockPath) !== expected) return;
  try {
    unlinkSync(lockPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

function holderAlive(lockPath: string): boolean {
  const text = readText(lockPath);
  if (text === undefined) return false;
  const [pidText = "", started = "?"] = (text.split("\n")[0] ?? "").split(" ");
  const pid = Number.parseInt(pidText, 10);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const now = startTimeOf(pid);
  return now !== undefined && (started === "?" || now === started);
}

/**
 * The start time of a process (field 22 of `/proc/PID/stat`, clock ticks since boot), undefined when it
 * does not exist. The name in field 2 may hold spaces and parentheses, so fields are counted after its
 * last ")" (proc(5)).
 */
function startTimeOf(pid: number): string | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
}
