import { describe, expect, it } from "vitest";
import { decideAll, decideVersion, type FleetDecision, judgeRollout } from "../../src/fleet/decide.js";
import type { HostVersion, VersionView } from "../../src/fleet/version-state.js";
import { orderHosts, planWaves, waveOf } from "../../src/fleet/waves.js";
import { willNeverHave } from "../../src/fleet/absent-versions.js";

const T0 = Date.parse("2026-12-03T09:00:00.000Z");
const MIN = 60_000;

const view = (over: Partial<VersionView> = {}): VersionView => ({
  pkg: "libssl3", version: "3.0.22", plan: { waves: [["web-07"], ["web-01", "web-02"], ["web-03", "web-04", "web-05"]], at: T0 },
  hosts: {}, verdict: null, hold: null, release: null, ...over,
});
const at = (state: HostVersion["state"], min: number): HostVersion => ({ state, rollout: `r-${state}`, at: T0 + min * MIN });
const ALL = new Set(["web-01", "web-02", "web-03", "web-04", "web-05", "web-07"]);
const decide = (v: VersionView, host: string, nowMin: number, alive: ReadonlySet<string> = ALL, bakeMin = 10): FleetDecision =>
  decideVersion({ view: v, host, nowMs: T0 + nowMin * MIN, alive, bakeMs: bakeMin * MIN });

describe("waves across hosts", () => {
  it.each([
    [[1, "100%"], 5, [1, 4]],
    [[1, "10%", "100%"], 30, [1, 3, 26]],
    [[1, 1], 3, [1, 1, 1]],
    [[2], 5, [2, 2, 1]],
  ] as const)("%j over %i hosts: %j (Ansible serial)", (waves, n, sizes) => {
    const hosts = Array.from({ length: n }, (_, i) => `h${String(i).padStart(2, "0")}`);
    expect(planWaves(hosts, waves, []).map((w) => w.length)).toEqual(sizes);
  });
  it("puts the named canary hosts first, pattern by pattern, the rest by id", () => {
    expect(orderHosts(["db-1", "web-2", "web-1", "edge-9"], ["edge-*", "web-2"])).toEqual(["edge-9", "web-2", "db-1", "web-1"]);
    expect(orderHosts(["c", "a", "b"], [])).toEqual(["a", "b", "c"]);
  });
  it("a host that joined after the plan goes in the last wave", () => {
    expect(waveOf([["a"], ["b", "c"]], "z")).toBe(2);
    expect(waveOf([["a"], ["b", "c"]], "a")).toBe(1);
  });
});

