import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT } from "../../src/cli/exit-codes.js";
import { buildDemoPackage, demoLibraryPath, dpkgArchitecture } from "../../src/demo/package-fixture.js";
import { scanHost } from "../../src/detect/scan.js";
import { EventStore } from "../../src/intake/event-store.js";
import { parseSpoolRecord } from "../../src/intake/spool-record.js";
import { connectRedis } from "../../src/queue/connection.js";
import { startManualRollout } from "../../src/rollout/manual-rollout.js";
import { RolloutStore } from "../../src/rollout/rollout-store.js";
import { patchroll } from "../cli/run-cli.js";
import { StatusJson } from "../cli/schemas.js";
import { runDpkg } from "../helpers/dpkg-lock.js";
import { freePort } from "../helpers/redis-server.js";
import { rolloutHarness, type RolloutHarness } from "../helpers/rollout-harness.js";
import { redisCommand, startSentinelGroup, until, type SentinelGroup } from "../helpers/redis-topology.js";
import { takenRecordIds, type WrittenRecord, writeSpoolRecord } from "../helpers/spool.js";
import { expectCleanRollout } from "./rollout-assertions.js";

/**
 * Redis Sentinel for real: a master, a replica and three sentinels on loopback, a rollout of three real
 * overlay containers that run a real library dpkg has just upgraded, and the master killed with SIGKILL while the canary restarts. Before the rollout the
 * replica is cut off from the master (as by a network partition, within what Sentinel still promotes), so
 * the failover loses real writes: the rollout's event, job and live state, and an apt run's record. The
 * replica is promoted; the rollout is put back from its journal and completes once; the record, which
 * stayed in the spool while no replica had it, reaches the new master; and the CLI (a fresh connection,
 * and the built binary) and the dashboard (the daemon's connection from before the failover) read and
 * write the new master.
 */
