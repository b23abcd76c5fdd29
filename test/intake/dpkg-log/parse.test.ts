import { describe, expect, it } from "vitest";
import { changeGroups } from "../../../src/intake/dpkg-log/changes.js";
import { groupDpkgRuns, parseDpkgLogLine, type DpkgLogEntry } from "../../../src/intake/dpkg-log/parse.js";

const file = "/var/log/dpkg.log";

function entries(text: string): DpkgLogEntry[] {
  return text
    .trim()
    .split("\n")
    .map((line, i) => {
      const p = parseDpkgLogLine(line.trim(), { file, lineNo: i + 1 });
      if (p.entry === undefined) throw new Error(p.warning.message);
      return p.entry;
    });
}

const changesOf = (text: string, joinGapSeconds?: number) => changeGroups(groupDpkgRuns(entries(text)), { joinGapSeconds }).groups;

describe("parseDpkgLogLine", () => {
  it("reads every record dpkg writes", () => {
    const [startup, upgrade, status, conffile, install] = entries(`
      2026-11-23 05:43:13 startup archives unpack
      2026-11-23 05:43:13 upgrade prdemo:all 1.0 1.1
      2026-11-23 05:43:13 status installed libc-bin:amd64 2.36-9+deb12u14
      2026-11-23 05:43:13 conffile /etc/prdemo/with space.conf keep
      2026-11-23 05:43:13 install libgdbm6 <none> 1.23-3
    `);
    const time = new Date(2026, 10, 23, 5, 43, 13).toISOString();
    expect(startup).toEqual({ kind: "startup", mode: "archives unpack", stamp: "2026-11-23 05:43:13", time, ref: { file, lineNo: 1 } });
    expect(upgrade).toMatchObject({ kind: "action", action: "upgrade", pkg: "prdemo", arch: "all", from: "1.0", to: "1.1" });
    expect(status).toMatchObject({ kind: "status", state: "installed", pkg: "libc-bin", arch: "amd64", version: "2.36-9+deb12u14" });
    expect(conffile).toMatchObject({ kind: "conffile", path: "/etc/prdemo/with space.conf", decision: "keep" });
    expect(install).toMatchObject({ action: "install", pkg: "libgdbm6", from: null, to: "1.23-3" });
    expect(install).not.toHaveProperty("arch"); // dpkg before 1.16 logged no architecture
  });

  it("warns, naming file and line, about lines dpkg does not write", () => {
    for (const bad of ["", "garbage", "2026-11-23 05:43:13 frobnicate x y", "2026-13-01 05:43:13 startup archives unpack", "2026-11-23 05:43:13 upgrade PRDEMO 1 2", "2026-11-23 05:43:13 upgrade prdemo:all 1.0"]) {
      const p = parseDpkgLogLine(bad, { file, lineNo: 42 });
      expect(p.entry, bad).toBeUndefined();
      expect(p.warning?.message).toContain(`${file}:42`);
      expect(p.warning?.lineNo).toBe(42);
    }
  });
});

describe("groupDpkgRuns and changeGroups", () => {
  it("turns apt's unpack + configure invocations into one group with the net change", () => {
    const groups = changesOf(`
      2026-11-23 05:43:13 startup archives unpack
      2026-11-23 05:43:13 upgrade libssl3:amd64 3.0.17-1~deb12u2 3.0.17-1~deb12u3
      2026-11-23 05:43:13 status unpacked libssl3:amd64 3.0.17-1~deb12u3
      2026-11-23 05:43:14 install newdep:amd64 <none> 1.0
      2026-11-23 05:43:15 startup packages configure
      2026-11-23 05:43:15 configure libssl3:amd64 3.0.17-1~deb12u3 <none>
      2026-11-23 05:43:15 configure newdep:amd64 1.0 <none>
      2026-11-23 05:43:15 trigproc libc-bin:amd64 2.36-9+deb12u14 <none>
      2026-11-23 05:43:16 status installed libssl3:amd64 3.0.17-1~deb12u3
    `);
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({ runs: 2, time: new Date(2026, 10, 23, 5, 43, 13).toISOString(), endedAt: new Date(2026, 10, 23, 5, 43, 16).toISOString() });
    expect(groups[0]!.packages).toEqual([
      { name: "libssl3", arch: "amd64", from: "3.0.17-1~deb12u2", to: "3.0.17-1~deb12u3", action: "upgrade" },
      { name: "newdep", arch: "amd64", from: null, to: "1.0", action: "install" },
    ]);
  });

  it("tells downgrade and reinstall from upgrade by Debian version order", () => {
    const [g] = changesOf(`
      2026-11-23 05:43:13 startup archives install
      2026-11-23 05:43:13 upgrade pa:all 1.0~rc1 1.0
      2026-11-23 05:43:13 upgrade pb:all 1:1.0 2.0
      2026-11-23 05:43:13 upgrade pc:all 2.0-1 2.0-1
      2026-11-23 05:43:13 upgrade pd:all 1.10 1.9
    `);
    expect(g!.packages.map((p) => [p.name, p.action])).toEqual([
      ["pa", "upgrade"],
      ["pb", "downgrade"],
      ["pc", "reinstall"],
      ["pd", "downgrade"],
    ]);
  });

  it("reports removals, ignores a purge of what was already removed, and keeps configure-only runs", () => {
    const groups = changesOf(
      `
      2026-11-23 05:00:00 startup packages remove
      2026-11-23 05:00:00 remove gone:amd64 1.0 <none>
      2026-11-23 05:00:00 status config-files gone:amd64 1.0
      2026-11-23 06:00:00 startup packages purge
      2026-11-23 06:00:00 purge gone:amd64 1.0 <none>
      2026-11-23 06:00:00 status not-installed gone:amd64 <none>
      2026-11-23 07:00:00 startup packages configure
      2026-11-23 07:00:00 configure half:amd64 2.0 <none>
      2026-11-23 07:00:00 status installed half:amd64 2.0
    `,
      30,
    );
    expect(groups.map((g) => g.packages)).toEqual([
      [{ name: "gone", arch: "amd64", from: "1.0", to: null, action: "remove" }],
      [],
      [{ name: "half", arch: "amd64", from: "2.0", to: "2.0", action: "configure" }],
    ]);
  });

  it("starts a new group after a pause longer than joinGapSeconds", () => {
    const text = `
      2026-11-23 05:00:00 startup archives unpack
      2026-11-23 05:00:01 upgrade pa:all 1 2
      2026-11-23 05:00:40 startup archives unpack
      2026-11-23 05:00:40 upgrade pb:all 1 2
    `;
    expect(changesOf(text, 30)).toHaveLength(2);
    expect(changesOf(text, 60)).toHaveLength(1);
  });

  it("gives lines before the first startup (a log rotated mid-run) a run of mode unknown", () => {
    const runs = groupDpkgRuns(entries("2026-11-23 05:00:00 status installed a:all 1\n2026-11-23 05:00:01 startup archives unpack"));
    expect(runs.map((r) => [r.mode, r.entries.length])).toEqual([
      ["unknown", 1],
      ["archives unpack", 0],
    ]);
  });
});
