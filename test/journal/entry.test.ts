import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ENTRY_DATA, entriesOf, knownEntry } from "../../src/journal/entry.js";
import { readJournal, RolloutJournal } from "../../src/journal/journal.js";
import { verifyJournal } from "../../src/journal/verify.js";

const FIXTURES = new URL("../fixtures/journals/demo/", import.meta.url).pathname;

/** The journal's entries as a discriminated union keyed by `type`: typed writes, and old journals still read. */
describe("journal entry types", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync("/var/tmp/patchroll-test-entry-");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("reads every entry of the journals an earlier version wrote as a known, typed entry", () => {
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith(".jsonl"));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const read = readJournal(join(FIXTURES, f));
      expect(read.problems).toEqual([]);
      for (const e of read.entries) expect(knownEntry(e), `${f} seq ${e.seq} ${e.type}`).toMatchObject({ type: e.type, seq: e.seq });
    }
  });

  it("writes typed entries in the same line format: envelope, type, container, data as given", () => {
    const j = new RolloutJournal(dir, "h1", "r1", () => new Date("2026-12-03T10:00:00.000Z"));
    j.append("batch.started", { batch: 1, of: 2, containers: ["c1"] });
    j.append("step.end", { step: "health", ok: false, ms: 12, healthy: false, reason: "returned 503" }, "c1");
    expect(readFileSync(j.file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as unknown)).toEqual([
      { v: 1, seq: 1, ts: "2026-12-03T10:00:00.000Z", host: "h1", rollout: "r1", type: "batch.started", data: { batch: 1, of: 2, containers: ["c1"] } },
      { v: 1, seq: 2, ts: "2026-12-03T10:00:00.000Z", host: "h1", rollout: "r1", type: "step.end", container: "c1", data: { step: "health", ok: false, ms: 12, healthy: false, reason: "returned 503" } },
    ]);
    const [end] = entriesOf(j.entries(), "step.end");
    expect(end?.container).toBe("c1");
    expect(end?.data.healthy).toBe(false);
  });

  it("keeps reading and verifying what it does not know: a newer type, an older control, odd data", () => {
    const j = new RolloutJournal(dir, "h1", "r2");
    j.appendAsWritten({ type: "rollout.planned", data: { plan: "not a plan" } });
    j.appendAsWritten({ type: "fleet.lease-taken", data: { by: "host-b" } });
    j.appendAsWritten({ type: "control.pause", data: { who: "ann", why: "looking" } });
    const read = readJournal(j.file);
    expect(verifyJournal(read, { host: "h1", rollout: "r2" })).toMatchObject({ problems: [], sequenceGaps: [] });
    expect(read.entries.map((e) => knownEntry(e)?.type)).toEqual([undefined, undefined, "control.pause"]);
    expect("fleet.lease-taken" in ENTRY_DATA).toBe(false);
    expect(entriesOf(read.entries, "control.pause").map((e) => e.data.who)).toEqual(["ann"]);
  });

  it("needs a container on the entries about one", () => {
    const j = new RolloutJournal(dir, "h1", "r3");
    j.appendAsWritten({ type: "container.done", data: { outcome: "patched", reason: "ok" } });
    j.appendAsWritten({ type: "container.done", container: "c1", data: { outcome: "exploded", reason: "?" } });
    expect(j.entries().map(knownEntry)).toEqual([undefined, undefined]);
  });
});