describe("the fleet's word on one version", () => {
  it.each([
    ["the canary host goes at once", view(), "web-07", 0, { go: true }],
    ["wave 2 waits while the canary host has not rolled it out", view(), "web-01", 0, { go: false, kind: "wave", reason: "waiting for wave 2 of libssl3 3.0.22: canary host web-07 has not rolled it out yet" }],
    ["wave 2 waits while the canary host rolls it out", view({ hosts: { "web-07": at("running", 1) } }), "web-01", 2, { go: false, kind: "wave", reason: "waiting for wave 2 of libssl3 3.0.22: canary host web-07 is rolling it out" }],
    ["wave 2 waits while the canary host bakes", view({ hosts: { "web-07": at("passed", 32) } }), "web-02", 35, { go: false, kind: "wave", reason: "waiting for wave 2 of libssl3 3.0.22: canary host web-07 baking until 09:42:00 UTC" }],
    ["wave 2 goes once the bake is over", view({ hosts: { "web-07": at("passed", 32) } }), "web-02", 42, { go: true }],
    ["wave 3 waits for the last host of wave 2, and bakes after it", view({ hosts: { "web-07": at("passed", 1), "web-01": at("passed", 20), "web-02": at("passed", 25) } }), "web-05", 30, { go: false, kind: "wave", reason: "waiting for wave 3 of libssl3 3.0.22: wave 2 host web-02 baking until 09:35:00 UTC" }],
    ["a host of the same wave does not wait for its peers", view({ hosts: { "web-07": at("passed", 1), "web-01": at("running", 20) } }), "web-02", 20, { go: true }],
  ] as const)("%s", (_what, v, host, now, want) => {
    expect(decide(v, host, now)).toEqual(want);
  });

  it("a host that will never have the version (not installed there) blocks no wave", () => {
    const v = view({ hosts: { "web-07": at("passed", 1), "web-01": at("absent", 2), "web-02": at("passed", 3) } });
    expect(decide(v, "web-03", 14)).toEqual({ go: true });
    expect(decide(v, "web-03", 12)).toEqual({ go: false, kind: "wave", reason: "waiting for wave 3 of libssl3 3.0.22: wave 2 host web-02 baking until 09:13:00 UTC" });
  });

  it("a lost, stopped or forgotten host of an earlier wave blocks no one", () => {
    const alive = new Set([...ALL].filter((h) => h !== "web-07"));
    expect(decide(view(), "web-01", 0, alive)).toEqual({ go: true });
  });

  it("a failed version is held everywhere, with its evidence and the way out, until released", () => {
    const verdict = { state: "failed" as const, host: "web-07", rollout: "r1", container: "shop-3", reason: "rolled-back: did not start", at: T0 + 5 * MIN };
    const failed = view({ hosts: { "web-07": at("failed", 5) }, verdict });
    for (const host of ["web-01", "web-05", "web-07"]) {
      expect(decide(failed, host, 6)).toEqual({ go: false, kind: "failed", reason: 'libssl3 3.0.22 failed on web-07 (rollout r1, container shop-3: rolled-back: did not start); held fleet-wide until a human decides: patchroll fleet release libssl3=3.0.22 --why "..."' });
    }
    const released = { ...failed, release: { who: "alice", why: "flaky check, fixed", at: T0 + 8 * MIN } };
    // The canary host's failure, released, lets wave 2 go at once: a rolled-back version has nothing to bake.
    expect(decide(released, "web-01", 9)).toEqual({ go: true });
    // A new failure after the release holds it again.
    const again = { ...released, verdict: { ...verdict, host: "web-01", at: T0 + 20 * MIN } };
    expect(decide(again, "web-02", 21)).toMatchObject({ go: false, kind: "failed", reason: expect.stringContaining("failed on web-01") });
  });

  it("an inconclusive version is held for a human, not failed", () => {
    const v = view({ hosts: { "web-07": at("inconclusive", 5) }, verdict: { state: "inconclusive", host: "web-07", rollout: "r1", reason: "unverified: healthy, but still maps outdated files", at: T0 + 5 * MIN } });
    expect(decide(v, "web-01", 6)).toMatchObject({ go: false, kind: "inconclusive", reason: expect.stringMatching(/^libssl3 3.0.22 was inconclusive on web-07 .*patchroll fleet release libssl3=3.0.22/) });
  });

  it("an operator's hold comes before everything, even on the canary host", () => {
    const v = view({ hold: { who: "bob", why: "CVE fix breaks FIPS mode", at: T0 } });
    expect(decide(v, "web-07", 1)).toEqual({ go: false, kind: "held", reason: 'libssl3 3.0.22 is held fleet-wide by bob: CVE fix breaks FIPS mode (patchroll fleet release libssl3=3.0.22 --why "...")' });
  });

  it("a rollout of several versions waits for all of them; a hold outranks a wave", () => {
    const wave: FleetDecision = { go: false, kind: "wave", reason: "waiting for wave 2 of a 1" };
    const held: FleetDecision = { go: false, kind: "held", reason: "b 2 is held" };
    expect(decideAll([{ go: true }, { go: true }])).toEqual({ go: true });
    expect(decideAll([{ go: true }, wave])).toBe(wave);
    expect(decideAll([wave, held])).toBe(held);
  });
});

describe("what a finished rollout says of its versions", () => {
  const patched = { container: "a", outcome: "patched" as const, reason: "ok" };
  it.each([
    ["every container patched", { status: "completed", outcomes: [patched] }, { state: "passed", restarted: 1 }],
    ["a rollback", { status: "halted", outcomes: [patched, { container: "b", outcome: "rolled-back" as const, reason: "the container stopped right after start (state STOPPED); delta restored, healthy again" }] }, { state: "failed", container: "b" }],
    ["verification impossible", { status: "halted", outcomes: [{ container: "c", outcome: "unverified" as const, reason: "healthy, but still maps outdated files" }] }, { state: "inconclusive", container: "c" }],
    ["health timed out with no check failing", { status: "halted", outcomes: [{ container: "d", outcome: "rolled-back" as const, reason: "not healthy within 30000 ms after restart; last check: http://x/health passed; delta restored, healthy again" }] }, { state: "inconclusive", container: "d" }],
    ["aborted by an operator", { status: "aborted", outcomes: [], haltReason: "aborted by alice: wrong night" }, { state: "inconclusive", reason: "aborted by alice: wrong night" }],
  ] as const)("%s", (_what, r, want) => {
    expect(judgeRollout(r)).toMatchObject(want);
  });
});

describe("a host that will never roll a version out", () => {
  const v = { pkg: "libssl3", version: "3.0.22-1" };
  it.each([
    ["not installed", { installed: false as const }, true],
    ["an earlier version installed: its next apt run brings it", { installed: true as const, version: "3.0.15-1" }, false],
    ["this very version installed: its event is on its way", { installed: true as const, version: "3.0.22-1" }, false],
    ["a later version installed: it went past", { installed: true as const, version: "1:3.0.1-1" }, true],
  ])("%s", (_what, here, want) => {
    expect(willNeverHave(v, here)).toBe(want);
  });
});
