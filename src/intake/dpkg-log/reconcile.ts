import { readJsonFile, writeJsonAtomic } from "../tail/atomic-json.js";
import type { FollowedLine, ParseWarning } from "../tail/line.js";
import { changeGroups, type DpkgChangeGroup } from "./changes.js";
import { DpkgCheckpoint, hashLine } from "./checkpoint.js";
import { readLogLines, rotatedLogFiles, stampOf } from "./log-files.js";
import { groupDpkgRuns, parseDpkgLogLine, type DpkgLogEntry } from "./parse.js";

/** Options of {@link reconcileDpkgLog}. */
export interface ReconcileOptions {
  /** The live log, usually /var/log/dpkg.log; its rotated files (`.1`, `.2.gz`, ...) are read too. */
  logPath: string;
  /** JSON file holding the {@link DpkgCheckpoint}. */
  checkpointFile: string;
  /**
   * Ignore lines older than this. Without a checkpoint it says where to begin; without both, the first
   * call is a baseline: it returns nothing and `commit()` records the current end of the log.
   */
  since?: Date | undefined;
  /** See {@link ChangeGroupOptions.joinGapSeconds}. Default 30. */
  joinGapSeconds?: number | undefined;
  /** A last group younger than this may still be growing (dpkg running): it is left for next time. Default 60. */
  settleSeconds?: number | undefined;
  /** Clock for `settleSeconds`. Default `() => new Date()`. */
  now?: (() => Date) | undefined;
}

/** What {@link reconcileDpkgLog} found; nothing is marked seen until `commit()`. */
export interface ReconcileResult {
  /** Package changes not yet seen, oldest first; groups without package changes are left out. */
  groups: DpkgChangeGroup[];
  /** Lines that could not be read as dpkg.log records, and checkpoint trouble; file and line named. */
  warnings: ParseWarning[];
  /** True when there was no checkpoint and no `since`: nothing returned, the current end is the baseline. */
  baseline: boolean;
  /** The checkpoint `commit()` writes. */
  next: DpkgCheckpoint;
  /** Marks everything returned as seen (atomic write). Call after the groups are safely enqueued. */
  commit(): Promise<void>;
}

/**
 * Reads dpkg.log and its rotated files from the last checkpoint and returns the package changes made
 * since, grouped per apt run. Catches what the apt hook missed (patchroll down, hook not installed,
 * dpkg run by hand). The checkpoint advances only on `commit()`, so a crash between reading and
 * enqueueing loses nothing (the groups come back next time).
 */
export async function reconcileDpkgLog(options: ReconcileOptions): Promise<ReconcileResult> {
  const warnings: ParseWarning[] = [];
  const cp = await loadCheckpoint(options.checkpointFile, warnings);
  const sinceStamp = options.since === undefined ? undefined : localStamp(options.since);
  const baseline = cp === undefined && sinceStamp === undefined;
  // How far back to read: to the checkpoint or `since`; everything when the checkpoint says so; for a
  // baseline only far enough to know the last line.
  const boundary = cp === undefined ? sinceStamp : cp.stamp === "" ? (sinceStamp ?? "") : maxStamp(cp.stamp, sinceStamp);
  const lines = await readBack(options.logPath, boundary);

  let start = 0;
  if (cp !== undefined && cp.stamp !== "") start = locate(lines, cp, warnings, options.logPath);
  if (sinceStamp !== undefined) {
    const i = lines.findIndex((l) => (l.stamp ?? "") >= sinceStamp);
    start = Math.max(start, i < 0 ? lines.length : i);
  }
  if (baseline) start = lines.length;

  const entries: DpkgLogEntry[] = [];
  for (const l of lines.slice(start)) {
    const p = parseDpkgLogLine(l.line, l);
    if (p.entry) entries.push(p.entry);
    else warnings.push(p.warning);
  }
  const { groups, warnings: groupWarnings } = changeGroups(groupDpkgRuns(entries), { joinGapSeconds: options.joinGapSeconds });
  warnings.push(...groupWarnings);

  // A trailing group that is still young may be an apt run in progress: leave it and its lines for next time.
  let end = lines.length;
  const last = groups[groups.length - 1];
  const now = (options.now ?? (() => new Date()))().getTime();
  if (last !== undefined && now - Date.parse(last.endedAt) < (options.settleSeconds ?? 60) * 1000) {
    groups.pop();
    end = lines.findIndex((l) => l.file === last.ref.file && l.lineNo === last.ref.lineNo);
  }
  const next = identityBefore(lines, end) ?? cp ?? { v: 1 as const, stamp: "", seq: 0, lineSha256: "", committedAt: "" };
  return {
    groups: groups.filter((g) => g.packages.length > 0),
    warnings,
    baseline,
    next,
    commit: () => writeJsonAtomic(options.checkpointFile, { ...next, committedAt: new Date().toISOString() }),
  };
}

