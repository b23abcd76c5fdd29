import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import type { ContainerDriver } from "../containers/driver.js";
import { LxcDriver } from "../containers/lxc-driver.js";
import { discoverContainers } from "../containers/discover.js";
import { ensureHostRoot } from "../containers/host-root.js";
import { recoverInterruptedRestore } from "../containers/snapshot.js";
import { SnapshotLockHeld } from "../containers/snapshot-lock.js";
import type { AptEvent } from "../intake/apt-event.js";
import { EventStore } from "../intake/event-store.js";
import { IntakeSources } from "../intake/sources.js";
import { SpoolIngest } from "../intake/spool-ingest.js";
import type { SpoolRecord } from "../intake/spool-record.js";
import { takeSpoolRecord } from "../intake/take-spool-record.js";
import type { Logger } from "../log/logger.js";
import { connectRedis, describeRedis, usesEmbeddedRedis } from "../queue/connection.js";
import { closeQueues, openQueues, type Queues } from "../queue/queues.js";
import { ReplicaAck } from "../queue/replica-ack.js";
import { RedisSupervisor } from "../queue/redis-supervisor.js";
import { PatchrollError } from "../errors/patchroll-error.js";
import { ensureRollout } from "../rollout/ensure-rollout.js";
import { RolloutStore } from "../rollout/rollout-store.js";
import { fleetEnabled } from "../fleet/fleet-mode.js";
import { Heartbeat } from "../fleet/heartbeat.js";
import { FleetRollouts } from "../fleet/fleet-rollout.js";
import { LeaseStore } from "../fleet/lease-store.js";
import { closeWorkers, startWorker } from "../../workers/start-workers.js";
import { snapshotsDirOf } from "../../workers/rollout.js";
import { QUEUE_NAMES } from "../queue/names.js";
import { type WorkerRecreation, WorkerWatchdog } from "../queue/worker-watchdog.js";
import { RedisWatch } from "./redis-watch.js";
import type { WorkerContext } from "../../workers/context.js";

export interface DaemonOptions {
  driver?: ContainerDriver;
  /** Fault injection for crash tests. */
  checkpoint?: WorkerContext["checkpoint"];
}

/**
 * The long-lived process: supervises the embedded Redis (unless a shared one is configured), drains the
 * apt hooks' spool into Redis, and runs the workers.
 */
export class Daemon {
  private supervisor: RedisSupervisor | undefined;
  private redis: Redis | undefined;
  private producer: Redis | undefined;
  private producerQueues: Queues | undefined;
  private queues: Queues | undefined;
  private watchdog: WorkerWatchdog | undefined;
  private watch: RedisWatch | undefined;
  /** Stuck workers replaced so far, per queue (the metric `patchroll_worker_recreations_total`). */
  readonly recreations = new Map<string, WorkerRecreation>();
  private ingest: SpoolIngest | undefined;
  /** The unattended-upgrades log watcher and dpkg.log reconciliation, once started. */
  intake: IntakeSources | undefined;
  private dashboard: { url: string; close(): Promise<void> } | undefined;
  /** Fleet mode only (`fleet.enabled`): the host's heartbeat on the shared Redis. */
  private heartbeat: Heartbeat | undefined;
  /** Set by {@link stop}: ends a wait for Redis at start. */
  private stopping = false;

  constructor(
    readonly config: Config,
    private readonly logger: Logger,
    private readonly options: DaemonOptions = {},
  ) {}

  async start(): Promise<void> {
    const { config, logger } = this;
    const fleet = fleetEnabled(config);
    await this.prepareContainers();
    if (usesEmbeddedRedis(config)) {
      this.supervisor = new RedisSupervisor({ stateDir: config.stateDir, binary: config.redis.serverBinary, logger });
      await this.supervisor.start();
    }
    this.redis = await this.connectWaiting();
    // Before any rollout resumes: a fleet slot this host held before (crash, kill -9) is given back.
    if (fleet && (await new LeaseStore(this.redis, config).release(config.hostId))) logger.warn("gave back the fleet slot this host held before it stopped");
    const queues = openQueues(this.redis, config);
    this.queues = queues;
    const events = new EventStore(this.redis, config);
    const ctx: WorkerContext = {
      config,
      logger,
      redis: this.redis,
      queues,
      events,
      rollouts: new RolloutStore(this.redis, config),
      driver: this.options.driver ?? new LxcDriver(config.lxc.path),
      ...(this.options.checkpoint !== undefined ? { checkpoint: this.options.checkpoint } : {}),
      ...(fleet ? { fleet: new FleetRollouts(this.redis, config, logger) } : {}),
    };
    // Spool records go through a fail-fast connection: while Redis is away they stay in the spool.
    const producer = await connectRedis(config, "producer");
    producer.on("error", () => {});
    this.producer = producer;
    const producerEvents = new EventStore(producer, config);
    const producerQueues = openQueues(producer, config);
    this.producerQueues = producerQueues;
    const watchdog = new WorkerWatchdog({
      config, queues: producerQueues, redis: producer, logger, idleBoundMs: config.queue.watchdogIdleMs,
      create: (q) => startWorker(ctx, q),
      onRecreate: (r) => this.recreations.set(r.queue, r),
    });
    for (const q of QUEUE_NAMES) watchdog.watch(q, startWorker(ctx, q));
    this.watchdog = watchdog;
    const ack = new ReplicaAck(producer, config.redis.cluster === undefined);
    this.watch = new RedisWatch({ config, logger, redis: producer, queues: producerQueues, watchdog, replicas: ack });
    await this.watch.start();
    const ingest = new SpoolIngest({ spoolDir: config.spoolDir, logger, onRecord: async (rec: SpoolRecord) => {
      await takeSpoolRecord(producerEvents, producerQueues["apt-events"], rec);
      // Deleted from the spool only once a replica has it too: a failover cannot lose it.
      await ack.confirm();
    } });
    this.ingest = ingest;
    await ingest.start();
    // Intake knows nothing of rollouts: every event it made or changed is handed over here.
    const onEvent = (event: AptEvent) => ensureRollout({ events: producerEvents, queues: producerQueues, config, logger }, event);
    this.intake = new IntakeSources({ config, logger, redis: producer, events: producerEvents, onEvent, spoolDrained: () => ingest.drained(), spoolBacklog: () => ingest.backlog() });
    await this.intake.start();
    if (fleet) {
      this.heartbeat = new Heartbeat({ config, redis: producer, events: producerEvents, rollouts: new RolloutStore(producer, config), driver: ctx.driver, logger });
      await this.heartbeat.start();
    }
    if (config.http.enabled) {
      // Loaded here, not at the top: every CLI command imports this module and must not pay for fastify.
      const { startDashboard } = await import("../http/dashboard.js");
      this.dashboard = await startDashboard({ config, redis: producer, queues: producerQueues, logger, driver: ctx.driver, recreations: () => [...this.recreations.values()] }).catch((err: unknown) => {
        logger.error({ err, listen: config.http.listen, port: config.http.port }, "dashboard and /metrics not served; patching goes on");
        return undefined;
      });
    }
    logger.info({ hostId: config.hostId, spool: config.spoolDir, journal: config.journalDir, dashboard: this.dashboard?.url }, "patchroll daemon started");
  }

