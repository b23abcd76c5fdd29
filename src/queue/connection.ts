import { join } from "node:path";
import { Redis, type RedisOptions as IORedisOptions } from "ioredis";
import type { Config } from "../config/schema.js";
import { PatchrollError } from "../errors/patchroll-error.js";

/** The unix socket of the embedded redis-server, under the state directory that no container can read. */
export function embeddedSocket(config: Pick<Config, "stateDir">): string {
  return join(config.stateDir, "redis", "redis.sock");
}

/** True when the daemon must start and supervise its own redis-server. */
export function usesEmbeddedRedis(config: Pick<Config, "redis">): boolean {
  return config.redis.url === undefined && config.redis.sentinel === undefined;
}

/** ioredis options as patchroll builds them (RESP2, ioredis' default reply mapping). */
export type RedisOptions = Omit<IORedisOptions, "replyMapping" | "protocol">;

export type ConnectionRole =
  /** BullMQ workers: block on Redis and wait forever for it to come back. */
  | "worker"
  /** The daemon's producers: commands fail fast while Redis is away (records stay spooled), reconnects forever. */
  | "producer"
  /** The CLI: fails fast and gives up, so the user hears at once that Redis is away. */
  | "client";

/**
 * How long a producer's or the CLI's command may wait for its answer. A frozen Redis (SIGSTOP, a stalled
 * VM) keeps the socket open and answers nothing: without this, `status` and the spool would hang with it.
 */
const COMMAND_TIMEOUT_MS = 5000;

/** ioredis options for the configured Redis: URL, Sentinel or the embedded socket. */
export function redisOptions(config: Pick<Config, "redis" | "stateDir">, role: ConnectionRole): RedisOptions {
  const base: RedisOptions =
    role === "worker"
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : role === "producer"
        ? { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000, commandTimeout: COMMAND_TIMEOUT_MS, retryStrategy: (n) => Math.min(100 * n, 2000) }
        : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000, commandTimeout: COMMAND_TIMEOUT_MS, retryStrategy: (n) => (n > 3 ? null : 100 * n) };
  const { redis } = config;
  if (redis.sentinel !== undefined) {
    return {
      ...base,
      name: redis.sentinel.name,
      sentinels: redis.sentinel.sentinels.map((s) => {
        const [host, port] = s.split(":");
        return { host: host!, port: Number(port) };
      }),
      ...(redis.sentinel.password !== undefined ? { sentinelPassword: redis.sentinel.password } : {}),
      ...(redis.password !== undefined ? { password: redis.password } : {}),
    };
  }
  if (redis.url !== undefined) {
    const url = new URL(redis.url);
    const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
    const password = url.password !== "" ? decodeURIComponent(url.password) : redis.password;
    return {
      ...base,
      host: url.hostname,
      port: url.port === "" ? 6379 : Number(url.port),
      db,
      ...(url.username !== "" ? { username: decodeURIComponent(url.username) } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(url.protocol === "rediss:" ? { tls: {} } : {}),
    };
  }
  return { ...base, path: embeddedSocket(config) };
}

/** Opens a connection and waits until it is ready; a clear error names where it tried. */
export async function connectRedis(config: Pick<Config, "redis" | "stateDir">, role: ConnectionRole): Promise<Redis> {
  const options = redisOptions(config, role);
  const client = new Redis({ ...options, lazyConnect: true });
  // Connection errors surface through connect() and the commands; without a listener ioredis also prints them.
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw new PatchrollError("REDIS_UNAVAILABLE", `cannot reach Redis at ${describeRedis(config)}: ${(err as Error).message}. Is the daemon running (patchroll status), or is redis.url right? See runbooks/redis-down.md.`, { cause: err });
  }
  return client;
}

/** Where Redis is, for messages, without secrets. */
export function describeRedis(config: Pick<Config, "redis" | "stateDir">): string {
  if (config.redis.sentinel !== undefined) return `sentinel ${config.redis.sentinel.name} (${config.redis.sentinel.sentinels.join(", ")})`;
  if (config.redis.url !== undefined) {
    const url = new URL(config.redis.url);
    return `${url.protocol}//${url.host}${url.pathname}`;
  }
  return `unix:${embeddedSocket(config)} (embedded)`;
}
