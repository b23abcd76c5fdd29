import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildDemoPackage, demoLibraryPath, demoVersionPath, dpkgArchitecture, LocalRepo } from "../../src/demo/package-fixture.js";
import { aptProcessAlive } from "../../src/intake/apt-process.js";
import { assembleEvent, runFinished } from "../../src/intake/assemble.js";
import { parseSpoolRecord, type SpoolRecord } from "../../src/intake/spool-record.js";
import { HermeticApt } from "../helpers/apt.js";

/**
 * Real apt-get and unattended-upgrade, with patchroll's hooks configured from deploy/apt/50patchroll,
 * against a local repository of demo packages built for each test.
 */
describe("apt hooks under real apt", () => {
  let work: string;
  let spool: string;
  let capture: string;
  let name: string;
  let arch: string;
  let repo: LocalRepo;
  let apt: HermeticApt | undefined;

  beforeEach(async () => {
    work = mkdtempSync("/var/tmp/patchroll-test-intake-apt-");
    spool = join(work, "spool");
    capture = join(work, "capture");
    name = `prt${randomBytes(4).toString("hex")}`;
    arch = await dpkgArchitecture();
    repo = new LocalRepo(join(work, "repo"), { origin: "patchroll-test", label: "patchroll-test-security", suite: "stable-security", codename: "prtest-security" });
  });

  afterEach(async () => {
    await apt?.cleanup();
    apt = undefined;
    rmSync(work, { recursive: true, force: true });
  });

  async function publish(...versions: string[]): Promise<void> {
    for (const version of versions) await repo.add(await buildDemoPackage({ dir: join(work, "debs"), name, version }));
    await repo.publish();
  }

  /** Reads and removes every spool record, oldest first. */
  function takeRecords(): SpoolRecord[] {
    const mtime = (f: string) => statSync(join(spool, f), { bigint: true }).mtimeNs;
    const names = readdirSync(spool).filter((f) => f.endsWith(".rec")).sort((a, b) => (mtime(a) < mtime(b) ? -1 : 1));
    const records = names.map((f) => parseSpoolRecord(readFileSync(join(spool, f), "utf8"), f, mtime(f)));
    for (const f of names) rmSync(join(spool, f));
    expect(readdirSync(spool).filter((f) => f.startsWith("."))).toEqual([]);
    return records;
  }

  async function installedVersion(): Promise<string> {
    return (await execa("dpkg-query", ["-W", "-f", "${Version}", name], { reject: false })).stdout;
  }

  it("spools one run per apt-get call, with its packages, and captures the old library before the upgrade", async () => {
    await publish("1.0", "1.1");
    apt = new HermeticApt({ root: join(work, "apt"), repo, hooks: { spoolDir: spool, captureDir: capture } });
    await apt.update();

    const install = await apt.install([`${name}=1.0`]);
    expect(install.exitCode, install.stderr).toBe(0);
    expect(install.stderr).not.toMatch(/^patchroll:/m);
    const first = takeRecords();
    expect(first.map((r) => r.kind)).toEqual(["pre-install", "post-invoke"]);
    expect(new Set(first.map((r) => r.runKey)).size).toBe(1);
    expect(first[0]).toMatchObject({ aptComm: "apt-get", unattended: false, commandLine: expect.stringContaining(`install -y --allow-downgrades ${name}=1.0`) });
    expect(aptProcessAlive(first[0]!.aptPid, first[0]!.aptStart, first[0]!.bootId)).toBe(false);
    expect(runFinished(first, false)).toBe(true);
    expect(assembleEvent(first, "h").packages).toEqual([{ name, arch, from: null, to: "1.0", action: "install" }]);

    const oldLibrary = readFileSync(demoLibraryPath(name));
    const upgrade = await apt.install([`${name}=1.1`]);
    expect(upgrade.exitCode, upgrade.stderr).toBe(0);
    const second = takeRecords();
    expect(second.map((r) => r.kind)).toEqual(["pre-install", "post-invoke"]);
    expect(second[1]!.runKey).toBe(second[0]!.runKey);
    expect(second[0]!.runKey).not.toBe(first[0]!.runKey);
    const event = assembleEvent(second, "h");
    expect(event.packages).toEqual([{ name, arch, from: "1.0", to: "1.1", action: "upgrade" }]);
    expect(event.endedAt).toBe(second[1]!.time);

    // dpkg replaced the library; the capture still holds the old one.
    const captured = join(capture, `${name}_1.0_${arch}`);
    expect(readFileSync(join(captured, "root", demoLibraryPath(name))).equals(oldLibrary)).toBe(true);
    expect(readFileSync(demoLibraryPath(name)).equals(oldLibrary)).toBe(false);
    expect(readFileSync(join(captured, "root", demoVersionPath(name)), "utf8")).toBe("1.0\n");
    expect(readFileSync(demoVersionPath(name), "utf8")).toBe("1.1\n");
    expect(readFileSync(join(captured, "manifest"), "utf8")).toContain(`replaced-by 1.1\nboot ${second[0]!.bootId}\napt ${second[0]!.aptPid} ${second[0]!.aptStart} apt-get\nspool-record ${second[0]!.id}.rec\n`);
    expect(readdirSync(capture)).toEqual([`${name}_1.0_${arch}`]);
  });

  it.each([
    ["read-only", "ro,size=1m", /spool dir .* is not writable/],
    ["full", "size=16k", /could not write the spool record .* \(disk full\?\)/],
  ])("lets apt-get succeed when the spool dir is %s, with one patchroll: line per hook", async (_what, mountOptions, reason) => {
    await publish("1.0");
    mkdirSync(spool, { recursive: true });
    await execa("mount", ["-t", "tmpfs", "-o", mountOptions, "patchroll-test-spool", spool]);
    try {
      if (!mountOptions.startsWith("ro")) {
        writeFileSync(join(spool, "spool-filler"), Buffer.alloc(12 * 1024)); // leave less than a block
        await execa("sh", ["-c", 'dd if=/dev/zero of="$1/spool-filler2" bs=1k 2>/dev/null || true', "sh", spool]);
      }
      apt = new HermeticApt({ root: join(work, "apt"), repo, hooks: { spoolDir: spool } });
      await apt.update();
      const result = await apt.install([name]);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(await installedVersion()).toBe("1.0");
      const lines = result.stderr.split("\n").filter((l) => l.startsWith("patchroll:"));
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^patchroll: apt-pre-install-pkgs: /);
      expect(lines[1]).toMatch(/^patchroll: apt-post-invoke: /);
      for (const line of lines) {
        expect(line).toMatch(reason);
        expect(line).toMatch(/reconciliation will catch up$/);
      }
      expect(readdirSync(spool).filter((f) => f.endsWith(".rec") || f.startsWith(".tmp-"))).toEqual([]);
    } finally {
      await execa("umount", [spool], { reject: false });
    }
  });

  it("spools an unattended-upgrade run as one unattended run, however many times it runs dpkg", async () => {
    const other = `${name}b`;
    const build = async (pkg: string, version: string) => repo.add(await buildDemoPackage({ dir: join(work, "debs"), name: pkg, version }));
    await build(name, "1.0");
    await build(other, "1.0");
    await repo.publish();
    apt = new HermeticApt({ root: join(work, "apt"), repo, hooks: { spoolDir: spool } });
    await apt.update();
    expect((await apt.install([name, other])).exitCode).toBe(0);
    takeRecords();

    await build(name, "1.1");
    await build(other, "1.1");
    await repo.publish();
    await apt.update();
    const uu = await apt.unattendedUpgrade();
    expect(uu.exitCode, `${uu.stdout}\n${uu.stderr}`).toBe(0);
    expect(await installedVersion()).toBe("1.1");
    expect(readFileSync(join(apt.uuLogDir, "unattended-upgrades.log"), "utf8")).toMatch(new RegExp(`Packages that will be upgraded: (${name} ${other}|${other} ${name})`));

    // unattended-upgrades' minimal steps: one dpkg run per package, each with its own pair of hook calls.
    const records = takeRecords();
    expect(records.map((r) => r.kind)).toEqual(["pre-install", "post-invoke", "pre-install", "post-invoke"]);
    expect(records.every((r) => r.unattended && r.aptComm === "unattended-upgr")).toBe(true);
    expect(new Set(records.map((r) => r.runKey)).size).toBe(1);
    expect(assembleEvent(records, "h").packages.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name, arch, from: "1.0", to: "1.1", action: "upgrade" },
      { name: other, arch, from: "1.0", to: "1.1", action: "upgrade" },
    ]);
  });
});
