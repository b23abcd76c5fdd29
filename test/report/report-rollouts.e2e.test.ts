import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { Daemon } from "../../src/daemon/daemon.js";
import { demoLibraryPath, LocalRepo } from "../../src/demo/package-fixture.js";
import { captureDir } from "../../src/intake/capture.js";
import { readJournal } from "../../src/journal/journal.js";
import { journalFile } from "../../src/journal/paths.js";
import { silentLogger } from "../../src/log/logger.js";
import { connectRedis } from "../../src/queue/connection.js";
import { loadRolloutReport } from "../../src/report/load-report.js";
import type { RolloutReport } from "../../src/report/report-model.js";
import { renderRolloutReport } from "../../src/report/render.js";
import { RolloutStore, type RolloutState } from "../../src/rollout/rollout-store.js";
import { HermeticApt } from "../helpers/apt.js";
import { lxcTestBed, type TestBed, type TestContainer } from "../helpers/lxc.js";
import { testEnv, type TestEnv } from "../helpers/redis.js";
import { canonicalJournal } from "./canonical-journal.js";
import { openChromium } from "./chromium.js";
import { expectGolden } from "./golden.js";
import { buildReportPackage, type Entry } from "./report-package.js";

/**
 * Reports of rollouts run for real: apt-get upgrades a package whose changelog names CVEs -> the hook ->
 * the daemon -> batched restarts of real LXC containers; then a broken upgrade whose library hangs at load:
 * the canary never answers its health check, is rolled back and pinned, and the rollout halts. The reports are made with Redis
 * unreachable, from the journals and the installed changelog alone, checked against golden files (after
 * what differs from run to run is made fixed) and opened in Chromium.
 */
const CHANGELOG: Entry[] = [
  { version: "2.0", changes: ["* New upstream release; no security fix."] },
  { version: "1.1", changes: ["* Security fixes: CVE-2026-20001 (heap overflow), CVE-2026-20002 (use-after-free)", "  and CVE-2026-20003 (integer overflow), all in the frame parser."] },
  { version: "1.0.1", changes: ["* CVE-2026-19999: NULL dereference on an empty frame."] },
  { version: "1.0", changes: ["* Initial release."] },
];

