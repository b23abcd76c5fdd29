import { join } from "node:path";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { JournalEntry } from "../journal/entry.js";
import { listJournals } from "../journal/journal.js";
import { VERDICTS } from "../detect/verdict.js";
import { openHalted } from "../status/open-halted.js";
import { COUNTED_STATES } from "../status/queue-counts.js";
import { registerFleetMetrics } from "../fleet/fleet-metrics.js";
import type { WorkerRecreation } from "../queue/worker-watchdog.js";
import { FileFollower } from "./file-follower.js";
import { type JournalCursor, observeEntries } from "./journal-observations.js";
import { SnapshotSource, type SnapshotDeps } from "./snapshot.js";

export interface MetricsOptions extends SnapshotDeps {
  /**
   * Where to count the hooks' `patchroll:` warning lines. Default: unattended-upgrades' dpkg log
   * (`intake.uuLogDir`/unattended-upgrades-dpkg.log), which keeps apt's hook output of its runs.
   */
  hookLog?: string;
  /** Longest reuse of one snapshot between scrapes. Default 5000 ms. */
  snapshotMaxAgeMs?: number;
  /** The worker watchdog's replacements of stuck workers, per queue (the daemon's own count). */
  recreations?: () => WorkerRecreation[];
}

const ROLLOUT_STATUSES = ["planned", "running", "paused", "waiting", "completed", "halted", "aborted"] as const;

