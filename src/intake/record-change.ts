import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import type { AptEvent } from "./apt-event.js";
import { applyReport } from "./apply-report.js";
import { type ChangeReport, hookReport } from "./change-report.js";
import { type CorrelateOptions, spanOf } from "./correlate.js";
import type { EventStore } from "./event-store.js";
import { withIntakeLock } from "./intake-lock.js";

/** Options of {@link recordChange}. */
export interface RecordChangeOptions extends CorrelateOptions {
  /** How far before a report's start to look for events that may hold it (long apt runs). Default 6 h. */
  lookbackMs?: number;
}

/** An event a report went into. */
export interface RecordedChange {
  event: AptEvent;
  /** The report made this event. */
  created: boolean;
}

/** The matching options the configuration asks for. */
export function matchOptions(config: Pick<Config, "intake">): CorrelateOptions {
  return { slackMs: config.intake.matchSlackSec * 1000 };
}

/**
 * Takes one report of a package change into the host's events, under the intake lock: loads what
 * src/intake/apply-report.ts needs to decide (the report's own earlier event, the events near it, for
 * dpkg.log the hook runs still open) and writes its decision. Idempotent: a report taken before (a crash
 * between taking it and acknowledging its source) finds its event and changes nothing. Returns the
 * events the report went into: several for a dpkg.log group that spans apt runs, none for changes a
 * running apt run's hook records will bring or a report without changes.
 */
export async function recordChange(redis: Redis, store: EventStore, ns: Pick<Config, "hostId" | "redis">, report: ChangeReport, o: RecordChangeOptions): Promise<RecordedChange[]> {
  return withIntakeLock(redis, ns, async () => {
    const [start, end] = spanOf(report);
    const from = start - (o.lookbackMs ?? 6 * 3600_000);
    const near = await store.eventsBetween(from, end + o.slackMs);
    const linkedId = report.source === "reconcile" ? null : await store.eventOfReport(report.source, report.key);
    const linked = linkedId === null ? undefined : await store.getEvent(linkedId);
    const pending = report.source === "reconcile" ? (await store.pendingRuns(from, end + o.slackMs)).map((records) => hookReport(records, ns.hostId)) : [];
    const decision = applyReport(report, { linked, near, pending }, ns.hostId, o);
    for (const w of decision.writes) await store.saveEvent(w.event, w.links);
    return decision.results;
  });
}
