import { PackageChange } from "../apt-event.js";
import { warningAt, type LineRef, type ParseWarning } from "../tail/line.js";
import type { DpkgRun } from "./parse.js";
import { compareDebianVersions } from "./version-compare.js";

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

interface Track {
  name: string;
  arch: string;
  before: string | null;
  to: string | null;
  changedFiles: boolean;
  configuredOnly: boolean;
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
      let t = tracks.get(key);
      if (t === undefined) {
        // A purge that is not preceded by a remove only deletes the conffiles of a removed package.
        const notInstalled = e.action === "install" || e.action === "purge";
        t = { name: e.pkg, arch, before: notInstalled ? null : e.from, to: e.from, changedFiles: false, configuredOnly: e.action === "configure", ref: e.ref };
        tracks.set(key, t);
      }
      switch (e.action) {
        case "install":
        case "upgrade":
          t.to = e.to;
          t.changedFiles = true;
          t.configuredOnly = false;
          break;
        case "remove":
        case "purge":
          t.to = null;
          t.changedFiles = true;
          t.configuredOnly = false;
          break;
        case "configure":
          break;
      }
    }
  }
  const packages: PackageChange[] = [];
  for (const t of tracks.values()) {
    const change = netChange(t);
    if (change === undefined) continue;
    const ok = PackageChange.safeParse(change);
    if (ok.success) packages.push(ok.data);
    else warnings.push(warningAt(t.ref, `package change not representable (${ok.error.issues[0]?.message ?? "invalid"})`, `${t.name}:${t.arch}`));
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
    const cmp = from === null ? 1 : compareDebianVersions(to, from);
    change = { name, arch, from, to, action: from === null ? "install" : cmp > 0 ? "upgrade" : cmp < 0 ? "downgrade" : "reinstall" };
  } else return undefined;
  return PackageChange.safeParse(change).success ? change : undefined;
}

function netChange(t: Track): PackageChange | undefined {
  const base = { name: t.name, arch: t.arch, from: t.before, to: t.to };
  if (t.configuredOnly) return { ...base, to: t.before, action: "configure" };
  if (!t.changedFiles) return undefined;
  if (t.to === null) return t.before === null ? undefined : { ...base, action: "remove" };
  if (t.before === null) return { ...base, action: "install" };
  const cmp = compareDebianVersions(t.to, t.before);
  return { ...base, action: cmp > 0 ? "upgrade" : cmp < 0 ? "downgrade" : "reinstall" };
}
