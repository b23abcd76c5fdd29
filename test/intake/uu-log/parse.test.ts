import { describe, expect, it } from "vitest";
import { parseUuLogLine, type UuMessage } from "../../../src/intake/uu-log/parse.js";
import { UU_MESSAGE_PATTERNS } from "../../../src/intake/uu-log/patterns.js";

const ref = { file: "/var/log/unattended-upgrades/unattended-upgrades.log", lineNo: 7 };
const at = "2026-11-23 05:43:13,475";

function msg(line: string): UuMessage {
  const { entry } = parseUuLogLine(line, ref);
  if (entry.type !== "message") throw new Error(`not a message: ${line}`);
  return entry;
}

// Messages as unattended-upgrades 2.9.1 formats them (logging format '%(asctime)s %(levelname)s %(message)s').
const samples: [string, string, Record<string, unknown>?][] = [
  ["INFO Starting unattended upgrades script", "start"],
  ["INFO Allowed origins are: origin=Debian,codename=bookworm,label=Debian, origin=Debian,codename=bookworm,label=Debian-Security", "allowed-origins", { origins: ["origin=Debian,codename=bookworm,label=Debian", "origin=Debian,codename=bookworm,label=Debian-Security"] }],
  ["INFO Initial blacklist: prblack libfoo", "blacklist", { packages: ["prblack", "libfoo"] }],
  ["INFO Initial blacklist: ", "blacklist", { packages: [] }],
  ["INFO Initial whitelist (not strict): ", "whitelist", { packages: [] }],
  ["INFO Packages that will be upgraded: libssl3 openssl", "will-upgrade", { packages: ["libssl3", "openssl"] }],
  ["INFO Option --dry-run given, *not* performing real actions", "dry-run"],
  ["INFO Writing dpkg log to /var/log/unattended-upgrades/unattended-upgrades-dpkg.log", "writing-dpkg-log"],
  ["INFO All upgrades installed", "all-installed"],
  ["INFO No packages found that can be upgraded unattended and no pending auto-removals", "nothing-to-do"],
  ["ERROR Installing the upgrades failed!", "install-failed"],
  ["ERROR error message: installArchives() failed", "error-message", { detail: "installArchives() failed" }],
  ["ERROR dpkg returned a error! See /var/log/unattended-upgrades/unattended-upgrades-dpkg.log for details", "dpkg-error"],
  ["ERROR dpkg returned an error! See /var/log/unattended-upgrades/unattended-upgrades-dpkg.log for details", "dpkg-error"],
  ["ERROR Exception happened during upgrade.", "exception"],
  ["ERROR Lock could not be acquired (another package manager running?)", "fatal"],
  ["ERROR Apt returned an error, exiting", "fatal"],
  ["ERROR Cache has broken packages, exiting", "fatal"],
  ["ERROR The URI http://deb.debian.org/x.deb failed to download, aborting", "fatal", { reason: "download of http://deb.debian.org/x.deb failed" }],
  ["ERROR Lock file is already taken, exiting", "skipped"],
  ["ERROR An error occurred: 404  Not Found", "error", { detail: "404  Not Found" }],
  ["INFO Package prblack is blacklisted.", "kept-back", { pkg: "prblack", reason: "blacklisted" }],
  ["INFO Package libc6 is marked to be held back.", "kept-back", { pkg: "libc6", reason: "held" }],
  ["INFO Package foo's origin is not trusted.", "kept-back", { pkg: "foo" }],
  ["INFO Package prdemo is kept back because a related package is kept back or due to local apt_preferences(5).", "kept-back", { pkg: "prdemo" }],
  ["INFO Package foo is not on the strict whitelist.", "kept-back", { pkg: "foo" }],
  ["INFO Package foo is not whitelisted and it is not a dependency of a whitelisted package.", "kept-back", { pkg: "foo" }],
  ["INFO package openssh-server not upgraded", "not-upgraded", { pkg: "openssh-server" }],
  ["WARNING Package openssh-server has conffile prompt and needs to be upgraded manually", "conffile-prompt", { pkg: "openssh-server" }],
  ["WARNING package libfoo upgradable but fails to be marked for upgrade (E:Unable to correct problems)", "mark-failed", { pkg: "libfoo", reason: "E:Unable to correct problems" }],
  ["INFO Packages that were successfully auto-removed: linux-image-6.1.0-1-amd64", "auto-removed", { packages: ["linux-image-6.1.0-1-amd64"] }],
  ["INFO Packages that are kept back: ", "autoremove-kept", { packages: [] }],
  ["ERROR Auto-removing the packages failed!", "autoremove-failed"],
  ["INFO Removing unused kernel packages: linux-image-6.1.0-1-amd64", "removing-kernels"],
  ["WARNING Unclean dpkg state detected, trying to correct", "dpkg-unclean"],
  ["WARNING dpkg --configure -a output:", "notice"],
  ["WARNING SIGTERM received, will stop", "interrupted"],
  ["WARNING System is on metered connection, stopping", "interrupted"],
  ["WARNING Found /var/run/reboot-required, rebooting", "reboot-required"],
  ["WARNING Found /var/run/reboot-required, but not rebooting because alice bob are logged in.", "reboot-required"],
  ["INFO Skipping update check: today is 1,Mon,Monday but patch days are Sat", "skipped"],
  ["INFO Not running on the development release.", "skipped"],
  ["INFO Checking if system is running on battery is skipped. Please install powermgmt-base package to check power status and skip installing updates when the system is running on battery.", "notice"],
  ["INFO The list of kept packages can't be calculated in dry-run mode.", "notice"],
];

