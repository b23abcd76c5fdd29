import type { Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import type { Logger } from "../log/logger.js";
import { hostKey, type QueueName } from "./names.js";

/** One recreation of a stuck worker, as `status` shows it (kept in Redis under `{prefix:HOST}:watchdog`). */
export interface WorkerRecreation {
  queue: QueueName;
  at: string;
  reason: string;
  /** Recreations of this queue's worker since the daemon started. */
  count: number;
}

/** Where the watchdog writes what it did. */
export function watchdogKey(config: Pick<Config, "hostId" | "redis">): string {
  return hostKey(config, "watchdog");
}

/** The last recreation per queue, for `status` (empty when none happened or Redis lost them). */
export async function readRecreations(redis: Redis, config: Pick<Config, "hostId" | "redis">): Promise<WorkerRecreation[]> {
  const all = await redis.hgetall(watchdogKey(config));
  return Object.values(all).map((t) => JSON.parse(t) as WorkerRecreation);
}

/** What the watchdog sees of one worker, tracked from its events. */
interface Watched {
  queue: QueueName;
  worker: Worker;
  /** Jobs it runs now. */
  busy: number;
  /** Since when jobs wait while it runs none; undefined while that is not so. */
  idleWithWorkSince: number | undefined;
}

export interface WorkerWatchdogOptions {
  config: Pick<Config, "hostId" | "redis">;
  /** The queues as producers see them (counts are read there, not on the worker's own connections). */
  queues: Record<QueueName, Queue>;
  /** Fail-fast connection for the watchdog's own record. */
  redis: Redis;
  logger: Logger;
  /** Jobs waiting this long while the worker runs none: it is stuck. */
  idleBoundMs: number;
  /** Starts a fresh worker for a queue. */
  create: (queue: QueueName) => Worker;
  /** Told of each recreation (metrics). */
  onRecreate?: (r: WorkerRecreation) => void;
}

/**
 * Finds workers that are "running" but no longer take jobs, and replaces them. BullMQ workers can end up so
 * after a Sentinel failover or a Redis restart (taskforcesh/bullmq #3088, #3185, #4378, #648): the blocking
 * connection lands in ioredis' terminal state "end" and never reconnects, while `isRunning()` stays true.
 * A worker is stuck when that connection has ended, when it is not running although nobody closed it, or
 * when jobs wait longer than `idleBoundMs` while it runs none.
 */
export class WorkerWatchdog {
  private readonly watched = new Map<QueueName, Watched>();
  private readonly counts = new Map<QueueName, number>();

  constructor(private readonly o: WorkerWatchdogOptions) {}

  /** Starts watching `worker` as the worker of `queue` (replacing any watched before). */
  watch(queue: QueueName, worker: Worker): void {
    const w: Watched = { queue, worker, busy: 0, idleWithWorkSince: undefined };
    worker.on("active", () => void (w.busy += 1));
    const done = () => void (w.busy = Math.max(0, w.busy - 1));
    worker.on("completed", done);
    worker.on("failed", done);
    this.watched.set(queue, w);
  }

  /** The workers watched now, one per queue. */
  workers(): Worker[] {
    return [...this.watched.values()].map((w) => w.worker);
  }

  /** Looks at every worker once; replaces the stuck ones. Returns the recreations it made. */
  async check(now = Date.now()): Promise<WorkerRecreation[]> {
    const made: WorkerRecreation[] = [];
    for (const w of [...this.watched.values()]) {
      const reason = await this.stuck(w, now).catch(() => undefined);
      if (reason !== undefined) made.push(await this.recreate(w, reason));
    }
    return made;
  }

  private async stuck(w: Watched, now: number): Promise<string | undefined> {
    const { worker } = w;
    if (worker.closing !== undefined) return undefined;
    if (!worker.isRunning()) return "its worker stopped running although nobody closed it";
    const blocking = await blockingStatus(worker);
    if (blocking === "end") return "its blocking Redis connection ended for good (ioredis state \"end\") and would never take a job again";
    if (w.busy > 0 || worker.isPaused()) {
      w.idleWithWorkSince = undefined;
      return undefined;
    }
    const queue = this.o.queues[w.queue];
    const [counts, paused] = await Promise.all([queue.getJobCounts("wait", "prioritized"), queue.isPaused()]);
    const waiting = (counts["wait"] ?? 0) + (counts["prioritized"] ?? 0);
    if (waiting === 0 || paused) {
      w.idleWithWorkSince = undefined;
      return undefined;
    }
    w.idleWithWorkSince ??= now;
    const idleMs = now - w.idleWithWorkSince;
    return idleMs >= this.o.idleBoundMs ? `${waiting} job(s) waited ${Math.round(idleMs / 1000)} s while its worker ran none` : undefined;
  }

  private async recreate(w: Watched, reason: string): Promise<WorkerRecreation> {
    const count = (this.counts.get(w.queue) ?? 0) + 1;
    this.counts.set(w.queue, count);
    const r: WorkerRecreation = { queue: w.queue, at: new Date().toISOString(), reason, count };
    this.o.logger.error({ queue: w.queue, reason, count }, "worker found stuck; replaced by a new one");
    // The stuck worker has no job (or a dead connection): closing it must not wait; its jobs' locks lapse
    // and the new worker takes them over.
    void Promise.race([w.worker.close(true), new Promise((r2) => setTimeout(r2, 2000).unref())]).catch(() => undefined);
    this.watch(w.queue, this.o.create(w.queue));
    this.o.onRecreate?.(r);
    await this.o.redis.hset(watchdogKey(this.o.config), w.queue, JSON.stringify(r)).catch(() => undefined);
    return r;
  }
}

/** The ioredis status of a worker's blocking connection ("ready", "reconnecting", "end", ...), if it has one. */
async function blockingStatus(worker: Worker): Promise<string | undefined> {
  const backend = worker.backend as unknown as { blockingConnection?: { client: Promise<{ status?: string }> } };
  const client = backend.blockingConnection?.client;
  if (client === undefined) return undefined;
  const c = await Promise.race([client, new Promise<undefined>((r) => setTimeout(() => r(undefined), 500).unref())]);
  return c?.status;
}
