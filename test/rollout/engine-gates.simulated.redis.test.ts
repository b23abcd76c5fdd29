import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EventStore } from "../../src/intake/event-store.js";
import { journalFile } from "../../src/journal/paths.js";
import { readJournal } from "../../src/journal/journal.js";
import { verifyJournal } from "../../src/journal/verify.js";
import { tryLockJournal } from "../../src/journal/writer-lock.js";
import { connectRedis } from "../../src/queue/connection.js";
import { closeQueues, openQueues, type Queues } from "../../src/queue/queues.js";
import { journalPendingControls, pendingControl, pendingControlsKey, releaseJournal } from "../../src/rollout/control-journal.js";
import { requestControl } from "../../src/rollout/controls.js";
import { controlGate } from "../../src/rollout/gates.js";
import { startManualRollout } from "../../src/rollout/manual-rollout.js";
import { absorbWaitingRollouts, combinePackages, mergedInto } from "../../src/rollout/merge.js";
import type { RolloutNotice } from "../../src/rollout/notice.js";
import { MaintenanceWindows } from "../../src/rollout/windows.js";
import { testEnv, type TestEnv } from "../helpers/redis.js";
import { simulatedRollout, type SimulatedRollout } from "../helpers/simulated-rollout.js";

/**
 * The rollout engine's gates and merges over simulated containers (a simulation, not LXC) and the real test
 * Redis: the approval gate and the operator's controls through the journal's one writer, the maintenance
 * window wait, and the folding of waiting events into a rollout about to plan. Each takes milliseconds.
 */
