import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedis } from "../../src/queue/connection.js";
import { fleetKey } from "../../src/fleet/fleet-keys.js";
import { queuePrefix } from "../../src/queue/names.js";
import { RolloutStore } from "../../src/rollout/rollout-store.js";
import { rolloutHarness, type RolloutHarness } from "../helpers/rollout-harness.js";
import { redisCommand, startCluster, type TestCluster, until } from "../helpers/redis-topology.js";
import { takenRecordIds, type WrittenRecord, writeSpoolRecord } from "../helpers/spool.js";
import { expectCleanRollout } from "./rollout-assertions.js";

const ADMIN = "cluster-admin-test";
const USER = { name: "patchroll", password: "acl-user-test" };

/**
 * Redis Cluster for real: three masters and three replicas made with `redis-cli --cluster create`, patchroll
 * connecting as an ACL user allowed only its own keys, in fleet mode. Every key of the host is in one slot
 * (the `{patchroll:HOST}` hash tag), every key of the fleet in another (`{patchroll:fleet}`); the master of
 * the host's slot is killed with SIGKILL mid-rollout, its replica takes over, and the rollout of three real
 * overlay containers completes once.
 */
describe("Redis Cluster failover in the middle of a rollout (real LXC, real cluster)", { timeout: 120_000 }, () => {
  let cluster: TestCluster;
  let h: RolloutHarness;

  beforeAll(async () => {
    cluster = await startCluster({ adminPassword: ADMIN, user: USER });
    h = await rolloutHarness("cluster", [{}, {}, {}], {
      redis: { cluster: { nodes: cluster.nodes }, username: USER.name, password: USER.password },
      rollout: { batches: [1, "100%"], maxParallel: 1 },
      queue: { lockDurationMs: 5000, stalledIntervalMs: 2000, watchdogIdleMs: 5000 },
      // Fleet mode: the host registers, heartbeats, takes a fleet slot and reports its rollout under the
      // fleet's own hash tag, in another slot than the host's keys.
      fleet: { enabled: true, heartbeatMs: 200, lostAfterMs: 2000, summaryEveryMs: 200, pollMs: 100, bakeMs: 0, leaseMs: 5000 },
    });
  });
  afterAll(async () => {
    await h?.cleanup();
    await cluster?.stop();
  });

  it("every key of the host lives in the slot of its hash tag, and the fleet's tag is another slot", async () => {
    const admin = { port: cluster.procs[0]!.port, password: ADMIN };
    const slot = Number(await redisCommand(admin, "CLUSTER", "KEYSLOT", queuePrefix(h.env.config)));
    await h.startDaemon();
    const id = await h.trigger();
    expect((await h.waitFor(id, ["completed", "halted", "aborted"], 60_000)).status).toBe("completed");
    await h.stopDaemon();
    const { port } = await cluster.masterOf(slot);
    const keys = (await redisCommand({ port, password: ADMIN }, "CLUSTER", "GETKEYSINSLOT", slot, 1000)) as string[];
    expect(keys.length).toBeGreaterThan(5);
    expect(keys.every((k) => k.startsWith(`${queuePrefix(h.env.config)}:`))).toBe(true);
    expect(Number(await redisCommand({ port, password: ADMIN }, "CLUSTER", "COUNTKEYSINSLOT", slot))).toBe(keys.length);
    // The fleet's keys (the host registry, the versions, the slot lease) are all in the fleet tag's slot.
    const fleetSlot = Number(await redisCommand(admin, "CLUSTER", "KEYSLOT", fleetKey(h.env.config)));
    expect(fleetSlot).not.toBe(slot);
    const fleetMaster = await cluster.masterOf(fleetSlot);
    const fleetKeys = (await redisCommand({ port: fleetMaster.port, password: ADMIN }, "CLUSTER", "GETKEYSINSLOT", fleetSlot, 1000)) as string[];
    expect(fleetKeys).toContain(fleetKey(h.env.config, "hosts"));
    expect(fleetKeys).toContain(fleetKey(h.env.config, "lease", "token"));
    expect(h.journal(id).map((e) => e.type)).toEqual(expect.arrayContaining(["fleet.joined", "fleet.lease"]));
    expect(fleetKeys.every((k) => k.startsWith(`${fleetKey(h.env.config)}:`))).toBe(true);
    // The ACL user sees nothing outside its hash tags.
    await expect(redisCommand({ port, username: USER.name, password: USER.password }, "GET", "other-app:key")).rejects.toThrow(/NOPERM/);
  });

  it("the master of the host's slot dies with SIGKILL mid-rollout: its replica takes over, the rollout completes once", async () => {
    const slot = Number(await redisCommand({ port: cluster.procs[0]!.port, password: ADMIN }, "CLUSTER", "KEYSLOT", queuePrefix(h.env.config)));
    const before = await cluster.masterOf(slot);
    let stops = 0;
    let record: WrittenRecord | undefined;
    await h.startDaemon({
      checkpoint: (_container, step) => {
        if (step === "stop" && ++stops === 2) {
          record = writeSpoolRecord(h.env.config.spoolDir);
          before.proc.kill("SIGKILL");
        }
      },
    });
    const id = await h.trigger();
    const after = await until("a new master for the slot", async () => {
      const m = stops >= 2 ? await cluster.masterOf(slot) : undefined;
      return m !== undefined && m.port !== before.port ? m : undefined;
    }, 30_000);
    expect(after.port).not.toBe(before.port);
    // Waits on the journal, and reads Redis afterwards through a fresh connection as the CLI makes one:
    // the harness' own long-lived cluster connection was seen failing the host's slot for minutes after
    // a failover (docs/shared-redis.md, "Cluster"), while the daemon's went on.
    await until("the rollout's end in its journal", async () => (h.journal(id).some((e) => e.type === "rollout.completed") ? true : undefined), 60_000);
    const cli = await connectRedis(h.env.config, "client");
    try {
      await until("the rollout completed in Redis", async () => ((await new RolloutStore(cli, h.env.config).get(id))?.status === "completed" ? true : undefined));
      await expectCleanRollout(h, id, cli);
      const taken = await takenRecordIds(h, record!, cli);
      expect(taken.held).toEqual([taken.expected]);
      const listed = await new RolloutStore(cli, h.env.config).list();
      expect(listed.filter((r) => r.id === id).map((r) => r.status)).toEqual(["completed"]);
    } finally {
      cli.disconnect();
    }
    await h.stopDaemon();
  });
});
