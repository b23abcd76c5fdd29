import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedis } from "../../src/queue/connection.js";
import { RolloutStore } from "../../src/rollout/rollout-store.js";
import { rolloutHarness, type RolloutHarness } from "../helpers/rollout-harness.js";
import { startSentinelGroup, until, type SentinelGroup } from "../helpers/redis-topology.js";
import { takenRecordIds, type WrittenRecord, writeSpoolRecord } from "../helpers/spool.js";
import { expectCleanRollout } from "./rollout-assertions.js";

/**
 * Redis Sentinel for real: a master, a replica and three sentinels on loopback, a rollout of three real
 * overlay containers, and the master killed with SIGKILL while the second container restarts. The replica
 * is promoted, the rollout finishes on it, and the CLI's connection finds the new master.
 */
describe("Sentinel failover in the middle of a rollout (real LXC, real redis-server and sentinels)", { timeout: 120_000 }, () => {
  let group: SentinelGroup;
  let h: RolloutHarness;

  beforeAll(async () => {
    group = await startSentinelGroup({ password: "s3cret-test" });
    h = await rolloutHarness("sentinel", [{}, {}, {}], {
      redis: { sentinel: { name: group.name, sentinels: group.sentinels }, password: "s3cret-test" },
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
    // The workers still take jobs after the failover (BullMQ #3088, #648): a second rollout runs.
    const next = await h.trigger();
    expect((await h.waitFor(next, ["completed", "halted", "aborted"], 30_000)).status).toBe("completed");
    await until("the replica answering as master", async () => ((await group.masterPort()) === group.replica.port ? true : undefined));
  });
});
