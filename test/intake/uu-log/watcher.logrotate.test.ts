import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { UuRun } from "../../../src/intake/uu-log/run.js";
import { UuLogWatcher, type UuLogWatcherOptions } from "../../../src/intake/uu-log/watcher.js";
import { logrotate, tempDir } from "../tail/log-helpers.js";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const fixtureLines = (name: string): string[] => {
  const lines = readFileSync(fileURLToPath(new URL(`../../fixtures/logs/${name}`, import.meta.url)), "utf8").split("\n");
  lines.pop();
  return lines;
};

function setup(): { logDir: string; stateDir: string; main: string; dpkg: string; dir: string } {
  const t = tempDir("uu-watch");
  cleanups.push(t.cleanup);
  const logDir = join(t.dir, "log");
  mkdirSync(logDir);
  return { dir: t.dir, logDir, stateDir: join(t.dir, "state"), main: join(logDir, "unattended-upgrades.log"), dpkg: join(logDir, "unattended-upgrades-dpkg.log") };
}

/** A watcher driven by poll() (no timers fire during the test). */
function watcher(o: Partial<UuLogWatcherOptions> & Pick<UuLogWatcherOptions, "logDir" | "stateDir">, runs: UuRun[]): UuLogWatcher {
  const w = new UuLogWatcher({
    startAt: "start",
    watch: false,
    pollMs: 3_600_000,
    settleMs: 3_600_000,
    rebootRequiredFile: join(o.stateDir, "no-such-file"),
    onRun: (r) => void runs.push(r),
    ...o,
  });
  cleanups.push(() => w.stop());
  return w;
}

const add = (file: string, lines: string[]): void => appendFileSync(file, lines.map((l) => `${l}\n`).join(""));

describe("UuLogWatcher", () => {
  const main = fixtureLines("uu-real-rootdir.log.txt");
  const dpkg = fixtureLines("uu-real-rootdir-dpkg.log.txt");
  const runStarts = main.flatMap((l, i) => (l.includes("Starting unattended upgrades script") ? [i] : []));

  it("reports each run once its verdict is in, with its dpkg block", async () => {
    const s = setup();
    const runs: UuRun[] = [];
    const w = watcher({ logDir: s.logDir, stateDir: s.stateDir }, runs);
    await w.start();
    const verdict = main.findIndex((l) => l.endsWith("All upgrades installed"));
    add(s.main, main.slice(0, verdict)); // first run, before its verdict
    add(s.dpkg, dpkg.slice(0, 7));
    await w.poll();
    expect(runs).toEqual([]);
    add(s.main, [main[verdict]!]);
    await w.poll();
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ packages: ["prdemo"], outcome: { status: "ok" }, dpkg: { blocks: 1, setUp: ["prdemo"] } });
  });

  it("keeps a run in progress across a restart and a copytruncate rotation, reporting it once", async () => {
    const s = setup();
    const runs: UuRun[] = [];
    const second = main.slice(runStarts[1]! - 1, runStarts[2]! - 1);
    const half = 5;
    add(s.main, main.slice(0, runStarts[1]! - 1));
    add(s.dpkg, dpkg);
    const w1 = watcher({ logDir: s.logDir, stateDir: s.stateDir }, runs);
    await w1.start();
    await w1.poll();
    expect(runs).toHaveLength(1);
    add(s.main, second.slice(0, half));
    await w1.poll();
    await w1.stop();
    await logrotate(s.dir, s.main, ["rotate 3", "copytruncate", "compress"]);
    add(s.main, second.slice(half));
    const w2 = watcher({ logDir: s.logDir, stateDir: s.stateDir }, runs);
    await w2.start();
    await w2.poll();
    expect(runs).toHaveLength(2);
    expect(runs[1]).toMatchObject({ packages: ["prdemo"], keptBack: ["prblack", "prdemo"], outcome: { status: "failed" }, dpkg: { failedPackages: ["prdemo"] } });
    await w2.stop();
    const w3 = watcher({ logDir: s.logDir, stateDir: s.stateDir }, runs);
    await w3.start();
    await w3.poll();
    expect(runs).toHaveLength(2);
  });

  it("retries a run whose hand-over failed, also after a restart", async () => {
    const s = setup();
    const runs: UuRun[] = [];
    let fail = true;
    const flaky = (r: UuRun): void => {
      if (fail) throw new Error("queue down");
      runs.push(r);
    };
    add(s.main, main.slice(0, runStarts[1]! - 1));
    add(s.dpkg, dpkg.slice(0, 7));
    const w1 = watcher({ logDir: s.logDir, stateDir: s.stateDir, onRun: flaky }, runs);
    await w1.start();
    await w1.poll();
    await w1.poll();
    await w1.stop();
    expect(runs).toEqual([]);
    fail = false;
    const w2 = watcher({ logDir: s.logDir, stateDir: s.stateDir, onRun: flaky }, runs);
    await w2.start();
    expect(runs).toHaveLength(1);
    expect(runs[0]!.outcome.status).toBe("ok");
  });

  it("marks a run as needing a reboot when /run/reboot-required exists at its end", async () => {
    const s = setup();
    const runs: UuRun[] = [];
    const flag = join(s.dir, "reboot-required");
    writeFileSync(flag, "*** System restart required ***\n");
    add(s.main, main.slice(0, runStarts[1]! - 1));
    const w = watcher({ logDir: s.logDir, stateDir: s.stateDir, rebootRequiredFile: flag }, runs);
    await w.start();
    await w.poll();
    expect(runs[0]!.rebootRequired).toBe(true);
  });

  it("surfaces unknown lines as warnings and still reports the run", async () => {
    const s = setup();
    const runs: UuRun[] = [];
    const warnings: string[] = [];
    const w = watcher({ logDir: s.logDir, stateDir: s.stateDir, onWarning: (x) => void warnings.push(x.message) }, runs);
    await w.start();
    add(s.main, [
      "2026-11-23 05:43:13,001 INFO Starting unattended upgrades script",
      "2026-11-23 05:43:13,002 INFO Paquets qui seront mis à jour : libssl3",
      "2026-11-23 05:43:14,000 INFO All upgrades installed",
    ]);
    await w.poll();
    expect(runs).toHaveLength(1);
    expect(warnings).toEqual([expect.stringContaining(`${s.main}:2: unrecognised unattended-upgrades INFO message`)]);
  });
});
