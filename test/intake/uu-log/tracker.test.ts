import { describe, expect, it } from "vitest";
import { UuDpkgBlockAssembler, type UuDpkgBlock } from "../../../src/intake/uu-log/dpkg-blocks.js";
import { parseUuLogLine } from "../../../src/intake/uu-log/parse.js";
import type { UuRun } from "../../../src/intake/uu-log/run.js";
import { UuRunTracker } from "../../../src/intake/uu-log/tracker.js";

const file = "unattended-upgrades.log";

/** Feeds log text to a tracker; returns runs closed by start lines plus the settled last one. */
function runsOf(text: string, blocks: UuDpkgBlock[] = [], tracker = new UuRunTracker()): UuRun[] {
  const out: UuRun[] = [];
  for (const b of blocks) tracker.pushBlock(b);
  text.split("\n").forEach((line, i) => {
    if (line !== "") out.push(...tracker.push(parseUuLogLine(line, { file, lineNo: i + 1 }).entry));
  });
  const last = tracker.settle();
  if (last) out.push(last);
  return out;
}

function blocksOf(text: string): UuDpkgBlock[] {
  const a = new UuDpkgBlockAssembler();
  return text.split("\n").flatMap((line, i) => a.push(line, { file: "unattended-upgrades-dpkg.log", lineNo: i + 1 }));
}

const L = (ms: number, level: string, msg: string): string => `2026-11-23 05:43:${String(10 + Math.floor(ms / 1000)).padStart(2, "0")},${String(ms % 1000).padStart(3, "0")} ${level} ${msg}`;

const OK_RUN = [
  L(0, "INFO", "Checking if system is running on battery is skipped. Please install powermgmt-base package to check power status and skip installing updates when the system is running on battery."),
  L(1, "INFO", "Starting unattended upgrades script"),
  L(2, "INFO", "Allowed origins are: origin=Debian,codename=bookworm,label=Debian-Security"),
  L(3, "INFO", "Initial blacklist: prblack"),
  L(20, "INFO", "Packages that will be upgraded: libssl3 openssl"),
  L(21, "INFO", "Writing dpkg log to /var/log/unattended-upgrades/unattended-upgrades-dpkg.log"),
  L(3000, "INFO", "All upgrades installed"),
  L(3001, "INFO", "Package prblack is blacklisted."),
].join("\n");