describe("reports of real rollouts", () => {
  const pkg = `prr${randomBytes(3).toString("hex")}`;
  const tag = randomBytes(3).toString("hex");
  let env: TestEnv;
  let bed: TestBed;
  let apt: HermeticApt;
  let daemon: Daemon | undefined;
  const containers: TestContainer[] = [];
  const rollouts: RolloutState[] = [];
  const reports: RolloutReport[] = [];
  const html: string[] = [];

  async function waitForRollout(skip: ReadonlySet<string>): Promise<RolloutState> {
    const redis = await connectRedis(env.config, "client");
    try {
      const store = new RolloutStore(redis, env.config);
      const deadline = Date.now() + 90_000;
      for (;;) {
        const found = (await store.list()).find((s) => !skip.has(s.id) && ["completed", "halted", "aborted"].includes(s.status));
        if (found !== undefined) return found;
        if (Date.now() > deadline) throw new Error(`no finished rollout within 90 s; have: ${JSON.stringify(await store.list())}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      redis.disconnect();
    }
  }

  /** The CLI, as an operator runs it, with Redis pointed at a closed port: a report must not need it. */
  async function cli(...args: string[]): Promise<{ code: number; out: string }> {
    let out = "";
    const flags = ["--host-id", env.config.hostId, "--state-dir", env.config.stateDir, "--redis-url", "redis://127.0.0.1:1", "--set", `journalDir=${env.config.journalDir}`];
    const code = await main([...flags, ...args], { out: (t) => (out += t), err: () => {} }, {});
    return { code, out };
  }

  beforeAll(async () => {
    bed = await lxcTestBed("report");
    env = testEnv("report", {
      lxc: { path: bed.lxcPath, hostRoot: bed.hostRoot, stopTimeoutSec: 5 },
      rollout: { batches: [1, "100%"], healthIntervalMs: 50, healthyAfter: 2, unhealthyAfter: 3, healthTimeoutMs: 5000, maxParallel: 1 },
    });
    const work = mkdtempSync(join(env.root, "pkgs-"));
    const repo = new LocalRepo(join(work, "repo"), { origin: "prtest", label: "prtest-security", suite: "prtest-security", codename: "prtest" });
    for (const [version, mode] of [["1.0", "good"], ["1.1", "good"], ["2.0", "hang"]] as const) {
      await repo.add(await buildReportPackage({ dir: work, name: pkg, version, mode, changelog: CHANGELOG.slice(CHANGELOG.findIndex((e) => e.version === version)) }));
    }
    await repo.publish();
    apt = new HermeticApt({ root: join(work, "apt"), repo, hooks: { spoolDir: env.config.spoolDir, captureDir: captureDir(env.config.stateDir) } });
    await apt.update();
    expect((await apt.install([`${pkg}=1.0`])).exitCode).toBe(0);
    for (const f of readdirSync(env.config.spoolDir)) rmSync(join(env.config.spoolDir, f), { recursive: true, force: true });
    // Names that sort a < b < c fix the plan's order (canary a, then b, c), so the golden files hold.
    for (const [suffix, group] of [["a", "web"], ["b", "api"], ["c", "web"]] as const) {
      containers.push(await bed.create({ name: `prt-report-${tag}-${suffix}`, env: { LD_PRELOAD: demoLibraryPath(pkg) }, group, canary: suffix === "a" }));
    }
    daemon = new Daemon(env.config, silentLogger(), { driver: bed.driver });
    await daemon.start();

    const seen = new Set<string>();
    for (const version of ["1.1", "2.0"]) {
      expect((await apt.install([`${pkg}=${version}`])).exitCode).toBe(0);
      const r = await waitForRollout(seen);
      seen.add(r.id);
      rollouts.push(r);
    }
    await daemon.stop(5000);
    daemon = undefined;
    // While the package is still installed: its changelog is where the CVEs come from.
    for (const r of rollouts) {
      reports.push(await loadRolloutReport({ journalDir: env.config.journalDir, hostId: env.config.hostId }, r.id));
      const out = await cli("report", r.id, "--format", "html");
      expect(out.code).toBe(0);
      html.push(out.out);
    }
  }, 300_000);

  afterAll(async () => {
    await daemon?.stop(5000);
    await apt?.cleanup();
    await bed?.cleanup();
    env?.cleanup();
  });

  it("success: every container restarted and verified; the CVEs of both changelog entries; every window closed", () => {
    const [r] = reports;
    expect(rollouts[0]!.status).toBe("completed");
    expect(r!.outcome).toBe("completed");
    // Recorded at plan time in the journal (rollout.planned cves), read from the new package's changelog.
    expect(r!.cves).toMatchObject({ from: "journal", ids: ["CVE-2026-19999", "CVE-2026-20001", "CVE-2026-20002", "CVE-2026-20003"] });
    expect(r!.cves.packages[0]).toMatchObject({ package: pkg, from: "1.0", to: "1.1", status: "ok", entries: 2, changelog: `/usr/share/doc/${pkg}/changelog.Debian.gz` });
    expect(r!.containers.map((c) => [c.name, c.batch, c.outcome])).toEqual(containers.map((c, i) => [c.name, i === 0 ? 1 : 2, "patched"]));
    for (const w of r!.exposure.windows) {
      expect(w.status).toBe("closed");
      expect(w.ms).toBeGreaterThan(0);
      expect(Date.parse(w.until!)).toBeGreaterThan(Date.parse(r!.exposure.installedAt!));
    }
    expect(r!.exposure.byCve.every((c) => c.open.length === 0 && c.closed.length === 3)).toBe(true);
    expect(r!.summary).toMatch(/all 3 containers restarted, passed their health checks and were verified/);
  });

  it("rollback: the canary's failed health checks, its rollback and pin, the halt, and who stays exposed", () => {
    const [, r] = reports;
    const [a, b, c] = containers.map((x) => x.name);
    expect(r!.outcome).toBe("halted");
    expect(r!.cves.ids).toEqual([]);
    expect(r!.containers[0]!.health).toMatchObject([{ phase: "restart", healthy: false }, { phase: "rollback", healthy: true }]);
    // A service that never answers is given until the health timeout (a starting service is not a failing one).
    expect(r!.containers[0]!.health[0]!.reason).toMatch(/^not healthy within 5000 ms after restart; last check: http:\/\/127\.0\.0\.1:\d+\/health /);
    expect(r!.rollbacks).toMatchObject([{ container: a, pinned: true, result: "rolled-back", pinDetail: `${pkg} 1.1 (2 files)` }]);
    expect(r!.halt).toMatchObject({ kind: "halted", batch: 1, untouched: [b, c] });
    expect(r!.exposure.stillExposed.map((s) => [s.container, s.runbook])).toEqual([[a, "runbooks/container-pinned.md"], [b, "runbooks/rollout-halted.md"], [c, "runbooks/rollout-halted.md"]]);
  });

  it("golden files: the reports of both journals, with what varies between runs made fixed", async () => {
    const dir = mkdtempSync(join(env.root, "golden-"));
    const doc = join(dir, "doc");
    mkdirSync(join(doc, "prpkg"), { recursive: true });
    const installed = gunzipSync(readFileSync(`/usr/share/doc/${pkg}/changelog.Debian.gz`)).toString();
    writeFileSync(join(doc, "prpkg", "changelog.Debian.gz"), gzipSync(installed.replaceAll(pkg, "prpkg")));
    const ids = ["20261123T070000Z-00000001", "20261123T070100Z-00000002"];
    for (const [i, r] of rollouts.entries()) {
      const entries = readJournal(journalFile(env.config, r.id)).entries;
      const event = (entries[0]!.data["event"] as { id: string }).id;
      const canon = canonicalJournal(entries, {
        host: "golden",
        rollout: ids[i]!,
        base: `2026-11-23T07:0${i}:00.000Z`,
        replace: [[r.id, ids[i]!], [event, `apt-golden-${i + 1}`], [pkg, "prpkg"], [`prt-report-${tag}-`, "ctr-"], [bed.lxcPath, "/var/lib/lxc"], [env.root, "/TEST"]],
      });
      mkdirSync(join(dir, "golden"), { recursive: true });
      writeFileSync(join(dir, "golden", `${ids[i]}.jsonl`), canon.map((e) => `${JSON.stringify(e)}\n`).join(""));
    }
    for (const [i, name] of ["real-success", "real-rollback"].entries()) {
      const report = await loadRolloutReport({ journalDir: dir, hostId: "golden", docRoot: doc }, ids[i]!);
      for (const format of ["md", "html", "json"] as const) expectGolden(`${name}.${format}`, renderRolloutReport(report, format), [[doc, "/usr/share/doc"]]);
    }
  });

  it("digest over both: two rollouts, one halted, the median install -> all verified, three still exposed", async () => {
    const out = await cli("--json", "report", "--since", "1h");
    expect(out.code).toBe(0);
    const d = (JSON.parse(out.out) as { digest: { rollouts: { count: number; outcomes: Record<string, number> }; medianInstallToAllVerifiedMs: number | null; stillExposed: unknown[]; repeatOffenders: unknown[] } }).digest;
    expect(d.rollouts.count).toBe(2);
    expect(d.rollouts.outcomes).toMatchObject({ completed: 1, halted: 1 });
    expect(d.medianInstallToAllVerifiedMs).toBeGreaterThan(0);
    expect(d.stillExposed).toHaveLength(3);
    expect(d.repeatOffenders).toEqual([]);
  });

  it("the rollback's HTML in Chromium: the story in words, the chart with the red rollback and the halt", async () => {
    const scratch = mkdtempSync(join(env.root, "chromium-"));
    const browser = await openChromium(scratch);
    try {
      const file = join(scratch, "rollback.html");
      writeFileSync(file, html[1]!);
      const page = await browser.context.newPage();
      await page.goto(`file://${file}`);
      expect(await page.locator("h1").innerText()).toContain("HALTED");
      expect(await page.locator("p.summary").innerText()).toContain(`${containers[0]!.name} failed (not healthy within 5000 ms after restart`);
      const svg = page.locator("svg.timeline");
      expect(await svg.locator("g.container").count()).toBe(3);
      expect(await svg.locator("rect.step.rollback").count()).toBe(5);
      expect(await svg.locator("g.mark text").allTextContents()).toEqual(["halted"]);
      const shots = process.env["PATCHROLL_SCREENSHOT_DIR"] ?? scratch;
      mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: join(shots, "real-rollback.png"), fullPage: true });
      await svg.screenshot({ path: join(shots, "real-rollback-chart.png") });
    } finally {
      await browser.close();
    }
  });
});
