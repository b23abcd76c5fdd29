import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";

/** Opens a fail-fast connection for one CLI command and always closes it. */
export async function withRedis<T>(config: Config, fn: (redis: Redis) => Promise<T>): Promise<T> {
  // ioredis is loaded by the commands that talk to Redis, not by every start of the CLI.
  const { connectRedis } = await import("../queue/connection.js");
  const redis = await connectRedis(config, "client");
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}
