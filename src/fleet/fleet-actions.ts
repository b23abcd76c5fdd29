import { join } from "node:path";
import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import { RolloutJournal } from "../journal/journal.js";
import { journalFile } from "../journal/paths.js";
import { lockJournal, lockPathOf } from "../journal/writer-lock.js";
import { fleetKey } from "./fleet-keys.js";

/** An operator's fleet action (forget, hold, release): who, why, on what. */
export interface FleetAction {
  action: "forget" | "hold" | "release";
  who: string;
  why: string;
  /** The host forgotten, or the version held or released as `PKG=VERSION`. */
  subject: string;
}

/** Fleet actions kept in Redis, newest last; older ones are trimmed (the journals keep them). */
const ACTIONS_KEPT = 10_000;

/** How long a fleet action waits for another one journaling on this host. */
const ACTIONS_LOCK_WAIT_MS = 10_000;

/**
 * The journal of the fleet actions taken from this host: `JOURNALDIR/.fleet/HOST/actions.jsonl`, beside
 * (not among) the host's rollout journals, so rollout listings and reports do not take it for a rollout.
 */
export function fleetActionsJournal(config: Pick<Config, "journalDir" | "hostId">): RolloutJournal {
  return new RolloutJournal(join(config.journalDir, ".fleet"), config.hostId, "actions");
}

/**
 * Records an operator's fleet action before it is carried out: journaled on this host (write-ahead), then
 * added to the fleet's bounded action stream, where every host's `fleet` commands see it.
 */
export async function recordFleetAction(redis: Redis, config: Pick<Config, "journalDir" | "hostId" | "redis">, a: FleetAction): Promise<void> {
  // One writer at a time, as for a rollout's journal: two `fleet` commands at once must not write one seq twice.
  const file = journalFile({ journalDir: join(config.journalDir, ".fleet"), hostId: config.hostId }, "actions");
  const lock = await lockJournal(file, `fleet ${a.action}`, ACTIONS_LOCK_WAIT_MS);
  if (lock === undefined) throw new Error(`the fleet actions journal is held by another process (${lockPathOf(file)}); try again`);
  try {
    // Opened under the lock: it reads the last seq then.
    const journal = fleetActionsJournal(config);
    journal.append(`fleet.${a.action}`, { who: a.who, why: a.why, subject: a.subject });
    journal.close();
  } finally {
    lock.release();
  }
  await redis.xadd(fleetKey(config, "actions"), "MAXLEN", "~", String(ACTIONS_KEPT), "*", "action", a.action, "who", a.who, "why", a.why, "subject", a.subject, "host", config.hostId);
}