interface StampedLine extends FollowedLine {
  stamp: string | undefined;
}

/**
 * Lines of the log and as many rotated files as needed to reach back before `boundary` (all of them
 * for ""; for undefined, far enough for the newest line), oldest first.
 */
async function readBack(logPath: string, boundary: string | undefined): Promise<StampedLine[]> {
  const chunks: StampedLine[][] = [];
  let bound = boundary;
  for (const file of await rotatedLogFiles(logPath)) {
    const lines = (await readLogLines(file)).map((l) => ({ ...l, stamp: stampOf(l.line) }));
    chunks.unshift(lines);
    const stamps = lines.map((l) => l.stamp).filter((s): s is string => s !== undefined);
    // Baseline: the newest stamp found is the boundary; lines of that same second may sit in the older file.
    bound ??= stamps[stamps.length - 1];
    if (bound !== undefined && bound !== "" && stamps.length > 0 && stamps[0]! < bound) break;
  }
  return chunks.flat();
}

/** Index just after the checkpoint line; falls back to the first later timestamp, with a warning. */
function locate(lines: StampedLine[], cp: DpkgCheckpoint, warnings: ParseWarning[], logPath: string): number {
  let seen = 0;
  for (let i = 0; i < lines.length; i++) {
    const s = lines[i]!.stamp;
    if (s === undefined || s < cp.stamp) continue;
    if (s > cp.stamp) break;
    if (seen++ === cp.seq) {
      if (hashLine(lines[i]!.line) === cp.lineSha256) return i + 1;
      break;
    }
  }
  const after = lines.findIndex((l) => l.stamp !== undefined && l.stamp > cp.stamp);
  warnings.push({
    file: logPath,
    message: `${logPath}: the line of the checkpoint (${cp.stamp} #${cp.seq}) is not where expected (log rewritten or rotated files removed); continuing after ${cp.stamp}`,
  });
  return after < 0 ? lines.length : after;
}

/** Checkpoint identity of the last stamped line before index `end`. */
function identityBefore(lines: StampedLine[], end: number): DpkgCheckpoint | undefined {
  for (let i = end - 1; i >= 0; i--) {
    const stamp = lines[i]!.stamp;
    if (stamp === undefined) continue;
    let seq = 0;
    for (let j = 0; j < i; j++) if (lines[j]!.stamp === stamp) seq++;
    return { v: 1, stamp, seq, lineSha256: hashLine(lines[i]!.line), committedAt: "" };
  }
  return undefined;
}

async function loadCheckpoint(file: string, warnings: ParseWarning[]): Promise<DpkgCheckpoint | undefined> {
  const read = await readJsonFile(file, DpkgCheckpoint);
  if (read.kind === "ok") return read.value;
  if (read.kind === "invalid") warnings.push({ file, message: `${file}: unreadable dpkg.log checkpoint (${read.reason}); treating this as a first start` });
  return undefined;
}

function maxStamp(a: string, b: string | undefined): string {
  return b !== undefined && b > a ? b : a;
}

/** `YYYY-MM-DD HH:MM:SS` in local time, as dpkg writes it. */
function localStamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
