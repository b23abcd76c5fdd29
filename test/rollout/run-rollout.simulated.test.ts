import { afterEach, describe, expect, it } from "vitest";
import type { Config } from "../../src/config/schema.js";
import type { ContainerOutcomeKind } from "../../src/rollout/container-outcome.js";
import { type GateDecision, type RolloutGate, RolloutReleased } from "../../src/rollout/gates.js";
import type { RolloutNotice } from "../../src/rollout/notice.js";
import { journalState } from "../../src/rollout/resume.js";
import type { SimulatedBehaviour } from "../helpers/simulated-containers.js";
import { simulatedRollout, type SimulatedRollout } from "../helpers/simulated-rollout.js";

/**
 * The rollout engine (`runRollout`, resume, retry) over simulated containers, table by table in the manner of
 * Argo Rollouts' controller tests: each row sets the containers' behaviour, the batches and the policy, runs
 * the engine, and checks how it ended, what it did to each container and what it journaled. A simulation:
 * the same flows run on real LXC in test/rollout/engine-*.lxc.test.ts.
 */
describe("runRollout over simulated containers", () => {
  let sim: SimulatedRollout | undefined;
  afterEach(() => sim?.cleanup());

  const abortAt = (batch: number, rollBackCompleted: boolean): RolloutGate => {
    const abort: GateDecision = { go: false, abort: { who: "carol", why: "bad news upstream", rollBackCompleted } };
    return { beforeBatch: async (b) => (b === batch ? abort : { go: true }), beforeContainer: async () => ({ go: true }) };
  };

  interface Row {
    name: string;
    containers: Record<string, SimulatedBehaviour>;
    batches: string[][];
    policy?: Partial<Config["rollout"]>;
    gate?: RolloutGate;
    status: string;
    outcomes: Record<string, ContainerOutcomeKind>;
    /** Containers the engine never touched (no driver call at all). */
    untouched: string[];
    /** The journal's rollout- and batch-level entries, in order. */
    journal: string[];
    end?: Record<string, unknown>;
  }

  const rows: Row[] = [
    {
      name: "every container takes the patch: batch after batch, completed",
      containers: { a: {}, b: {}, c: {} },
      batches: [["a"], ["b", "c"]],
      status: "completed",
      outcomes: { a: "patched", b: "patched", c: "patched" },
      untouched: [],
      journal: ["rollout.planned", "batch.started #1", "batch.finished #1", "batch.started #2", "batch.finished #2", "rollout.completed"],
      end: { containers: 3, failures: 0 },
    },
    {
      name: "no failure tolerated (default): the broken canary halts the rollout, the rest untouched",
      containers: { a: { brokenByPatch: true }, b: {}, c: {} },
      batches: [["a"], ["b", "c"]],
      status: "halted",
      outcomes: { a: "rolled-back" },
      untouched: ["b", "c"],
      journal: ["rollout.planned", "batch.started #1", "batch.finished #1", "rollout.halted #1"],
      end: { batch: 1, untouched: ["b", "c"] },
    },
    {
      name: "failure budget as a count (maxFailures 1): the first failure passes, the second halts",
      containers: { a: { brokenByPatch: true }, b: { neverHealthy: true }, c: {} },
      batches: [["a"], ["b"], ["c"]],
      policy: { maxFailures: 1 },
      status: "halted",
      outcomes: { a: "rolled-back", b: "rollback-failed" },
      untouched: ["c"],
      journal: ["rollout.planned", "batch.started #1", "batch.finished #1", "batch.started #2", "batch.finished #2", "rollout.halted #2"],
      end: { batch: 2, untouched: ["c"] },
    },
    {
      name: "failure budget as a count (maxFailures 2): two failures complete the rollout",
      containers: { a: { brokenByPatch: true }, b: { snapshotFails: "disk full" }, c: {} },
      batches: [["a"], ["b"], ["c"]],
      policy: { maxFailures: 2 },
      status: "completed",
      outcomes: { a: "rolled-back", b: "skipped", c: "patched" },
      untouched: [],
      journal: ["rollout.planned", "batch.started #1", "batch.finished #1", "batch.started #2", "batch.finished #2", "batch.started #3", "batch.finished #3", "rollout.completed"],
      end: { containers: 3, failures: 2 },
    },
    {
      name: "failure budget as a percentage (25% of 4 = 1): the second failure halts",
      containers: { a: { brokenByPatch: true }, b: { brokenByPatch: true }, c: {}, d: {} },
      batches: [["a"], ["b"], ["c", "d"]],
      policy: { maxFailures: "25%" },
      status: "halted",
      outcomes: { a: "rolled-back", b: "rolled-back" },
      untouched: ["c", "d"],
      journal: ["rollout.planned", "batch.started #1", "batch.finished #1", "batch.started #2", "batch.finished #2", "rollout.halted #2"],
      end: { untouched: ["c", "d"] },
    },
    {
      name: "failure budget as a percentage (24% of 4 rounds down to 0): the first failure halts",
      containers: { a: {}, b: { brokenByPatch: true }, c: {}, d: {} },
      batches: [["a"], ["b"], ["c", "d"]],
      policy: { maxFailures: "24%" },
      status: "halted",
      outcomes: { a: "patched", b: "rolled-back" },
      untouched: ["c", "d"],
      journal: ["rollout.planned", "batch.started #1", "batch.finished #1", "batch.started #2", "batch.finished #2", "rollout.halted #2"],
    },
    {
      name: "a failure within a batch: its other containers still finish, then the rollout halts",
      containers: { a: {}, b: { brokenByPatch: true }, c: {}, d: {} },
      batches: [["a"], ["b", "c"], ["d"]],
      status: "halted",
      outcomes: { a: "patched", b: "rolled-back", c: "patched" },
      untouched: ["d"],
      journal: ["rollout.planned", "batch.started #1", "batch.finished #1", "batch.started #2", "batch.finished #2", "rollout.halted #2"],
    },
    {
      name: "abort with rollback of the completed batches: the patched containers go back to their snapshots",
      containers: { a: {}, b: {}, c: {} },
      batches: [["a"], ["b"], ["c"]],
      gate: abortAt(3, true),
      status: "aborted",
      outcomes: { a: "rolled-back", b: "rolled-back" },
      untouched: ["c"],
      journal: ["rollout.planned", "batch.started #1", "batch.finished #1", "batch.started #2", "batch.finished #2", "rollout.aborted #3"],
      end: { who: "carol", why: "bad news upstream", rolledBack: ["a", "b"], untouched: ["c"] },
    },
    {
      name: "abort without rollback: the patched containers stay patched",
      containers: { a: {}, b: {}, c: {} },
      batches: [["a"], ["b"], ["c"]],
      gate: abortAt(2, false),
      status: "aborted",
      outcomes: { a: "patched" },
      untouched: ["b", "c"],
      journal: ["rollout.planned", "batch.started #1", "batch.finished #1", "rollout.aborted #2"],
      end: { rolledBack: [], untouched: ["b", "c"] },
    },
  ];

  it.each(rows)("$name", async (row) => {
    sim = simulatedRollout({ containers: row.containers, batches: row.batches, ...(row.policy ? { policy: row.policy } : {}) });
    const result = await sim.run(row.gate ? { gate: row.gate } : {});
    expect(result.status).toBe(row.status);
    expect(Object.fromEntries(result.outcomes.map((o) => [o.container, o.outcome]))).toEqual(row.outcomes);
    for (const name of row.untouched) expect(sim.driver.callsOf(name), name).toEqual([]);
    for (const [name, outcome] of Object.entries(row.outcomes)) {
      expect(sim.entries().filter((e) => e.type === "container.done" && e.container === name).map((e) => e.data["outcome"]).at(-1), name).toBe(outcome);
      if (outcome === "rolled-back" || outcome === "rollback-failed") expect(sim.driver.callsOf(name), name).toContain("restore");
      else expect(sim.driver.callsOf(name), name).not.toContain("restore");
    }
    expect(sim.story().filter((l) => /^(rollout|batch)\./.test(l))).toEqual(row.journal);
    if (row.end !== undefined) expect(sim.entries().at(-1)?.data).toMatchObject(row.end);
  });

  it("restarts at most maxParallel containers of a batch at once, and every one of them", async () => {
    const names = ["a", "b", "c", "d", "e", "f"];
    sim = simulatedRollout({ containers: Object.fromEntries(names.map((n) => [n, {}])), batches: [names], policy: { maxParallel: 2 } });
    let running = 0;
    let most = 0;
    const deps = sim.driver.restartDeps();
    const result = await sim.run({}, {
      snapshot: async (t) => {
        running += 1;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 5));
        running -= 1;
        return deps.snapshot(t);
      },
    });
    expect(result.status).toBe("completed");
    expect(most).toBe(2);
    expect(sim.driver.calls.filter((c) => c.startsWith("start ")).sort()).toEqual(names.map((n) => `start ${n}`));
  });

  it("tells people of a rollback, a halt and a completion", async () => {
    const notices: RolloutNotice[] = [];
    sim = simulatedRollout({ containers: { a: { brokenByPatch: true }, b: {} }, batches: [["a"], ["b"]] });
    await sim.run({ onNotice: async (n) => void notices.push(n) });
    expect(notices.map((n) => [n.kind, n.batch])).toEqual([["rolled-back", 1], ["halted", 1]]);
  });
});

