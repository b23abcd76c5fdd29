import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { fleetEnabled } from "../../src/fleet/fleet-mode.js";
import { type HostRecord, hostStatus } from "../../src/fleet/host-record.js";
import { renderHosts } from "../../src/fleet/render-hosts.js";
import { main } from "../../src/cli/main.js";

const record = (over: Partial<HostRecord> = {}): HostRecord => ({
  v: 1, host: "web-07", version: "0.1.0", startedAt: "2026-12-03T09:00:00.000Z", state: "up",
  containers: { managed: 40, stale: 3, shadowed: 1, pinned: 0 }, rollout: null, exposure: null, lastAptEvent: null, ...over,
});

describe("host status", () => {
  it.each([
    ["heard from recently", record(), 10_000, "up"],
    ["silent longer than lostAfterMs", record(), 70_000, "lost"],
    ["stopped cleanly, however long ago", record({ state: "stopped" }), 7 * 86_400_000, "stopped"],
    ["unreadable and silent", null, 70_000, "lost"],
  ] as const)("%s", (_what, r, silentMs, want) => {
    expect(hostStatus(r, 1_000_000, 1_000_000 + silentMs, 60_000)).toBe(want);
  });
});

describe("fleet mode", () => {
  const cfg = (flags: Record<string, unknown>) => loadConfig({ env: {}, flags }).config;
  it("is off by default, even on a shared Redis: single-host use stays as it was", () => {
    expect(fleetEnabled(cfg({ redis: { url: "redis://r:6379" } }))).toBe(false);
  });
  it("refuses the embedded Redis, naming the keys to set", () => {
    expect(() => fleetEnabled(cfg({ fleet: { enabled: true } }))).toThrow(/fleet.enabled is true but no shared Redis.*redis.url, redis.sentinel or redis.cluster/);
  });
  it("patchroll config check says so, exit 3", async () => {
    const err: string[] = [];
    const code = await main(["--config", "/dev/null", "--set", "fleet.enabled=true", "config", "check"], { out: () => {}, err: (t) => void err.push(t) }, {});
    expect(code).toBe(3);
    expect(err.join("")).toContain("fleet.enabled is true but no shared Redis is configured");
  });
  it("refuses a lostAfterMs not longer than heartbeatMs", () => {
    expect(() => fleetEnabled(cfg({ redis: { url: "redis://r:6379" }, fleet: { enabled: true, heartbeatMs: 5000, lostAfterMs: 5000 } }))).toThrow(/fleet.lostAfterMs \(5000\) must exceed fleet.heartbeatMs \(5000\)/);
  });
});

describe("fleet hosts, as text", () => {
  it("shows a lost host with its last word", () => {
    const text = renderHosts({
      v: 1, at: "2026-12-03T09:42:00.000Z",
      hosts: [
        { host: "web-01", status: "up", lastSeen: "2026-12-03T09:41:59.000Z", silentSec: 1, record: record({ host: "web-01" }) },
        { host: "web-07", status: "lost", lastSeen: "2026-12-03T09:30:00.000Z", silentSec: 720, record: record({ rollout: { id: "r1", status: "running", batch: 2, batches: 3, packages: ["libssl3"] } }) },
      ],
    });
    expect(text).toContain("web-01  up");
    expect(text).toMatch(/web-07  LOST 12m 00s ago .* 40\/3\/1\/0 .* last word: r1 running batch 2\/3 \(libssl3\)/);
  });
});
