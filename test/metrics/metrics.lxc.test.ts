import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../../src/http/dashboard.js";
import { silentLogger } from "../../src/log/logger.js";
import { rolloutHarness, type RolloutHarness } from "../helpers/rollout-harness.js";
import { type Family, parsePrometheusText, sampleValue } from "./prom-text.js";

const RULES = new URL("../../deploy/prometheus/patchroll-alerts.yml", import.meta.url).pathname;

/**
 * `/metrics` scraped from the real dashboard app over real Redis, real containers and the daemon's real
 * rollouts, parsed with a strict text-format parser: a container made stale (the host file it runs was
 * replaced), a stuck and then a corrupt spool record, hook warnings appended to a log, a halted rollout.
 */
describe("Prometheus metrics (real LXC, real Redis)", () => {
  let h: RolloutHarness;
  let app: FastifyInstance;
  const binDir = mkdtempSync("/var/tmp/patchroll-bin-");
  const busybox = join(binDir, "busybox");
  const hookLog = join(binDir, "unattended-upgrades-dpkg.log");

  beforeAll(async () => {
    copyFileSync("/bin/busybox", busybox);
    writeFileSync(hookLog, "patchroll: apt-pre-install-pkgs: an old warning, before the daemon started; apt goes on\n");
    h = await rolloutHarness("metrics", [{ canary: true, healthy: false }, { busybox }], { rollout: { batches: [1, "100%"] }, http: { enabled: false } });
    app = await buildDashboard({ config: h.env.config, redis: h.redis, queues: h.queues, logger: silentLogger(), driver: h.bed.driver, hookLog, snapshotMaxAgeMs: 0 });
  });
  afterAll(async () => {
    await app?.close();
    await h?.cleanup();
    rmSync(binDir, { recursive: true, force: true });
  });

  async function scrape(): Promise<Map<string, Family>> {
    const res = await app.inject({ method: "GET", url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePrometheusText(res.body);
  }

  it("reports a stale container and how long it has been exposed, and every queue's depth per state", async () => {
    // apt replaces a file by writing a new one and renaming it over the old: the container keeps the old inode.
    copyFileSync("/bin/busybox", `${busybox}.new`);
    renameSync(`${busybox}.new`, busybox);
    const m = await scrape();
    const stale = h.containers[1]!.name;
    expect(sampleValue(m, "patchroll_containers", { verdict: "stale" })).toBe(1);
    expect(sampleValue(m, "patchroll_containers", { verdict: "patched" })).toBe(1);
    expect(sampleValue(m, "patchroll_stale_containers")).toBe(1);
    expect(sampleValue(m, "patchroll_exposure_seconds", { container: stale })).toBeGreaterThanOrEqual(0);
    expect(m.get("patchroll_exposure_seconds")!.samples).toHaveLength(1);
    for (const queue of ["apt-events", "rollouts", "notifications"]) {
      for (const state of ["waiting", "active", "delayed", "failed", "completed", "stalled"]) expect(sampleValue(m, "patchroll_queue_jobs", { queue, state })).toBe(0);
    }
    expect(sampleValue(m, "patchroll_redis_up")).toBe(1);
    expect(m.get("patchroll_rollouts")!.samples.map((s) => [s.labels["status"], s.value])).toEqual(["planned", "running", "paused", "waiting", "completed", "halted", "aborted"].map((s) => [s, 0]));
  });

  it("reports the spool backlog while the daemon is away, and the corrupt record once it has looked", async () => {
    mkdirSync(h.env.config.spoolDir, { recursive: true });
    const rec = join(h.env.config.spoolDir, "1700000000000000000-1-pre-install.rec");
    writeFileSync(rec, "not a spool record\n");
    const past = new Date(Date.now() - 600_000);
    utimesSync(rec, past, past);
    let m = await scrape();
    expect(sampleValue(m, "patchroll_spool_backlog_records")).toBe(1);
    expect(sampleValue(m, "patchroll_spool_oldest_record_age_seconds")).toBeGreaterThanOrEqual(600);
    await h.startDaemon();
    const deadline = Date.now() + 20_000;
    do {
      m = await scrape();
      if (sampleValue(m, "patchroll_spool_corrupt_records") === 1) break;
      await new Promise((r) => setTimeout(r, 100));
    } while (Date.now() < deadline);
    expect(sampleValue(m, "patchroll_spool_corrupt_records")).toBe(1);
    expect(sampleValue(m, "patchroll_spool_backlog_records")).toBe(0);
    expect(sampleValue(m, "patchroll_spool_oldest_record_age_seconds")).toBe(0);
    expect(sampleValue(m, "patchroll_queue_workers", { queue: "rollouts" })).toBeGreaterThan(0);
  });

  it("counts the hooks' warnings written since it started, not the ones before", async () => {
    expect(sampleValue(await scrape(), "patchroll_hook_errors_total")).toBe(0);
    appendFileSync(hookLog, "Setting up prdemo (1.1) ...\npatchroll: apt-post-invoke: spool dir /var/spool/patchroll is not writable (read-only filesystem?), no record written; apt goes on, reconciliation will catch up\npatchroll: apt-pre-install-pkgs did not finish within 5s and was stopped; apt goes on\n");
    expect(sampleValue(await scrape(), "patchroll_hook_errors_total")).toBe(2);
  });

  it("reports a halted rollout, its duration, and the health check latencies that decided it", async () => {
    const id = await h.trigger();
    expect((await h.waitFor(id, ["halted", "completed"])).status).toBe("halted");
    const m = await scrape();
    expect(sampleValue(m, "patchroll_rollouts", { status: "halted" })).toBe(1);
    expect(sampleValue(m, "patchroll_rollouts_halted_open")).toBe(1);
    expect(sampleValue(m, "patchroll_rollout_duration_seconds_count", { status: "halted" })).toBe(1);
    expect(sampleValue(m, "patchroll_rollout_duration_seconds_sum", { status: "halted" })).toBeGreaterThan(0);
    // The canary failed its health checks after the restart and after the rollback (same delta): two steps.
    expect(sampleValue(m, "patchroll_health_check_latency_seconds_count", { outcome: "fail" })).toBe(2);
    expect(m.get("patchroll_health_check_latency_seconds")!.type).toBe("histogram");
    // A second scrape does not count the same journal lines again.
    expect(sampleValue(await scrape(), "patchroll_rollout_duration_seconds_count", { status: "halted" })).toBe(1);
  });

  it("ships alert rules that use only metrics the daemon exports, each with a runbook that exists", async () => {
    const names = new Set([...(await scrape()).values()].flatMap((f) => [f.name, ...f.samples.map((s) => s.name)]));
    const rules = (parse(readFileSync(RULES, "utf8")) as { groups: { rules: { alert: string; expr: string; annotations: { runbook: string } }[] }[] }).groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(8);
    for (const r of rules) {
      for (const metric of r.expr.match(/patchroll_[a-z_]+/g) ?? []) expect(names, `${r.alert}: ${metric}`).toContain(metric);
      expect(readFileSync(new URL(`../../${r.annotations.runbook}`, import.meta.url), "utf8").length, r.alert).toBeGreaterThan(100);
    }
  });
});
