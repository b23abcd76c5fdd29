import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { lockText, tryTakeLockFile, unlinkIfMine } from "../fs/lock-file.js";

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
 * (kill -9) is taken over, by one taker only (src/fs/lock-file.ts). Within one process the lock is not
 * reentrant: a second taker gets undefined.
 */
export function tryLockJournal(journalFile: string, what: string): JournalLock | undefined {
  const lockPath = lockPathOf(journalFile);
  const me = lockText(what);
  mkdirSync(dirname(lockPath), { recursive: true, mode: 0o750 });
  if (!tryTakeLockFile(lockPath, me)) return undefined;
  return { file: journalFile, release: once(() => unlinkIfMine(lockPath, me)) };
}

/** Waits (polling) for the writer lock of a journal; undefined when `waitMs` passes first. */
export async function lockJournal(journalFile: string, what: string, waitMs: number): Promise<JournalLock | undefined> {
  const deadline = Date.now() + waitMs;
  for (let pause = 5; ; pause = Math.min(200, pause * 2)) {
    const lock = tryLockJournal(journalFile, what);
    if (lock !== undefined || Date.now() > deadline) return lock;
    await sleep(pause);
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) fn();
    done = true;
  };
}