describe("resume and retry over simulated containers", () => {
  let sim: SimulatedRollout | undefined;
  afterEach(() => sim?.cleanup());

  /** The process "dies" at a step boundary: the run stops there for good, with its journal as written so far. */
  const dieAt = (container: string, step: string) => {
    let reached!: () => void;
    const died = new Promise<void>((r) => (reached = r));
    const checkpoint = (c: string, s: string): Promise<void> | undefined => {
      if (c !== container || s !== step) return undefined;
      reached();
      return new Promise<void>(() => {});
    };
    return { checkpoint, died };
  };

  it("retry after a halt: the failed container is not restarted again, its failure is forgiven, the rest go on", async () => {
    sim = simulatedRollout({ containers: { a: { brokenByPatch: true }, b: {}, c: {} }, batches: [["a"], ["b"], ["c"]] });
    expect((await sim.run()).status).toBe("halted");
    const callsOfA = sim.driver.callsOf("a");
    sim.journal.append("control.retry", { who: "dave", why: "a is pinned, go on" });
    expect(journalState(sim.entries())).toMatchObject({ retried: 1 });
    const result = await sim.resume();
    expect(result.status).toBe("completed");
    expect(Object.fromEntries(result.outcomes.map((o) => [o.container, o.outcome]))).toEqual({ a: "rolled-back", b: "patched", c: "patched" });
    expect(sim.driver.callsOf("a")).toEqual(callsOfA);
    expect(sim.story().filter((l) => /^(rollout|batch|control)\./.test(l))).toEqual([
      "rollout.planned", "batch.started #1", "batch.finished #1", "rollout.halted #1", "control.retry", "rollout.resumed",
      "batch.started #2", "batch.finished #2", "batch.started #3", "batch.finished #3", "rollout.completed",
    ]);
  });

  it("a second failure after a retry halts again: the retry forgives only the failures before it", async () => {
    sim = simulatedRollout({ containers: { a: { brokenByPatch: true }, b: { brokenByPatch: true }, c: {} }, batches: [["a"], ["b"], ["c"]] });
    await sim.run();
    sim.journal.append("control.retry", { who: "dave", why: "go on" });
    const result = await sim.resume();
    expect(result.status).toBe("halted");
    expect(sim.driver.callsOf("c")).toEqual([]);
  });

  it("resume in the middle of a rollback: the rollback is finished, the restart is not redone", async () => {
    sim = simulatedRollout({ containers: { a: { brokenByPatch: true }, b: {} }, batches: [["a"], ["b"]] });
    // The process dies as the rollback of a is about to restore its delta.
    const death = dieAt("a", "rollback.restore");
    void sim.run({}, { checkpoint: death.checkpoint });
    await death.died;
    const state = journalState(sim.entries());
    expect(state.inFlight).toEqual(["a"]);
    expect([...state.rollingBack.keys()]).toEqual(["a"]);
    const before = sim.driver.calls.length;
    const result = await sim.resume();
    expect(sim.driver.calls.slice(before)).toEqual(["stop a", "restore a snap-a", "pin a", "start a"]);
    expect(result.status).toBe("halted");
    expect(result.outcomes).toMatchObject([{ container: "a", outcome: "rolled-back" }]);
    expect(sim.driver.callsOf("b")).toEqual([]);
    expect(sim.story().filter((l) => l.startsWith("container.done"))).toEqual(["container.done a rolled-back"]);
  });

  it("resume after a crash between two containers: the finished one is not restarted again", async () => {
    sim = simulatedRollout({ containers: { a: {}, b: {}, c: {} }, batches: [["a"], ["b", "c"]] });
    const death = dieAt("b", "stop");
    void sim.run({}, { checkpoint: death.checkpoint });
    await death.died;
    const result = await sim.resume();
    expect(result.status).toBe("completed");
    expect(sim.driver.callsOf("a")).toEqual(["stop", "snapshot", "start", "verify"]);
    expect(sim.driver.callsOf("b")).toEqual(["stop", "snapshot", "start", "verify"]);
    expect(result.outcomes.map((o) => o.container).sort()).toEqual(["a", "b", "c"]);
  });
  it("the gate's fence comes after the pre-copy and before the stop; released there, the container was never stopped", async () => {
    sim = simulatedRollout({ containers: { a: {}, b: {} }, batches: [["a"], ["b"]] });
    const driver = sim.driver;
    const fenced: string[] = [];
    const precopy = async (t: { name: string }) => (driver.calls.push(`precopy ${t.name}`), {});
    const gate: RolloutGate = {
      beforeBatch: async () => ({ go: true }),
      beforeContainer: async () => ({ go: true }),
      beforeStop: async () => {
        fenced.push(driver.calls.at(-1) ?? "");
        // The fleet slot of this rollout was lost during b's pre-copy, and the worker is stopping.
        if (driver.calls.at(-1) === "precopy b") throw new RolloutReleased("released: the daemon is stopping");
      },
    };
    await expect(sim.run({ gate }, { precopy })).rejects.toBeInstanceOf(RolloutReleased);
    expect(fenced).toEqual(["precopy a", "precopy b"]);
    expect(driver.callsOf("a")).toEqual(["precopy", "stop", "snapshot", "start", "verify"]);
    expect(driver.callsOf("b")).toEqual(["precopy"]);
    expect(sim.story().filter((l) => l.includes(" b"))).toEqual(["step.begin b precopy", "step.end b precopy ok=true"]);
  });

  it("a gate that throws in one lane (released, Redis refusing) lets the container under way in another lane finish first: none is left stopped", async () => {
    sim = simulatedRollout({ containers: { a: {}, b: {}, c: {}, d: {} }, batches: [["a"], ["b", "c", "d"]], policy: { maxParallel: 2 } });
    const driver = sim.driver;
    let asked = 0;
    const gate: RolloutGate = {
      beforeBatch: async () => ({ go: true }),
      // a, then b and c side by side; asked for the next one after b, while c is still stopped.
      beforeContainer: async () => {
        if (++asked === 4) throw new RolloutReleased("released: the daemon is stopping");
        return { go: true };
      },
    };
    let cStopped = false;
    const checkpoint = async (container: string, step: string) => {
      if (container === "c" && step === "start") {
        cStopped = true;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await expect(sim.run({ gate }, { checkpoint })).rejects.toBeInstanceOf(RolloutReleased);
    expect(cStopped).toBe(true);
    expect(await driver.state("c")).toBe("RUNNING");
    expect(driver.callsOf("c")).toEqual(["stop", "snapshot", "start", "verify"]);
    expect(driver.callsOf("d")).toEqual([]);
    expect(journalState(sim.entries()).inFlight).toEqual([]);
    expect([...journalState(sim.entries()).finished.keys()].sort()).toEqual(["a", "b", "c"]);
  });

  it("an abort that rolls back completed containers asks the gate for its slot first, and waits for it", async () => {
    sim = simulatedRollout({ containers: { a: {}, b: {} }, batches: [["a"], ["b"]] });
    const driver = sim.driver;
    let granted!: () => void;
    const slot = new Promise<void>((res) => (granted = res));
    let asked = 0;
    const gate: RolloutGate = {
      beforeBatch: async (b) => (b === 2 ? { go: false, abort: { who: "carol", why: "bad news upstream", rollBackCompleted: true } } : { go: true }),
      beforeContainer: async () => ({ go: true }),
      // The fleet gave its slot back at a hold: taking `a` back waits for one.
      beforeRollback: async () => {
        asked += 1;
        await slot;
      },
    };
    const run = sim.run({ gate });
    await new Promise((res) => setTimeout(res, 100));
    expect(asked).toBe(1);
    expect(driver.callsOf("a")).toEqual(["stop", "snapshot", "start", "verify"]);
    granted();
    expect((await run).status).toBe("aborted");
    expect(driver.callsOf("a")).toEqual(["stop", "snapshot", "start", "verify", "stop", "restore", "pin", "start"]);
  });
});
