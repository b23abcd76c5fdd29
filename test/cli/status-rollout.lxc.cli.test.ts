import { userInfo } from "node:os";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT } from "../../src/cli/exit-codes.js";
import { freePort } from "../helpers/redis-server.js";
import { rolloutHarness, type RolloutHarness } from "../helpers/rollout-harness.js";
import { patchroll } from "./run-cli.js";
import { ControlJson, StatusJson } from "./schemas.js";

/**
 * `patchroll status` and the rollout controls on the built binary, during real rollouts of real
 * containers run by an in-process daemon: a rollout held at its approval gate after the canary, approved
 * from the CLI; a rollout halted by a failing canary, retried from the CLI once the canary is fixed.
 */
describe("patchroll status and rollout controls during a rollout (built binary, real LXC and Redis)", () => {
  let h: RolloutHarness;
  const me = userInfo().username;

  beforeAll(async () => {
    h = await rolloutHarness("cli-status", [{ canary: true, group: "web" }, { group: "web" }, { group: "api" }], {
      rollout: { batches: [1, "100%"], approveAfter: [1] },
      http: { port: await freePort() },
    });
    await h.startDaemon();
  });
  afterAll(async () => h?.cleanup());

  const status = async () => {
    const r = await patchroll(h.env.config, "--json", "status");
    return { exitCode: r.exitCode, report: StatusJson.parse(JSON.parse(r.stdout)) };
  };

  it("shows the rollout held at its gate with batch progress, what to run next, and the daemon up", async () => {
    const id = await h.trigger();
    await h.waitFor(id, ["waiting"]);
    const { exitCode, report } = await status();
    expect(exitCode).toBe(EXIT.FINDINGS);
    expect(report.daemon).toMatchObject({ up: true, http: { up: true } });
    expect(report.daemon.workers).toBeGreaterThan(0);
    expect(report.redis.reachable).toBe(true);
    expect(report.active).toHaveLength(1);
    expect(report.active![0]).toMatchObject({ id, status: "waiting", batch: 1, batches: 2, done: 1, total: 3, failures: 0 });
    // The shared test Redis runs without AOF: that finding is real, and not this test's subject.
    const attention = (r: typeof report) => r.attention.filter((a) => a.runbook !== "redis-down");
    expect(attention(report).map((a) => [a.runbook, a.next])).toEqual([["rollout-waiting", `patchroll rollouts approve ${id} --why "..."`]]);
    expect(report.containers.managed).toBe(3);

    const text = await patchroll(h.env.config, "status");
    expect(text.stdout).toMatch(new RegExp(`^rollout +${id} waiting: batch 1/2, 1/3 done, 0 failed .*needs approval`, "m"));
    expect(text.stdout).toMatch(/^daemon +up, \d+ worker connection\(s\), dashboard http:\/\/127\.0\.0\.1:\d+ answers$/m);
    expect(text.stdout).toMatch(/runbook: \/.*runbooks\/rollout-waiting\.md$/m);

    const approve = await patchroll(h.env.config, "--json", "rollouts", "approve", id, "--why", "canary looks fine");
    expect(approve.exitCode).toBe(EXIT.OK);
    expect(ControlJson.parse(JSON.parse(approve.stdout))).toMatchObject({ rolloutId: id, action: "approve" });
    expect((await h.waitFor(id, ["completed", "halted"])).status).toBe("completed");
    expect(h.journal(id).filter((e) => e.type === "control.approve").map((e) => [e.data["who"], e.data["why"]])).toEqual([[me, "canary looks fine"]]);

    const after = await status();
    expect(after.report.active).toEqual([]);
    expect(attention(after.report)).toEqual([]);
  });

  it("pauses and resumes a held rollout, journaling the login user and the reason", async () => {
    const id = await h.trigger();
    await h.waitFor(id, ["waiting"]);
    const pause = await patchroll(h.env.config, "rollouts", "pause", id, "--why", "checking the canary");
    expect(pause.stdout).toMatch(new RegExp(`^rollout ${id}: pause recorded; now paused by ${me}`));
    await h.waitFor(id, ["paused"]);
    expect((await status()).report.attention.map((a) => a.next)).toContain(`patchroll rollouts resume ${id} --why "..."`);
    await patchroll(h.env.config, "rollouts", "resume", id, "--why", "fine");
    await patchroll(h.env.config, "rollouts", "approve", id, "--why", "fine");
    expect((await h.waitFor(id, ["completed", "halted"])).status).toBe("completed");
    const noWhy = await patchroll(h.env.config, "rollouts", "pause", id);
    expect(noWhy.exitCode).toBe(EXIT.USAGE);
    expect((await patchroll(h.env.config, "rollouts", "pause", "no-such-rollout", "--why", "x")).exitCode).toBe(EXIT.NOT_FOUND);
  });

  it("shows a halted rollout with exit 8 and its runbook; retry from the CLI takes it to the end", async () => {
    const canary = h.containers[0]!;
    // The canary's health endpoint goes away: it fails after its restart, and (the snapshot holds the same
    // delta) after its rollback too.
    rmSync(join(canary.deltaDir, "srv/www/health"));
    const id = await h.trigger();
    const halted = await h.waitFor(id, ["halted", "completed"]);
    expect(halted.status).toBe("halted");

    const { exitCode, report } = await status();
    expect(exitCode).toBe(EXIT.HALTED);
    expect(report.halted!.map((r) => r.id)).toEqual([id]);
    expect(report.attention[0]).toMatchObject({ severity: "critical", runbook: "rollout-halted", next: `patchroll rollouts show ${id}` });
    const text = await patchroll(h.env.config, "status");
    expect(text.stdout).toMatch(new RegExp(`^halted +${id}: halted after batch 1`, "m"));

    writeFileSync(join(canary.deltaDir, "srv/www/health"), "ok\n");
    const retry = await patchroll(h.env.config, "--json", "rollouts", "retry", id, "--why", "health endpoint fixed");
    expect(retry.exitCode).toBe(EXIT.OK);
    expect(ControlJson.parse(JSON.parse(retry.stdout))).toMatchObject({ action: "retry", requeued: 1 });
    await h.waitFor(id, ["waiting"]);
    await patchroll(h.env.config, "rollouts", "approve", id, "--why", "go on");
    const done = await h.waitFor(id, ["completed", "halted"]);
    expect(done.status).toBe("completed");
    expect(done.outcomes?.map((o) => o.outcome).sort()).toEqual(["patched", "patched", "rollback-failed"]);
    expect((await status()).report.halted).toEqual([]);
  });
});
