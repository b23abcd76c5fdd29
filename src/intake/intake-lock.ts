import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import { PatchrollError } from "../errors/patchroll-error.js";
import { hostKey } from "../queue/names.js";

/** Options of {@link withIntakeLock}. */
export interface IntakeLockOptions {
  /** The lock frees itself this long after it was taken, should its holder die. Default 15 000 ms. */
  ttlMs?: number;
  /** Give up (throw) after waiting this long for it. Default 10 000 ms. */
  waitMs?: number;
}

// Deletes the lock only if it still holds our token (it may have expired and been taken by another).
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * Runs `fn` while holding the host's intake lock in Redis, so that the daemon's sources (spool, the
 * unattended-upgrades log, dpkg.log) and the finish-run workers match reports with events one at a time:
 * two reports of one apt run arriving together must not both find no event and make two. Throws
 * PatchrollError("REDIS_UNAVAILABLE") when the lock cannot be had in time; callers retry.
 */
export async function withIntakeLock<T>(redis: Redis, ns: Pick<Config, "hostId" | "redis">, fn: () => Promise<T>, o: IntakeLockOptions = {}): Promise<T> {
  const key = hostKey(ns, "intake", "lock");
  const token = randomBytes(12).toString("hex");
  const deadline = Date.now() + (o.waitMs ?? 10_000);
  for (let pause = 2; ; pause = Math.min(50, pause * 2)) {
    if ((await redis.set(key, token, "PX", o.ttlMs ?? 15_000, "NX")) === "OK") break;
    if (Date.now() > deadline) {
      throw new PatchrollError("REDIS_UNAVAILABLE", `could not take the intake lock ${key} within ${o.waitMs ?? 10_000} ms: another patchroll process holds it; it frees itself after ${o.ttlMs ?? 15_000} ms`);
    }
    await sleep(pause);
  }
  try {
    return await fn();
  } finally {
    await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
  }
}
