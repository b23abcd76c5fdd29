import type { Config } from "../config/schema.js";
import type { AptEvent } from "../intake/apt-event.js";
import type { EventStore } from "../intake/event-store.js";
import type { Logger } from "../log/logger.js";
import { enqueueRollout } from "../queue/jobs/rollout.js";
import type { Queues } from "../queue/queues.js";
import { changedPackages } from "./prepare.js";
import { rolloutIdFor } from "./rollout-id.js";

/** What {@link ensureRollout} writes through. */
export interface EnsureRolloutDeps {
  events: EventStore;
  queues: Pick<Queues, "rollouts">;
  config: Pick<Config, "rollout">;
  /** Told when this call made the rollout; default: nobody. */
  logger?: Logger;
}

/** Options of {@link ensureRollout}. */
export interface EnsureRolloutOptions {
  /**
   * An operator asked for this rollout: it is queued even when no package calls for a restart (its job
   * then completes at once and journals why). Default false: such an event gets no rollout.
   */
  requested?: boolean;
  /** Runs between binding the event to its rollout and queueing the job (a test pauses the rollout here). */
  beforeQueue?: (rolloutId: string) => Promise<unknown>;
}

/**
 * The one way a new rollout is queued: binds the event to a rollout id (the first one wins) and adds the
 * rollout job under that id. Adding is repeated on every call, so a crash between binding and adding
 * loses nothing; BullMQ ignores a job id it has, and a rollout whose journal says it ended does nothing
 * when run again. Returns the rollout id, or undefined when the event needs no rollout (only removals,
 * say, or only packages `config.rollout.ignorePackages` names).
 */
export async function ensureRollout(deps: EnsureRolloutDeps, event: AptEvent, options: EnsureRolloutOptions = {}): Promise<{ rolloutId: string; claimed: boolean } | undefined> {
  const changed = changedPackages(event, deps.config);
  if (changed.length === 0 && options.requested !== true) return undefined;
  const claim = await deps.events.claimRollout(event.id, rolloutIdFor(event));
  await options.beforeQueue?.(claim.rolloutId);
  await enqueueRollout(deps.queues, { eventId: event.id, rolloutId: claim.rolloutId });
  if (claim.claimed) deps.logger?.info({ eventId: event.id, rolloutId: claim.rolloutId, sources: event.sources, packages: changed }, "package change seen; rollout queued");
  return claim;
}