/** One journal line, or undefined when it is torn or invalid (journal verify reports those). */
function parseLine(line: string): JournalEntry | undefined {
  try {
    const parsed = JournalEntry.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The daemon's Prometheus metrics (each one described in deploy/prometheus/README.md): gauges read from Redis, the spool
 * and a container scan at scrape time; histograms and the hook error counter fed from the files patchroll
 * and apt append to (journals, unattended-upgrades' dpkg log), so nothing in the rollout path is touched.
 */
export function createMetrics(o: MetricsOptions): Registry {
  const registry = new Registry();
  const registers = [registry];
  const source = new SnapshotSource(o, o.snapshotMaxAgeMs);
  const follower = new FileFollower();
  const cursors = new Map<string, JournalCursor>();
  const hookLog = o.hookLog ?? join(o.config.intake.uuLogDir, "unattended-upgrades-dpkg.log");
  // A counter starts at zero: warnings already in the log before the daemon started are not counted again.
  follower.skipToEnd(hookLog);

  new Gauge({
    name: "patchroll_queue_jobs",
    help: "Jobs per queue and state; stalled = active without a live worker lock.",
    labelNames: ["queue", "state"],
    registers,
    async collect() {
      this.reset();
      for (const q of (await source.get()).queues ?? []) {
        for (const s of COUNTED_STATES) this.set({ queue: q.queue, state: s }, q.counts[s]);
        this.set({ queue: q.queue, state: "stalled" }, q.stalled);
      }
    },
  });
  new Gauge({
    name: "patchroll_queue_workers",
    help: "Workers connected to each queue.",
    labelNames: ["queue"],
    registers,
    async collect() {
      this.reset();
      for (const q of (await source.get()).queues ?? []) this.set({ queue: q.queue }, q.workers);
    },
  });
  new Counter({
    name: "patchroll_worker_recreations_total",
    help: "Stuck workers (running, but no longer taking jobs) replaced by the watchdog, per queue.",
    labelNames: ["queue"],
    registers,
    collect() {
      this.reset();
      for (const r of o.recreations?.() ?? []) this.inc({ queue: r.queue }, r.count);
    },
  });
  new Gauge({
    name: "patchroll_redis_up",
    help: "1 when Redis answered this scrape.",
    registers,
    async collect() {
      this.set((await source.get()).redis !== undefined ? 1 : 0);
    },
  });
  new Gauge({
    name: "patchroll_redis_used_memory_bytes",
    help: "Redis INFO used_memory.",
    registers,
    async collect() {
      this.reset();
      const r = (await source.get()).redis;
      if (r !== undefined) this.set(r.usedMemory);
    },
  });
  new Gauge({
    name: "patchroll_rollouts",
    help: "Recent rollouts (up to 1000) by status.",
    labelNames: ["status"],
    registers,
    async collect() {
      this.reset();
      const list = (await source.get()).rollouts;
      if (list === undefined) return;
      for (const s of ROLLOUT_STATUSES) this.set({ status: s }, list.filter((r) => r.status === s).length);
    },
  });
  new Gauge({
    name: "patchroll_rollouts_halted_open",
    help: "Halted rollouts no later completed rollout of the same packages superseded: each needs a human.",
    registers,
    async collect() {
      this.reset();
      const list = (await source.get()).rollouts;
      if (list !== undefined) this.set(openHalted(list).length);
    },
  });
  new Gauge({
    name: "patchroll_containers",
    help: "Managed containers by patch verdict (patched, stale, shadowed, pinned, own-dpkg, stopped).",
    labelNames: ["verdict"],
    registers,
    async collect() {
      this.reset();
      const list = (await source.get()).containers;
      if (list === undefined) return;
      for (const v of VERDICTS) this.set({ verdict: v }, list.filter((c) => c.verdict === v).length);
    },
  });
  new Gauge({
    name: "patchroll_stale_containers",
    help: "Managed containers running outdated files (a restart patches them).",
    registers,
    async collect() {
      this.reset();
      const list = (await source.get()).containers;
      if (list !== undefined) this.set(list.filter((c) => c.verdict === "stale").length);
    },
  });
  new Gauge({
    name: "patchroll_exposure_seconds",
    help: "Per container: seconds since the host got a patched file the container still runs the old copy of.",
    labelNames: ["container"],
    registers,
    async collect() {
      this.reset();
      for (const c of (await source.get()).containers ?? []) if (c.exposure !== undefined) this.set({ container: c.name }, c.exposure.ageSec);
    },
  });
  new Gauge({
    name: "patchroll_spool_backlog_records",
    help: "apt hook records waiting in the spool dir for the daemon.",
    registers,
    async collect() {
      this.set((await source.get()).spool.records);
    },
  });
  new Gauge({
    name: "patchroll_spool_oldest_record_age_seconds",
    help: "Age of the oldest waiting spool record (0 when none waits).",
    registers,
    async collect() {
      this.set((await source.get()).spool.oldestAgeSec ?? 0);
    },
  });
  new Gauge({
    name: "patchroll_spool_corrupt_records",
    help: "Spool records that could not be read, kept in corrupt/.",
    registers,
    async collect() {
      this.set((await source.get()).spool.corrupt);
    },
  });
  new Counter({
    name: "patchroll_hook_errors_total",
    help: "Warnings the apt hooks printed ('patchroll: ...' lines in unattended-upgrades' dpkg log) since the daemon started.",
    registers,
    collect() {
      const n = follower.newLines(hookLog).filter((l) => l.startsWith("patchroll: ")).length;
      if (n > 0) this.inc(n);
    },
  });
  const duration = new Histogram({
    name: "patchroll_rollout_duration_seconds",
    help: "Wall-clock time from a rollout's plan to its end (completed, halted or aborted).",
    labelNames: ["status"],
    buckets: [5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600],
    registers: [],
  });
  // Both histograms are fed once per scrape from what the journals gained since the last one, by the one
  // registered first (the registry serialises metrics in registration order).
  const feedJournals = () => {
    const dir = join(o.config.journalDir, o.config.hostId);
    for (const id of listJournals(o.config.journalDir, o.config.hostId)) {
      const file = join(dir, `${id}.jsonl`);
      const entries = follower.newLines(file).flatMap((line) => {
        const parsed = parseLine(line);
        return parsed === undefined ? [] : [parsed];
      });
      if (entries.length === 0) continue;
      const cursor = cursors.get(file) ?? {};
      cursors.set(file, cursor);
      const seen = observeEntries(entries, cursor);
      for (const h of seen.health) health.observe({ outcome: h.outcome }, h.seconds);
      for (const d of seen.durations) duration.observe({ status: d.status }, d.seconds);
    }
  };
  const health: Histogram<"outcome"> = new Histogram({
    name: "patchroll_health_check_latency_seconds",
    help: "Latency of the health checks that decided a container's health after a restart or rollback (the last round of each).",
    labelNames: ["outcome"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
    collect: feedJournals,
  });
  registry.registerMetric(duration);
  if (o.config.fleet.enabled) registerFleetMetrics(registers, o.redis, o.config);
  collectDefaultMetrics({ register: registry, prefix: "patchroll_" });
  return registry;
}