describe("parseUuLogLine", () => {
  it.each(samples)("recognises %s", (text, kind, fields) => {
    const { entry, warning } = parseUuLogLine(`${at} ${text}`, ref);
    expect(warning).toBeUndefined();
    expect(entry).toMatchObject({ type: "message", kind, time: new Date(2026, 10, 23, 5, 43, 13, 475).toISOString(), ref });
    if (fields) expect((entry as UuMessage).fields).toMatchObject(fields);
  });

  it("has a sample for every kind in the table", () => {
    const tested = new Set(samples.map((s) => s[1]));
    expect([...new Set(UU_MESSAGE_PATTERNS.map((p) => p.kind))].filter((k) => !tested.has(k))).toEqual([]);
  });

  it("surfaces an unknown message as unknown, with a warning naming file and line", () => {
    const { entry, warning } = parseUuLogLine(`${at} INFO Paquets à mettre à jour : libssl3`, ref);
    expect(entry).toMatchObject({ type: "message", kind: "unknown", level: "INFO", message: "Paquets à mettre à jour : libssl3" });
    expect(warning?.message).toContain(`${ref.file}:7`);
    expect(warning?.lineNo).toBe(7);
  });

  it("takes every DEBUG line as debug, without warning", () => {
    const { entry, warning } = parseUuLogLine(`${at} DEBUG applying set ['zip']`, ref);
    expect(entry).toMatchObject({ kind: "debug" });
    expect(warning).toBeUndefined();
  });

  it("treats a line without the timestamp prefix as the continuation of the previous message", () => {
    expect(parseUuLogLine('  File "/usr/bin/unattended-upgrade", line 871, in cache_commit', ref).entry).toEqual({
      type: "continuation",
      text: '  File "/usr/bin/unattended-upgrade", line 871, in cache_commit',
      ref,
    });
  });

  it("warns about an impossible timestamp instead of inventing a date", () => {
    const { entry, warning } = parseUuLogLine("2026-02-30 05:43:13,475 INFO All upgrades installed", ref);
    expect(entry.type).toBe("continuation");
    expect(warning?.message).toMatch(/impossible timestamp/);
  });

  it("ignores a trailing carriage return", () => {
    expect(msg(`${at} INFO All upgrades installed\r`).kind).toBe("all-installed");
  });
});
