import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import type { Logger } from "../log/logger.js";
import { describeRedis } from "../queue/connection.js";
import { hostKey } from "../queue/names.js";
import type { Queues } from "../queue/queues.js";
import { clearRedisAway, writeRedisAway } from "../queue/redis-away.js";
import type { ReplicaAck } from "../queue/replica-ack.js";
import type { WorkerWatchdog } from "../queue/worker-watchdog.js";
import { recoverFromJournal } from "../rollout/recover-from-journal.js";

export interface RedisWatchOptions {
  config: Config;
  logger: Logger;
  /** The daemon's fail-fast producer connection. */
  redis: Redis;
  queues: Queues;
  watchdog?: WorkerWatchdog;
  /** The spool's replica check: told at every heartbeat which replicas the master has. */
  replicas?: Pick<ReplicaAck, "observe">;
  /** Pause between two heartbeats. Default 1000 ms. */
  intervalMs?: number;
}

/** A heartbeat that does not answer within this is a Redis away (a frozen process never closes the socket). */
const HEARTBEAT_TIMEOUT_MS = 2000;

/**
 * The daemon's eye on Redis. Every `intervalMs` it writes the host's epoch key (`SET NX`): an error or no
 * answer means Redis is away (recorded in `STATEDIR/redis-away.json` for `status`); the key found missing
 * means Redis lost everything (restarted empty, flushed). After an outage, a reconnection (a Sentinel
 * failover may drop the last writes) or a loss, what Redis lost of unfinished rollouts is put back from the
 * journal. While Redis answers, the worker watchdog looks at the workers.
 */
export class RedisWatch {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private recoveryDue = true;
  private readonly epoch = `${new Date().toISOString()}-${randomBytes(3).toString("hex")}`;
  /** When Redis stopped answering; undefined while it answers. */
  awaySince: Date | undefined;

  constructor(private readonly o: RedisWatchOptions) {}

  /** Takes the first heartbeat (and the first comparison with the journal), then keeps watching. */
  async start(): Promise<void> {
    let ready = 0;
    this.o.redis.on("ready", () => {
      // Every reconnection after the first may follow a failover that dropped writes.
      if (++ready > 1) this.recoveryDue = true;
    });
    if (this.o.redis.status === "ready") ready = 1;
    await this.tick(true);
    this.schedule();
  }

  /** Stops watching; a heartbeat under way gets a few seconds to end (Redis may not answer it). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.race([this.running, new Promise((r) => setTimeout(r, HEARTBEAT_TIMEOUT_MS + 1000).unref())]);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick(false).finally(() => this.schedule());
    }, this.o.intervalMs ?? 1000);
  }

  /** One heartbeat; never throws. */
  async tick(first = false): Promise<void> {
    const { config, logger, redis } = this.o;
    let reply: string | null;
    try {
      reply = await within(redis.set(hostKey(config, "epoch"), this.epoch, "NX"), HEARTBEAT_TIMEOUT_MS);
    } catch (err) {
      const error = (err as Error).message;
      if (this.awaySince === undefined) {
        this.awaySince = new Date();
        logger.error({ where: describeRedis(config), err: error }, "Redis is away: the container being restarted is finished from local disk, rollouts hold before the next one, apt records stay in the spool");
      }
      await writeRedisAway(config, { v: 1, since: this.awaySince.toISOString(), where: describeRedis(config), error }).catch(() => undefined);
      return;
    }
    if (this.awaySince !== undefined) {
      logger.warn({ awaySec: Math.round((Date.now() - this.awaySince.getTime()) / 1000) }, "Redis is back");
      this.awaySince = undefined;
      this.recoveryDue = true;
    }
    await clearRedisAway(config).catch(() => undefined);
    if (reply === "OK" && !first) {
      logger.error({ where: describeRedis(config) }, "Redis came back empty (restarted without its data, or flushed): rebuilding the host's rollouts from the journal");
      this.recoveryDue = true;
    }
    if (this.recoveryDue) {
      try {
        this.recoveryDue = false;
        await recoverFromJournal({ redis, queues: this.o.queues, config, logger });
      } catch (err) {
        this.recoveryDue = true;
        logger.warn({ err: (err as Error).message }, "comparing Redis with the journal failed; trying again at the next heartbeat");
      }
    }
    await this.o.replicas?.observe().catch(() => undefined);
    await this.o.watchdog?.check().catch((err: unknown) => logger.warn({ err: (err as Error).message }, "worker watchdog check failed"));
  }
}

/** `p`, or a rejection after `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms (process frozen, or network gone)`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
