import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import { connectRedis } from "../queue/connection.js";
import { closeQueues, openQueues, type Queues } from "../queue/queues.js";

/** Opens a fail-fast connection and the host's queues for one command, and always closes both. */
export async function withQueues<T>(config: Config, fn: (redis: Redis, queues: Queues) => Promise<T>): Promise<T> {
  const redis = await connectRedis(config, "client");
  const queues = openQueues(redis, config);
  try {
    return await fn(redis, queues);
  } finally {
    await closeQueues(queues).catch(() => {});
    redis.disconnect();
  }
}
