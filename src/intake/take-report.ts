import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import type { Logger } from "../log/logger.js";
import type { AptEvent } from "./apt-event.js";
import type { ChangeReport } from "./change-report.js";
import type { EventStore } from "./event-store.js";
import { matchOptions, recordChange, type RecordedChange } from "./record-change.js";

/** What the daemon's intake sources write through: a fail-fast Redis connection and what lives on it. */
export interface IntakeSink {
  config: Config;
  logger: Logger;
  redis: Redis;
  events: EventStore;
  /**
   * Hands over every event a report made or changed to what acts on it (the daemon queues its rollout).
   * Called again for the same event whenever a report touches it; a rejection makes the report be taken
   * again later.
   */
  onEvent: (event: AptEvent) => Promise<unknown>;
}

/**
 * Takes one report into the host's events and hands every event it touched over (`sink.onEvent`; the
 * finish-run job does the same for the hook's reports). Rejects when Redis did not take it all: the
 * caller keeps the report and tries again.
 */
export async function takeReport(sink: IntakeSink, report: ChangeReport): Promise<RecordedChange[]> {
  const taken = await recordChange(sink.redis, sink.events, sink.config, report, matchOptions(sink.config));
  for (const t of taken) {
    await sink.onEvent(t.event);
    if (t.created && report.source !== "hook") {
      sink.logger.warn(
        { eventId: t.event.id, source: report.source, packages: t.event.packages.map((p) => `${p.name} ${p.from ?? "-"} -> ${p.to ?? "-"}`) },
        `package change seen in ${report.source === "reconcile" ? "dpkg.log" : "the unattended-upgrades log"} before (or without) the apt hook's account (patchroll stopped, hook missing, spool dir unwritable?); made an event of it`,
      );
    }
  }
  return taken;
}
