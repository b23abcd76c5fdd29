import { join } from "node:path";
import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import { RolloutJournal } from "../journal/journal.js";
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
  fleetActionsJournal(config).append(`fleet.${a.action}`, { who: a.who, why: a.why, subject: a.subject });
  await redis.xadd(fleetKey(config, "actions"), "MAXLEN", "~", String(ACTIONS_KEPT), "*", "action", a.action, "who", a.who, "why", a.why, "subject", a.subject, "host", config.hostId);
}
