import type { Redis } from "ioredis";
import { z } from "zod";
import type { Config } from "../config/schema.js";
import { hostKey } from "../queue/names.js";
import { ControlAction } from "./control-action.js";
import { awaitJournaled, journalControlsIfIdle, pendingControl, pendingControlsKey } from "./control-journal.js";

export { ControlAction };

export const ControlRequest = z.strictObject({
  action: ControlAction,
  rolloutId: z.string().min(1),
  /** Who asks (a login name, "dashboard:TOKEN-NAME"); journaled. */
  who: z.string().min(1),
  /** Why, in the operator's words; journaled and shown in reports. */
  why: z.string().min(1),
  /** abort only: also roll back the containers already patched in completed batches. */
  rollBackCompleted: z.boolean().optional(),
});
export type ControlRequest = z.infer<typeof ControlRequest>;

/** The standing controls of a rollout as the runner sees them. */
export interface ControlState {
  paused?: { who: string; why: string };
  aborted?: { who: string; why: string; rollBackCompleted: boolean };
  /** Batches (1-based) whose approval gate was opened. */
  approved: number[];
}

export function controlsKey(config: Pick<Config, "hostId" | "redis">, rolloutId: string): string {
  return hostKey(config, "rollout", rolloutId, "controls");
}

/** How long a retry waits for its entry to be journaled before the rollout is queued again. */
const RETRY_JOURNAL_WAIT_MS = 10_000;

/**
 * Records an operator's request in Redis, where the running rollout reads it at its next step boundary,
 * together with its journal entry (who, why, when), in one transaction. The entry is journaled by the
 * journal's one writer: the runner at that step boundary while the rollout runs, or this call at once when
 * no one writes the journal (the rollout is queued, halted or over). `retry` is acted on by the caller (it
 * re-queues the rollout job).
 */
export async function requestControl(redis: Redis, config: Pick<Config, "hostId" | "redis" | "journalDir">, req: ControlRequest, batch?: number): Promise<ControlState> {
  const r = ControlRequest.parse(req);
  const key = controlsKey(config, r.rolloutId);
  const pending = pendingControl({ action: r.action, who: r.who, why: r.why, ...(r.rollBackCompleted !== undefined ? { rollBackCompleted: r.rollBackCompleted } : {}), ...(batch !== undefined ? { batch } : {}) });
  const tx = redis.multi().rpush(pendingControlsKey(config, r.rolloutId), JSON.stringify(pending));
  switch (r.action) {
    case "pause":
      tx.hset(key, "paused", JSON.stringify({ who: r.who, why: r.why }));
      break;
    case "resume":
      tx.hdel(key, "paused");
      break;
    case "abort":
      tx.hset(key, "aborted", JSON.stringify({ who: r.who, why: r.why, rollBackCompleted: r.rollBackCompleted ?? false }));
      break;
    case "approve":
      tx.hset(key, `approved:${batch ?? 0}`, JSON.stringify({ who: r.who, why: r.why }));
      break;
    case "retry":
      tx.hdel(key, "paused", "aborted");
      break;
  }
  await tx.exec();
  // A retry is counted from the journal when the rollout is queued again: the runner that just halted it
  // may still hold the journal for a moment, so wait for the entry (a halted rollout has no step to finish).
  if (r.action === "retry") await awaitJournaled(redis, config, r.rolloutId, pending, RETRY_JOURNAL_WAIT_MS);
  else await journalControlsIfIdle(redis, config, r.rolloutId);
  return readControls(redis, config, r.rolloutId);
}

/** The standing controls of a rollout. */
export async function readControls(redis: Redis, config: Pick<Config, "hostId" | "redis">, rolloutId: string): Promise<ControlState> {
  const all = await redis.hgetall(controlsKey(config, rolloutId));
  const approved = Object.keys(all).filter((k) => k.startsWith("approved:")).map((k) => Number(k.slice("approved:".length)));
  return {
    ...(all["paused"] !== undefined ? { paused: JSON.parse(all["paused"]) as NonNullable<ControlState["paused"]> } : {}),
    ...(all["aborted"] !== undefined ? { aborted: JSON.parse(all["aborted"]) as NonNullable<ControlState["aborted"]> } : {}),
    approved,
  };
}
