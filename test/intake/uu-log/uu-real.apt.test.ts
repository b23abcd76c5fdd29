import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { ParseWarning } from "../../../src/intake/tail/line.js";
import type { UuRun } from "../../../src/intake/uu-log/run.js";
import { UuLogWatcher } from "../../../src/intake/uu-log/watcher.js";
import { withDpkgLock } from "../../helpers/dpkg-lock.js";
import { logrotate, tempDir, waitUntil } from "../tail/log-helpers.js";
import { runsFromFiles } from "./real-logs.js";
import { dryRunCli, RootdirSandbox } from "./uu-sandbox.js";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

// unattended-upgrades takes /var/run/unattended-upgrades.lock, one per machine: runs take turns.
describe("real unattended-upgrade runs, parsed", () => {
  it("unattended-upgrade --dry-run -d with a hermetic APT_CONFIG: success, then a failure", async () => {
    const ok = tempDir("uu-dry-ok");
    const bad = tempDir("uu-dry-bad");
    cleanups.push(ok.cleanup, bad.cleanup);
    const good = await withDpkgLock(() => dryRunCli(ok.dir));
    const failed = await withDpkgLock(() => dryRunCli(bad.dir, { failPreInvoke: true }));
    expect(good.exitCode, good.output).toBe(0);
    expect(failed.exitCode).toBe(1);

    const a = runsFromFiles(join(good.logDir, "unattended-upgrades.log"), join(good.logDir, "unattended-upgrades-dpkg.log"));
    expect(a.warnings).toEqual([]);
    expect(a.runs).toHaveLength(1);
    expect(a.runs[0]).toMatchObject({ packages: [good.pkg], dryRun: true, outcome: { status: "ok" }, origins: ["origin=patchroll-test,label=patchroll-test"] });

    const b = runsFromFiles(join(failed.logDir, "unattended-upgrades.log"), join(failed.logDir, "unattended-upgrades-dpkg.log"));
    expect(b.warnings).toEqual([]);
    expect(b.runs[0]).toMatchObject({ packages: [good.pkg], outcome: { status: "failed", reason: "installing the upgrades failed: installArchives() failed" } });
  });

  it("UuLogWatcher reports real runs (ok, dpkg failure while the watcher was down, nothing to do after rotation)", async () => {
    const sb = await RootdirSandbox.create(['Unattended-Upgrade::Package-Blacklist { "prblack"; };']);
    cleanups.push(sb.cleanup);
    const runs: UuRun[] = [];
    const warnings: ParseWarning[] = [];
    const stateDir = join(sb.dir, "patchroll-state");
    const watcher = (): UuLogWatcher => {
      const w = new UuLogWatcher({
        logDir: sb.logDir,
        stateDir,
        startAt: "start",
        settleMs: 300,
        pollMs: 100,
        rebootRequiredFile: join(sb.dir, "reboot-required"),
        onRun: (r) => void runs.push(r),
        onWarning: (w) => void warnings.push(w),
      });
      cleanups.push(() => w.stop());
      return w;
    };

    await sb.install("prdemo", "1.0");
    await sb.install("prblack", "1.0");
    await sb.publish("prdemo", "1.1");
    await sb.publish("prblack", "1.1");
    const first = watcher();
    await first.start();
    const r1 = await withDpkgLock(() => sb.unattendedUpgrade());
    expect(r1.exitCode, r1.output).toBe(0);
    await waitUntil(() => runs.length >= 1, "the first run");
    expect(runs[0]).toMatchObject({ packages: ["prdemo"], keptBack: ["prblack"], outcome: { status: "ok" }, dryRun: false, rebootRequired: false });
    expect(runs[0]!.dpkg.setUp).toContain("prdemo");

    // The daemon is down while the next run fails in dpkg (postinst exits 1).
    await first.stop();
    await sb.publish("prdemo", "1.2", 'echo "prdemo postinst: simulated failure" >&2; exit 1');
    const r2 = await withDpkgLock(() => sb.unattendedUpgrade());
    expect(r2.exitCode).toBe(1);
    const second = watcher();
    await second.start();
    await waitUntil(() => runs.length >= 2, "the run that happened while stopped");
    expect(runs[1]).toMatchObject({ packages: ["prdemo"], outcome: { status: "failed" }, dpkg: { failedPackages: ["prdemo"] } });
    expect(runs[1]!.outcome.reason).toMatch(/dpkg failed on prdemo/);

    // Debian rotates these logs monthly (compress, no copytruncate); copytruncate is also found (docs/platform.md): both work.
    await logrotate(sb.dir, join(sb.logDir, "unattended-upgrades.log"), ["rotate 6", "copytruncate", "compress"]);
    mkdirSync(join(sb.dir, "lr2"));
    await logrotate(join(sb.dir, "lr2"), join(sb.logDir, "unattended-upgrades-dpkg.log"), ["rotate 6", "compress"]);
    const r3 = await withDpkgLock(() => sb.unattendedUpgrade());
    expect(r3.exitCode, r3.output).toBe(0);
    await waitUntil(() => runs.length >= 3, "the run after rotation");
    expect(runs[2]).toMatchObject({ packages: [], outcome: { status: "ok" }, keptBack: ["prblack"] });
    expect(runs).toHaveLength(3);
    expect(warnings).toEqual([]);
  });
});
