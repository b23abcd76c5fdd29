import { PatchrollError } from "../errors/patchroll-error.js";
import { type AptEvent, EVENT_VERSION, type PackageChange } from "./apt-event.js";
import { netChanges } from "./package-change.js";
import type { SpoolRecord } from "./spool-record.js";

/** The AptEvent id of the apt run with this run key; the same run always gets the same id. */
export function eventId(runKey: string): string {
  return `apt-${runKey.replace(/[^A-Za-z0-9._-]/g, "_")}`;
}

function byTime(a: SpoolRecord, b: SpoolRecord): number {
  return a.time < b.time ? -1 : a.time > b.time ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Merges the packages of one run (unattended-upgrades runs dpkg several times, apt announces an unpack
 * and a configure line per package) into one net change each, in the order they first appear; the rule
 * is {@link netChanges}.
 */
export function mergePackages(changes: PackageChange[]): PackageChange[] {
  return netChanges(changes);
}

/**
 * Builds the AptEvent of one apt run from all its spool records (any order; they must share one run
 * key). `time` is the first record's, `endedAt` the last post-invoke record's. Pure.
 */
export function assembleEvent(records: SpoolRecord[], host: string): AptEvent {
  const first = records[0];
  if (first === undefined) throw new PatchrollError("INTERNAL", "assembleEvent needs at least one spool record");
  const foreign = records.find((r) => r.runKey !== first.runKey);
  if (foreign !== undefined) {
    throw new PatchrollError("INTERNAL", `assembleEvent got records of two apt runs (${first.runKey} and ${foreign.runKey}); group records by runKey first`);
  }
  const sorted = [...records].sort(byTime);
  const ended = sorted.filter((r) => r.kind === "post-invoke").at(-1);
  return {
    v: EVENT_VERSION,
    id: eventId(first.runKey),
    host,
    time: sorted[0]?.time ?? first.time,
    ...(ended === undefined ? {} : { endedAt: ended.time }),
    packages: mergePackages(sorted.flatMap((r) => r.packages)),
    origin: "unknown",
    sources: ["hook"],
  };
}

/** Groups records by run key, each group oldest first, groups in the order their first record came. */
export function groupByRun(records: SpoolRecord[]): Map<string, SpoolRecord[]> {
  const groups = new Map<string, SpoolRecord[]>();
  for (const record of [...records].sort(byTime)) {
    const group = groups.get(record.runKey);
    if (group === undefined) groups.set(record.runKey, [record]);
    else group.push(record);
  }
  return groups;
}

/** True when unattended-upgrades ran this apt run (any of its records says so). */
export function runIsUnattended(records: SpoolRecord[]): boolean {
  return records.some((r) => r.unattended);
}

/**
 * True when the apt run is over: dpkg finished at least once (a post-invoke record) and the apt process is
 * gone. unattended-upgrades runs dpkg several times, so a post-invoke record alone does not end a run.
 * A run whose apt process is gone without any post-invoke record (apt killed) is not finished by this
 * rule; dpkg.log reconciliation accounts for it.
 */
export function runFinished(records: SpoolRecord[], aptStillRunning: boolean): boolean {
  return !aptStillRunning && records.some((r) => r.kind === "post-invoke");
}
