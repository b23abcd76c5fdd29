import { afterEach, describe, expect, it } from "vitest";
import { execa } from "execa";
import { Redis } from "ioredis";
import { redisHealth, redisHealthProblems } from "../../src/queue/redis-health.js";
import { spawnRedis } from "../helpers/redis-server.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serverWith(args: string[]): Promise<Redis> {
  const server = await spawnRedis(args);
  cleanups.push(server.stop);
  const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
  cleanups.push(() => void client.disconnect());
  return client;
}

async function hostRedisVersion(): Promise<string> {
  const { stdout } = await execa("redis-server", ["--version"], { timeout: 10_000 });
  return /v=(\S+)/.exec(stdout)?.[1] ?? "?";
}

describe("redisHealth", () => {
  it("reads persistence, eviction policy, memory and version from a real Redis", async () => {
    const client = await serverWith(["--appendonly", "yes", "--appendfsync", "always", "--save", "900 1", "--maxmemory-policy", "allkeys-lru"]);
    const health = await redisHealth(client);
    expect(health.persistence).toEqual({ aof: true, appendfsync: "always", rdb: true });
    expect(health.maxmemoryPolicy).toBe("allkeys-lru");
    expect(health.usedMemory).toBeGreaterThan(0);
    expect(health.version).toBe(await hostRedisVersion());
    expect(redisHealthProblems(health)).toEqual([expect.stringMatching(/maxmemory-policy is 'allkeys-lru'.*noeviction/)]);
  });

  it("says a Redis without persistence loses jobs", async () => {
    const client = await serverWith([]);
    const health = await redisHealth(client);
    expect(health.persistence).toEqual({ aof: false, appendfsync: "everysec", rdb: false });
    expect(redisHealthProblems(health)).toEqual([expect.stringMatching(/no persistence/)]);
  });

  it("answers 'unknown' where CONFIG is disabled, as on managed Redis", async () => {
    const client = await serverWith(["--rename-command", "CONFIG", ""]);
    await expect(client.call("CONFIG", "GET", "save")).rejects.toThrow(/unknown command/);
    const health = await redisHealth(client);
    expect(health.persistence).toEqual({ aof: false, appendfsync: "unknown", rdb: "unknown" });
    expect(health.maxmemoryPolicy).toBe("noeviction");
    expect(health.version).toBe(await hostRedisVersion());
    expect(redisHealthProblems(health)).toEqual([expect.stringMatching(/CONFIG is disabled/)]);
  });
});
