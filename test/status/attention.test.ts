import { describe, expect, it } from "vitest";
import { attentionItems } from "../../src/status/attention.js";
import { countByVerdict } from "../../src/status/container-states.js";
import { exposureOf, oldestExposure } from "../../src/status/exposure.js";
import { formatDuration } from "../../src/status/format.js";
import { activeRollouts, openHalted, packagesOf } from "../../src/status/open-halted.js";
import { renderStatus } from "../../src/status/render-status.js";
import { runbookFile } from "../../src/status/runbooks.js";
import type { StatusReport } from "../../src/status/status-report.js";
import type { RolloutState } from "../../src/rollout/rollout-store.js";
import { existsSync } from "node:fs";

const rollout = (id: string, status: RolloutState["status"], createdAt: string, packages: string[], extra: Partial<RolloutState> = {}): RolloutState => ({ id, eventId: `e-${id}`, createdAt, updatedAt: createdAt, status, packages, ...extra });

function healthy(): Omit<StatusReport, "attention"> {
  return {
    v: 1,
    host: "web7",
    at: "2026-11-23T06:00:00.000Z",
    daemon: { up: true, workers: 3, http: { url: "http://127.0.0.1:9470", up: true } },
    redis: { where: "unix:/x (embedded)", reachable: true, problems: [], health: { persistence: { aof: true, appendfsync: "everysec", rdb: false }, maxmemoryPolicy: "noeviction", usedMemory: 1_000_000, version: "7.0.15" }, maxMemory: 0 },
    queues: [{ queue: "rollouts", paused: false, counts: { waiting: 0, active: 0, delayed: 0, prioritized: 0, "waiting-children": 0, failed: 0, completed: 4 }, stalled: 0, workers: 1 }],
    active: [],
    halted: [],
    pins: [],
    containers: { total: 3, managed: 3, byVerdict: countByVerdict([]), stale: [], shadowed: [], ownDpkg: [], packages: [] },
    spool: { dir: "/var/spool/patchroll", records: 0, corrupt: 0 },
    exposure: null,
  };
}

describe("attentionItems", () => {
  it("says nothing for a healthy host, and the screen says so", () => {
    const r = healthy();
    expect(attentionItems(r)).toEqual([]);
    expect(renderStatus({ ...r, attention: [] })).toMatch(/nothing needs a human/);
  });

  it("puts a halted rollout and a down daemon first, each with its command and an existing runbook page", () => {
    const r = healthy();
    r.daemon = { up: false, workers: 0, http: { url: "http://127.0.0.1:9470", up: false } };
    r.halted = [rollout("r1", "halted", "2026-11-23T05:00:00Z", ["libssl3"], { haltReason: "canary web-1 rolled-back: health check returned 500" })];
    r.pins = [{ v: 1, container: "web-1", rollout: "r1", createdAt: "2026-11-23T05:01:00Z", packages: [{ name: "libssl3", version: "3.0.19", arch: "amd64" }], paths: ["/usr/lib/x"] }];
    r.spool = { dir: "/s", records: 4, corrupt: 0, oldestAgeSec: 600, oldestAt: "2026-11-23T05:50:00Z" };
    const items = attentionItems(r);
    expect(items.map((i) => [i.severity, i.runbook])).toEqual([
      ["critical", "daemon-down"],
      ["critical", "rollout-halted"],
      ["warning", "container-pinned"],
      ["warning", "spool-backlog"],
    ]);
    expect(items[1]!.next).toBe("patchroll rollouts show r1");
    expect(items[1]!.what).toMatch(/health check returned 500/);
    for (const i of items) expect(existsSync(i.runbookFile)).toBe(true);
  });

  it("reports stale containers only when no rollout is on its way, and shadowed ones always", () => {
    const r = healthy();
    r.containers = { ...r.containers, stale: ["a", "b"], shadowed: ["c"], packages: ["libssl3"] };
    expect(attentionItems(r).map((i) => i.runbook)).toEqual(["stale-containers", "shadowed-containers"]);
    r.active = [rollout("r2", "running", "2026-11-23T05:59:00Z", ["libssl3"])];
    expect(attentionItems(r).map((i) => i.runbook)).toEqual(["shadowed-containers"]);
    expect(attentionItems(r)[0]!.next).toBe("patchroll scan --packages libssl3");
  });

  it("asks for an approval or a resume, but not for a maintenance window", () => {
    const r = healthy();
    r.active = [
      rollout("a", "waiting", "2026-11-23T05:00:00Z", ["x"], { waitReason: "batch 2 needs approval after batch 1: patchroll rollouts approve a --why \"...\"" }),
      rollout("b", "paused", "2026-11-23T05:00:00Z", ["x"], { waitReason: "paused by alice: slow canary" }),
      rollout("c", "waiting", "2026-11-23T05:00:00Z", ["x"], { waitReason: "outside the maintenance windows (0 2 * * *)" }),
    ];
    expect(attentionItems(r).map((i) => i.next)).toEqual(['patchroll rollouts approve a --why "..."', 'patchroll rollouts resume b --why "..."']);
  });

  it("tells Redis unreachable apart from a daemon that is down, and flags stalled jobs and memory", () => {
    const r = healthy();
    r.redis = { where: "redis://h:6379/0", reachable: false, error: "connect ECONNREFUSED", problems: [] };
    r.daemon = { up: false, workers: null, http: null };
    r.queues = null;
    expect(attentionItems(r).map((i) => i.runbook)).toEqual(["redis-down"]);
    const s = healthy();
    s.queues![0]!.stalled = 2;
    s.redis.maxMemory = 1_100_000;
    expect(attentionItems(s).map((i) => [i.runbook, i.what])).toEqual([
      ["redis-down", expect.stringMatching(/91% of its maxmemory/)],
      ["queue-stuck", expect.stringMatching(/2 stalled job\(s\) in rollouts/)],
    ]);
  });
});

