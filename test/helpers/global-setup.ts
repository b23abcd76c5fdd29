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

/** One real Redis for the whole run; each test file gets its own prefix (test/helpers/redis.ts). */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await startTestRedis();
  project.provide("redisUrl", redis.url);
  project.provide("redisKind", redis.kind);
  return redis.stop;
}
