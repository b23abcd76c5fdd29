import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildReport } from "../../src/report/build-report.js";
import { readJournal } from "../../src/journal/journal.js";
import { journalFile } from "../../src/journal/paths.js";
import type { RolloutReport } from "../../src/report/report-model.js";
import { renderRolloutReport } from "../../src/report/render.js";
import { requestControl } from "../../src/rollout/controls.js";
import { rolloutHarness, type RolloutHarness } from "../helpers/rollout-harness.js";

/**
 * Reports of rollouts the real engine ran on real containers with people and crashes in them: an approval
 * gate passed by bob, an abort by carol that rolls the canary back, and a daemon killed with SIGKILL in the
 * middle of a rollout and resumed by the next one.
 */
const BIN = new URL("../../bin/patchroll", import.meta.url).pathname;

describe("reports of rollouts with human actions and a crash (real LXC, real Redis)", () => {
  let h: RolloutHarness;
  const report = (id: string): RolloutReport =>
    buildReport({ host: h.env.config.hostId, rollout: id, read: readJournal(journalFile(h.env.config, id)), changelogCves: [] });

  beforeAll(async () => {
    h = await rolloutHarness("rptctl", [{ canary: true }, {}, {}], { rollout: { batches: [1, "100%"], approveAfter: [1] } });
  }, 120_000);
  afterAll(async () => h?.cleanup());

  it("approval: the wait, who approved and why, in words and on the chart", async () => {
    await h.startDaemon();
    try {
      const id = await h.trigger();
      await h.waitFor(id, ["waiting"]);
      await requestControl(h.redis, h.env.config, { action: "approve", rolloutId: id, who: "bob", why: "canary looks fine" });
      await h.waitFor(id, ["completed"]);
      const r = report(id);
      expect(r.outcome).toBe("completed");
      expect(r.controls).toMatchObject([{ action: "approve", who: "bob", why: "canary looks fine" }]);
      expect(r.timeline.some((t) => t.type === "rollout.waiting" && /^waiting: batch 2 needs approval after batch 1/.test(t.text))).toBe(true);
      expect(r.summary).toContain('bob asked to approve ("canary looks fine").');
      const html = renderRolloutReport(r, "html");
      expect(html).toContain(">approve (bob)</text>");
      expect(html).toContain(">waiting</text>");
      expect(r.containers.map((c) => c.outcome)).toEqual(["patched", "patched", "patched"]);
    } finally {
      await h.stopDaemon();
    }
  });

  it("abort with rollback: carol's reason, the canary taken back, the rest untouched", async () => {
    await h.startDaemon();
    try {
      const id = await h.trigger();
      await h.waitFor(id, ["waiting"]);
      await requestControl(h.redis, h.env.config, { action: "abort", rolloutId: id, who: "carol", why: "bad news upstream", rollBackCompleted: true });
      await h.waitFor(id, ["aborted"]);
      const r = report(id);
      const [canary, ...rest] = h.containers.map((c) => c.name);
      expect(r.outcome).toBe("aborted");
      expect(r.halt).toMatchObject({ kind: "aborted", rolledBack: [canary] });
      // Untouched in plan order (groups interleaved), whatever order the containers were made in.
      expect([...(r.halt as { untouched: string[] }).untouched].sort()).toEqual([...rest].sort());
      expect(r.rollbacks).toMatchObject([{ container: canary, result: "rolled-back", reason: "rollout aborted by carol: bad news upstream" }]);
      expect(r.controls.map((c) => [c.action, c.who, c.why, c.rollBackCompleted])).toEqual([["abort", "carol", "bad news upstream", true]]);
      expect(r.summary).toContain(`The rollout was aborted by carol: bad news upstream; rolled back ${canary}`);
      expect(r.summary).toMatch(new RegExp(`2 containers were left untouched \\((${rest.join(" and ")}|${[...rest].reverse().join(" and ")})\\)`));
      expect(renderRolloutReport(r, "md")).toContain("| carol | abort, rolling back completed batches | bad news upstream |");
    } finally {
      await h.stopDaemon();
    }
  });

  it("crash and resume: the daemon killed before a start; the report shows the resumption and a whole story", async () => {
    const configFile = join(h.env.root, "config.yaml");
    writeFileSync(configFile, JSON.stringify({ ...h.env.config, rollout: { ...h.env.config.rollout, approveAfter: [] }, log: { level: "warn" }, queue: { lockDurationMs: 2000, stalledIntervalMs: 1000, maxStalledCount: 100 } }));
    const daemon = (...extra: string[]) => execa(BIN, ["-c", configFile, "daemon", ...extra], { reject: false, all: true, env: { PATCHROLL_CONFIG: "" }, timeout: 120_000 });
    const [canary] = h.containers.map((c) => c.name);
    const id = await h.trigger();
    const killed = await daemon("--fault-kill-at", `start@${canary}`);
    expect(killed.signal, killed.all).toBe("SIGKILL");
    const second = daemon();
    try {
      await h.waitFor(id, ["completed", "halted"], 90_000);
    } finally {
      second.kill("SIGTERM");
      await second;
    }
    const r = report(id);
    expect(r.outcome).toBe("completed");
    const resumed = r.timeline.find((t) => t.type === "rollout.resumed");
    expect(resumed?.text).toMatch(/^the worker restarted after an interruption and resumed: .*in flight .*\b/);
    expect(r.containers.every((c) => c.outcome === "patched")).toBe(true);
    expect(r.journal).toMatchObject({ problems: [] });
    expect(renderRolloutReport(r, "html")).toContain(">resumed</text>");
  });
});