describe("gates and merges of the rollout engine (simulated containers, real Redis)", () => {
  let env: TestEnv;
  let redis: Redis;
  let queues: Queues;
  let sim: SimulatedRollout | undefined;
  let n = 0;
  beforeAll(async () => {
    env = testEnv("simgates");
    redis = await connectRedis(env.config, "worker");
    queues = openQueues(redis, env.config);
  });
  afterEach(() => sim?.cleanup());
  afterAll(async () => {
    await closeQueues(queues);
    redis.disconnect();
    env.cleanup();
  });

  const rolloutId = () => `20261203T0000${String(n++).padStart(2, "0")}Z-5a1e0000`;
  const gateFor = (id: string, o: { approveAfter?: number[]; windows?: string[]; now?: () => Date }) => {
    const windows = new MaintenanceWindows(o.windows ?? []);
    const gate = controlGate({
      redis, config: env.config, rolloutId: id, windows, approveAfter: o.approveAfter ?? [], pollMs: 5,
      ...(o.now ? { now: o.now } : {}),
      onControls: async () => void (await journalPendingControls(redis, env.config, sim!.journal)),
    });
    return { gate, windows };
  };
  const until = async (ok: () => boolean): Promise<void> => {
    for (let i = 0; !ok(); i++) {
      if (i > 400) throw new Error("timed out");
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  it("approval gate: waits after batch 1 and says so, goes on when approved; the approval is journaled once, by the runner", async () => {
    const id = rolloutId();
    sim = simulatedRollout({ containers: { a: {}, b: {} }, batches: [["a"], ["b"]], journal: { dir: env.config.journalDir, host: env.config.hostId, rollout: id } });
    // The simulated runner is the journal's writer, as the rollout worker is.
    const lock = tryLockJournal(journalFile(env.config, id), "simulated runner")!;
    const { gate, windows } = gateFor(id, { approveAfter: [1] });
    const notices: RolloutNotice[] = [];
    const running = sim.run({ gate, onNotice: async (x) => void notices.push(x) });
    await until(() => sim!.story().includes("rollout.waiting #1"));
    expect(sim.driver.callsOf("b")).toEqual([]);
    expect(sim.entries().find((e) => e.type === "rollout.waiting")?.data).toMatchObject({ status: "waiting", reason: expect.stringMatching(/^batch 2 needs approval after batch 1/) });
    expect(notices.map((x) => x.kind)).toEqual(["approval-needed"]);
    await requestControl(redis, env.config, { action: "approve", rolloutId: id, who: "bob", why: "canary fine" });
    const result = await running;
    windows.close();
    lock.release();
    expect(result.status).toBe("completed");
    expect(sim.driver.callsOf("b")).toEqual(["stop", "snapshot", "start", "verify"]);
    expect(sim.story().filter((l) => /^(rollout|batch|control)\./.test(l))).toEqual([
      "rollout.planned", "batch.started #1", "batch.finished #1", "rollout.waiting #1", "control.approve", "batch.started #2", "batch.finished #2", "rollout.completed",
    ]);
    expect(verifyJournal(readJournal(sim.journal.file), { host: env.config.hostId, rollout: id })).toMatchObject({ problems: [], sequenceGaps: [] });
  });

  it("maintenance window: outside it, the next batch waits and says when the window opens; inside, it starts", async () => {
    const id = rolloutId();
    sim = simulatedRollout({ containers: { a: {}, b: {} }, batches: [["a"], ["b"]], journal: { dir: env.config.journalDir, host: env.config.hostId, rollout: id } });
    let clock = new Date(2026, 11, 3, 2, 59, 0);
    const { gate, windows } = gateFor(id, { windows: ["* 3 * * *"], now: () => clock });
    const running = sim.run({ gate });
    await until(() => sim!.story().includes("rollout.waiting #0"));
    expect(sim.driver.calls).toEqual([]);
    expect(sim.entries().find((e) => e.type === "rollout.waiting")?.data["reason"]).toBe(`outside the maintenance windows (* 3 * * *); the next opens ${new Date(2026, 11, 3, 3, 0, 0).toISOString()}`);
    clock = new Date(2026, 11, 3, 3, 0, 0);
    const result = await running;
    windows.close();
    expect(result.status).toBe("completed");
    expect(sim.story().filter((l) => l.startsWith("rollout.waiting"))).toEqual(["rollout.waiting #0"]);
  });

  it("pause and abort at the gate: the paused rollout touches nothing, the abort rolls back batch 1", async () => {
    const id = rolloutId();
    sim = simulatedRollout({ containers: { a: {}, b: {} }, batches: [["a"], ["b"]], journal: { dir: env.config.journalDir, host: env.config.hostId, rollout: id } });
    const lock = tryLockJournal(journalFile(env.config, id), "simulated runner")!;
    const { gate, windows } = gateFor(id, { approveAfter: [1] });
    const running = sim.run({ gate });
    await until(() => sim!.story().includes("rollout.waiting #1"));
    await requestControl(redis, env.config, { action: "pause", rolloutId: id, who: "ann", why: "looking" });
    await until(() => sim!.story().includes("control.pause"));
    await requestControl(redis, env.config, { action: "abort", rolloutId: id, who: "ann", why: "bad", rollBackCompleted: true });
    const result = await running;
    windows.close();
    lock.release();
    expect(result.status).toBe("aborted");
    expect(sim.driver.callsOf("a")).toEqual(["stop", "snapshot", "start", "verify", "stop", "restore", "pin", "start"]);
    expect(sim.driver.callsOf("b")).toEqual([]);
    expect(sim.story().filter((l) => /^(rollout|control)\./.test(l))).toEqual([
      "rollout.planned", "rollout.waiting #1", "control.pause", "rollout.waiting #1", "control.abort", "rollout.aborted #2",
    ]);
  });

  it("a retry waits for the runner that still holds the journal, and is journaled once, by it", async () => {
    const id = rolloutId();
    sim = simulatedRollout({ containers: { a: {} }, batches: [["a"]], journal: { dir: env.config.journalDir, host: env.config.hostId, rollout: id } });
    const lock = tryLockJournal(journalFile(env.config, id), "simulated runner, finishing")!;
    let answered = false;
    const retry = requestControl(redis, env.config, { action: "retry", rolloutId: id, who: "dave", why: "fixed" }).then(() => (answered = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(false);
    expect(sim.entries()).toEqual([]);
    await releaseJournal(redis, env.config, id, lock, sim.journal);
    await retry;
    expect(sim.story()).toEqual(["control.retry"]);
    expect(await redis.llen(pendingControlsKey(env.config, id))).toBe(0);
  });

  it("a writer that died after journaling a control and before taking it off the list does not journal it twice", async () => {
    const id = rolloutId();
    sim = simulatedRollout({ containers: { a: {} }, batches: [["a"]], journal: { dir: env.config.journalDir, host: env.config.hostId, rollout: id } });
    const c = pendingControl({ action: "pause", who: "ann", why: "hold" });
    await redis.rpush(pendingControlsKey(env.config, id), JSON.stringify(c));
    const { action: _, ...data } = c;
    sim.journal.append("control.pause", data);
    expect(await journalPendingControls(redis, env.config, sim.journal)).toBe(0);
    expect(sim.story()).toEqual(["control.pause"]);
    expect(await redis.llen(pendingControlsKey(env.config, id))).toBe(0);
  });

  it("merge: a rollout about to plan folds the waiting ones in, once; their packages become one change each", async () => {
    const pkg = (from: string, to: string) => ({ name: "libsim", arch: "amd64", from, to, action: "upgrade" as const });
    const first = await startManualRollout(redis, queues, env.config, [pkg("1.0", "1.1")]);
    const second = await startManualRollout(redis, queues, env.config, [pkg("1.1", "1.2")]);
    const events = new EventStore(redis, env.config);
    const absorbed = await absorbWaitingRollouts(redis, queues, events, env.config, first.rolloutId);
    expect(absorbed.map((m) => m.rolloutId)).toEqual([second.rolloutId]);
    expect(await mergedInto(redis, env.config, second.rolloutId)).toBe(first.rolloutId);
    expect(await mergedInto(redis, env.config, first.rolloutId)).toBeUndefined();
    // Another rollout planning later finds nothing left to fold in.
    const third = await startManualRollout(redis, queues, env.config, [pkg("1.2", "1.3")]);
    expect((await absorbWaitingRollouts(redis, queues, events, env.config, third.rolloutId)).map((m) => m.rolloutId)).not.toContain(second.rolloutId);
    const firstEvent = (await events.getEvent(first.eventId))!;
    expect(combinePackages([firstEvent, ...absorbed.map((m) => m.event)])).toEqual([pkg("1.0", "1.2")]);
  });
});
