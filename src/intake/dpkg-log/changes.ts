import { PackageChange } from "../apt-event.js";
import { actionBetween, leavesNoTrace, netChange } from "../package-change.js";
import { warningAt, type LineRef, type ParseWarning } from "../tail/line.js";
import type { DpkgRun } from "./parse.js";

/** Package changes of consecutive dpkg invocations that belong together (one apt run, as far as dpkg.log tells). */
export interface DpkgChangeGroup {
  /** ISO 8601 of the first invocation's startup line. */
  time: string;
  /** ISO 8601 of the group's last line. */
  endedAt: string;
  /** Net change per package over the group, in the order dpkg first touched them. */
  packages: PackageChange[];
  /**
   * Every change dpkg made, one per install, upgrade, remove or purge line, in order: the group may join
   * two apt runs (installed, then upgraded), which the net change alone would hide.
   */
  steps: PackageChange[];
  /** How many dpkg invocations the group spans. */
  runs: number;
  /** Where the group starts. */
  ref: LineRef;
}

/** Options of {@link changeGroups}. */
export interface ChangeGroupOptions {
  /**
   * apt runs dpkg several times per run (unpack, configure, again for the next batch), seconds apart:
   * an invocation starting at most this many seconds after the previous one's last line joins its group.
   * Default 30 (measured on this machine: gaps within one apt run up to 12 s).
   */
  joinGapSeconds?: number | undefined;
}

/** What dpkg did to one package in a group: each line as a change (not yet validated), and where it starts. */
interface Track {
  changes: [PackageChange, ...PackageChange[]];
  ref: LineRef;
}

/** Joins dpkg runs into groups and works out each package's net change. Pure. */
export function changeGroups(runs: readonly DpkgRun[], options: ChangeGroupOptions = {}): { groups: DpkgChangeGroup[]; warnings: ParseWarning[] } {
  const gapMs = (options.joinGapSeconds ?? 30) * 1000;
  const warnings: ParseWarning[] = [];
  const out: DpkgChangeGroup[] = [];
  let members: DpkgRun[] = [];
  let lastTime = 0;
  const flush = (): void => {
    if (members.length > 0) out.push(summarize(members, warnings));
    members = [];
  };
  for (const run of runs) {
    const start = Date.parse(run.time);
    if (members.length > 0 && start - lastTime > gapMs) flush();
    members.push(run);
    const last = run.entries[run.entries.length - 1];
    lastTime = Date.parse(last?.time ?? run.time);
  }
  flush();
  return { groups: out, warnings };
}

function summarize(runs: DpkgRun[], warnings: ParseWarning[]): DpkgChangeGroup {
  const tracks = new Map<string, Track>();
  const steps: PackageChange[] = [];
  let endedAt = runs[0]!.time;
  for (const run of runs) {
    for (const e of run.entries) {
      endedAt = e.time;
      if (e.kind !== "action" || e.action === "trigproc") continue;
      const arch = e.arch ?? "unknown";
      const step = stepOf(e.pkg, arch, e.action, e.from, e.to);
      if (step !== undefined) steps.push(step);
      const key = `${e.pkg}:${arch}`;
      const t = tracks.get(key);
      const change = lineChange(e.pkg, arch, e.action, e.from, e.to, t?.changes.at(-1));
      if (t === undefined) tracks.set(key, { changes: [change], ref: e.ref });
      else t.changes.push(change);
    }
  }
  const packages: PackageChange[] = [];
  for (const t of tracks.values()) {
    const change = netChange(t.changes);
    if (leavesNoTrace(change)) continue;
    const ok = PackageChange.safeParse(change);
    if (ok.success) packages.push(ok.data);
    else warnings.push(warningAt(t.ref, `package change not representable (${ok.error.issues[0]?.message ?? "invalid"})`, `${change.name}:${change.arch}`));
  }
  return { time: runs[0]!.time, endedAt, packages, steps, runs: runs.length, ref: runs[0]!.ref };
}

/** The change one install/upgrade/remove/purge line records; undefined for configure lines and what the schema refuses. */
function stepOf(name: string, arch: string, action: string, from: string | null, to: string | null): PackageChange | undefined {
  let change: PackageChange;
  if (action === "remove" || action === "purge") {
    if (from === null) return undefined; // a purge after a remove only deletes conffiles
    change = { name, arch, from, to: null, action: "remove" };
  } else if (action === "install" || action === "upgrade") {
    if (to === null) return undefined;
    change = { name, arch, from, to, action: actionBetween(from, to) };
  } else return undefined;
  return PackageChange.safeParse(change).success ? change : undefined;
}

/**
 * One action line as the change its package went through, for the net change of the group. An install
 * line starts from nothing (a package in config-files state has an old version but no files), and so
 * does a purge the group saw no remove of (it only deletes the conffiles of a removed package); a
 * configure line keeps the version the package is at.
 */
function lineChange(name: string, arch: string, action: string, from: string | null, to: string | null, before: PackageChange | undefined): PackageChange {
  switch (action) {
    case "install":
      return { name, arch, from: null, to, action: actionBetween(null, to) };
    case "remove":
    case "purge":
      return { name, arch, from: action === "purge" && before === undefined ? null : from, to: null, action: "remove" };
    case "configure": {
      const at = before === undefined ? from : before.to;
      return { name, arch, from: at, to: at, action: "configure" };
    }
    default:
      return { name, arch, from, to, action: actionBetween(from, to) };
  }
}
