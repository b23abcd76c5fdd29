import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listJournals, readJournal, RolloutJournal } from "../../src/journal/journal.js";
import { compressJournal } from "../../src/journal/journal-file.js";
import { verifyJournal } from "../../src/journal/verify.js";

/** The journal on a real filesystem: torn lines, sealing, verification, compression. */
describe("rollout journal", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync("/var/tmp/patchroll-test-journal-");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (j: RolloutJournal, n: number) => {
    for (let i = 0; i < n; i++) j.appendAsWritten({ type: "step.begin", container: "c1", data: { step: `s${i}` } });
  };

  it("tolerates a torn last line, reports it, and a writer carrying on starts a new line after it", () => {
    const j = new RolloutJournal(dir, "h1", "r1");
    write(j, 3);
    // A crash in the middle of the fourth write leaves part of a line without its newline.
    appendFileSync(j.file, '{"v":1,"seq":4,"ts":"2026-11-23T06:4');
    const torn = readJournal(j.file);
    expect(torn.entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(torn.problems).toEqual([{ line: 4, reason: "torn last line (write interrupted)" }]);
    expect(verifyJournal(torn, { host: "h1", rollout: "r1" }).problems).toHaveLength(1);

    const again = new RolloutJournal(dir, "h1", "r1");
    const e = again.appendAsWritten({ type: "rollout.resumed", data: { finished: [], inFlight: ["c1"] } });
    expect(e.seq).toBe(4);
    const after = readJournal(j.file);
    expect(after.entries.map((x) => x.type)).toEqual(["step.begin", "step.begin", "step.begin", "rollout.resumed"]);
    expect(after.problems).toEqual([{ line: 4, reason: expect.stringMatching(/^not JSON \(a write torn by a crash/) }]);
  });

  it("reads a journal cut at any byte: every whole line, and at most one problem", () => {
    const j = new RolloutJournal(dir, "h1", "r2");
    write(j, 4);
    const full = readFileSync(j.file);
    for (let cut = 1; cut < full.length; cut += 7) {
      writeFileSync(j.file, full.subarray(0, cut));
      const r = readJournal(j.file);
      const whole = full.subarray(0, cut).toString().split("\n").length - 1;
      expect(r.entries).toHaveLength(whole);
      expect(r.problems.length).toBeLessThanOrEqual(1);
    }
  });

  it("numbers on after a damaged middle line instead of repeating a number", () => {
    const j = new RolloutJournal(dir, "h1", "r3");
    write(j, 3);
    const lines = readFileSync(j.file, "utf8").split("\n");
    lines[1] = "#### disk damage ####";
    writeFileSync(j.file, lines.join("\n"));
    expect(new RolloutJournal(dir, "h1", "r3").appendAsWritten({ type: "batch.started", data: {} }).seq).toBe(4);
    const check = verifyJournal(readJournal(j.file), { host: "h1", rollout: "r3" });
    expect(check.sequenceGaps).toEqual([3]);
    expect(check.problems.map((p) => p.line)).toEqual([2]);
  });

  it("verify finds repeated numbers, foreign lines, a missing plan, clock jumps and steps with no end", () => {
    const j = new RolloutJournal(dir, "h1", "r4", () => new Date("2026-11-23T06:00:10.000Z"));
    j.appendAsWritten({ type: "batch.started", data: { batch: 1 } });
    j.appendAsWritten({ type: "step.begin", container: "c1", data: { step: "stop" } });
    appendFileSync(j.file, `${JSON.stringify({ v: 1, seq: 2, ts: "2026-11-23T06:00:00.000Z", host: "other", rollout: "r4", type: "batch.finished", data: {} })}\n`);
    const check = verifyJournal(readJournal(j.file), { host: "h1", rollout: "r4" });
    expect(check.problems.map((p) => p.reason)).toEqual([expect.stringContaining("seq 2 repeats"), expect.stringContaining("belongs to host other")]);
    expect(check.sequenceGaps).toEqual([2]);
    expect(check.warnings).toEqual([
      expect.stringContaining("clock went back 10.0 s"),
      expect.stringContaining("not rollout.planned"),
      expect.stringContaining("step stop of c1 began and has no end"),
    ]);
    expect(check.finished).toBeNull();
  });

  it("a retry reopens a halted rollout; lines after a real end are flagged", () => {
    const j = new RolloutJournal(dir, "h1", "r5");
    j.appendAsWritten({ type: "rollout.planned", data: {} });
    j.appendAsWritten({ type: "rollout.halted", data: {} });
    j.appendAsWritten({ type: "control.retry", data: { who: "ann", why: "flaky check fixed" } });
    j.appendAsWritten({ type: "batch.started", data: { batch: 2 } });
    expect(verifyJournal(readJournal(j.file), { host: "h1", rollout: "r5" })).toMatchObject({ finished: null, warnings: [] });
    j.appendAsWritten({ type: "rollout.completed", data: {} });
    j.appendAsWritten({ type: "batch.started", data: { batch: 3 } });
    expect(verifyJournal(readJournal(j.file), { host: "h1", rollout: "r5" })).toMatchObject({ finished: "completed", warnings: [expect.stringContaining("batch.started after the rollout ended")] });
  });

  it("reads a compressed journal as the plain one, lists it once, and a writer inflates it to carry on", () => {
    const j = new RolloutJournal(dir, "h1", "r6");
    write(j, 3);
    const before = readJournal(j.file);
    expect(compressJournal(j.file)).toBe(true);
    expect(existsSync(j.file)).toBe(false);
    expect(statSync(`${j.file}.gz`).size).toBeGreaterThan(0);
    expect(readJournal(j.file)).toEqual(before);
    expect(listJournals(dir, "h1")).toEqual(["r6"]);
    expect(new RolloutJournal(dir, "h1", "r6").appendAsWritten({ type: "control.retry", data: {} }).seq).toBe(4);
    expect(existsSync(`${j.file}.gz`)).toBe(false);
    expect(readJournal(j.file).entries).toHaveLength(4);
  });

  it("an empty or missing journal has no entries and no problems", () => {
    expect(readJournal(join(dir, "h1", "none.jsonl"))).toMatchObject({ entries: [], problems: [] });
    const j = new RolloutJournal(dir, "h1", "r7");
    writeFileSync(j.file, "");
    truncateSync(j.file, 0);
    expect(new RolloutJournal(dir, "h1", "r7").appendAsWritten({ type: "rollout.planned", data: {} }).seq).toBe(1);
  });
});
