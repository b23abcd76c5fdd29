import type { EventSource, PackageChange, UuDetails } from "./apt-event.js";
import type { DpkgChangeGroup } from "./dpkg-log/changes.js";
import { compareDebianVersions } from "./debian-version.js";
import { assembleEvent, runIsUnattended } from "./assemble.js";
import type { SpoolRecord } from "./spool-record.js";
import type { UuOutcome, UuRun } from "./uu-log/run.js";
import { bareName } from "./uu-log/run.js";

/**
 * What one source says about one apt run, before it is matched with what the others said
 * (src/intake/correlate.ts): the hook's records of a run, one unattended-upgrades run from its log, or
 * one group of dpkg.log lines.
 */
export interface ChangeReport {
  source: EventSource;
  /** Names the report within its source: the run key (hook), the run's start (uu-log), the group's first line (reconcile). */
  key: string;
  /** When the run started, ISO 8601. */
  time: string;
  /** When it ended, ISO 8601, if known. */
  endedAt?: string;
  packages: PackageChange[];
  /** reconcile: every change dpkg made, in order (the group may join two apt runs; `packages` is the net). */
  steps?: PackageChange[];
  /** hook: unattended-upgrades ran it; uu-log: always true. */
  unattended?: boolean;
  /** hook: the apt command line. */
  commandLine?: string;
  /** uu-log: the verdict and the rest of what the log says. */
  uu?: { outcome: UuOutcome; details: UuDetails; names: string[] };
}

/** The hook's report of one apt run: its spool records (one run key). Pure. */
export function hookReport(records: SpoolRecord[], host: string): ChangeReport {
  const event = assembleEvent(records, host);
  const commandLine = records.find((r) => r.commandLine !== undefined)?.commandLine;
  return {
    source: "hook",
    key: records[0]!.runKey,
    time: event.time,
    ...(event.endedAt === undefined ? {} : { endedAt: event.endedAt }),
    packages: event.packages,
    unattended: runIsUnattended(records),
    ...(commandLine === undefined ? {} : { commandLine }),
  };
}

/** The report of one group of dpkg.log changes. Pure. */
export function reconcileReport(group: DpkgChangeGroup): ChangeReport {
  return { source: "reconcile", key: `${group.time}@${group.ref.file}:${group.ref.lineNo ?? 0}`, time: group.time, endedAt: group.endedAt, packages: group.packages, steps: group.steps };
}

/**
 * Every package an unattended-upgrades run names: to be upgraded, set up, unpacked or auto-removed
 * (bare names: u-u leaves out the architecture, dpkg's output sometimes has it).
 */
export function uuPackageNames(run: UuRun): string[] {
  const names = [...run.packages, ...run.dpkg.setUp, ...(run.dpkg.unpacked ?? []).map((u) => u.pkg), ...run.autoRemoved].map(bareName);
  return [...new Set(names)];
}

/**
 * The report of one unattended-upgrades run. Its versions come from the run's own dpkg output
 * ("Unpacking NAME (NEW) over (OLD)"), the architecture from the dpkg.log step of the same package and
 * version (`fromDpkgLog`: dpkg.log's changes during the run, src/intake/dpkg-log/window.ts), or "unknown".
 * A package the run names that its dpkg output lacks (that log lost or rotated away) takes its changes
 * from dpkg.log: first "from", last "to". A dry run changed nothing. Pure.
 */
export function uuReport(run: UuRun, fromDpkgLog: readonly PackageChange[]): ChangeReport {
  const names = uuPackageNames(run);
  const packages: PackageChange[] = [];
  if (!run.dryRun) {
    for (const u of run.dpkg.unpacked ?? []) {
      const name = bareName(u.pkg);
      if (packages.some((p) => p.name === name)) continue;
      const logged = fromDpkgLog.find((p) => p.name === name && p.to === u.version);
      const arch = u.pkg.includes(":") ? u.pkg.slice(u.pkg.indexOf(":") + 1) : (logged?.arch ?? "unknown");
      const from = u.from ?? null;
      packages.push({ name, arch, from, to: u.version, action: actionBetween(from, u.version) });
    }
    for (const name of names.filter((n) => !packages.some((p) => p.name === n))) {
      const steps = fromDpkgLog.filter((p) => p.name === name);
      const first = steps[0];
      const last = steps.at(-1);
      if (first === undefined || last === undefined) continue;
      packages.push({ ...last, from: first.from, action: last.to === null ? "remove" : actionBetween(first.from, last.to) });
    }
  }
  const details: UuDetails = {
    startedAt: run.startedAt,
    ...(run.endedAt === undefined ? {} : { endedAt: run.endedAt }),
    origins: run.origins,
    keptBack: run.keptBack,
    rebootRequired: run.rebootRequired,
  };
  return {
    source: "uu-log",
    key: run.startedAt,
    time: run.startedAt,
    ...(run.endedAt === undefined ? {} : { endedAt: run.endedAt }),
    packages,
    unattended: true,
    uu: { outcome: run.outcome, details, names },
  };
}

function actionBetween(from: string | null, to: string): PackageChange["action"] {
  if (from === null) return "install";
  const cmp = compareDebianVersions(to, from);
  return cmp > 0 ? "upgrade" : cmp < 0 ? "downgrade" : "reinstall";
}
