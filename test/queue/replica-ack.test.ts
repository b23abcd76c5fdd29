import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { REPLICA_GONE_MS, ReplicaAck } from "../../src/queue/replica-ack.js";

/**
 * The spool's replica check against a scripted master (the real failover with a replica cut off is in
 * failover-sentinel.lxc.test.ts): which INFO answers let a record leave the spool.
 */
describe("ReplicaAck: a record leaves the spool only when a failover cannot lose it", () => {
  const master = (state: { replicas: number; replid: string; acks: number }) =>
    ({
      info: async () => `# Replication\r\nrole:master\r\nconnected_slaves:${state.replicas}\r\nmaster_replid:${state.replid}\r\n`,
      call: async (cmd: string) => (cmd === "WAIT" ? state.acks : null),
    }) as unknown as Redis;

  it("waits for a replica while the master has one; none to wait for on a master that never had one", async () => {
    let now = 0;
    const state = { replicas: 1, replid: "a", acks: 1 };
    const ack = new ReplicaAck(master(state), true, () => now);
    await expect(ack.confirm()).resolves.toBeUndefined();
    state.acks = 0;
    await expect(ack.confirm()).rejects.toThrow(/no replica confirmed the write/);
    const alone = new ReplicaAck(master({ replicas: 0, replid: "b", acks: 0 }), true, () => now);
    await expect(alone.confirm()).resolves.toBeUndefined();
  });

  it("a master that lost its replica keeps records waiting, seen by the heartbeat before any record came; a failover or a long absence ends the wait", async () => {
    let now = 0;
    const state = { replicas: 1, replid: "a", acks: 1 };
    const ack = new ReplicaAck(master(state), true, () => now);
    await ack.observe();
    state.replicas = 0;
    now += 6000;
    await ack.observe();
    await expect(ack.confirm()).rejects.toThrow(/the master's replica is disconnected \(since .*\): a failover now would lose this record/);
    now += REPLICA_GONE_MS;
    await expect(ack.confirm()).resolves.toBeUndefined();

    // The replica promoted (a new replication id), nothing left to replicate to: records go.
    const promoted = { replicas: 1, replid: "a", acks: 1 };
    const after = new ReplicaAck(master(promoted), true, () => now);
    await after.observe();
    Object.assign(promoted, { replicas: 0, replid: "c" });
    now += 6000;
    await expect(after.confirm()).resolves.toBeUndefined();
  });

  it("asks nothing in a cluster", async () => {
    const ack = new ReplicaAck({} as Redis, false);
    await expect(ack.confirm()).resolves.toBeUndefined();
  });
});
