import { describe, expect, it } from "vitest";
import type { JournalEntry } from "../../src/journal/entry.js";
import { buildReport } from "../../src/report/build-report.js";
import { buildDigest, median } from "../../src/report/digest.js";
import { renderDigest } from "../../src/report/render.js";

/** A rollout journal written the way the engine writes it, with times 100 ms apart from `start`. */
function rollout(id: string, start: string, o: { to: string; patched: string[]; rolledBack?: string[]; shadowed?: string[]; ownDpkg?: string[]; halted?: boolean }): JournalEntry[] {
  const t0 = Date.parse(start);
  const out: JournalEntry[] = [];
  const add = (type: string, data: Record<string, unknown>, container?: string) =>
    out.push({ v: 1, seq: out.length + 1, ts: new Date(t0 + out.length * 100).toISOString(), host: "h", rollout: id, type, data, ...(container !== undefined ? { container } : {}) });
  const affected = [...o.patched, ...(o.rolledBack ?? [])];
  const excluded = [...(o.shadowed ?? []).map((name) => ({ name, reason: "shadowed: its delta holds its own copy" })), ...(o.ownDpkg ?? []).map((name) => ({ name, reason: "own-dpkg: it has its own dpkg database" }))];
  const event = { v: 1, id: `apt-${id}`, host: "h", time: new Date(t0 - 2000).toISOString(), endedAt: new Date(t0 - 1000).toISOString(), packages: [{ name: "libx", arch: "amd64", from: "1.0", to: o.to, action: "upgrade" }], origin: "security", sources: ["hook"] };
  add("rollout.planned", { event, plan: { select: "stale", affected: affected.map((name) => ({ name, group: "g", canary: false, reason: "stale" })), excluded, batches: [affected] }, scans: [] });
  for (const c of o.patched) {
    add("step.end", { step: "verify", ok: true, verified: true, detail: "ok" }, c);
    add("container.done", { outcome: "patched", reason: "ok" }, c);
  }
  for (const c of o.rolledBack ?? []) add("container.done", { outcome: "rolled-back", reason: "health check failed" }, c);
  add(o.halted === true ? "rollout.halted" : "rollout.completed", o.halted === true ? { reason: "halted", batch: 1, untouched: [] } : { containers: affected.length, failures: 0 });
  return out;
}

const report = (id: string, entries: JournalEntry[]) => buildReport({ host: "h", rollout: id, read: { entries, problems: [] }, changelogCves: [] });

describe("digest", () => {
  it("median of an odd and an even count, and of nothing", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNull();
  });

  it("counts rollouts and outcomes, takes the median install -> all verified, lists who is still exposed and repeat offenders", () => {
    const a = report("20261101T000000Z-aaaaaaaa", rollout("20261101T000000Z-aaaaaaaa", "2026-11-01T00:00:00.000Z", { to: "1.1", patched: ["c1", "c2"], shadowed: ["s1"] }));
    const b = report("20261102T000000Z-bbbbbbbb", rollout("20261102T000000Z-bbbbbbbb", "2026-11-02T00:00:00.000Z", { to: "1.2", patched: ["c1"], rolledBack: ["c2"], shadowed: ["s1"], ownDpkg: ["d1"], halted: true }));
    const c = report("20261103T000000Z-cccccccc", rollout("20261103T000000Z-cccccccc", "2026-11-03T00:00:00.000Z", { to: "1.3", patched: ["c1", "c2", "c3"], shadowed: ["s1"] }));
    const d = buildDigest("h", "2026-10-31T00:00:00.000Z", "2026-11-07T00:00:00.000Z", [c, a, b]);
    expect(d.rollouts.count).toBe(3);
    expect(d.rollouts.outcomes).toEqual({ completed: 2, "completed-with-failures": 0, halted: 1, aborted: 0, unfinished: 0 });
    expect(d.rollouts.list.map((r) => r.rollout)).toEqual(["20261101T000000Z-aaaaaaaa", "20261102T000000Z-bbbbbbbb", "20261103T000000Z-cccccccc"]);
    // a: install at t0-1 s, last verify at t0+300 ms -> 1.3 s; c: last verify at t0+500 ms -> 1.5 s; b never had all verified.
    expect(d.rollouts.list.map((r) => r.installToAllVerifiedMs)).toEqual([1300, null, 1500]);
    expect(d.medianInstallToAllVerifiedMs).toBe(1400);
    expect(d.containerOutcomes).toEqual({ patched: 6, "rolled-back": 1 });
    expect(d.repeatOffenders).toEqual([{ container: "s1", shadowed: 3, ownDpkg: 0, rollouts: ["20261101T000000Z-aaaaaaaa", "20261102T000000Z-bbbbbbbb", "20261103T000000Z-cccccccc"] }]);
    expect(d.offenders.map((o) => o.container)).toEqual(["s1", "d1"]);
    expect(d.stillExposed.map((s) => [s.container, s.rollout])).toEqual([
      ["s1", "20261101T000000Z-aaaaaaaa"],
      ["c2", "20261102T000000Z-bbbbbbbb"],
      ["s1", "20261102T000000Z-bbbbbbbb"],
      ["d1", "20261102T000000Z-bbbbbbbb"],
      ["s1", "20261103T000000Z-cccccccc"],
    ]);
    const md = renderDigest(d, "md");
    expect(md).toContain("3 rollout(s) started on h between 2026-10-31 00:00:00 UTC and 2026-11-07 00:00:00 UTC: 2 completed, 1 halted.");
    expect(md).toContain("Median time from package install to every container verified: 1.4 s.");
    expect(md).toContain("Repeat offenders (shadowed or own dpkg in several rollouts): s1.");
    expect(renderDigest(d, "html")).toMatch(/^<!doctype html>[\s\S]*<section id="offenders">[\s\S]*<td class="short">s1<\/td>/);
    expect(JSON.parse(renderDigest(d, "json"))).toMatchObject({ digest: { kind: "digest", rollouts: { count: 3 } } });
  });

  it("an empty period says so", () => {
    const d = buildDigest("h", "2026-10-31T00:00:00.000Z", "2026-11-07T00:00:00.000Z", []);
    expect(d.medianInstallToAllVerifiedMs).toBeNull();
    expect(renderDigest(d, "md")).toContain("No rollout started on h between");
  });
});
