import type { TestProject } from "vitest/node";
import { startTestRedis } from "./redis-server.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** URL of the real Redis every test file shares, each under its own key prefix. */
    redisUrl: string;
    /** How that Redis was obtained: "env" (REDIS_URL), "testcontainers" or "spawned". */
    redisKind: string;
  }
}

/**
 * One real Redis for the whole run; each test file gets its own prefix (test/helpers/redis.ts). The choice
 * (REDIS_URL, testcontainers or a spawned redis-server; PATCHROLL_TEST_REDIS forces one) is printed once.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = performance.now();
  const redis = await startTestRedis();
  const ms = Math.round(performance.now() - started);
  process.stderr.write(`[patchroll tests] Redis: ${redis.kind} (${redis.detail}), ready in ${ms} ms\n`);
  project.provide("redisUrl", redis.url);
  project.provide("redisKind", redis.kind);
  return redis.stop;
}
