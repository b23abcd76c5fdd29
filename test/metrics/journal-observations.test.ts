import { describe, expect, it } from "vitest";
import { type JournalCursor, observeEntries } from "../../src/metrics/journal-observations.js";
import { haltedJournal } from "./journal-fixture.js";

describe("observeEntries", () => {
  it("takes the deciding health results and the rollout's duration, across reads of a growing journal", () => {
    const entries = haltedJournal();
    const cursor: JournalCursor = {};
    const first = observeEntries(entries.slice(0, 12), cursor);
    expect(first.health).toEqual([{ seconds: 0.0011, outcome: "fail" }]);
    expect(first.durations).toEqual([]);
    const rest = observeEntries(entries.slice(12), cursor);
    expect(rest.health).toEqual([{ seconds: 0.0032, outcome: "ok" }]);
    expect(rest.durations).toEqual([{ seconds: 1.33, status: "halted" }]);
  });
});
