import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listJournals, readJournal, RolloutJournal } from "../../src/journal/journal.js";
import { pruneJournals } from "../../src/journal/prune.js";
import { type JournalAge, planRetention } from "../../src/journal/retention.js";

const NOW = new Date("2027-06-01T00:00:00.000Z");
const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86_400_000);
const policy = { compressAfterDays: 14, retainDays: 400, keepMin: 2 };

describe("planRetention", () => {
  const j = (rollout: string, age: number, finished = true, compressed = false): JournalAge => ({ rollout, lastAt: daysAgo(age), finished, compressed });

  it("compresses finished journals past compressAfterDays and deletes those past retainDays", () => {
    const plan = planRetention([j("a", 500), j("b", 450, true, true), j("c", 30), j("d", 20, true, true), j("e", 3), j("f", 1)], policy, NOW);
    expect(plan).toEqual({ compress: ["c"], remove: ["a", "b"], unfinishedPastRetention: [] });
  });

  it("never deletes the newest keepMin journals, however old, nor an unfinished rollout", () => {
    const plan = planRetention([j("a", 900), j("b", 800, false), j("c", 700), j("d", 600)], policy, NOW);
    expect(plan.remove).toEqual(["a"]);
    expect(plan.compress).toEqual(["c", "d"]);
    expect(plan.unfinishedPastRetention).toEqual(["b"]);
  });

  it("leaves unfinished rollouts uncompressed, whatever their age", () => {
    expect(planRetention([j("a", 100, false), j("b", 1), j("c", 1)], policy, NOW).compress).toEqual([]);
  });
});

describe("pruneJournals on a real journal directory", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync("/var/tmp/patchroll-test-prune-");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function journal(id: string, age: number, end: string | undefined): string {
    const j = new RolloutJournal(dir, "h1", id, () => daysAgo(age));
    j.appendAsWritten({ type: "rollout.planned", data: {} });
    if (end !== undefined) j.appendAsWritten({ type: end, data: {} });
    return j.file;
  }

  it("compresses, deletes and keeps as the policy says; a dry run changes nothing; a second run has nothing to do", () => {
    const old = journal("20250101T000000Z-aaaaaaaa", 500, "rollout.completed");
    const stuck = journal("20250201T000000Z-bbbbbbbb", 480, undefined);
    const month = journal("20270501T000000Z-cccccccc", 31, "rollout.halted");
    journal("20270530T000000Z-dddddddd", 2, "rollout.completed");
    journal("20270531T000000Z-eeeeeeee", 1, "rollout.aborted");

    const dry = pruneJournals(dir, "h1", policy, { now: NOW, dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, compress: ["20270501T000000Z-cccccccc"], remove: ["20250101T000000Z-aaaaaaaa"], unfinishedPastRetention: ["20250201T000000Z-bbbbbbbb"] });
    expect(existsSync(old) && existsSync(month)).toBe(true);

    const before = readJournal(month);
    const done = pruneJournals(dir, "h1", policy, { now: NOW });
    expect(done).toMatchObject({ compress: ["20270501T000000Z-cccccccc"], remove: ["20250101T000000Z-aaaaaaaa"], deferred: [] });
    expect(existsSync(old)).toBe(false);
    expect(existsSync(stuck)).toBe(true);
    expect(existsSync(month)).toBe(false);
    expect(readJournal(month)).toEqual(before);
    expect(listJournals(dir, "h1")).toHaveLength(4);

    expect(pruneJournals(dir, "h1", policy, { now: NOW })).toMatchObject({ compress: [], remove: [] });
    // Past retention even once compressed.
    expect(pruneJournals(dir, "h1", policy, { now: daysAgo(-400) }).remove).toContain("20270501T000000Z-cccccccc");
    expect(existsSync(join(dir, "h1", "20270501T000000Z-cccccccc.jsonl.gz"))).toBe(false);
  });
});
