import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import { connectRedis } from "../queue/connection.js";

/** Opens a fail-fast connection for one CLI command and always closes it. */
export async function withRedis<T>(config: Config, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = await connectRedis(config, "client");
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}
