import { createHash } from "node:crypto";
import { type AptEvent, EVENT_VERSION, type PackageChange } from "./apt-event.js";
import { eventId } from "./assemble.js";
import type { ChangeReport } from "./change-report.js";
import { originOf } from "./origin.js";
import { netChanges } from "./package-change.js";

/**
 * Matching what the three sources report (src/intake/change-report.ts) into one event per apt run. Pure.
 *
 * The sources share no key: the hook knows the apt process, unattended-upgrades' log the start of its
 * run, dpkg.log only times and versions. A report belongs to an event when their times overlap (give or
 * take `slackMs`: dpkg.log has whole seconds, the clocks are read at different moments) and they name
 * the same packages. One event takes at most one report of each of hook and uu-log (two apt processes
 * are two runs; a redelivered report is found by its own link first, see src/intake/record-change.ts).
 * dpkg.log reports are matched package by package, as dpkg.log groups need not line up with apt runs
 * (unattended-upgrades runs dpkg several times, two quick apt runs join one group).
 */
export interface CorrelateOptions {
  /** Slack when comparing times, ms. */
  slackMs: number;
}

type Timed = { time: string; endedAt?: string | undefined };

/** [start, end] in ms since 1970. */
export function spanOf(x: Timed): [number, number] {
  const start = Date.parse(x.time);
  const end = x.endedAt === undefined ? start : Date.parse(x.endedAt);
  return [Math.min(start, end), Math.max(start, end)];
}

/** True when the two time spans overlap, give or take `slackMs`. */
export function overlaps(a: Timed, b: Timed, slackMs: number): boolean {
  const [a0, a1] = spanOf(a);
  const [b0, b1] = spanOf(b);
  return a0 <= b1 + slackMs && b0 <= a1 + slackMs;
}

function archCompatible(a: PackageChange, b: PackageChange): boolean {
  return a.arch === b.arch || a.arch === "unknown" || b.arch === "unknown";
}

/** The same change of the same package: name, architecture (unless unknown) and the version it ended at. */
export function sameChange(a: PackageChange, b: PackageChange): boolean {
  return a.name === b.name && archCompatible(a, b) && a.to === b.to;
}

/**
 * The event a hook or uu-log report belongs to, if any: overlapping in time, not yet holding a report of
 * that source, sharing packages (the same changes for the hook; package names for unattended-upgrades,
 * whose log has no versions). A hook run of apt-get never joins an event unattended-upgrades reported,
 * and the other way round. The best match shares the most packages, then lies closest in time.
 */
export function matchEvent(report: ChangeReport, events: readonly AptEvent[], o: CorrelateOptions): AptEvent | undefined {
  const names = new Set(report.uu?.names ?? report.packages.map((p) => p.name));
  let best: { event: AptEvent; score: number; distance: number } | undefined;
  for (const e of events) {
    if (e.sources.includes(report.source) || !overlaps(report, e, o.slackMs)) continue;
    let score: number;
    if (report.source === "uu-log") {
      if (e.sources.includes("hook") && e.unattended !== true) continue;
      score = e.packages.filter((p) => names.has(p.name)).length;
    } else {
      if (e.sources.includes("uu-log") && report.unattended !== true) continue;
      score = report.packages.filter((p) => e.packages.some((q) => sameChange(p, q))).length;
    }
    const distance = Math.abs(spanOf(e)[0] - spanOf(report)[0]);
    if (score > 0 && (best === undefined || score > best.score || (score === best.score && distance < best.distance))) best = { event: e, score, distance };
  }
  return best?.event;
}

/** Where each package of a dpkg.log report is accounted for. */
export interface Coverage {
  /** Packages an existing event already has, by event id. */
  covered: Map<string, PackageChange[]>;
  /** Packages a hook run not yet made an event will bring (its records are in, apt still runs). */
  pending: PackageChange[];
  /** Packages nobody reported: they make an event of their own. Configure-only changes never do. */
  uncovered: PackageChange[];
}

/**
 * Accounts for every change of a dpkg.log report (each step dpkg logged: a group may join two apt runs)
 * as in an event, in a pending hook run, or new. The new steps of a package are summed up into one
 * change (first "from", last "to").
 */
