import type { LineRef } from "../tail/line.js";
import type { UuDpkgBlock } from "./dpkg-blocks.js";

/** The verdict on one unattended-upgrades run. */
export interface UuOutcome {
  status: "ok" | "failed" | "partial";
  reason?: string;
}

/** One run of unattended-upgrade as its logs tell it. */
export interface UuRun {
  /** ISO 8601 of "Starting unattended upgrades script". */
  startedAt: string;
  /** ISO 8601 of the run's last log line (main log or dpkg block). */
  endedAt?: string;
  /** Origin patterns the run allowed ("origin=Debian,codename=bookworm,label=Debian-Security"). */
  origins: string[];
  /** Packages the run set out to upgrade ("Packages that will be upgraded"). */
  packages: string[];
  /** Packages it did not upgrade: kept back (held, blacklisted, ...), conffile prompt, could not mark. */
  keptBack: string[];
  outcome: UuOutcome;
  rebootRequired: boolean;
  /** `--dry-run`: nothing was installed. */
  dryRun: boolean;
  /** Packages auto-removed by the run. */
  autoRemoved: string[];
  /** Error and warning messages of the run, in order (multi-line ones joined with newlines). */
  errors: string[];
  /**
   * What the dpkg blocks of the run show: packages set up, packages dpkg failed on, and the versions
   * dpkg unpacked (`Unpacking NAME (NEW) over (OLD)`; absent in runs saved by older versions).
   */
  dpkg: { blocks: number; setUp: string[]; failedPackages: string[]; unpacked?: UuUnpacked[] };
  /** Where the run's start line is. */
  ref: LineRef;
}

/** One package dpkg unpacked during the run: name as dpkg printed it (`libssl3:amd64` or `prdemo`). */
export interface UuUnpacked {
  pkg: string;
  /** The version unpacked. */
  version: string;
  /** The version it replaced; absent for a fresh install. */
  from?: string;
}

/** What the tracker has gathered about the run in progress (plain JSON). */
export interface OpenRun {
  startedAt: string;
  lastAt: string;
  origins: string[];
  packages: string[];
  keptBack: string[];
  conffilePrompt: string[];
  markFailed: string[];
  autoRemoved: string[];
  errors: string[];
  /** Index in `errors` that continuation lines extend, or -1. */
  continuing: number;
  dryRun: boolean;
  rebootRequired: boolean;
  allInstalled: boolean;
  nothingToDo: boolean;
  installFailed: boolean;
  autoremoveFailed: boolean;
  /** First "error message: ..." detail. */
  errorDetail?: string;
  fatal?: string;
  interrupted?: string;
  blocks: UuDpkgBlock[];
  ref: LineRef;
}

/** True once the run logged something that ends it (success, failure, nothing to do, gave up). */
export function hasVerdict(r: OpenRun): boolean {
  return r.allInstalled || r.nothingToDo || r.installFailed || r.fatal !== undefined || r.interrupted !== undefined;
}

/** Turns what was gathered into the run's verdict. Pure. */
export function decideOutcome(r: OpenRun): UuOutcome {
  const failedPkgs = [...new Set(r.blocks.flatMap((b) => b.failedPackages.map(bareName)))];
  // "Setting up X" is printed before X's postinst runs: a package dpkg then failed on is not done.
  const setUp = new Set(r.blocks.flatMap((b) => b.setUp.map((s) => bareName(s.pkg))).filter((p) => !failedPkgs.includes(p)));
  const someDone = r.packages.some((p) => setUp.has(p));
  const dpkgSaid = failedPkgs.length > 0 ? ` (dpkg failed on ${failedPkgs.join(", ")})` : "";
  if (r.fatal !== undefined) return { status: someDone ? "partial" : "failed", reason: r.fatal };
  if (r.installFailed) {
    const reason = `installing the upgrades failed${r.errorDetail ? `: ${r.errorDetail}` : ""}${dpkgSaid}`;
    return { status: someDone ? "partial" : "failed", reason };
  }
  if (r.interrupted !== undefined) {
    return { status: someDone ? "partial" : "failed", reason: `stopped early: ${r.interrupted}` };
  }
  if (r.allInstalled || r.nothingToDo) {
    const problems: string[] = [];
    if (r.conffilePrompt.length > 0) problems.push(`not upgraded because of a conffile prompt: ${r.conffilePrompt.join(", ")}`);
    if (r.markFailed.length > 0) problems.push(`could not be marked for upgrade: ${r.markFailed.join(", ")}`);
    if (r.autoremoveFailed) problems.push("auto-removing packages failed");
    return problems.length > 0 ? { status: "partial", reason: problems.join("; ") } : { status: "ok" };
  }
  return { status: "failed", reason: "the log ends without a verdict (unattended-upgrade was killed or its log is incomplete)" };
}

/** The finished run. */
export function closeRun(r: OpenRun): UuRun {
  const ends = [r.lastAt, ...r.blocks.map((b) => b.endedAt ?? b.startedAt)].sort();
  return {
    startedAt: r.startedAt,
    endedAt: ends[ends.length - 1]!,
    origins: r.origins,
    packages: r.packages,
    keptBack: r.keptBack,
    outcome: decideOutcome(r),
    rebootRequired: r.rebootRequired,
    dryRun: r.dryRun,
    autoRemoved: r.autoRemoved,
    errors: r.errors,
    dpkg: {
      blocks: r.blocks.length,
      setUp: [...new Set(r.blocks.flatMap((b) => b.setUp.map((s) => s.pkg)))],
      failedPackages: [...new Set(r.blocks.flatMap((b) => b.failedPackages))],
      unpacked: netUnpacked(r.blocks),
    },
    ref: r.ref,
  };
}

/** Per package, the first old version and the last new one over all blocks, in first-seen order. */
function netUnpacked(blocks: UuDpkgBlock[]): UuUnpacked[] {
  const out = new Map<string, UuUnpacked>();
  for (const u of blocks.flatMap((b) => b.unpacked)) {
    const seen = out.get(u.pkg);
    if (seen === undefined) out.set(u.pkg, { pkg: u.pkg, version: u.version, ...(u.from === undefined ? {} : { from: u.from }) });
    else seen.version = u.version;
  }
  return [...out.values()];
}

/** `libssl3:amd64` -> `libssl3` (u-u names packages without architecture, dpkg output with it). */
export function bareName(pkg: string): string {
  const i = pkg.indexOf(":");
  return i < 0 ? pkg : pkg.slice(0, i);
}
