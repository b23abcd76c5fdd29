import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FleetRollouts, versionsOf } from "../../src/fleet/fleet-rollout.js";
import { reconcileVersions } from "../../src/fleet/reconcile-versions.js";
import { FleetRegistry } from "../../src/fleet/registry.js";
import { loadFleetReport } from "../../src/fleet/load-fleet-report.js";
import { milestonesKey } from "../../src/fleet/milestones.js";
import { registerFleetMetrics } from "../../src/fleet/fleet-metrics.js";
import { Registry } from "prom-client";
import { parsePrometheusText, sampleValue } from "../metrics/prom-text.js";
import { VersionStore } from "../../src/fleet/version-store.js";
import { RolloutJournal } from "../../src/journal/journal.js";
import { silentLogger } from "../../src/log/logger.js";
import { connectRedis } from "../../src/queue/connection.js";
import { OPEN_GATE, RolloutReleased, type Wait } from "../../src/rollout/gates.js";
import { requestControl } from "../../src/rollout/controls.js";
import { testEnv, type TestEnv, testRedisUrl } from "../helpers/redis.js";

/**
 * The fleet's gate on the real Redis, without containers: a hold that comes while a rollout runs stops it
 * at its next batch boundary, saying who and why, until a release (journaled); a rollout of several
 * versions waits for all of them; a failed container holds its versions at once; a stopping worker is
 * not kept waiting.
 */
