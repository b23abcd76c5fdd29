import type { Queue } from "bullmq";
import { enqueueFinishRun } from "../queue/jobs/finish-run.js";
import type { EventStore } from "./event-store.js";
import type { SpoolRecord } from "./spool-record.js";

/**
 * Takes one spool record into Redis (the daemon's `SpoolIngest.onRecord`): keeps it with its run and
 * makes sure the run's finish-run job exists. A post-invoke record (dpkg finished) wakes the job up if it
 * sleeps, so the event follows the end of the apt run at once. Resolves only once Redis has it all.
 */
export async function takeSpoolRecord(events: EventStore, aptEvents: Queue, rec: SpoolRecord): Promise<void> {
  await events.addRecord(rec);
  await enqueueFinishRun(aptEvents, rec.runKey, rec.kind === "post-invoke");
}
