import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import type { ContainerDriver } from "../containers/driver.js";
import { listPins, type Pin } from "../containers/pins.js";
import { connectRedis, describeRedis } from "../queue/connection.js";
import { closeQueues, openQueues, type Queues } from "../queue/queues.js";
import { readRedisAway } from "../queue/redis-away.js";
import { readRecreations } from "../queue/worker-watchdog.js";
import { heldRollouts } from "./held-rollouts.js";
import { parseRedisInfo, redisHealth, redisHealthProblems } from "../queue/redis-health.js";
import { RolloutStore } from "../rollout/rollout-store.js";
import { attentionItems } from "./attention.js";
import { containerStates, countByVerdict } from "./container-states.js";
import { dashboardUrl, probeDaemon } from "./daemon-probe.js";
import { oldestExposure } from "./exposure.js";
import { activeRollouts, openHalted, packagesOf } from "./open-halted.js";
import { queueCounts } from "./queue-counts.js";
import { spoolBacklog } from "./spool-backlog.js";
import type { ContainersSummary, RedisStatus, StatusReport } from "./status-report.js";

export interface CollectStatusOptions {
  /** An open connection (the dashboard's); without one, a fail-fast connection is opened and closed. */
  redis?: Redis;
  /** Queues opened on `redis`. */
  queues?: Queues;
  /** The daemon itself asks (dashboard): it is up by definition. */
  self?: boolean;
  driver?: ContainerDriver;
  now?: Date;
  /** How many recent rollouts to consider. Default 50. */
  recent?: number;
}

/** What Redis tells, or why it could not (never throws for an unreachable Redis). */
async function fromRedis(config: Config, opts: CollectStatusOptions) {
  let redis = opts.redis;
  let own = false;
  try {
    if (redis === undefined) {
      redis = await connectRedis(config, "client");
      own = true;
    }
    const queues = opts.queues ?? openQueues(redis, config);
    try {
      const [health, memory, counts, rollouts, recreations] = await Promise.all([
        redisHealth(redis),
        redis.info("memory"),
        queueCounts(redis, queues),
        new RolloutStore(redis, config).list(opts.recent ?? 50),
        readRecreations(redis, config),
      ]);
      const status: RedisStatus = { where: describeRedis(config), reachable: true, health, maxMemory: Number(parseRedisInfo(memory)["maxmemory"] ?? 0), problems: redisHealthProblems(health), ...(recreations.length > 0 ? { recreations } : {}) };
      return { status, counts, rollouts };
    } finally {
      if (opts.queues === undefined) await closeQueues(queues);
    }
  } catch (err) {
    const status: RedisStatus = { where: describeRedis(config), reachable: false, error: (err as Error).message, problems: [] };
    return { status, counts: null, rollouts: null };
  } finally {
    if (own) redis?.disconnect();
  }
}

function readPins(stateDir: string): Pin[] {
  try {
    return listPins(stateDir);
  } catch {
    return [];
  }
}

/**
 * Gathers everything `patchroll status` and the dashboard's front page show. Each part fails on its own:
 * with Redis away the spool, pins, containers and exposure are still reported.
 */
export async function collectStatus(config: Config, opts: CollectStatusOptions = {}): Promise<StatusReport> {
  const now = opts.now ?? new Date();
  const [redisPart, httpUp] = await Promise.all([
    fromRedis(config, opts),
    opts.self === true || !config.http.enabled ? Promise.resolve(opts.self === true) : probeDaemon(config),
  ]);
  const away = await readRedisAway(config);
  // The daemon's heartbeat says Redis is away (or this command cannot reach it): say since when, and what waits.
  if (away !== undefined || !redisPart.status.reachable) {
    redisPart.status.away = { since: away?.since ?? now.toISOString(), held: heldRollouts(config) };
    if (away !== undefined && redisPart.status.reachable) {
      redisPart.status.reachable = false;
      redisPart.status.error = `the daemon's heartbeat gets no answer: ${away.error}`;
    }
  }
  const rollouts = redisPart.rollouts;
  const packages = rollouts === null ? [] : packagesOf(rollouts);
  const containers: ContainersSummary = { total: 0, managed: 0, byVerdict: countByVerdict([]), stale: [], shadowed: [], ownDpkg: [], packages };
  let exposure: StatusReport["exposure"] = null;
  try {
    const states = await containerStates(config, { packages, now, ...(opts.driver !== undefined ? { driver: opts.driver } : {}) });
    const managed = states.filter((s) => s.managed);
    Object.assign(containers, {
      total: states.length,
      managed: managed.length,
      byVerdict: countByVerdict(states),
      stale: managed.filter((s) => s.verdict === "stale").map((s) => s.name),
      shadowed: managed.filter((s) => s.verdict === "shadowed").map((s) => s.name),
      ownDpkg: managed.filter((s) => s.verdict === "own-dpkg").map((s) => s.name),
    });
    exposure = oldestExposure(managed.map((s) => s.exposure)) ?? null;
  } catch (err) {
    containers.error = (err as Error).message;
  }
  const workers = redisPart.counts === null ? null : redisPart.counts.reduce((n, q) => n + q.workers, 0);
  // Up means working: workers connected. Only with Redis away does an answering dashboard count.
  const up = (workers ?? 0) > 0 ? true : workers === null ? (httpUp ? true : config.http.enabled ? false : null) : false;
  const report: Omit<StatusReport, "attention"> = {
    v: 1,
    host: config.hostId,
    at: now.toISOString(),
    daemon: { up, workers, http: config.http.enabled ? { url: dashboardUrl(config.http), up: httpUp } : null },
    redis: redisPart.status,
    queues: redisPart.counts,
    active: rollouts === null ? null : activeRollouts(rollouts),
    halted: rollouts === null ? null : openHalted(rollouts),
    pins: readPins(config.stateDir),
    containers,
    spool: spoolBacklog(config.spoolDir, now),
    exposure,
  };
  return { ...report, attention: attentionItems(report) };
}
