import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import type { ContainerDriver } from "../containers/driver.js";
import type { Queues } from "../queue/queues.js";
import { type RedisHealth, redisHealth } from "../queue/redis-health.js";
import { RolloutStore, type RolloutState } from "../rollout/rollout-store.js";
import { type ContainerPatchState, containerStates } from "../status/container-states.js";
import { packagesOf } from "../status/open-halted.js";
import { type QueueCounts, queueCounts } from "../status/queue-counts.js";
import { type SpoolBacklog, spoolBacklog } from "../status/spool-backlog.js";

/** Everything the gauges report, read once per scrape (or less often, see {@link SnapshotSource}). */
export interface MetricsSnapshot {
  redis?: RedisHealth;
  queues?: QueueCounts[];
  rollouts?: RolloutState[];
  containers?: ContainerPatchState[];
  spool: SpoolBacklog;
}

export interface SnapshotDeps {
  config: Config;
  redis: Redis;
  queues: Queues;
  driver?: ContainerDriver;
}

/** Rollouts considered by the rollout gauges (newest first). */
const ROLLOUT_WINDOW = 1000;

async function take(deps: SnapshotDeps): Promise<MetricsSnapshot> {
  const { config, redis, queues } = deps;
  const settle = async <T>(p: Promise<T>): Promise<T | undefined> => p.catch(() => undefined);
  const [health, counts, rollouts] = await Promise.all([settle(redisHealth(redis)), settle(queueCounts(redis, queues)), settle(new RolloutStore(redis, config).list(ROLLOUT_WINDOW))]);
  const containers = await settle(containerStates(config, { packages: packagesOf((rollouts ?? []).slice(0, 50)), ...(deps.driver !== undefined ? { driver: deps.driver } : {}) }));
  return {
    ...(health !== undefined ? { redis: health } : {}),
    ...(counts !== undefined ? { queues: counts } : {}),
    ...(rollouts !== undefined ? { rollouts } : {}),
    ...(containers !== undefined ? { containers } : {}),
    spool: spoolBacklog(config.spoolDir),
  };
}

/**
 * Shares one snapshot between every gauge of a scrape, and between scrapes closer together than
 * `maxAgeMs` (a container scan reads /proc of every container process: not something to repeat for each
 * of several Prometheus servers).
 */
export class SnapshotSource {
  private current: { at: number; value: Promise<MetricsSnapshot> } | undefined;

  constructor(
    private readonly deps: SnapshotDeps,
    private readonly maxAgeMs = 5000,
  ) {}

  get(): Promise<MetricsSnapshot> {
    const now = Date.now();
    if (this.current === undefined || now - this.current.at > this.maxAgeMs) this.current = { at: now, value: take(this.deps) };
    return this.current.value;
  }
}
