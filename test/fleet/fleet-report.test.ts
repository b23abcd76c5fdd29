import { describe, expect, it } from "vitest";
import { buildFleetReport } from "../../src/fleet/fleet-report.js";
import type { Milestone } from "../../src/fleet/milestones.js";
import { renderFleetReport } from "../../src/fleet/render-fleet-report.js";
import type { VersionView } from "../../src/fleet/version-state.js";

const T0 = Date.parse("2026-12-03T02:00:00.000Z");
const MIN = 60_000;
const view: VersionView = {
  pkg: "libssl3", version: "3.0.22", plan: { waves: [["web-07"], ["web-01", "web-02"]], at: T0 },
  hosts: { "web-07": { state: "failed", rollout: "r7", at: T0 + 6 * MIN }, "web-01": { state: "waiting", rollout: "r1", at: T0 + 2 * MIN }, "web-02": { state: "absent", rollout: "none", at: T0 + 3 * MIN } },
  verdict: { state: "failed", host: "web-07", rollout: "r7", container: "shop-3", reason: "rolled-back: did not start", at: T0 + 6 * MIN },
  hold: null, release: null,
};
const m = (host: string, milestone: string, min: number): Milestone => ({ version: "libssl3=3.0.22", host, rollout: `r-${host}`, milestone, at: T0 + min * MIN });
const milestones = [m("web-07", "waiting", 1), m("web-07", "running", 2), m("web-07", "failed", 6), m("web-01", "waiting", 2), m("web-02", "absent", 3)];

describe("the fleet report of one version", () => {
  it("tells each wave's hosts with their times, outcome and exposure, the failure that held it, and the human actions", () => {
    const r = buildFleetReport(view, T0, milestones, [{ at: "2026-12-03T02:10:00.000Z", action: "hold", who: "alice", why: "to be sure", host: "web-01" }], T0 - MIN, T0 + 10 * MIN);
    expect(buildFleetReport(view, T0, milestones, [], null, T0).trimmed).toBe(false);
    expect(r.trimmed).toBe(false);
    expect(r.status).toBe("failed");
    expect(r.waves).toEqual([
      [{ host: "web-07", wave: 1, state: "failed", rollout: "r7", reportedAt: "2026-12-03T02:01:00.000Z", startedAt: "2026-12-03T02:02:00.000Z", endedAt: "2026-12-03T02:06:00.000Z", exposureSec: 300 }],
      [
        { host: "web-01", wave: 2, state: "waiting", rollout: "r1", reportedAt: "2026-12-03T02:02:00.000Z", exposureSec: 480 },
        { host: "web-02", wave: 2, state: "absent", rollout: "none", endedAt: "2026-12-03T02:03:00.000Z" },
      ],
    ]);
    const md = renderFleetReport(r, "md");
    expect(md).toContain("# libssl3 3.0.22 across the fleet");
    expect(md).toContain("**Held by a failed rollout:** web-07, rollout `r7`, container `shop-3`");
    expect(md).toContain("- **web-01**: waiting (rollout `r1`); reported 2026-12-03T02:02:00.000Z; ran the old version 8m 00s after it reported this one (and still does)");
    expect(md).toContain("- 2026-12-03T02:10:00.000Z: **hold** by alice (on web-01): to be sure");
    expect(renderFleetReport(r, "html")).toMatch(/^<!doctype html>[\s\S]*<h1[^>]*>libssl3 3.0.22 across the fleet<\/h1>/);
  });

  it("says when the fleet stream was trimmed past the version's first sighting", () => {
    const r = buildFleetReport(view, T0, milestones.slice(2), [], T0 + 2 * MIN, T0 + 10 * MIN);
    expect(r.trimmed).toBe(true);
    expect(renderFleetReport(r, "md")).toContain("**The fleet stream was trimmed** past this version's first sighting");
  });
});
