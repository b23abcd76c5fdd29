import type { Config } from "../config/schema.js";

type NS = Pick<Config, "redis">;

/**
 * Fleet-wide keys live under their own hash tag, `{PREFIX:fleet}` (no host id can be `fleet`'s neighbour:
 * host keys are `{PREFIX:HOST}`), so every fleet key is in one Redis Cluster slot and scripts may touch
 * several of them at once.
 */
export function fleetKey(ns: NS, ...parts: string[]): string {
  return [`{${ns.redis.prefix}:fleet}`, ...parts].join(":");
}
