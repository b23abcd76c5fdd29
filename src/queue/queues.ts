import { Queue, type QueueOptions } from "bullmq";
import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import { type QueueName, queuePrefix } from "./names.js";

/** The host's BullMQ queues, sharing one producer connection. */
export type Queues = Record<QueueName, Queue>;

/** Opens the host's queues on `connection` (a client connection: producers fail fast). */
export function openQueues(connection: Redis, config: Pick<Config, "hostId" | "redis">): Queues {
  const opts: QueueOptions = { connection, prefix: queuePrefix(config) };
  const queues: Queues = {
    "apt-events": new Queue("apt-events", opts),
    rollouts: new Queue("rollouts", opts),
    notifications: new Queue("notifications", opts),
  };
  // Connection errors surface where the queues are used (and the spool keeps what Redis did not take);
  // without a listener BullMQ would also print every reconnect attempt.
  for (const q of Object.values(queues)) q.on("error", () => {});
  return queues;
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((q) => q.close()));
}

/** BullMQ job ids may not contain ':'; run keys and event ids are made safe with this. */
export function jobIdPart(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, "_");
}