describe("Sentinel failover in the middle of a rollout (real LXC, real redis-server and sentinels)", { timeout: 120_000 }, () => {
  let group: SentinelGroup;
  let h: RolloutHarness;
  const PASSWORD = "s3cret-test";

  // A real library every service loads, upgraded by dpkg before the rollout: the containers really run the
  // old file, and "patched" afterwards is the scan's verdict on the new one.
  const lib = `prt-slib-${randomBytes(3).toString("hex")}`;
  let work = "";

  beforeAll(async () => {
    work = mkdtempSync("/var/tmp/patchroll-test-debs-");
    const [v10, v11] = [await buildDemoPackage({ dir: work, name: lib, version: "1.0" }), await buildDemoPackage({ dir: work, name: lib, version: "1.1" })];
    await runDpkg(["-i", v10]);
    group = await startSentinelGroup({ password: PASSWORD });
    const preload = { env: { LD_PRELOAD: demoLibraryPath(lib) } };
    h = await rolloutHarness("sentinel", [preload, preload, preload], {
      redis: { sentinel: { name: group.name, sentinels: group.sentinels }, password: PASSWORD },
      http: { port: await freePort() },
      // The bake after the canary keeps the rollout unfinished while the daemon compares Redis with the journal.
      rollout: { batches: [1, "100%"], maxParallel: 1, bakeMs: 2000 },
      queue: { lockDurationMs: 5000, stalledIntervalMs: 2000 },
    });
    await runDpkg(["-i", v11]);
  });
  afterAll(async () => {
    try {
      await h?.cleanup();
      await group?.stop();
      await runDpkg(["--purge", lib]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
  const verdicts = async () => Object.fromEntries((await scanHost({ lxcPath: h.bed.lxcPath, hostRoot: h.bed.hostRoot, driver: h.bed.driver }, { packages: [lib] })).map(({ info, scan }) => [info.name, scan.verdict]));

  it("the master dies with SIGKILL mid-rollout, losing writes: the replica takes over, the rollout is put back from its journal and completes once, no record lost", async () => {
    const before = await group.masterPort();
    let killedAt = 0;
    let atKill: WrittenRecord | undefined;
    const canary = h.containers[0]!.name;
    await h.startDaemon({
      checkpoint: (container, step) => {
        if (container === canary && step === "stop" && killedAt === 0) {
          killedAt = Date.now();
          // An apt run's record lands in the spool as the master dies: it must reach the new master.
          atKill = writeSpoolRecord(h.env.config.spoolDir);
          group.master.kill("SIGKILL");
        }
      },
    });
    // The replica falls behind for good: it can no longer authenticate to its master, which drops its link.
    await redisCommand({ port: group.replica.port, password: PASSWORD }, "CONFIG", "SET", "masterauth", "not-the-password");
    await redisCommand({ port: group.master.port, password: PASSWORD }, "CLIENT", "KILL", "TYPE", "replica");
    await until("the replica cut off", async () => (/master_link_status:down/.test(String(await redisCommand({ port: group.replica.port, password: PASSWORD }, "INFO", "replication"))) ? true : undefined));
    // An apt run's record taken by the master alone: it must not leave the spool before a replica has it.
    const behind = writeSpoolRecord(h.env.config.spoolDir);
    const behindId = parseSpoolRecord(behind.text, behind.name, behind.timeNs);
    const events = new EventStore(h.redis, h.env.config);
    await until("the record in the master", async () => ((await events.records(behindId.runKey)).some((r) => r.id === behindId.id) ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    expect(readdirSync(h.env.config.spoolDir), "a record only the master has stays in the spool").toContain(behind.name);

    expect(Object.values(await verdicts())).toEqual(["stale", "stale", "stale"]);
    const change = { name: lib, arch: await dpkgArchitecture(), from: "1.0", to: "1.1", action: "upgrade" as const };
    const { rolloutId: id } = await startManualRollout(h.redis, h.queues, h.env.config, [change]);
    const done = await h.waitFor(id, ["completed", "halted", "aborted"], 90_000);
    expect(killedAt).toBeGreaterThan(0);
    expect(await group.masterPort()).toBe(group.replica.port);
    expect(before).toBe(group.master.port);
    expect(done.status).toBe("completed");
    await expectCleanRollout(h, id);
    expect(await verdicts()).toEqual(Object.fromEntries(h.containers.map((c) => [c.name, "patched"])));
    // The new master never had the rollout's job: the daemon queued it again from the journal, and that
    // run found the rollout's end there (nothing restarted twice, see above).
    await until("the rollout's job, queued again from the journal, completed", async () => {
      const job = await h.queues.rollouts.getJob(id);
      return job !== undefined && job.timestamp > killedAt && (await job.getState()) === "completed" ? true : undefined;
    });
    // Both records (of one apt run, as the helper writes them) are in the new master, each once.
    const taken = [await takenRecordIds(h, behind), await takenRecordIds(h, atKill!)];
    expect(taken[0]!.held.sort()).toEqual(taken.map((t) => t.expected).sort());

    // A fresh CLI connection asks the sentinels and lands on the new master.
    const cli = await connectRedis(h.env.config, "client");
    try {
      expect(Number((await cli.config("GET", "port"))[1])).toBe(group.replica.port);
      const rollouts = await new RolloutStore(cli, h.env.config).list();
      expect(rollouts.map((r) => [r.id, r.status])).toEqual([[id, "completed"]]);
    } finally {
      cli.disconnect();
    }
    // The dashboard's connection, opened before the failover, follows the new master: its pages and API
    // show the rollout that completed on it.
    const dashboard = `http://127.0.0.1:${h.env.config.http.port}`;
    const api = StatusJson.parse(await (await fetch(`${dashboard}/api/status`)).json());
    expect(api.redis).toMatchObject({ reachable: true, where: expect.stringMatching(/^sentinel prmaster /) });
    expect(api.redis.away).toBeUndefined();
    expect(api.daemon.up).toBe(true);
    expect(api.queues?.find((q) => q.queue === "rollouts")?.counts).toMatchObject({ completed: 1, failed: 0, active: 0 });
    const page = await (await fetch(`${dashboard}/rollouts/${id}`)).text();
    expect(page).toContain(id);
    expect(page).toMatch(/completed/);
    expect(await (await fetch(`${dashboard}/rollouts`)).text()).toContain(id);

    // The CLI (the built binary, a process of its own) asks the sentinels and reads and writes the new master.
    const status = await patchroll(h.env.config, "--json", "status");
    expect(status.exitCode, status.stderr).not.toBe(EXIT.REDIS);
    const report = StatusJson.parse(JSON.parse(status.stdout));
    expect(report.redis.reachable).toBe(true);
    expect(report.daemon).toMatchObject({ up: true, http: { up: true } });
    const list = await patchroll(h.env.config, "--json", "rollouts", "list");
    expect((JSON.parse(list.stdout) as { rollouts: { id: string; status: string }[] }).rollouts.map((r) => [r.id, r.status])).toEqual([[id, "completed"]]);
    // The workers still take jobs after the failover (BullMQ #3088, #648): a rollout the CLI starts runs.
    const started = await patchroll(h.env.config, "--json", "rollouts", "start", "--packages", "prt-none-after-failover");
    expect(started.exitCode, started.stderr).toBe(EXIT.OK);
    const next = (JSON.parse(started.stdout) as { rolloutId: string }).rolloutId;
    expect((await h.waitFor(next, ["completed", "halted", "aborted"], 30_000)).status).toBe("completed");
    await until("the replica answering as master", async () => ((await group.masterPort()) === group.replica.port ? true : undefined));
  });
});
