import { describe, expect, it } from "vitest";
import { fleetAttention } from "../../src/fleet/fleet-attention.js";
import type { HostView } from "../../src/fleet/host-record.js";
import { renderFleetStatus } from "../../src/fleet/render-fleet-status.js";
import type { VersionReport } from "../../src/fleet/verdicts.js";

const NOW = new Date("2026-12-03T09:42:00.000Z");
const host = (name: string, status: HostView["status"]): HostView => ({ host: name, status, lastSeen: "2026-12-03T09:30:00.000Z", silentSec: 720, record: null });
const version = (over: Partial<VersionReport>): VersionReport => ({ package: "libssl3", version: "3.0.22", status: "in-flight", firstSeen: "2026-12-03T09:00:00.000Z", verdict: null, hold: null, release: null, waves: [[{ host: "web-07", state: "passed" }], [{ host: "web-01", state: "waiting" }, { host: "web-02", state: "absent" }]], ...over });

describe("what in the fleet needs a human", () => {
  it("a failed version first, then inconclusive and held ones, lost hosts and slots held by them, each with its runbook", () => {
    const items = fleetAttention(
      [host("web-01", "up"), host("web-09", "lost")],
      [
        version({ status: "held", version: "3.0.23", hold: { who: "bob", why: "FIPS", at: "t" } }),
        version({ status: "failed", verdict: { state: "failed", host: "web-07", rollout: "r1", container: "shop-3", reason: "rolled-back: did not start", at: "t" } }),
        version({ status: "inconclusive", version: "3.0.24", verdict: { state: "inconclusive", host: "web-01", rollout: "r2", reason: "unverified", at: "t" } }),
      ],
      [{ host: "web-09", token: 7, rollout: "r9", expiresAt: "2026-12-03T09:43:00.000Z" }, { host: "web-01", token: 8, rollout: "r8", expiresAt: "2026-12-03T09:43:00.000Z" }],
      NOW,
    );
    expect(items.map((i) => [i.severity, i.runbook])).toEqual([
      ["critical", "fleet-version-held"],
      ["warning", "fleet-version-held"],
      ["warning", "fleet-version-held"],
      ["warning", "fleet-host-lost"],
      ["warning", "fleet-lease-stuck"],
    ]);
    expect(items[0]!.what).toBe("libssl3=3.0.22 failed on web-07 (rollout r1, container shop-3: rolled-back: did not start); held on every host");
    expect(items[0]!.next).toBe('patchroll fleet verdicts; once understood: patchroll fleet release libssl3=3.0.22 --why "..."');
    expect(items[0]!.runbookFile).toMatch(/runbooks\/fleet-version-held\.md$/);
    expect(items[3]!.next).toBe('patchroll fleet hosts; decommissioned: patchroll fleet forget web-09 --why "..."');
  });

  it("one screen", () => {
    const text = renderFleetStatus({
      v: 1, at: NOW.toISOString(),
      hosts: { counts: { up: 2, stopped: 0, lost: 1 }, list: [host("web-01", "up"), host("web-07", "up"), host("web-09", "lost")] },
      versions: [version({})], slots: [], exposure: { host: "web-01", container: "shop-1", since: "2026-12-03T02:00:00.000Z", package: "libssl3" }, attention: [],
    });
    expect(text.split("\n")).toEqual([
      "patchroll fleet at 2026-12-03T09:42:00.000Z",
      "hosts     3 registered: 2 up, 0 stopped, 1 lost (web-09)",
      "versions  libssl3=3.0.22 IN-FLIGHT, waves done 1:1/1 2:1/2",
      "slots     none held",
      "exposure  web-01/shop-1 runs outdated code since 2026-12-03T02:00:00.000Z (libssl3)",
      "",
      "nothing in the fleet needs a human",
    ]);
  });
});