describe("a rollout's fleet gate (real Redis)", () => {
  let env: TestEnv;
  let redis: Redis;
  const a = { pkg: "liba", version: "1.0-1" };
  const b = { pkg: "libb", version: "2:2.0" };

  beforeAll(async () => {
    // A fleet of its own on the shared test Redis: its own key prefix.
    env = testEnv("fgate", { redis: { url: testRedisUrl(), prefix: `pg-${randomBytes(3).toString("hex")}` }, fleet: { enabled: true, pollMs: 50, bakeMs: 0 } });
    redis = await connectRedis(env.config, "client");
    await new FleetRegistry(redis, env.config).heartbeat(env.config.hostId, { v: 1, host: env.config.hostId, version: "t", startedAt: "t", state: "up", containers: null, rollout: null, exposure: null, lastAptEvent: null });
  });
  afterAll(() => {
    redis?.disconnect();
    env?.cleanup();
  });

  const rollout = (id: string, host = env.config.hostId) => {
    const config = { ...env.config, hostId: host };
    return { r: new FleetRollouts(redis, config, silentLogger()).rollout(id, [a, b], new RolloutJournal(config.journalDir, host, id)), journal: () => new RolloutJournal(config.journalDir, host, id) };
  };

  it("takes each changed package at its new version, once", () => {
    const event = { packages: [
      { name: "liba", arch: "amd64", from: "0.9", to: "1.0-1", action: "upgrade" as const },
      { name: "liba", arch: "i386", from: "0.9", to: "1.0-1", action: "upgrade" as const },
      { name: "libc", arch: "all", from: "1", to: null, action: "remove" as const },
      { name: "libd", arch: "all", from: "1", to: "2", action: "upgrade" as const },
    ] };
    expect(versionsOf(event, ["liba", "libc"])).toEqual([{ pkg: "liba", version: "1.0-1" }]);
  });

  it("a hold stops a running rollout at its next batch boundary, until a release journaled with who and why", async () => {
    const { r, journal } = rollout("r-hold");
    const waits: Wait[] = [];
    const onWait = async (w: Wait) => void waits.push(w);
    expect(await r.gate(OPEN_GATE).beforeBatch(1, onWait)).toEqual({ go: true });
    const store = new VersionStore(redis, env.config);
    expect((await store.read(a)).hosts[env.config.hostId]).toMatchObject({ state: "running", rollout: "r-hold" });

    await store.hold(b, { who: "alice", why: "breaks FIPS mode" });
    const second = r.gate(OPEN_GATE).beforeBatch(2, onWait);
    await new Promise((res) => setTimeout(res, 200));
    expect(waits).toEqual([{ status: "waiting", reason: 'libb 2:2.0 is held fleet-wide by alice: breaks FIPS mode (patchroll fleet release libb=2:2.0 --why "...")' }]);
    await store.release(b, { who: "bob", why: "FIPS build fixed" });
    expect(await second).toEqual({ go: true });
    const released = journal().entries().filter((e) => e.type === "fleet.released");
    expect(released.map((e) => e.data)).toEqual([expect.objectContaining({ version: "libb=2:2.0", who: "bob", why: "FIPS build fixed" })]);
  });

  it("a failed container holds every version of the rollout at once, and other hosts wait on it", async () => {
    const { r } = rollout("r-fail");
    await r.progress({ status: "running", outcomes: [{ container: "web-3", outcome: "rolled-back", reason: "did not start; delta restored, healthy again" }] });
    const store = new VersionStore(redis, env.config);
    for (const v of [a, b]) expect((await store.read(v)).verdict).toMatchObject({ state: "failed", host: env.config.hostId, rollout: "r-fail", container: "web-3", reason: "rolled-back: did not start; delta restored, healthy again" });
    const other = rollout("r-other", "other-host").r;
    expect(await other.decide()).toMatchObject({ go: false, kind: "failed", reason: expect.stringMatching(/^liba 1.0-1 failed on t-fgate-\w+ \(rollout r-fail, container web-3/) });
    // An undecided rollout elsewhere does not replace the evidence of harm; one aborted before it tried holds nothing.
    await rollout("r-unsure", "unsure-host").r.finished({ status: "halted", outcomes: [{ container: "c", outcome: "unverified", reason: "still maps outdated files" }] });
    await rollout("r-aborted", "aborting-host").r.finished({ status: "aborted", outcomes: [], haltReason: "aborted by bob: the fix is out" });
    const view = await store.read(a);
    expect(view.verdict).toMatchObject({ state: "failed", rollout: "r-fail" });
    expect(view.hosts["unsure-host"]).toMatchObject({ state: "inconclusive" });
    expect(view.hosts["aborting-host"]).toMatchObject({ state: "inconclusive", rollout: "r-aborted" });
    const fresh = { pkg: "libabort", version: "1" };
    const config = { ...env.config, hostId: "aborting-host" };
    await new FleetRollouts(redis, config, silentLogger()).rollout("r-ab2", [fresh], new RolloutJournal(config.journalDir, "aborting-host", "r-ab2")).finished({ status: "aborted", outcomes: [] });
    expect((await store.read(fresh)).verdict).toBeNull();
  });

  it("a host named in a version's waves that does not have the package says so once, and blocks no wave", async () => {
    const v = { pkg: "libabsent", version: "1.0" };
    const store = new VersionStore(redis, env.config);
    await store.join(v, "first-host", "r-1", async () => [["first-host"], [env.config.hostId]]);
    const asked: string[] = [];
    const installed = async (pkg: string) => (asked.push(pkg), { installed: false as const });
    expect((await reconcileVersions(redis, env.config, 0, installed)).absent).toContain("libabsent=1.0");
    expect((await store.read(v)).hosts[env.config.hostId]).toMatchObject({ state: "absent" });
    // Answered: not asked again; and versions whose waves do not name this host are not asked about at all.
    expect((await reconcileVersions(redis, env.config, 0, installed)).absent).not.toContain("libabsent=1.0");
    expect(asked.filter((p) => p === "libabsent")).toEqual(["libabsent"]);
  });

  it("a live host of an earlier wave that has not rolled the version out yet keeps a later wave waiting", async () => {
    const v = { pkg: "libwave", version: "3" };
    const registry = new FleetRegistry(redis, env.config);
    await registry.heartbeat("wave-one", { v: 1, host: "wave-one", version: "t", startedAt: "t", state: "up", containers: null, rollout: null, exposure: null, lastAptEvent: null });
    await new VersionStore(redis, env.config).join(v, "wave-two", "r-w2", async () => [["wave-one"], ["wave-two"]]);
    const config = { ...env.config, hostId: "wave-two" };
    const r = new FleetRollouts(redis, config, silentLogger()).rollout("r-w2", [v], new RolloutJournal(config.journalDir, "wave-two", "r-w2"));
    expect(await r.decide()).toEqual({ go: false, kind: "wave", reason: "waiting for wave 2 of libwave 3: canary host wave-one has not rolled it out yet" });
    await new VersionStore(redis, env.config).setHost(v, "wave-one", { state: "passed", rollout: "r-w1", restarted: 1 });
    expect(await r.decide()).toEqual({ go: true });
  });

  it("a rollout that ended without the fleet hearing of it (the daemon died in between) is told from its journal", async () => {
    const v = { pkg: "libcrash", version: "5" };
    const store = new VersionStore(redis, env.config);
    await store.join(v, env.config.hostId, "r-crash", async () => [[env.config.hostId]]);
    await store.setHost(v, env.config.hostId, { state: "running", rollout: "r-crash" });
    const journal = new RolloutJournal(env.config.journalDir, env.config.hostId, "r-crash");
    journal.append("container.done", { outcome: "rolled-back", reason: "did not start; delta restored, healthy again" }, "web-9");
    journal.append("rollout.halted", { reason: "halted after batch 1", batch: 1, untouched: [] });
    const never = async () => ({ installed: true as const, version: "5" });
    expect((await reconcileVersions(redis, env.config, 0, never)).ended).toEqual(["libcrash=5"]);
    const view = await store.read(v);
    expect(view.hosts[env.config.hostId]).toMatchObject({ state: "failed", rollout: "r-crash" });
    expect(view.verdict).toMatchObject({ state: "failed", rollout: "r-crash", container: "web-9" });
    expect((await reconcileVersions(redis, env.config, 0, never)).ended).toEqual([]);
  });

  it("the fleet report reads the milestones the hosts published, and says when the stream was trimmed past them", async () => {
    const v = { pkg: "librep", version: "1" };
    const store = new VersionStore(redis, env.config);
    await store.join(v, "rep-1", "r-rep", async () => [["rep-1"]]);
    await store.setHost(v, "rep-1", { state: "running", rollout: "r-rep" });
    await store.setHost(v, "rep-1", { state: "passed", rollout: "r-rep", restarted: 3 });
    const before = await loadFleetReport(redis, env.config, v);
    expect(before).toMatchObject({ status: "passed", trimmed: false, waves: [[{ host: "rep-1", state: "passed", restarted: 3, reportedAt: expect.any(String), startedAt: expect.any(String), endedAt: expect.any(String) }]] });
    await redis.xtrim(milestonesKey(env.config), "MAXLEN", 0);
    const after = await loadFleetReport(redis, env.config, v);
    expect(after.trimmed).toBe(true);
    expect(after.waves[0]![0]).not.toHaveProperty("startedAt");
    await expect(loadFleetReport(redis, env.config, { pkg: "libnever", version: "0" })).rejects.toThrow("libnever=0 has not reached the fleet");
  });

  it("the fleet's gauges: hosts up and silent, slots held, versions held (one cheap read each)", async () => {
    const reg = new Registry();
    registerFleetMetrics([reg], redis, env.config);
    const store = new VersionStore(redis, env.config);
    const v = { pkg: "libgauge", version: "1" };
    const scrape = async () => parsePrometheusText(await reg.metrics());
    const before = sampleValue(await scrape(), "patchroll_fleet_versions_held");
    await store.hold(v, { who: "alice", why: "gauge" });
    expect(sampleValue(await scrape(), "patchroll_fleet_versions_held")).toBe(before + 1);
    await store.release(v, { who: "alice", why: "gauge" });
    const m = await scrape();
    expect(sampleValue(m, "patchroll_fleet_versions_held")).toBe(before);
    // This file's hosts: this one and "wave-one" heartbeat once, "up" until fleet.lostAfterMs.
    expect(sampleValue(m, "patchroll_fleet_hosts", { status: "up" }) + sampleValue(m, "patchroll_fleet_hosts", { status: "silent" })).toBe(2);
    expect(sampleValue(m, "patchroll_fleet_slots_held")).toBeGreaterThanOrEqual(0);
    // The shipped fleet alert rules use only these gauges, each with a runbook that exists.
    const names = new Set([...m.values()].flatMap((f) => [f.name, ...f.samples.map((x) => x.name)]));
    const rules = (parse(readFileSync(new URL("../../deploy/prometheus/patchroll-fleet-alerts.yml", import.meta.url), "utf8")) as { groups: { rules: { alert: string; expr: string; annotations: { runbook: string } }[] }[] }).groups.flatMap((g) => g.rules);
    expect(rules.length).toBe(3);
    for (const r of rules) {
      for (const metric of r.expr.match(/patchroll_[a-z_]+/g) ?? []) expect(names, `${r.alert}: ${metric}`).toContain(metric);
      expect(readFileSync(new URL(`../../${r.annotations.runbook}`, import.meta.url), "utf8").length, r.alert).toBeGreaterThan(100);
    }
  });

  it("a hold that comes while the rollout waits for its operator gate is seen before the batch goes", async () => {
    const v = { pkg: "libwindow", version: "1" };
    const store = new VersionStore(redis, env.config);
    await store.join(v, "window-host", "r-window", async () => [["window-host"]]);
    const config = { ...env.config, hostId: "window-host" };
    const r = new FleetRollouts(redis, config, silentLogger()).rollout("r-window", [v], new RolloutJournal(config.journalDir, "window-host", "r-window"));
    let open!: () => void;
    const opened = new Promise<void>((res) => (open = res));
    let asked = 0;
    // An operator gate that waits (a maintenance window) the first time, and says go at once after.
    const windowGate = { ...OPEN_GATE, beforeBatch: async (_batch: number, onWait: (w: Wait) => Promise<void>) => {
      asked += 1;
      if (asked === 1) {
        await onWait({ status: "waiting", reason: "outside the maintenance windows" });
        await opened;
      }
      return { go: true as const };
    } };
    const waits: string[] = [];
    let settled = false;
    const batch = r.gate(windowGate).beforeBatch(1, async (w) => void waits.push(w.reason)).finally(() => (settled = true));
    await new Promise((res) => setTimeout(res, 150));
    await store.hold(v, { who: "alice", why: "bad build" });
    open();
    await new Promise((res) => setTimeout(res, 300));
    expect(settled).toBe(false);
    expect(waits).toEqual(["outside the maintenance windows", 'libwindow 1 is held fleet-wide by alice: bad build (patchroll fleet release libwindow=1 --why "...")']);
    await store.release(v, { who: "bob", why: "fixed" });
    expect(await batch).toEqual({ go: true });
    expect(asked).toBe(2);
  });

  it("an operator's abort ends a rollout the fleet holds", async () => {
    const v = { pkg: "libheld", version: "4" };
    const store = new VersionStore(redis, env.config);
    await store.hold(v, { who: "alice", why: "bad build" });
    const config = { ...env.config, hostId: "held-host" };
    const r = new FleetRollouts(redis, config, silentLogger()).rollout("r-held", [v], new RolloutJournal(config.journalDir, "held-host", "r-held"));
    const waiting = r.gate(OPEN_GATE).beforeBatch(1, async () => {});
    await new Promise((res) => setTimeout(res, 150));
    await requestControl(redis, config, { action: "abort", rolloutId: "r-held", who: "bob", why: "the fixed version is installed" });
    expect(await waiting).toEqual({ go: false, abort: { who: "bob", why: "the fixed version is installed", rollBackCompleted: false } });
  });

  it("a held rollout ends by itself once a later version of every package it brings is installed", async () => {
    const v = { pkg: "libsup", version: "2.0" };
    await new VersionStore(redis, env.config).hold(v, { who: "alice", why: "broken" });
    const config = { ...env.config, hostId: "sup-host" };
    let here = "2.0";
    const installed = async () => ({ installed: true as const, version: here });
    const make = (id: string) => new FleetRollouts(redis, config, silentLogger(), installed).rollout(id, [v], new RolloutJournal(config.journalDir, "sup-host", id));
    here = "2.1";
    expect(await make("r-sup").gate(OPEN_GATE).beforeBatch(1, async () => {})).toEqual({ go: false, abort: { who: "patchroll (fleet)", why: "superseded: libsup 2.1 is installed since libsup=2.0; the later version's own rollout restarts these containers", rollBackCompleted: false } });
    // Still the held version installed: it waits for a human.
    here = "2.0";
    const stop = new AbortController();
    const waiting = make("r-nosup").gate(OPEN_GATE, stop.signal).beforeBatch(1, async () => {});
    await new Promise((res) => setTimeout(res, 150));
    stop.abort("test over");
    await expect(waiting).rejects.toBeInstanceOf(RolloutReleased);
  });

  it("a worker that stops is not kept waiting", async () => {
    const { r } = rollout("r-stop", "another-host");
    const stop = new AbortController();
    const waiting = r.gate(OPEN_GATE, stop.signal).beforeBatch(1, async () => {});
    stop.abort("the daemon is stopping");
    await expect(waiting).rejects.toBeInstanceOf(RolloutReleased);
  });
});