export function coverage(report: ChangeReport, events: readonly AptEvent[], pendingRuns: readonly ChangeReport[], o: CorrelateOptions): Coverage {
  const out: Coverage = { covered: new Map(), pending: [], uncovered: [] };
  const near = events.filter((e) => overlaps(report, e, o.slackMs));
  const nearPending = pendingRuns.filter((r) => overlaps(report, r, o.slackMs));
  const fresh: PackageChange[] = [];
  for (const p of report.steps ?? report.packages) {
    const owner = near.find((e) => e.packages.some((q) => sameChange(p, q)));
    if (owner !== undefined) out.covered.set(owner.id, [...(out.covered.get(owner.id) ?? []), p]);
    else if (nearPending.some((r) => r.packages.some((q) => sameChange(p, q)))) out.pending.push(p);
    else if (p.action !== "configure") fresh.push(p);
  }
  out.uncovered = netChanges(fresh);
  return out;
}

const compact = (iso: string): string => iso.replace(/[-:]/g, "");

/** The id of an event a report creates: stable, so the same report always names the same event. */
export function eventIdFor(report: ChangeReport): string {
  if (report.source === "hook") return eventId(report.key);
  if (report.source === "uu-log") return `uu-${compact(report.time)}`;
  const digest = createHash("sha256").update(report.key).update(JSON.stringify(report.packages)).digest("hex").slice(0, 8);
  return `dpkg-${compact(report.time)}-${digest}`;
}

/** A new event made of one report (`packages` instead of all of its packages when given). */
export function eventFromReport(report: ChangeReport, host: string, packages: PackageChange[] = report.packages): AptEvent {
  const base: AptEvent = { v: EVENT_VERSION, id: eventIdFor(report), host, time: report.time, packages: [], origin: "unknown", sources: [report.source] };
  return mergeReport(base, report, packages);
}

/**
 * Adds a report to an event: its source, its time span (dpkg.log's whole seconds only for an event known
 * from dpkg.log alone), the packages the event lacks (a hook's account
 * of a package replaces the others': it comes from apt itself; dpkg.log's fills in an unknown
 * architecture), and from unattended-upgrades the verdict, the origin its allowed origins imply and the
 * rest of what its log says. Merging the same report twice changes nothing.
 */
export function mergeReport(event: AptEvent, report: ChangeReport, packages: PackageChange[] = report.packages): AptEvent {
  const [e0, e1] = spanOf(event);
  // dpkg.log has whole seconds: its times only widen an event nothing more precise reported.
  const [r0, r1] = report.source === "reconcile" && event.sources.some((s) => s !== "reconcile") ? [e0, e1] : spanOf(report);
  const first = r0 < e0 ? report.time : event.time;
  const endEvent = event.endedAt ?? event.time;
  const endReport = report.endedAt ?? report.time;
  const last = r1 > e1 ? endReport : endEvent;
  const out: AptEvent = {
    ...event,
    time: first,
    sources: event.sources.includes(report.source) ? event.sources : [...event.sources, report.source],
    packages: mergeChanges(event.packages, packages, report.source === "hook"),
  };
  if (last !== first || event.endedAt !== undefined || report.endedAt !== undefined) out.endedAt = last;
  if (report.unattended === true) out.unattended = true;
  else if (report.source === "hook" && out.unattended === undefined) out.unattended = false;
  if (report.commandLine !== undefined && out.commandLine === undefined) out.commandLine = report.commandLine;
  if (report.uu !== undefined) {
    out.outcome = report.uu.outcome.reason === undefined ? { status: report.uu.outcome.status } : { ...report.uu.outcome };
    out.uu = report.uu.details;
    out.origin = originOf(report.uu.details.origins);
  }
  return out;
}

function mergeChanges(have: readonly PackageChange[], incoming: readonly PackageChange[], authoritative: boolean): PackageChange[] {
  const out = have.map((p) => ({ ...p }));
  for (const p of incoming) {
    const i = out.findIndex((q) => q.name === p.name && archCompatible(q, p));
    if (i < 0) {
      out.push({ ...p });
      continue;
    }
    const q = out[i]!;
    if (authoritative) out[i] = { ...p, ...(q.sourcePackage !== undefined && p.sourcePackage === undefined ? { sourcePackage: q.sourcePackage } : {}) };
    else if (q.arch === "unknown" && p.arch !== "unknown") out[i] = { ...q, arch: p.arch };
  }
  return out;
}
