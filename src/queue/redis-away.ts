import { rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { Config } from "../config/schema.js";
import { readJsonFile, writeJsonAtomic } from "../intake/tail/atomic-json.js";

/** What the daemon records while Redis does not answer, so `status` can say so without Redis. */
export const RedisAway = z.strictObject({
  v: z.literal(1),
  /** When the first heartbeat failed. */
  since: z.string(),
  /** Where Redis is (no secrets). */
  where: z.string(),
  /** The last error, in the driver's words. */
  error: z.string(),
});
export type RedisAway = z.infer<typeof RedisAway>;

/** `STATEDIR/redis-away.json`: present only while the daemon cannot reach Redis. */
export function redisAwayFile(config: Pick<Config, "stateDir">): string {
  return join(config.stateDir, "redis-away.json");
}

export async function writeRedisAway(config: Pick<Config, "stateDir">, away: RedisAway): Promise<void> {
  await writeJsonAtomic(redisAwayFile(config), away);
}

export async function clearRedisAway(config: Pick<Config, "stateDir">): Promise<void> {
  await rm(redisAwayFile(config), { force: true });
}

/** The daemon's record of an outage going on, or undefined (none, or unreadable). */
export async function readRedisAway(config: Pick<Config, "stateDir">): Promise<RedisAway | undefined> {
  const r = await readJsonFile(redisAwayFile(config), RedisAway);
  return r.kind === "ok" ? r.value : undefined;
}