describe("rollout selection", () => {
  it("keeps a halted rollout open until a later rollout of the same packages completes", () => {
    const halted = rollout("h", "halted", "2026-11-23T01:00:00Z", ["libssl3", "openssl"]);
    const other = rollout("o", "completed", "2026-11-23T02:00:00Z", ["libssl3"]);
    expect(openHalted([other, halted]).map((r) => r.id)).toEqual(["h"]);
    const fix = rollout("f", "completed", "2026-11-23T03:00:00Z", ["openssl", "libssl3", "libc6"]);
    expect(openHalted([fix, other, halted])).toEqual([]);
    const earlier = rollout("e", "completed", "2026-11-23T00:00:00Z", ["libssl3", "openssl"]);
    expect(openHalted([halted, earlier]).map((r) => r.id)).toEqual(["h"]);
  });

  it("counts planned, running, paused and waiting as active; lists packages once", () => {
    const list = (["planned", "running", "paused", "waiting", "completed", "halted", "aborted"] as const).map((s, i) => rollout(s, s, `2026-11-23T0${i}:00:00Z`, [i % 2 ? "a" : "b"]));
    expect(activeRollouts(list).map((r) => r.status)).toEqual(["planned", "running", "paused", "waiting"]);
    expect(packagesOf(list)).toEqual(["a", "b"]);
  });
});

describe("exposure", () => {
  const now = new Date("2026-11-23T06:00:00Z");
  const ctimes: Record<string, number> = { "/usr/lib/a.so": Date.parse("2026-11-23T03:00:00Z"), "/usr/lib/b.so": Date.parse("2026-11-23T05:00:00Z") };
  const stale = (path: string, hostInode: number | null) => ({ pid: 1, comm: "svc", path, mappedInode: 5, hostInode });

  it("dates a container's exposure from the oldest patched file it still runs the old copy of", () => {
    const e = exposureOf("web-1", [stale("/usr/lib/b.so", 9), stale("/usr/lib/a.so", 8), stale("/usr/lib/gone.so", null)], (p) => ctimes[p], now);
    expect(e).toEqual({ container: "web-1", since: "2026-11-23T03:00:00.000Z", ageSec: 3 * 3600, path: "/usr/lib/a.so" });
    expect(formatDuration(e!.ageSec)).toBe("3h 00m");
    expect(exposureOf("web-2", [stale("/usr/lib/gone.so", null)], (p) => ctimes[p], now)).toBeUndefined();
    const f = exposureOf("web-3", [stale("/usr/lib/b.so", 9)], (p) => ctimes[p], now);
    expect(oldestExposure([f, undefined, e])?.container).toBe("web-1");
  });

  it("points every runbook at a file that ships", () => {
    expect(existsSync(runbookFile("read-a-report"))).toBe(true);
  });
});
