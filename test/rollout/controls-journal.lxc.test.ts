import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJournal } from "../../src/journal/journal.js";
import { journalFile } from "../../src/journal/paths.js";
import { verifyJournal } from "../../src/journal/verify.js";
import { lockPathOf } from "../../src/journal/writer-lock.js";
import { buildReport } from "../../src/report/build-report.js";
import type { ControlRequest } from "../../src/rollout/controls.js";
import { controlRollout } from "../../src/status/control-rollout.js";
import { patchroll } from "../cli/run-cli.js";
import { rolloutHarness, type RolloutHarness } from "../helpers/rollout-harness.js";

/**
 * Operators steer a running rollout (pause, resume, approve, pause again, abort with rollback) through the
 * call the CLI and the dashboard make, while the runner writes the same journal: each control is journaled
 * exactly once, and `patchroll journal verify` and the report find no damage. Then a control on the ended
 * rollout, when no one writes its journal.
 */
describe("operators' controls in a running rollout's journal (real LXC, real Redis)", () => {
  let h: RolloutHarness;
  beforeAll(async () => {
    h = await rolloutHarness("ctljournal", [{ canary: true }, {}, {}, {}], { rollout: { batches: [1, 1, "100%"], approveAfter: [1, 2], maxParallel: 1 } });
    await h.startDaemon();
  }, 120_000);
  afterAll(async () => h?.cleanup());

  const until = async (what: string, ok: () => boolean, timeoutMs = 20_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(h.journal(id0).map((e) => [e.seq, e.type, e.container]))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  let id0 = "";
  const control = (rolloutId: string, req: Omit<ControlRequest, "rolloutId">) => controlRollout(h.redis, h.queues, h.env.config, { ...req, rolloutId });
  const check = (id: string) => verifyJournal(readJournal(journalFile(h.env.config, id)), { host: h.env.config.hostId, rollout: id });

  it("journals pause, resume, approve, pause and abort once each, with unbroken numbering", async () => {
    const id = await h.trigger();
    id0 = id;
    await until("the plan", () => h.journal(id).some((e) => e.type === "rollout.planned"));
    const plan = h.journal(id).find((e) => e.type === "rollout.planned")!.data["plan"] as { batches: string[][] };
    const [canary, second] = plan.batches.flat();
    // Paused while the canary restarts (the runner writing its steps at the same moment); approvals after
    // batches 1 and 2 keep the rollout from running past the pauses.
    await until("the canary's first step", () => h.journal(id).some((e) => e.type === "step.begin" && e.container === canary));
    await control(id, { action: "pause", who: "alice", why: "looking at the canary" });
    await h.waitFor(id, ["paused"], 20_000);
    await control(id, { action: "resume", who: "alice", why: "canary fine" });
    await h.waitFor(id, ["waiting"], 20_000);
    await control(id, { action: "approve", who: "bob", why: "go on" });
    await until("batch 2's first step", () => h.journal(id).some((e) => e.type === "step.begin" && e.container === second));
    await control(id, { action: "pause", who: "carol", why: "hold on" });
    await h.waitFor(id, ["paused"], 20_000);
    await control(id, { action: "abort", who: "carol", why: "bad news upstream", rollBackCompleted: true });
    const aborted = await h.waitFor(id, ["aborted", "completed", "halted"]);
    expect(aborted.status).toBe("aborted");

    const entries = h.journal(id);
    const controls = entries.filter((e) => e.type.startsWith("control."));
    expect(controls.map((e) => [e.type, e.data["who"], e.data["why"]])).toEqual([
      ["control.pause", "alice", "looking at the canary"],
      ["control.resume", "alice", "canary fine"],
      ["control.approve", "bob", "go on"],
      ["control.pause", "carol", "hold on"],
      ["control.abort", "carol", "bad news upstream"],
    ]);
    expect(controls.at(-1)?.data["rollBackCompleted"]).toBe(true);
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
    // Each control comes before what it caused.
    const at = (type: string, from = 0) => entries.findIndex((e, i) => i >= from && e.type === type);
    expect(at("control.abort")).toBeLessThan(at("rollout.aborted"));
    expect(at("control.approve")).toBeLessThan(at("batch.started", at("control.approve")));
    expect(entries.find((e) => e.type === "rollout.aborted")?.data["rolledBack"]).toEqual([canary, second]);

    expect(check(id)).toMatchObject({ problems: [], sequenceGaps: [], finished: "aborted" });
    const verified = await patchroll(h.env.config, "--json", "journal", "verify", id);
    expect(verified.exitCode, verified.stdout + verified.stderr).toBe(0);
    const report = buildReport({ host: h.env.config.hostId, rollout: id, read: readJournal(journalFile(h.env.config, id)), changelogCves: [] });
    expect(report.journal).toMatchObject({ problems: [] });
    expect(report.controls.map((c) => c.action)).toEqual(["pause", "resume", "approve", "pause", "abort"]);
    expect(report.controls.map((c) => c.at)).toEqual(controls.map((c) => c.data["at"]));
    // Each says when the operator asked; `ts` is when the runner journaled it.
    for (const c of controls) expect(Date.parse(String(c.data["at"]))).toBeLessThanOrEqual(Date.parse(c.ts));
    expect(existsSync(lockPathOf(journalFile(h.env.config, id)))).toBe(false);
  });

  it("journals a control on an ended rollout at once, exactly once", async () => {
    const id = await h.trigger();
    await h.waitFor(id, ["running", "waiting"]);
    await control(id, { action: "pause", who: "dave", why: "hold before batch 2" });
    await h.waitFor(id, ["paused"], 20_000);
    await control(id, { action: "abort", who: "dave", why: "not tonight" });
    await h.waitFor(id, ["aborted"]);
    await control(id, { action: "resume", who: "erin", why: "for the record" });
    await until("erin's resume in the journal", () => h.journal(id).some((e) => e.type === "control.resume"));
    const late = h.journal(id).filter((e) => e.type === "control.resume");
    expect(late.map((e) => [e.data["who"], e.data["why"]])).toEqual([["erin", "for the record"]]);
    expect(h.journal(id).at(-1)?.type).toBe("control.resume");
    expect(check(id)).toMatchObject({ problems: [], sequenceGaps: [], finished: "aborted" });
  });
});