  /**
   * Before anything acts: the host root bind mount does not survive a reboot (without it no managed
   * container starts), so put it back when a container's lower layer is the configured host root; and a
   * delta restore cut off by a crash is finished (its leftovers name the snapshot it came from).
   */
  private async prepareContainers(): Promise<void> {
    const { lxc } = this.config;
    const containers = await discoverContainers({ lxcPath: lxc.path, hostRoot: lxc.hostRoot, driver: this.options.driver ?? new LxcDriver(lxc.path) });
    if (containers.some((c) => c.lowerDirs.at(-1) === lxc.hostRoot)) {
      const { mounted } = await ensureHostRoot(lxc.hostRoot);
      if (mounted) this.logger.warn({ hostRoot: lxc.hostRoot }, "host root bind mount was missing (reboot?); mounted it again");
    }
    for (const c of containers) {
      if (c.deltaDir === undefined) continue;
      let actions: Awaited<ReturnType<typeof recoverInterruptedRestore>>;
      try {
        actions = await recoverInterruptedRestore(c.deltaDir, { logger: this.logger, snapshotsDir: snapshotsDirOf(lxc.path, c.name) });
      } catch (err) {
        // A live process (a `patchroll rollback`, say) is restoring or snapshotting this delta: it finishes its own work.
        if (!(err instanceof SnapshotLockHeld)) throw err;
        this.logger.warn({ container: c.name, err: err.message }, "did not look for an interrupted restore of this container: its snapshots are in use");
        continue;
      }
      if (actions.length > 0) this.logger.warn({ container: c.name, actions }, "finished a delta restore that a crash interrupted");
    }
  }

  /**
   * The workers' connection. A Redis away at start (a shared one not up yet after a power cut) is waited
   * for, saying why at most every 10 s: nothing is lost meanwhile, apt's records wait in the spool. Only a
   * {@link stop} ends the wait.
   */
  private async connectWaiting(): Promise<Redis> {
    const { config, logger } = this;
    let told = 0;
    const say = (why: string): void => {
      if (Date.now() - told < 10_000) return;
      told = Date.now();
      logger.warn({ redis: describeRedis(config) }, `${why}; waiting for it (apt records wait in the spool; see runbooks/redis-down.md)`);
    };
    for (;;) {
      try {
        return await connectRedis(config, "worker", say);
      } catch (err) {
        if (!(err instanceof PatchrollError) || err.code !== "REDIS_UNAVAILABLE" || this.stopping) throw err;
        say(`cannot reach Redis at ${describeRedis(config)} yet: ${(err.cause as Error | undefined)?.message ?? err.message}`);
        await sleep(1000);
      }
    }
  }

  /** Drains: stops taking spool records, lets running jobs finish (up to `graceMs`), then closes. */
  async stop(graceMs = 30_000): Promise<void> {
    this.stopping = true;
    await this.dashboard?.close();
    await this.intake?.stop();
    await this.ingest?.stop();
    await this.watch?.stop();
    await closeWorkers(this.watchdog?.workers() ?? [], graceMs);
    await this.heartbeat?.stop();
    // Closing a queue waits for Redis; a Redis (or a cluster) that is away must not hold the daemon's exit.
    const queuesClosed = Promise.all([this.queues, this.producerQueues].map((q) => (q !== undefined ? closeQueues(q) : undefined)));
    await Promise.race([queuesClosed, new Promise((r) => setTimeout(r, Math.min(graceMs, 5000)).unref())]);
    this.redis?.disconnect();
    this.producer?.disconnect();
    await this.supervisor?.stop();
    this.logger.info("patchroll daemon stopped");
  }
}
