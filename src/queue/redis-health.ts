import type { Redis } from "ioredis";

/** What a Redis says about the settings queues depend on. "unknown" where CONFIG is disabled (managed Redis). */
export interface RedisHealth {
  persistence: {
    /** AOF on (INFO persistence `aof_enabled`). */
    aof: boolean;
    /** `appendfsync`: "always", "everysec", "no", or "unknown". */
    appendfsync: string;
    /** RDB snapshots configured (`save` not empty), or "unknown". */
    rdb: boolean | "unknown";
  };
  /** INFO memory `maxmemory_policy`, e.g. "noeviction". */
  maxmemoryPolicy: string;
  /** INFO memory `used_memory`, in bytes. */
  usedMemory: number;
  /** INFO server `redis_version`. */
  version: string;
}

/** Reads {@link RedisHealth} through INFO, and CONFIG GET where the server allows it. */
export async function redisHealth(client: Redis): Promise<RedisHealth> {
  const info = parseRedisInfo(await client.info());
  const [appendfsync, save] = await Promise.all([configGet(client, "appendfsync"), configGet(client, "save")]);
  return {
    persistence: {
      aof: info["aof_enabled"] === "1",
      appendfsync: appendfsync ?? "unknown",
      rdb: save === undefined ? "unknown" : save.trim() !== "",
    },
    maxmemoryPolicy: info["maxmemory_policy"] ?? "unknown",
    usedMemory: Number(info["used_memory"] ?? Number.NaN),
    version: info["redis_version"] ?? "unknown",
  };
}

/** `CONFIG GET name`, or undefined when CONFIG is disabled or renamed (ElastiCache, Memorystore, ACLs). */
async function configGet(client: Redis, name: string): Promise<string | undefined> {
  try {
    const reply = (await client.call("CONFIG", "GET", name)) as unknown;
    // RESP2 (what patchroll speaks) replies [name, value].
    return Array.isArray(reply) && typeof reply[1] === "string" ? reply[1] : undefined;
  } catch {
    return undefined;
  }
}

/** Parses an INFO reply (`key:value` lines, `# Section` headers) into a flat map. */
export function parseRedisInfo(text: string): Record<string, string> {
  const pairs: [string, string][] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === "" || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    if (colon > 0) pairs.push([line.slice(0, colon), line.slice(colon + 1)]);
  }
  // fromEntries defines own properties: a key such as "__proto__" is a key, not the object's prototype.
  return Object.fromEntries(pairs);
}

/**
 * What is wrong with a Redis for durable queues, in words for `patchroll status` and the logs (empty when
 * all is well). Unknown settings are not reported: a managed Redis that hides CONFIG is not at fault.
 */
export function redisHealthProblems(health: RedisHealth): string[] {
  const problems: string[] = [];
  const { aof, rdb } = health.persistence;
  if (!aof && rdb === false) {
    problems.push("Redis has no persistence (AOF off, no RDB snapshots): a Redis restart loses every queued job. Turn on appendonly.");
  } else if (!aof && rdb === true) {
    problems.push("Redis persists only RDB snapshots: a crash loses the jobs since the last snapshot. Turn on appendonly.");
  } else if (!aof) {
    problems.push("Redis has AOF off, and CONFIG is disabled so RDB snapshots cannot be checked: a restart may lose queued jobs. Turn on appendonly.");
  }
  if (health.persistence.appendfsync === "no") {
    problems.push("appendfsync is 'no': the OS decides when the AOF reaches disk. Use everysec or always.");
  }
  if (health.maxmemoryPolicy !== "noeviction" && health.maxmemoryPolicy !== "unknown") {
    problems.push(`maxmemory-policy is '${health.maxmemoryPolicy}': Redis may evict queue keys when memory is full. Use noeviction.`);
  }
  return problems;
}
