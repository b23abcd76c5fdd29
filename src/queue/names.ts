import type { Config } from "../config/schema.js";

/**
 * The queues patchroll runs: `apt-events` turns spooled hook records into events; `rollouts` runs them;
 * `notifications` delivers webhooks (retried on its own, so a failing webhook never holds a rollout up).
 */
export const QUEUE_NAMES = ["apt-events", "rollouts", "notifications"] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/**
 * BullMQ prefix for one host: `{patchroll:HOST}`. The braces are a Redis Cluster hash tag, so every key of
 * a host's queues lands in one slot, and many hosts can share one Redis without seeing each other's keys.
 */
export function queuePrefix(config: Pick<Config, "hostId" | "redis">): string {
  return `{${config.redis.prefix}:${config.hostId}}`;
}

/** A plain key of patchroll's own (not BullMQ's) in the host's namespace, e.g. `{patchroll:h1}:rollout:ID`. */
export function hostKey(config: Pick<Config, "hostId" | "redis">, ...parts: string[]): string {
  return [queuePrefix(config), ...parts].join(":");
}
