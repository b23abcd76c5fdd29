import type { Pin } from "../containers/pins.js";
import type { Verdict } from "../detect/verdict.js";
import type { RedisHealth } from "../queue/redis-health.js";
import type { WorkerRecreation } from "../queue/worker-watchdog.js";
import type { HeldRollout } from "./held-rollouts.js";
import type { RolloutState } from "../rollout/rollout-store.js";
import type { Exposure } from "./exposure.js";
import type { QueueCounts } from "./queue-counts.js";
import type { RunbookSlug } from "./runbooks.js";
import type { SpoolBacklog } from "./spool-backlog.js";

/** Something that needs a human, with the next command and the runbook page. */
export interface Attention {
  severity: "critical" | "warning";
  /** What is wrong, in one sentence. */
  what: string;
  /** The next command to run. */
  next: string;
  runbook: RunbookSlug;
  /** Absolute path of the runbook page. */
  runbookFile: string;
}

/**
 * The daemon as seen from outside. `up`: workers are connected to the host's queues (with Redis away: the
 * dashboard answers); null when it cannot be told (Redis away, dashboard off).
 */
export interface DaemonStatus {
  up: boolean | null;
  /** BullMQ workers connected to the host's queues; null when Redis is away. */
  workers: number | null;
  /** The dashboard's URL and whether it answered; null when `http.enabled` is false. */
  http: { url: string; up: boolean } | null;
}

export interface RedisStatus {
  /** Where (no secrets). */
  where: string;
  reachable: boolean;
  error?: string;
  health?: RedisHealth;
  /** INFO memory `maxmemory` (0: no limit). */
  maxMemory?: number;
  /** Persistence and eviction problems, in words. */
  problems: string[];
  /** Set while the daemon cannot reach Redis: since when (its heartbeat's account) and what waits meanwhile. */
  away?: { since: string; held: HeldRollout[] };
  /** Stuck workers the daemon's watchdog replaced (the last time per queue). */
  recreations?: WorkerRecreation[];
}

export interface ContainersSummary {
  total: number;
  managed: number;
  byVerdict: Record<Verdict, number>;
  stale: string[];
  shadowed: string[];
  ownDpkg: string[];
  /** The packages the scan judged (those of recent events); empty: every mapped file. */
  packages: string[];
  /** Set when the scan failed. */
  error?: string;
}

/** Everything `patchroll status` shows; its `--json` document. */
export interface StatusReport {
  v: 1;
  host: string;
  at: string;
  daemon: DaemonStatus;
  redis: RedisStatus;
  /** null when Redis is away. */
  queues: QueueCounts[] | null;
  /** Rollouts running or planned; null when Redis is away. */
  active: RolloutState[] | null;
  /** Halted rollouts among the recent ones; null when Redis is away. */
  halted: RolloutState[] | null;
  pins: Pin[];
  containers: ContainersSummary;
  spool: SpoolBacklog;
  /** The container that has run outdated code the longest. */
  exposure: Exposure | null;
  attention: Attention[];
}
