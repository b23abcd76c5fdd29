import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FINISH_RUN_JOB } from "../../src/queue/jobs/finish-run.js";
import { IntakeHarness } from "../intake/intake-harness.js";
import { RestartableRedis } from "../intake/restartable-redis.js";

/**
 * Nothing is lost and nothing doubles when Redis or the daemon is away during an apt run: apt exits 0,
 * the hook records wait in the spool, and the one rollout follows once both are back. A Redis of the
 * test's own (AOF on) is stopped and started again; the daemon runs in-process.
 */
// apt and dpkg calls take turns with every other test that drives them (test/helpers/dpkg-lock.ts).
describe("intake through outages", { timeout: 300_000 }, () => {
  let h: IntakeHarness | undefined;
  let redis: RestartableRedis | undefined;
  afterEach(async () => {
    await redis?.start().catch(() => undefined); // so the daemon can stop cleanly
    await h?.cleanup();
    await redis?.cleanup();
    h = undefined;
    redis = undefined;
  });

  const records = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".rec"));
  const isUpgrade = (name: string) => (e: { packages: { name: string; action: string }[] }) => e.packages.some((p) => p.name === name && p.action === "upgrade");

  it("Redis stopped during an apt run: apt exits 0, the spool holds the run, the rollout follows once Redis is back", async () => {
    redis = await RestartableRedis.start();
    h = await IntakeHarness.create("in-redis-down", { redisUrl: redis.url });
    await h.publish("1.0", "1.1");
    await h.startDaemon();
    expect((await h.apt.install([`${h.name}=1.0`])).exitCode).toBe(0);
    await h.until("the install", () => h!.events(), (e) => e.length === 1);

    await h.disconnect();
    await redis.stop();
    const upgrade = await h.apt.install([`${h.name}=1.1`]);
    expect(upgrade.exitCode, upgrade.stderr).toBe(0);
    expect(upgrade.stderr).not.toMatch(/^patchroll:/m);
    expect(records(h.env.config.spoolDir).length).toBeGreaterThanOrEqual(2); // pre-install and post-invoke wait

    await redis.start();
    const events = await h.until("the upgrade", () => h!.events(), (e) => e.some(isUpgrade(h!.name)));
    const event = events.find(isUpgrade(h.name))!;
    expect(event.sources).toEqual(["hook"]);
    const rollouts = await h.until("its rollout", () => h!.rollouts(), (r) => r.length === 1);
    expect(rollouts[0]!.eventId).toBe(event.id);
    await h.until("an empty spool", async () => records(h!.env.config.spoolDir), (r) => r.length === 0);
    expect((await h.daemon!.intake!.reconcileNow()).created).toEqual([]);
    expect(await h.events()).toHaveLength(2);
    expect(await h.rollouts()).toHaveLength(1);
  });

  it("daemon stopped during an apt run: the rollout follows when it starts, and a redelivered run changes nothing", async () => {
    h = await IntakeHarness.create("in-daemon-down");
    await h.publish("1.0", "1.1");
    await h.startDaemon();
    expect((await h.apt.install([`${h.name}=1.0`])).exitCode).toBe(0);
    await h.until("the install", () => h!.events(), (e) => e.length === 1);
    await h.stopDaemon();

    const upgrade = await h.apt.install([`${h.name}=1.1`]);
    expect(upgrade.exitCode, upgrade.stderr).toBe(0);
    const spool = h.env.config.spoolDir;
    const waiting = records(spool);
    expect(waiting.length).toBeGreaterThanOrEqual(2);
    const copies = join(h.env.root, "spool-copies");
    mkdirSync(copies);
    for (const f of waiting) copyFileSync(join(spool, f), join(copies, f));

    const daemon = await h.startDaemon();
    const events = await h.until("the upgrade", () => h!.events(), (e) => e.some(isUpgrade(h!.name)));
    const event = events.find(isUpgrade(h.name))!;
    const rollouts = await h.until("its rollout", () => h!.rollouts(), (r) => r.length === 1);
    expect(rollouts[0]!.eventId).toBe(event.id);
    expect((await daemon.intake!.reconcileNow()).created).toEqual([]);

    // A crash after Redis took the records but before they left the spool: they come again.
    for (const f of waiting) copyFileSync(join(copies, f), join(spool, f));
    await h.until("the spool drained again", async () => records(spool), (r) => r.length === 0);
    // And a finish-run job that runs again (a worker that died after the event was written).
    const { Queue } = await import("bullmq");
    const { Redis } = await import("ioredis");
    const conn = new Redis(h.env.config.redis.url!, { maxRetriesPerRequest: null });
    const queue = new Queue("apt-events", { connection: conn, prefix: `{${h.env.config.redis.prefix}:${h.env.config.hostId}}` });
    try {
      const runKey = event.id.replace(/^apt-/, "");
      const job = await queue.add(FINISH_RUN_JOB, { v: 1, runKey }, { jobId: "finish-again" });
      await h.until("the repeated finish-run", async () => (await job.isCompleted()) || (await job.isFailed()), (done) => done);
      expect(await job.isCompleted()).toBe(true);
      expect(job.returnvalue ?? (await queue.getJob("finish-again"))?.returnvalue).toMatchObject({ eventId: event.id, created: false });
    } finally {
      await queue.close();
      conn.disconnect();
    }
    const after = await h.events();
    expect(after.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(after.find((e) => e.id === event.id)!.sources).toEqual(["hook", "reconcile"]);
    expect(await h.rollouts()).toEqual(rollouts);
  });
});
