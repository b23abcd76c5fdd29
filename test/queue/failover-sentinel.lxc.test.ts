import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT } from "../../src/cli/exit-codes.js";
import { connectRedis } from "../../src/queue/connection.js";
import { RolloutStore } from "../../src/rollout/rollout-store.js";
import { patchroll } from "../cli/run-cli.js";
import { StatusJson } from "../cli/schemas.js";
import { freePort } from "../helpers/redis-server.js";
import { rolloutHarness, type RolloutHarness } from "../helpers/rollout-harness.js";
import { startSentinelGroup, until, type SentinelGroup } from "../helpers/redis-topology.js";
import { takenRecordIds, type WrittenRecord, writeSpoolRecord } from "../helpers/spool.js";
import { expectCleanRollout } from "./rollout-assertions.js";

/**
 * Redis Sentinel for real: a master, a replica and three sentinels on loopback, a rollout of three real
 * overlay containers, and the master killed with SIGKILL while the second container restarts. The replica
 * is promoted, the rollout finishes on it, and the CLI (a fresh connection, and the built binary) and the
 * dashboard (the daemon's connection from before the failover) read and write the new master.
 */
describe("Sentinel failover in the middle of a rollout (real LXC, real redis-server and sentinels)", { timeout: 120_000 }, () => {
  let group: SentinelGroup;
  let h: RolloutHarness;

  beforeAll(async () => {
    group = await startSentinelGroup({ password: "s3cret-test" });
    h = await rolloutHarness("sentinel", [{}, {}, {}], {
      redis: { sentinel: { name: group.name, sentinels: group.sentinels }, password: "s3cret-test" },
      http: { port: await freePort() },
      rollout: { batches: [1, "100%"], maxParallel: 1 },
      queue: { lockDurationMs: 5000, stalledIntervalMs: 2000 },
    });
  });
  afterAll(async () => {
    await h?.cleanup();
    await group?.stop();
  });

  it("the master dies with SIGKILL mid-rollout: the replica takes over and the rollout completes once, every container patched", async () => {
    const before = await group.masterPort();
    let killedAt = 0;
    let record: WrittenRecord | undefined;
    const second = h.containers[1]!.name;
    await h.startDaemon({
      checkpoint: (container, step) => {
        if (container === second && step === "stop" && killedAt === 0) {
          killedAt = Date.now();
          // An apt run's record lands in the spool as the master dies: it must reach the new master.
          record = writeSpoolRecord(h.env.config.spoolDir);
          group.master.kill("SIGKILL");
        }
      },
    });
    const id = await h.trigger();
    const done = await h.waitFor(id, ["completed", "halted", "aborted"], 90_000);
    expect(killedAt).toBeGreaterThan(0);
    expect(await group.masterPort()).toBe(group.replica.port);
    expect(before).toBe(group.master.port);
    expect(done.status).toBe("completed");
    await expectCleanRollout(h, id);
    const taken = await takenRecordIds(h, record!);
    expect(taken.held).toEqual([taken.expected]);

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
