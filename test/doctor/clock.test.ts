import { describe, expect, it } from "vitest";
import { judgeClock } from "../../src/doctor/clock.js";

describe("judgeClock", () => {
  const now = Date.parse("2026-11-23T06:00:00Z");
  it("accepts a clock that agrees with Redis and the journals", () => {
    expect(judgeClock({ now, redisMs: now + 300, newestJournal: { ms: now - 1000, file: "j" }, ntpSynchronized: true })).toEqual([]);
  });
  it("flags skew against Redis, a journal from the future, and NTP off", () => {
    const f = judgeClock({ now, redisMs: now - 5000, newestJournal: { ms: now + 3600_000, file: "/j/r.jsonl" }, ntpSynchronized: false });
    expect(f.map((x) => x.problem)).toEqual([
      expect.stringMatching(/5\.0 s off Redis' clock/),
      expect.stringMatching(/\/j\/r\.jsonl has an entry from 2026-11-23T07:00:00.000Z, 3600 s in the future/),
      expect.stringMatching(/not synchronised/),
    ]);
  });
});
