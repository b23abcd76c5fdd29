import type { AptEvent, EventSource } from "./apt-event.js";
import type { ChangeReport } from "./change-report.js";
import { type CorrelateOptions, coverage, eventFromReport, matchEvent, mergeReport } from "./correlate.js";

/** What is known when a report comes in: the events near it in time, and more for some sources. */
export interface ReportContext {
  /** The event this very report went into before (hook and uu-log reports are linked to their event). */
  linked?: AptEvent | undefined;
  /** Events whose time is near the report's (a few hours before it up to its end). */
  near: readonly AptEvent[];
  /** For a dpkg.log report: the hook runs near it that are no event yet. */
  pending?: readonly ChangeReport[];
}

/** One event to write, with the reports to link to it. */
export interface EventWrite {
  event: AptEvent;
  links: { source: EventSource; key: string }[];
}

/** The decision on one report: what to write, and which events it went into (and whether it made them). */
export interface ReportDecision {
  writes: EventWrite[];
  results: { event: AptEvent; created: boolean }[];
}

/**
 * Decides where one report goes (src/intake/correlate.ts has the rules): into the event it went into
 * before, into the event of its apt run, into a new event, or, for dpkg.log, package by package. A
 * report without any package change that matches nothing makes no event. Pure: src/intake/record-change.ts
 * loads the context and writes the result under the intake lock.
 */
export function applyReport(report: ChangeReport, ctx: ReportContext, host: string, o: CorrelateOptions): ReportDecision {
  const out: ReportDecision = { writes: [], results: [] };
  const put = (before: AptEvent | undefined, event: AptEvent, links: EventWrite["links"], created: boolean): void => {
    if (links.length > 0 || before === undefined || JSON.stringify(before) !== JSON.stringify(event)) out.writes.push({ event, links });
    out.results.push({ event, created });
  };
  if (report.source === "reconcile") {
    const found = coverage(report, ctx.near, ctx.pending ?? [], o);
    for (const [id, packages] of found.covered) {
      const event = ctx.near.find((e) => e.id === id)!;
      put(event, mergeReport(event, report, packages), [], false);
    }
    if (found.uncovered.length > 0) put(undefined, eventFromReport(report, host, found.uncovered), [], true);
    return out;
  }
  const link = [{ source: report.source, key: report.key }];
  if (ctx.linked !== undefined) {
    const merged = mergeReport(ctx.linked, report);
    put(ctx.linked, merged, JSON.stringify(merged) === JSON.stringify(ctx.linked) ? [] : link, false);
    return out;
  }
  const match = matchEvent(report, ctx.near, o);
  if (match !== undefined) put(match, mergeReport(match, report), link, false);
  else if (report.packages.length > 0) put(undefined, eventFromReport(report, host), link, true);
  return out;
}
