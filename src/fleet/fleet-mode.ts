import type { Config } from "../config/schema.js";
import { PatchrollError } from "../errors/patchroll-error.js";
import { usesEmbeddedRedis } from "../queue/connection.js";

/**
 * Whether this host takes part in a fleet, and an error naming the key when the configuration cannot:
 * fleet mode needs the shared Redis every host of the fleet reaches (the embedded one is this host's alone).
 */
export function fleetEnabled(config: Pick<Config, "fleet" | "redis">): boolean {
  if (!config.fleet.enabled) return false;
  if (usesEmbeddedRedis(config)) {
    throw new PatchrollError("CONFIG_INVALID", "fleet.enabled is true but no shared Redis is configured: set redis.url, redis.sentinel or redis.cluster to the Redis every host of the fleet uses, or set fleet.enabled to false.");
  }
  if (config.fleet.lostAfterMs <= config.fleet.heartbeatMs) {
    throw new PatchrollError("CONFIG_INVALID", `fleet.lostAfterMs (${config.fleet.lostAfterMs}) must exceed fleet.heartbeatMs (${config.fleet.heartbeatMs}): a host would be shown lost between two heartbeats.`);
  }
  return true;
}

/** For the fleet commands: the configuration must take part in a fleet (they read the shared Redis). */
export function requireFleet(config: Pick<Config, "fleet" | "redis">): void {
  if (!fleetEnabled(config)) throw new PatchrollError("CONFIG_INVALID", "fleet commands need fleet.enabled: true and the fleet's shared Redis (redis.url, redis.sentinel or redis.cluster); e.g. --set fleet.enabled=true --redis-url redis://fleet-redis:6379");
}
