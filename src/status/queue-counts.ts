import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { QUEUE_NAMES, type QueueName } from "../queue/names.js";
import type { Queues } from "../queue/queues.js";

/** The job states `patchroll queues` counts, in the order it prints them. */
export const COUNTED_STATES = ["waiting", "active", "delayed", "prioritized", "waiting-children", "failed", "completed"] as const;
export type CountedState = (typeof COUNTED_STATES)[number];

/** One queue at a glance. */
export interface QueueCounts {
  queue: QueueName;
  /** The queue was paused (BullMQ `queue.pause()`): nothing is picked up. */
  paused: boolean;
  counts: Record<CountedState, number>;
  /** Active jobs whose worker lock expired: their worker died or hangs (see {@link stalledJobIds}). */
  stalled: number;
  /** Workers connected to this queue right now (Redis CLIENT LIST). */
  workers: number;
}

/**
 * Active jobs that no worker holds any more. A worker keeps a lock key per active job and renews it; when
 * the worker dies or its event loop hangs, the lock expires and BullMQ's stalled checker (run by a live
 * worker) moves the job back to waiting. Until then such a job is "stalled": active, without a lock.
 */
export async function stalledJobIds(client: Redis, queue: Queue, limit = 1000): Promise<string[]> {
  const active = await client.lrange(queue.keys["active"]!, 0, limit - 1);
  if (active.length === 0) return [];
  const pipeline = client.pipeline();
  for (const id of active) pipeline.exists(`${queue.toKey(id)}:lock`);
  const replies = (await pipeline.exec()) ?? [];
  return active.filter((_, i) => replies[i]?.[1] === 0);
}

/** Counts one queue; `client` is the connection the queue was opened on. */
export async function countQueue(client: Redis, name: QueueName, queue: Queue): Promise<QueueCounts> {
  const [raw, paused, stalled, workers] = await Promise.all([queue.getJobCounts(...COUNTED_STATES), queue.isPaused(), stalledJobIds(client, queue), queue.getWorkersCount()]);
  const counts = Object.fromEntries(COUNTED_STATES.map((s) => [s, raw[s] ?? 0])) as Record<CountedState, number>;
  return { queue: name, paused, counts, stalled: stalled.length, workers };
}

/** Counts every queue of the host; `client` is the connection the queues were opened on. */
export async function queueCounts(client: Redis, queues: Queues): Promise<QueueCounts[]> {
  return Promise.all(QUEUE_NAMES.map((name) => countQueue(client, name, queues[name])));
}
