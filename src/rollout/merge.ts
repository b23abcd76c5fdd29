import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import type { AptEvent } from "../intake/apt-event.js";
import type { EventStore } from "../intake/event-store.js";
import { netChangesOverEvents } from "../intake/package-change.js";
import { ROLLOUT_JOB, RolloutJob } from "../queue/jobs/rollout.js";
import { hostKey } from "../queue/names.js";
import type { Queues } from "../queue/queues.js";

type NS = Pick<Config, "hostId" | "redis">;

const mergedKey = (ns: NS, rolloutId: string) => hostKey(ns, "rollout", rolloutId, "merged-into");

/**
 * Folds the rollouts still waiting in the queue (events that came while another rollout ran, or before
 * this one started) into the rollout that is about to plan: one plan for all their packages, each container
 * restarted once. Each absorbed rollout is marked, atomically, so it ends at once when its own job runs.
 */
export async function absorbWaitingRollouts(redis: Redis, queues: Queues, events: EventStore, ns: NS, rolloutId: string): Promise<{ rolloutId: string; event: AptEvent }[]> {
  const waiting = await queues.rollouts.getJobs(["waiting", "delayed", "prioritized"]);
  const absorbed: { rolloutId: string; event: AptEvent }[] = [];
  for (const job of waiting) {
    // A job whose payload the schema refuses is not folded in: its own run fails it, saying why.
    const parsed = job.name === ROLLOUT_JOB ? RolloutJob.safeParse(job.data) : undefined;
    if (parsed?.success !== true) continue;
    const other = parsed.data;
    if (other.rolloutId === rolloutId) continue;
    const event = await events.getEvent(other.eventId);
    if (event === undefined) continue;
    if ((await redis.set(mergedKey(ns, other.rolloutId), rolloutId, "NX")) !== "OK") continue;
    absorbed.push({ rolloutId: other.rolloutId, event });
  }
  return absorbed;
}

/** The rollout this one was folded into, if any. */
export async function mergedInto(redis: Redis, ns: NS, rolloutId: string): Promise<string | undefined> {
  return (await redis.get(mergedKey(ns, rolloutId))) ?? undefined;
}

/**
 * One event's worth of packages for several events, oldest first: each package's net change over them
 * ({@link netChangesOverEvents}), so a remove and a reinstall of the same version is a reinstall, and an
 * install and a later upgrade an upgrade from the installed version: both restart.
 */
export function combinePackages(events: readonly Pick<AptEvent, "packages">[]): AptEvent["packages"] {
  return netChangesOverEvents(events.map((e) => e.packages));
}
