import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RolloutJournal } from "../../src/journal/journal.js";
import { buildReport } from "../../src/report/build-report.js";
import { loadRolloutReport } from "../../src/report/load-report.js";
import { renderRolloutReport } from "../../src/report/render.js";
import { expectGolden, JOURNALS } from "./golden.js";

/** Reports of the two rollouts `npm run demo` ran for real (a success, a halted rollback), from their journals. */
const SUCCESS = "20261123T064154Z-492746dc";
const HALTED = "20261123T064200Z-7dc05133";
const src = { journalDir: JOURNALS, hostId: "demo", docRoot: join(JOURNALS, "doc") };
const scratch = mkdtempSync("/var/tmp/patchroll-test-report-");
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A journal directory holding copies of the fixtures, to change without touching them. */
function copyOfFixtures(): string {
  const dir = mkdtempSync(join(scratch, "journals-"));
  mkdirSync(join(dir, "demo"));
  for (const id of [SUCCESS, HALTED]) copyFileSync(join(JOURNALS, "demo", `${id}.jsonl`), join(dir, "demo", `${id}.jsonl`));
  return dir;
}

describe("reports of real rollouts, from the journal alone", () => {
  for (const [name, id] of [["success", SUCCESS], ["halted", HALTED]] as const) {
    for (const format of ["md", "html", "json"] as const) {
      it(`${name}: ${format} matches its golden file, byte for byte`, async () => {
        expectGolden(`demo-${name}.${format}`, renderRolloutReport(await loadRolloutReport(src, id), format));
      });
    }
  }

  it("is deterministic: the same journal gives the same bytes, wherever and whenever it is made", async () => {
    const a = renderRolloutReport(await loadRolloutReport(src, HALTED), "html");
    const tz = process.env["TZ"];
    process.env["TZ"] = "Pacific/Chatham";
    try {
      await new Promise((r) => setTimeout(r, 5));
      expect(renderRolloutReport(await loadRolloutReport(src, HALTED), "html")).toBe(a);
    } finally {
      if (tz === undefined) delete process.env["TZ"];
      else process.env["TZ"] = tz;
    }
  });

  it("success: CVEs from the changelog, every window closed at the verified restart", async () => {
    const r = await loadRolloutReport(src, SUCCESS);
    expect(r.outcome).toBe("completed");
    expect(r.cves).toMatchObject({ from: "changelog", ids: ["CVE-2026-10001", "CVE-2026-10002", "CVE-2026-10003"] });
    expect(r.cves.packages[0]).toMatchObject({ status: "ok", entries: 2 });
    expect(r.exposure.windows.map((w) => [w.container, w.status, w.ms])).toEqual([
      ["demo-web-1", "closed", 2406],
      ["demo-api-1", "closed", 4753],
      ["demo-web-2", "closed", 4759],
      ["demo-api-2", "closed", 4755],
    ]);
    expect(r.exposure.stillExposed).toEqual([]);
    expect(r.exposure.byCve[0]).toMatchObject({ id: "CVE-2026-10001", open: [] });
    expect(r.summary).toMatch(/^On 2026-11-23 06:41:55 UTC an apt run on host demo upgraded prdemo from 1\.0 to 1\.1 /);
  });

  it("halted: the rollback with its reason, the untouched containers, who is still exposed and what to follow", async () => {
    const r = await loadRolloutReport(src, HALTED);
    expect(r.outcome).toBe("halted");
    expect(r.cves.ids).toEqual([]);
    expect(r.rollbacks).toMatchObject([{ container: "demo-web-1", pinned: true, result: "rolled-back", reason: expect.stringContaining("did not start") }]);
    expect(r.halt).toMatchObject({ kind: "halted", batch: 1, untouched: ["demo-api-1", "demo-web-2", "demo-api-2"] });
    expect(r.exposure.stillExposed.map((s) => [s.container, s.runbook])).toEqual([
      ["demo-web-1", "runbooks/container-pinned.md"],
      ["demo-api-1", "runbooks/rollout-halted.md"],
      ["demo-web-2", "runbooks/rollout-halted.md"],
      ["demo-api-2", "runbooks/rollout-halted.md"],
    ]);
    expect(r.summary).toContain("The rollout halted in batch 1 of 2, 982 ms after it began. demo-web-1 failed (container demo-web-1 did not start");
  });

  it("prefers the CVEs recorded at plan time (rollout.planned data.cves) and then reads no changelog", async () => {
    const dir = copyOfFixtures();
    const file = join(dir, "demo", `${SUCCESS}.jsonl`);
    const lines = readFileSync(file, "utf8").split("\n");
    const planned = JSON.parse(lines[0]!) as { data: Record<string, unknown> };
    planned.data["cves"] = [{ package: "prdemo", from: "1.0", to: "1.1", changelog: "/usr/share/doc/prdemo/changelog.Debian.gz", newestEntry: "1.1", status: "ok", fixed: [{ id: "CVE-2026-4242", versions: ["1.1"] }], reintroduced: [], entries: 1, malformedLines: 0 }];
    lines[0] = JSON.stringify(planned);
    writeFileSync(file, lines.join("\n"));
    const r = await loadRolloutReport({ journalDir: dir, hostId: "demo", docRoot: join(scratch, "no-docs-here") }, SUCCESS);
    expect(r.cves).toMatchObject({ from: "journal", ids: ["CVE-2026-4242"] });
    expect(r.exposure.windows[0]!.cves).toEqual(["CVE-2026-4242"]);
  });

  it("a torn last line: the report is still made, says the journal ends without an end, and shows the damage", async () => {
    const dir = copyOfFixtures();
    const file = join(dir, "demo", `${HALTED}.jsonl`);
    const text = readFileSync(file, "utf8");
    writeFileSync(file, text.slice(0, text.length - 120));
    const r = await loadRolloutReport({ ...src, journalDir: dir }, HALTED);
    expect(r.outcome).toBe("unfinished");
    expect(r.journal.problems).toEqual([{ line: 22, reason: "torn last line (write interrupted)" }]);
    expect(r.exposure.stillExposed.map((s) => s.why)).toContain("waiting for its batch when the journal ends");
    const md = renderRolloutReport(r, "md");
    expect(md).toContain("line 22: torn last line (write interrupted)");
    expect(md).toContain("The journal ends on 2026-11-23 06:42:03 UTC without an end");
  });

  it("a later rollout that verifies the fix closes the windows this one left open", async () => {
    const dir = copyOfFixtures();
    const later = new RolloutJournal(dir, "demo", "20261123T070000Z-0000beef", () => new Date("2026-11-23T07:00:05.000Z"));
    const event = { v: 1, id: "apt-later", host: "demo", time: "2026-11-23T07:00:00.000Z", endedAt: "2026-11-23T07:00:01.000Z", packages: [{ name: "prdemo", arch: "amd64", from: "2.0", to: "2.1", action: "upgrade" }], origin: "security", sources: ["hook"] };
    later.appendAsWritten({ type: "rollout.planned", data: { event, plan: { select: "stale", affected: [], excluded: [], batches: [["demo-api-1"]] }, scans: [] } });
    later.appendAsWritten({ type: "container.done", container: "demo-api-1", data: { outcome: "patched", reason: "verified" } });
    later.appendAsWritten({ type: "rollout.completed", data: { containers: 1, failures: 0 } });
    const r = await loadRolloutReport({ ...src, journalDir: dir }, HALTED);
    const api1 = r.exposure.windows.find((w) => w.container === "demo-api-1")!;
    expect(api1).toMatchObject({ status: "closed", closedBy: "20261123T070000Z-0000beef", until: "2026-11-23T07:00:05.000Z" });
    expect(r.exposure.stillExposed.map((s) => s.container)).toEqual(["demo-web-1", "demo-web-2", "demo-api-2"]);
    expect(r.asOf).toBe("2026-11-23T07:00:05.000Z");
  });

  it("human actions, waits and an abort with rollback: who, why, and what it left", () => {
    const dir = mkdtempSync(join(scratch, "abort-"));
    let t = Date.parse("2026-11-23T08:00:00.000Z");
    const j = new RolloutJournal(dir, "h", "20261123T080000Z-abcdef01", () => new Date((t += 250)));
    const event = { v: 1, id: "apt-x", host: "h", time: "2026-11-23T07:59:58.000Z", endedAt: "2026-11-23T07:59:59.000Z", packages: [{ name: "libx", arch: "amd64", from: "1", to: "2", action: "upgrade" }], origin: "security", sources: ["hook", "uu-log"] };
    j.appendAsWritten({ type: "rollout.planned", data: { event, plan: { select: "stale", affected: [{ name: "a", group: "g", canary: true, reason: "stale" }, { name: "b", group: "g", canary: false, reason: "stale" }], excluded: [{ name: "s", reason: "shadowed: its delta holds its own copy of a patched file" }], batches: [["a"], ["b"]] }, scans: [] } });
    j.appendAsWritten({ type: "batch.started", data: { batch: 1, of: 2, containers: ["a"] } });
    for (const step of ["stop", "snapshot", "start", "health", "verify"]) {
      j.appendAsWritten({ type: "step.begin", container: "a", data: { step } });
      j.appendAsWritten({ type: "step.end", container: "a", data: { step, ok: true, ms: 10, ...(step === "verify" ? { verified: true, detail: "ok" } : {}), ...(step === "health" ? { healthy: true, reason: "passed" } : {}) } });
    }
    j.appendAsWritten({ type: "container.done", container: "a", data: { outcome: "patched", reason: "ok", snapshot: "s1" } });
    j.appendAsWritten({ type: "batch.finished", data: { batch: 1, failures: 0 } });
    j.appendAsWritten({ type: "control.pause", data: { who: "ann", why: "checking the canary's logs" } });
    j.appendAsWritten({ type: "rollout.waiting", data: { status: "paused", reason: "paused by ann: checking the canary's logs", batch: 1 } });
    j.appendAsWritten({ type: "control.abort", data: { who: "ann", why: "error rate up on a", rollBackCompleted: true } });
    j.appendAsWritten({ type: "rollback.begin", container: "a", data: { reason: "rollout aborted by ann: error rate up on a", snapshot: "s1" } });
    j.appendAsWritten({ type: "step.begin", container: "a", data: { step: "rollback.pin" } });
    j.appendAsWritten({ type: "step.end", container: "a", data: { step: "rollback.pin", ok: true, ms: 5, pinned: true, detail: "libx 1 (3 files)" } });
    j.appendAsWritten({ type: "container.done", container: "a", data: { outcome: "rolled-back", reason: "rollout aborted by ann: error rate up on a; delta restored, healthy again" } });
    j.appendAsWritten({ type: "rollout.aborted", data: { who: "ann", why: "error rate up on a", batch: 2, rolledBack: ["a"], untouched: ["b"] } });
    const r = buildReport({ host: "h", rollout: "20261123T080000Z-abcdef01", read: { entries: j.entries(), problems: [] }, changelogCves: [] });
    expect(r.outcome).toBe("aborted");
    expect(r.controls.map((c) => [c.who, c.action, c.why])).toEqual([["ann", "pause", "checking the canary's logs"], ["ann", "abort", "error rate up on a"]]);
    expect(r.halt).toMatchObject({ kind: "aborted", rolledBack: ["a"], untouched: ["b"] });
    expect(r.trigger?.runBy).toBe("unattended-upgrades");
    expect(r.summary).toContain("The rollout was aborted by ann: error rate up on a; rolled back a in batch 2");
    expect(r.summary).toContain("1 container was left untouched (b)");
    expect(r.summary).toContain('ann asked to pause ("checking the canary\'s logs") and ann asked to abort ("error rate up on a")');
    expect(r.exposure.windows.map((w) => [w.container, w.status])).toEqual([["a", "open"], ["b", "open"], ["s", "open"]]);
    expect(r.exposure.stillExposed.find((s) => s.container === "s")?.runbook).toBe("runbooks/shadowed-containers.md");
    const html = renderRolloutReport(r, "html");
    expect(html).toContain(">paused</text>");
    expect(html).toContain(">aborted</text>");
    expect(renderRolloutReport(r, "md")).toContain("| ann | abort, rolling back completed batches | error rate up on a |");
  });

  it("text from the journal is shown, never run: HTML in a health check's body is escaped in HTML and Markdown", () => {
    const j = new RolloutJournal(mkdtempSync(join(scratch, "xss-")), "h", "r");
    j.appendAsWritten({ type: "step.begin", container: "a", data: { step: "health" } });
    j.appendAsWritten({ type: "step.end", container: "a", data: { step: "health", ok: true, healthy: false, reason: "returned <b>503</b>", last: [{ target: "http://x/<i>", ok: false, status: 503, bodyExcerpt: "<script>alert(1)</script>" }] } });
    const r = buildReport({ host: "h", rollout: "r", read: { entries: j.entries(), problems: [] } });
    const html = renderRolloutReport(r, "html");
    expect(html).not.toMatch(/<script|<b>503|<i>/);
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    const md = renderRolloutReport(r, "md");
    expect(md).toContain("\\<script>alert(1)\\</script>");
    expect(md).not.toMatch(/(^|[^\\])<script/);
  });
});
