import { describe, expect, it } from "vitest";
import type { PackageChange } from "../../src/intake/apt-event.js";
import { hookReport, uuPackageNames, uuReport } from "../../src/intake/change-report.js";
import type { SpoolRecord } from "../../src/intake/spool-record.js";
import type { UuRun } from "../../src/intake/uu-log/run.js";

const run = (over: Partial<UuRun> = {}): UuRun => ({
  startedAt: "2026-11-23T05:43:10.000Z",
  endedAt: "2026-11-23T05:43:20.000Z",
  origins: ["origin=Debian,codename=bookworm-security,label=Debian-Security"],
  packages: ["libssl3", "openssl"],
  keptBack: ["prheld"],
  outcome: { status: "ok" },
  rebootRequired: true,
  dryRun: false,
  autoRemoved: [],
  errors: [],
  dpkg: { blocks: 2, setUp: ["libssl3:amd64", "openssl"], failedPackages: [], unpacked: [{ pkg: "libssl3:amd64", version: "3.0.22", from: "3.0.19" }] },
  ref: { file: "/var/log/unattended-upgrades/unattended-upgrades.log", lineNo: 1 },
  ...over,
});
const change = (name: string, from: string | null, to: string, arch = "amd64"): PackageChange => ({ name, arch, from, to, action: from === null ? "install" : "upgrade" });

describe("uuReport", () => {
  it("takes versions from the run's own dpkg output, the rest from dpkg.log, and keeps what the log says", () => {
    const fromDpkgLog = [change("libssl3", "3.0.19", "3.0.22"), change("openssl", "3.0.19", "3.0.20"), change("openssl", "3.0.20", "3.0.22"), change("unrelated", "1", "2")];
    const r = uuReport(run(), fromDpkgLog);
    expect(r).toMatchObject({ source: "uu-log", key: "2026-11-23T05:43:10.000Z", time: "2026-11-23T05:43:10.000Z", endedAt: "2026-11-23T05:43:20.000Z", unattended: true });
    expect(r.packages).toEqual([change("libssl3", "3.0.19", "3.0.22"), change("openssl", "3.0.19", "3.0.22")]);
    expect(r.uu).toEqual({
      outcome: { status: "ok" },
      names: ["libssl3", "openssl"],
      details: { startedAt: "2026-11-23T05:43:10.000Z", endedAt: "2026-11-23T05:43:20.000Z", origins: run().origins, keptBack: ["prheld"], rebootRequired: true },
    });
  });

  it("gives a package dpkg.log does not show the architecture dpkg printed, or unknown", () => {
    const r = uuReport(run({ dpkg: { blocks: 1, setUp: [], failedPackages: [], unpacked: [{ pkg: "prdemo", version: "1.1", from: "1.0" }, { pkg: "libx:i386", version: "2" }] } }), []);
    expect(r.packages).toEqual([change("prdemo", "1.0", "1.1", "unknown"), change("libx", null, "2", "i386")]);
    expect(uuPackageNames(run())).toEqual(["libssl3", "openssl"]);
  });

  it("reports no change for a dry run, and a run saved by an older version (no unpacked list) from dpkg.log", () => {
    expect(uuReport(run({ dryRun: true }), [change("libssl3", "3.0.19", "3.0.22")]).packages).toEqual([]);
    const old = run({ dpkg: { blocks: 1, setUp: ["libssl3"], failedPackages: [] } });
    expect(uuReport(old, [change("libssl3", "3.0.19", "3.0.22")]).packages).toEqual([change("libssl3", "3.0.19", "3.0.22")]);
  });
});

describe("hookReport", () => {
  it("carries the run key, times, packages, whether unattended-upgrades ran it, and the command line", () => {
    const base: SpoolRecord = {
      v: 1, kind: "pre-install", id: "b-1-1-pre-install", runKey: "b1825a29d417-8281-99118", bootId: "b1825a29", aptPid: 8281, aptStart: 99118,
      aptComm: "apt-get", time: "2026-11-23T05:43:13.000Z", packages: [change("prdemo", "1.0", "1.1")], commandLine: "apt-get install prdemo", unattended: false,
    };
    const post: SpoolRecord = { ...base, kind: "post-invoke", id: "b-2-2-post-invoke", time: "2026-11-23T05:43:14.000Z", packages: [] };
    const { commandLine: _unused, ...postWithout } = post;
    expect(hookReport([postWithout, base], "h")).toEqual({
      source: "hook", key: base.runKey, time: base.time, endedAt: post.time, packages: [change("prdemo", "1.0", "1.1")], unattended: false, commandLine: "apt-get install prdemo",
    });
  });
});