describe("UuRunTracker", () => {
  it("turns a successful run into one run with origins, packages and kept-back packages", () => {
    const [run, ...rest] = runsOf(OK_RUN);
    expect(rest).toEqual([]);
    expect(run).toMatchObject({
      origins: ["origin=Debian,codename=bookworm,label=Debian-Security"],
      packages: ["libssl3", "openssl"],
      keptBack: ["prblack"],
      outcome: { status: "ok" },
      rebootRequired: false,
      dryRun: false,
      ref: { file, lineNo: 2 },
    });
    expect(run!.startedAt).toBe(new Date(2026, 10, 23, 5, 43, 10, 1).toISOString());
    expect(run!.endedAt).toBe(new Date(2026, 10, 23, 5, 43, 13, 1).toISOString());
  });

  it("does not close a run before its verdict, and a new start closes the previous run", () => {
    const t = new UuRunTracker();
    t.push(parseUuLogLine(L(1, "INFO", "Starting unattended upgrades script"), { file }).entry);
    t.push(parseUuLogLine(L(2, "INFO", "Packages that will be upgraded: libssl3"), { file }).entry);
    expect(t.settle()).toBeUndefined();
    const closed = t.push(parseUuLogLine(L(5000, "INFO", "Starting unattended upgrades script"), { file }).entry);
    expect(closed).toHaveLength(1);
    expect(closed[0]!.outcome).toEqual({ status: "failed", reason: expect.stringMatching(/without a verdict/) });
    expect(t.inRun).toBe(true);
  });

  it("reports a dpkg failure with the error message and the package dpkg failed on", () => {
    const log = [
      L(1, "INFO", "Starting unattended upgrades script"),
      L(2, "INFO", "Packages that will be upgraded: prdemo"),
      L(300, "ERROR", "Exception happened during upgrade."),
      "Traceback (most recent call last):",
      'SystemError: installArchives() failed',
      L(301, "ERROR", "Installing the upgrades failed!"),
      L(302, "ERROR", "error message: installArchives() failed"),
      L(303, "ERROR", "dpkg returned a error! See /var/log/unattended-upgrades/unattended-upgrades-dpkg.log for details"),
    ].join("\n");
    const dpkg = [
      "Log started: 2026-11-23  05:43:10",
      "(Reading database ... \r(Reading database ... 100%\r(Reading database ... 7 files and directories currently installed.)\r",
      "Unpacking prdemo (1.2) over (1.1) ...\r",
      "Setting up prdemo (1.2) ...\r",
      "dpkg: error processing package prdemo (--configure):\r",
      "Errors were encountered while processing:\r",
      " prdemo\r",
      "E:Sub-process /usr/bin/dpkg returned an error code (1)",
      "Log ended: 2026-11-23  05:43:10",
    ].join("\n");
    const [run] = runsOf(log, blocksOf(dpkg));
    expect(run!.outcome).toEqual({ status: "failed", reason: "installing the upgrades failed: installArchives() failed (dpkg failed on prdemo)" });
    expect(run!.errors[0]).toBe("Exception happened during upgrade.\nTraceback (most recent call last):\nSystemError: installArchives() failed");
    expect(run!.dpkg).toEqual({ blocks: 1, setUp: ["prdemo"], failedPackages: ["prdemo"], unpacked: [{ pkg: "prdemo", version: "1.2", from: "1.1" }] });
  });

  it("calls a failure after some packages were set up partial", () => {
    const log = [
      L(1, "INFO", "Starting unattended upgrades script"),
      L(2, "INFO", "Packages that will be upgraded: liba libb"),
      L(301, "ERROR", "Installing the upgrades failed!"),
    ].join("\n");
    const dpkg = ["Log started: 2026-11-23  05:43:10", "Setting up liba:amd64 (2.0) ...", "Log ended: 2026-11-23  05:43:10", "", "Log started: 2026-11-23  05:43:10", "Setting up libb:amd64 (2.0) ...", "dpkg: error processing package libb:amd64 (--configure):", "Log ended: 2026-11-23  05:43:10"].join("\n");
    expect(runsOf(log, blocksOf(dpkg))[0]!.outcome.status).toBe("partial");
  });

  it("calls a run with a conffile prompt partial even though all other upgrades went in", () => {
    const log = [
      L(1, "INFO", "Starting unattended upgrades script"),
      L(2, "WARNING", "Package openssh-server has conffile prompt and needs to be upgraded manually"),
      L(3, "INFO", "package openssh-server not upgraded"),
      L(4, "INFO", "Packages that will be upgraded: libssl3"),
      L(5, "INFO", "All upgrades installed"),
    ].join("\n");
    const [run] = runsOf(log);
    expect(run!.outcome).toEqual({ status: "partial", reason: "not upgraded because of a conffile prompt: openssh-server" });
    expect(run!.keptBack).toEqual(["openssh-server"]);
  });

  it("gives up runs (lock, broken cache) as failed, and notes a reboot", () => {
    const lock = [L(1, "INFO", "Starting unattended upgrades script"), L(2, "ERROR", "Lock could not be acquired (another package manager running?)")].join("\n");
    expect(runsOf(lock)[0]!.outcome).toEqual({ status: "failed", reason: "lock could not be acquired (another package manager running?)" });
    const reboot = [L(1, "INFO", "Starting unattended upgrades script"), L(2, "INFO", "No packages found that can be upgraded unattended and no pending auto-removals"), L(3, "WARNING", "Found /var/run/reboot-required, rebooting")].join("\n");
    expect(runsOf(reboot)[0]).toMatchObject({ outcome: { status: "ok" }, rebootRequired: true, packages: [] });
  });

  it("does not let a second instance that found the lock taken spoil the run in progress", () => {
    const lines = OK_RUN.split("\n");
    lines.splice(5, 0, L(22, "ERROR", "Lock file is already taken, exiting"));
    const [run] = runsOf(lines.join("\n"));
    expect(run!.outcome).toEqual({ status: "ok" });
  });

  it("ignores lines outside runs and dpkg blocks from before the run", () => {
    const early = blocksOf("Log started: 2026-11-23  05:40:00\nSetting up old (1) ...\nLog ended: 2026-11-23  05:40:01");
    const [run] = runsOf(`${L(0, "ERROR", "Lock file is already taken, exiting")}\n${OK_RUN}`, early);
    expect(run!.dpkg.blocks).toBe(0);
    expect(run!.errors).toEqual([]);
  });

  it("survives a snapshot/restore in the middle of a run (daemon restart)", () => {
    const lines = OK_RUN.split("\n");
    const t = new UuRunTracker();
    lines.slice(0, 5).forEach((l, i) => t.push(parseUuLogLine(l, { file, lineNo: i + 1 }).entry));
    const restored = new UuRunTracker(JSON.parse(JSON.stringify(t.snapshot())));
    const runs = runsOf(lines.slice(5).join("\n"), [], restored);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ packages: ["libssl3", "openssl"], outcome: { status: "ok" }, keptBack: ["prblack"] });
  });
});
