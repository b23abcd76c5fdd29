import type { PackageChange } from "../apt-event.js";
import { changeGroups } from "./changes.js";
import { readLogLines, rotatedLogFiles, stampOf } from "./log-files.js";
import { groupDpkgRuns, parseDpkgLogLine, type DpkgLogEntry } from "./parse.js";

/** `YYYY-MM-DD HH:MM:SS` in local time, as dpkg writes it. */
function localStamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * The changes dpkg.log (and its rotated files, as far back as needed) shows between two times, one per
 * install/upgrade/remove line, in order: what an apt run that left no hook records did, e.g. an
 * unattended-upgrades run seen only in its own log. dpkg.log has whole seconds, so the first second may
 * hold the end of an earlier run. Reads; never writes a checkpoint. Lines that are not dpkg.log records
 * are skipped.
 */
export async function dpkgChangesBetween(logPath: string, fromMs: number, toMs: number): Promise<PackageChange[]> {
  const from = localStamp(Math.floor(fromMs / 1000) * 1000);
  const to = localStamp(toMs);
  const entries: DpkgLogEntry[] = [];
  for (const file of await rotatedLogFiles(logPath)) {
    const lines = await readLogLines(file);
    const inside = lines.filter((l) => {
      const s = stampOf(l.line);
      return s !== undefined && s >= from && s <= to;
    });
    for (const l of inside.reverse()) {
      const parsed = parseDpkgLogLine(l.line, l);
      if (parsed.entry !== undefined) entries.push(parsed.entry);
    }
    const first = lines.map((l) => stampOf(l.line)).find((s) => s !== undefined);
    if (first !== undefined && first < from) break;
  }
  entries.reverse();
  const { groups } = changeGroups(groupDpkgRuns(entries), { joinGapSeconds: Number.MAX_SAFE_INTEGER / 1000 });
  return groups.flatMap((g) => g.steps);
}
