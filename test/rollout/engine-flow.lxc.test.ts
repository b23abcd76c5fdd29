import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestControl } from "../../src/rollout/controls.js";
import { rolloutHarness, type RolloutHarness } from "../helpers/rollout-harness.js";

const BIN = new URL("../../bin/patchroll", import.meta.url).pathname;

/**
 * The rollout engine on real containers: batches, approval gates, pause/resume, abort with rollback of
 * the completed batches, and two events in quick succession (one rollout at a time).
 */
describe("rollout engine: batches and operator controls (real LXC, real Redis)", () => {
  let h: RolloutHarness;
  const who = { who: "alice", why: "testing the gate" };

  beforeAll(async () => {
    h = await rolloutHarness(
      "flow",
      ["web", "api", "web", "api", "web"].map((group, i) => ({ group, canary: i === 0 })),
      { rollout: { batches: [1, 2, "100%"], approveAfter: [] } },
    );
    await h.startDaemon();
  });
  afterAll(async () => h?.cleanup());

  const stepsOf = (rolloutId: string) => h.journal(rolloutId).map((e) => `${e.type}${e.data["batch"] !== undefined ? `#${e.data["batch"]}` : ""}`);

  it("restarts five containers in three batches, canary first, each batch done before the next", async () => {
    const before = await Promise.all(h.containers.map(async (c) => (await c.info()).initPid));
    const id = await h.trigger();
    const done = await h.waitFor(id, ["completed", "halted", "aborted"]);
    expect(done.status).toBe("completed");
    expect(done.outcomes?.map((o) => o.outcome)).toEqual(Array(5).fill("patched"));
    const plan = h.journal(id).find((e) => e.type === "rollout.planned")!.data["plan"] as { batches: string[][] };
    expect(plan.batches.map((b) => b.length)).toEqual([1, 2, 2]);
    expect(plan.batches[0]).toEqual([h.containers[0]!.name]);
    const steps = stepsOf(id);
    expect(steps.indexOf("batch.finished#1")).toBeLessThan(steps.indexOf("batch.started#2"));
    expect(steps.indexOf("batch.finished#2")).toBeLessThan(steps.indexOf("batch.started#3"));
    const after = await Promise.all(h.containers.map(async (c) => (await c.info()).initPid));
    after.forEach((pid, i) => expect(pid).not.toBe(before[i]));
  });

  it("lets a second event wait behind a running rollout, never two at once", async () => {
    const pause = { action: "pause" as const, who: "t", why: "hold the first" };
    const a = await h.trigger((rolloutId) => requestControl(h.redis, h.env.config, { ...pause, rolloutId }));
    await h.waitFor(a, ["paused"]);
    const b = await h.trigger();
    await new Promise((r) => setTimeout(r, 300));
    expect(h.journal(b)).toEqual([]);
    await requestControl(h.redis, h.env.config, { action: "resume", rolloutId: a, who: "t", why: "go" });
    await h.waitFor(a, ["completed"]);
    await h.waitFor(b, ["completed"]);
    const endA = Date.parse(h.journal(a).find((e) => e.type === "rollout.completed")!.ts);
    const startB = Date.parse(h.journal(b).find((e) => e.type === "step.begin")!.ts);
    expect(startB).toBeGreaterThanOrEqual(endA);
  });

  it("folds events that arrive before a rollout starts into it: each container restarted once", async () => {
    await h.stopDaemon();
    const a = await h.trigger();
    const b = await h.trigger();
    await h.startDaemon();
    const merged = await h.waitFor(b, ["merged", "completed"]);
    expect(merged).toMatchObject({ status: "merged", mergedInto: a });
    const done = await h.waitFor(a, ["completed"]);
    expect(done.outcomes).toHaveLength(5);
    const planned = h.journal(a).find((e) => e.type === "rollout.planned")!;
    expect((planned.data["merged"] as { rolloutId: string }[]).map((m) => m.rolloutId)).toEqual([b]);
    expect(h.journal(b).map((e) => e.type)).toEqual(["rollout.merged"]);
  });

  it("starts a rollout from the built CLI and follows it with rollouts watch until it ends", async () => {
    const configFile = join(h.env.root, "cli-config.yaml");
    writeFileSync(configFile, JSON.stringify(h.env.config));
    const cli = (...args: string[]) => execa(BIN, ["-c", configFile, ...args], { reject: false, env: { PATCHROLL_CONFIG: "" } });
    const started = await cli("--json", "rollouts", "start", "--packages", "prt-cli-none");
    expect(started.exitCode, started.stderr).toBe(0);
    const { rolloutId } = JSON.parse(started.stdout) as { rolloutId: string };
    const watched = await cli("--json", "rollouts", "watch", rolloutId, "--interval", "100");
    expect(watched.exitCode, watched.stderr).toBe(0);
    const states = watched.stdout.trim().split("\n").map((l) => JSON.parse(l) as { status: string; done?: number });
    expect(states.at(-1)).toMatchObject({ status: "completed", done: 5 });
    const shown = await cli("rollouts", "show", rolloutId);
    expect(shown.stdout).toMatch(/status\s+completed/);
  });

  it("holds at a pause and goes on when resumed, journaling who and why", async () => {
    const id = await h.trigger((rolloutId) => requestControl(h.redis, h.env.config, { action: "pause", rolloutId, ...who }));
    const paused = await h.waitFor(id, ["paused"]);
    expect(paused.waitReason).toMatch(/paused by alice: testing the gate/);
    expect(h.journal(id).some((e) => e.type === "step.begin")).toBe(false);
    await requestControl(h.redis, h.env.config, { action: "resume", rolloutId: id, ...who });
    expect((await h.waitFor(id, ["completed", "halted"])).status).toBe("completed");
    const controls = h.journal(id).filter((e) => e.type.startsWith("control."));
    expect(controls.map((e) => [e.type, e.data["who"], e.data["why"]])).toEqual([
      ["control.pause", "alice", "testing the gate"],
      ["control.resume", "alice", "testing the gate"],
    ]);
  });
});

describe("rollout engine: approval gate and abort (real LXC, real Redis)", () => {
  let h: RolloutHarness;
  beforeAll(async () => {
    h = await rolloutHarness("gate", [{ canary: true }, {}, {}], { rollout: { batches: [1, "100%"], approveAfter: [1] } });
    await h.startDaemon();
  });
  afterAll(async () => h?.cleanup());

  it("waits for approval after the canary, then finishes", async () => {
    const id = await h.trigger();
    const waiting = await h.waitFor(id, ["waiting"]);
    expect(waiting.waitReason).toMatch(/batch 2 needs approval after batch 1: patchroll rollouts approve/);
    expect(waiting.outcomes?.map((o) => o.outcome)).toEqual(["patched"]);
    await requestControl(h.redis, h.env.config, { action: "approve", rolloutId: id, who: "bob", why: "canary looks fine" });
    const done = await h.waitFor(id, ["completed", "halted"]);
    expect(done.outcomes?.map((o) => o.outcome)).toEqual(["patched", "patched", "patched"]);
  });

  it("aborts at the gate and rolls the canary back when asked, leaving the rest untouched", async () => {
    const untouched = await Promise.all(h.containers.slice(1).map(async (c) => (await c.info()).initPid));
    const id = await h.trigger();
    await h.waitFor(id, ["waiting"]);
    await requestControl(h.redis, h.env.config, { action: "abort", rolloutId: id, who: "carol", why: "bad news upstream", rollBackCompleted: true });
    const aborted = await h.waitFor(id, ["aborted"]);
    expect(aborted.haltReason).toMatch(/aborted by carol: bad news upstream; rolled back/);
    expect(aborted.outcomes?.map((o) => [o.container, o.outcome])).toEqual([[h.containers[0]!.name, "rolled-back"]]);
    expect(await Promise.all(h.containers.slice(1).map(async (c) => (await c.info()).initPid))).toEqual(untouched);
    expect((await fetch(h.containers[0]!.healthUrl)).status).toBe(200);
    const entry = h.journal(id).find((e) => e.type === "rollout.aborted")!;
    expect(entry.data).toMatchObject({ who: "carol", rolledBack: [h.containers[0]!.name] });
  });
});
