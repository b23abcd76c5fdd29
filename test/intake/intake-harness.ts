import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { Daemon } from "../../src/daemon/daemon.js";
import { LocalRepo } from "../../src/demo/package-fixture.js";
import type { AptEvent } from "../../src/intake/apt-event.js";
import { EventStore } from "../../src/intake/event-store.js";
import { createLogger, silentLogger } from "../../src/log/logger.js";
import { openQueues, type Queues } from "../../src/queue/queues.js";
import { type AptResult, HermeticApt } from "../helpers/apt.js";
import type { Config } from "../../src/config/schema.js";
import { testEnv, testRedisUrl } from "../helpers/redis.js";
import { buildDeb } from "./uu-log/uu-sandbox.js";

/** One rollout job as the `rollouts` queue holds it. */
export interface QueuedRollout {
  jobId: string;
  eventId: string;
  rolloutId: string;
}

/** Options of {@link IntakeHarness.create}. */
export interface IntakeHarnessOptions {
  /** Another Redis than the shared test Redis (one the test stops and starts). */
  redisUrl?: string;
  /** Configure patchroll's apt hooks. Default true. */
  hooks?: boolean;
  /** More `intake` settings. */
  intake?: Record<string, unknown>;
}

/**
 * Everything an intake test needs, all real: a local apt repository labelled as a security origin, a
 * hermetic apt (test/helpers/apt.ts) whose dpkg writes a dpkg.log of its own (`--log`, so the machine's
 * is left alone and no other test's changes show up), the daemon in-process with its intake pointed at
 * that dpkg.log and at this apt's unattended-upgrades log dir, an empty LXC path (rollouts find no
 * containers and complete at once), and Redis clients to look at events and rollout jobs.
 */
export class IntakeHarness {
  daemon: Daemon | undefined;
  readonly name = `pri${randomBytes(3).toString("hex")}`;
  private client: Redis | undefined;
  private queues: Queues | undefined;

  private constructor(
    readonly env: { config: Config; root: string; cleanup: () => void },
    readonly apt: HermeticApt,
    readonly repo: LocalRepo,
    readonly dpkgLog: string,
  ) {}

  static async create(label: string, o: IntakeHarnessOptions = {}): Promise<IntakeHarness> {
    const env = testEnv(label, (root) => ({
      redis: { url: o.redisUrl ?? testRedisUrl() },
      lxc: { path: join(root, "lxc") },
      intake: { dpkgLog: join(root, "dpkg", "dpkg.log"), uuLogDir: join(root, "apt", "uu-log"), reconcileIntervalSec: 0, reconcileSettleSec: 0, uuSettleMs: 200, ...o.intake },
    }));
    const { root } = env;
    const dpkgLog = env.config.intake.dpkgLog;
    mkdirSync(join(root, "dpkg"), { recursive: true });
    mkdirSync(env.config.lxc.path, { recursive: true });
    const repo = new LocalRepo(join(root, "repo"), { origin: "prtest", label: "prtest-security", suite: "prtest-security", codename: "prtest" });
    const apt = new HermeticApt({ root: join(root, "apt"), repo, ...(o.hooks === false ? {} : { hooks: { spoolDir: env.config.spoolDir } }) });
    for (const parts of ["parts", "parts-plain"]) writeFileSync(join(apt.root, parts, "40dpkg-log"), `Dpkg::Options:: "--log=${dpkgLog}";\n`);
    return new IntakeHarness(env, apt, repo, dpkgLog);
  }

  /** Builds `name` at these versions, publishes them, and refreshes this apt's lists. */
  async publish(...versions: string[]): Promise<void> {
    const debs = join(this.env.root, "debs");
    mkdirSync(debs, { recursive: true });
    for (const v of versions) await this.repo.add(await buildDeb(debs, debs, this.name, v));
    await this.repo.publish();
    await this.apt.update();
  }

  /**
   * A real unattended-upgrade run against this harness's repository. unattended-upgrades allows one run
   * per machine (/run/unattended-upgrades.lock) and not every test that runs it takes our dpkg lock: a run
   * that found the lock taken is tried again (bounded).
   */
  async unattendedUpgrade(): Promise<AptResult> {
    for (let i = 1; ; i++) {
      const r = await this.apt.unattendedUpgrade();
      if (i >= 120 || !/Lock file is already taken|Lock could not be acquired/.test(`${r.stdout}\n${r.stderr}`)) return r;
      await new Promise((res) => setTimeout(res, 500));
    }
  }

  /** Removes patchroll's hooks from this apt (the snippet's file); later runs go unseen by the hook. */
  removeHooks(): void {
    rmSync(join(this.apt.root, "parts", "50patchroll"), { force: true });
  }

  async startDaemon(): Promise<Daemon> {
    // PATCHROLL_TEST_LOG=debug shows the daemon's log on stdout.
    const level = process.env["PATCHROLL_TEST_LOG"];
    const daemon = new Daemon(this.env.config, level === undefined ? silentLogger() : createLogger(level as "debug"));
    await daemon.start();
    this.daemon = daemon;
    return daemon;
  }

  async stopDaemon(): Promise<void> {
    await this.daemon?.stop(5000);
    this.daemon = undefined;
  }

  private async redis(): Promise<{ client: Redis; queues: Queues }> {
    if (this.client === undefined) {
      const client = new Redis(this.env.config.redis.url!, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
      client.on("error", () => {});
      await client.connect();
      this.client = client;
      this.queues = openQueues(client, this.env.config);
    }
    return { client: this.client, queues: this.queues! };
  }

  /** Drops the inspection clients (before their Redis is stopped). */
  async disconnect(): Promise<void> {
    if (this.queues !== undefined) await Promise.all(Object.values(this.queues).map((q) => q.close().catch(() => undefined)));
    this.client?.disconnect();
    this.client = undefined;
    this.queues = undefined;
  }

  /** Events of this host about this harness's package, oldest first. */
  async events(): Promise<AptEvent[]> {
    const all = await new EventStore((await this.redis()).client, this.env.config).listEvents(1000);
    return all.filter((e) => e.packages.some((p) => p.name === this.name)).reverse();
  }

  /** Every rollout job of this host, in any state. */
  async rollouts(): Promise<QueuedRollout[]> {
    const jobs = await (await this.redis()).queues.rollouts.getJobs(["active", "waiting", "delayed", "completed", "failed", "prioritized", "waiting-children"]);
    return jobs.map((j) => ({ jobId: j.id ?? "", eventId: (j.data as { eventId: string }).eventId, rolloutId: (j.data as { rolloutId: string }).rolloutId }));
  }

  /** Polls until `cond` holds (a bound, not a timing assertion); returns its last value. */
  async until<T>(what: string, get: () => Promise<T>, cond: (v: T) => boolean, ms = 120_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await get();
      if (cond(v)) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async cleanup(): Promise<void> {
    await this.stopDaemon().catch(() => undefined);
    await this.disconnect();
    await this.apt.cleanup().catch(() => undefined);
    this.env.cleanup();
  }
}
