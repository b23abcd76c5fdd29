import { createHash, randomBytes } from "node:crypto";
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { readProcStat } from "../proc/proc-stat.js";

/** How deep takeovers of takeovers go (each level needs a taker killed mid-takeover) before giving up. */
const MAX_TAKEOVER_DEPTH = 4;

/**
 * The first line of a lock file: pid, start time (pids are reused) and a nonce, so no two lock files
 * ever read the same, then what holds it.
 */
export function lockText(what: string): string {
  return `${process.pid} ${startTimeOf(process.pid) ?? "?"} ${randomBytes(6).toString("hex")}\n${what}\n`;
}

/** The holder a lock file names: its pid and what it said it was doing; undefined when unreadable. */
export function lockHolder(text: string | undefined): { pid: number; started: string; what: string } | undefined {
  if (text === undefined) return undefined;
  const [first = "", what = "?"] = text.split("\n");
  const [pidText = "", started = "?"] = first.split(" ");
  const pid = Number.parseInt(pidText, 10);
  return Number.isInteger(pid) && pid > 0 ? { pid, started, what } : undefined;
}

/** Whether the process a lock file names still runs: same pid and, when recorded, same start time. */
export function holderAlive(text: string | undefined): boolean {
  const holder = lockHolder(text);
  return holder !== undefined && processAlive(holder.pid, holder.started);
}

/** Whether `pid` runs and started at `started` (clock ticks after boot, as `startTimeOf`; "?" when unknown). */
export function processAlive(pid: number, started: string): boolean {
  const now = startTimeOf(pid);
  return now !== undefined && (started === "?" || now === started);
}

/** The start time of a process (field 22 of `/proc/PID/stat`, clock ticks since boot), undefined when it does not exist. */
export function startTimeOf(pid: number): string | undefined {
  return readProcStat(pid)?.startTicks.toString();
}

export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * Takes the lock file `lockPath` with `text` (from `lockText`), taking it over from a holder that died;
 * false when a live process holds it or is taking it over. The file is written in full under a private
 * name, then hard-linked into place, so no one sees a half-written lock.
 *
 * Taking over never reads, compares, then unlinks (another may have replaced the stale file in between,
 * and its live lock would go). The taker of a stale lock first takes a claim on that very file — a lock
 * file named after the hash of its text, taken the same way, so one taker at a time — and then renames
 * its claim over the lock. A stale lock changes only by its claim holder, so while holding the claim the
 * lock still is the stale one it judged, or already gone. A taker killed while holding a claim leaves a
 * stale claim, taken over the same way one level down.
 *
 * `onTakeOver`, when given, is called with the text of the stale lock once it has been replaced (what the
 * dead holder left running is then the taker's to deal with).
 */
export function tryTakeLockFile(lockPath: string, text: string, onTakeOver?: (stale: string) => void): boolean {
  const mine = `${lockPath}.${process.pid}.${randomBytes(4).toString("hex")}`;
  writeFileSync(mine, text, { mode: 0o600 });
  try {
    return take(lockPath, mine, 0, onTakeOver);
  } finally {
    unlinkSync(mine);
  }
}

/** Removes the lock file only while it says `text`: it is ours, and no one replaces a live holder's. */
export function unlinkIfMine(lockPath: string, text: string): void {
  if (readText(lockPath) !== text) return;
  try {
    unlinkSync(lockPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

function take(path: string, mine: string, depth: number, onTakeOver?: (stale: string) => void): boolean {
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      linkSync(mine, path);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const stale = readText(path);
    if (stale === undefined) continue; // Released meanwhile.
    if (holderAlive(stale) || depth >= MAX_TAKEOVER_DEPTH) return false;
    // The holder died without letting go: claim this very file, then put ours in its place.
    const claim = `${path}~${createHash("sha256").update(stale).digest("hex").slice(0, 16)}`;
    if (!take(claim, mine, depth + 1)) return false;
    if (readText(path) === stale) {
      renameSync(claim, path);
      onTakeOver?.(stale);
      return true;
    }
    // Another taker replaced it before we got the claim: let the claim go, and look again.
    unlinkSync(claim);
  }
  return false;
}
