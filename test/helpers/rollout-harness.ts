import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { HealthCheck } from "../../src/config/schema.js";
import { writeMeta } from "../../src/containers/meta.js";
import { Daemon, type DaemonOptions } from "../../src/daemon/daemon.js";
import { readJournal } from "../../src/journal/journal.js";
import { journalFile } from "../../src/journal/paths.js";
import type { JournalEntry } from "../../src/journal/entry.js";
import { silentLogger } from "../../src/log/logger.js";
import { connectRedis } from "../../src/queue/connection.js";
import { openQueues, closeQueues, type Queues } from "../../src/queue/queues.js";
import { startManualRollout } from "../../src/rollout/manual-rollout.js";
import { RolloutStore, type RolloutState } from "../../src/rollout/rollout-store.js";
import { lxcTestBed, type TestBed, type TestContainer, type TestContainerOptions } from "./lxc.js";
import { testEnv, type TestEnv } from "./redis.js";

export interface HarnessContainer extends Omit<TestContainerOptions, "start"> {
  /** Health checks instead of the test bed's default (GET /health). */
  health?: (c: TestContainer) => HealthCheck[];
  /** Runs after the container is created and before it starts (write files into its delta). */
  prepare?: (c: TestContainer) => void;
}

/**
 * Real containers, a real Redis and an in-process daemon, for tests of the rollout engine alone: `trigger()`
 * starts a manual rollout for a package no container uses (recorded and queued like an apt run's); with `rollout.select: "all"` every running container is in the plan.
 */
export interface RolloutHarness {
  env: TestEnv;
  bed: TestBed;
  containers: TestContainer[];
  redis: Redis;
  queues: Queues;
  /** Records an event and queues its rollout; `beforeQueue` runs first (e.g. to pause it before it starts). */
  trigger(beforeQueue?: (rolloutId: string) => Promise<unknown>): Promise<string>;
  waitFor(rolloutId: string, statuses: readonly RolloutState["status"][], timeoutMs?: number): Promise<RolloutState>;
  journal(rolloutId: string): JournalEntry[];
  startDaemon(options?: DaemonOptions): Promise<Daemon>;
  stopDaemon(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function rolloutHarness(label: string, specs: readonly HarnessContainer[], flags: Record<string, unknown> = {}): Promise<RolloutHarness> {
  const bed = await lxcTestBed(label);
  const { rollout, ...rest } = flags as { rollout?: Record<string, unknown> };
  const env = testEnv(label, {
    lxc: { path: bed.lxcPath, hostRoot: bed.hostRoot, stopTimeoutSec: 5 },
    rollout: { select: "all", healthIntervalMs: 50, healthyAfter: 2, unhealthyAfter: 3, healthTimeoutMs: 5000, ...rollout },
    ...rest,
  });
  const containers: TestContainer[] = [];
  let redis: Redis;
  try {
    for (const spec of specs) {
      const c = await bed.create({ ...spec, start: false });
      if (spec.health !== undefined) writeMeta(bed.lxcPath, c.name, { v: 1, group: spec.group ?? "default", canary: spec.canary ?? false, health: spec.health(c) });
      spec.prepare?.(c);
      await c.start();
      containers.push(c);
    }
    redis = await connectRedis(env.config, "worker");
  } catch (err) {
    // A harness that could not be made (a Redis it cannot reach, say) leaves nothing behind.
    await bed.cleanup();
    env.cleanup();
    throw err;
  }
  const queues = openQueues(redis, env.config);
  let daemon: Daemon | undefined;
  const h: RolloutHarness = {
    env,
    bed,
    containers,
    redis,
    queues,
    async trigger(beforeQueue) {
      const pkg = `prt-none-${randomBytes(3).toString("hex")}`;
      return (await startManualRollout(redis, queues, env.config, [pkg], beforeQueue)).rolloutId;
    },
    async waitFor(rolloutId, statuses, timeoutMs = 60_000) {
      const store = new RolloutStore(redis, env.config);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = await store.get(rolloutId);
        if (s !== undefined && statuses.includes(s.status)) return s;
        if (Date.now() > deadline) throw new Error(`rollout ${rolloutId} not in ${statuses.join("/")} within ${timeoutMs} ms: ${JSON.stringify(s)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    journal: (rolloutId) => readJournal(journalFile(env.config, rolloutId)).entries,
    async startDaemon(options = {}) {
      daemon = new Daemon(env.config, silentLogger(), { driver: bed.driver, ...options });
      await daemon.start();
      return daemon;
    },
    async stopDaemon() {
      await daemon?.stop(5000);
      daemon = undefined;
    },
    async cleanup() {
      await h.stopDaemon();
      await closeQueues(queues);
      redis.disconnect();
      await bed.cleanup();
      env.cleanup();
    },
  };
  return h;
}
