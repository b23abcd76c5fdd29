import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDemoPackage, demoLibraryPath, dpkgArchitecture, LocalRepo } from "../../src/demo/package-fixture.js";
import { HermeticApt } from "../helpers/apt.js";
import { uniqueHostId } from "../helpers/redis.js";
import { frozenCheckout } from "./frozen-checkout.js";
import { parseUnit, stagedPaths, startUnit, type UnitProcess } from "./unit-process.js";

const run = (file: string, args: string[], env: Record<string, string> = {}) =>
  execa(file, args, { reject: false, all: true, timeout: 180_000, forceKillAfterDelay: 5_000, env });

/**
 * What deploy/install.sh installs works together under real apt: the installed apt snippet calls the
 * installed hooks (hook-lib.sh included), apt-get succeeds, the spool and capture dirs the installer made
 * receive the records and the old files, and the daemon started from the installed unit turns them into an
 * event. Everything lives in a staging root; the snippet's paths are mapped into it, nothing else changed.
 */
describe("installed hooks under real apt, drained by the installed daemon", () => {
  const name = `prinst${randomBytes(3).toString("hex")}`;
  let destdir: string;
  let apt: HermeticApt | undefined;
  let daemon: UnitProcess | undefined;

  beforeAll(async () => {
    destdir = mkdtempSync("/var/tmp/patchroll-test-install-hooks-");
    const r = await run(join(frozenCheckout(destdir), "deploy/install.sh"), ["--destdir", destdir]);
    expect(r.exitCode, r.all).toBe(0);
  });

  afterAll(async () => {
    if (daemon !== undefined) {
      daemon.child.kill("SIGKILL");
      await daemon.child;
    }
    await apt?.cleanup();
    rmSync(destdir, { recursive: true, force: true });
  });

  it("apt-get installs, upgrades and purges with the installed snippet; the daemon from the unit ingests the runs", async () => {
    const arch = await dpkgArchitecture();
    const repo = new LocalRepo(join(destdir, "repo"), { origin: "patchroll-test", label: "patchroll-test-security", suite: "stable-security", codename: "prtest" });
    for (const version of ["1.0", "1.1"]) await repo.add(await buildDemoPackage({ dir: join(destdir, "debs"), name, version }));
    await repo.publish();
    apt = new HermeticApt({ root: join(destdir, "apt"), repo });
    const map = (text: string) =>
      text.replaceAll("/usr/lib/patchroll/", `${destdir}/usr/lib/patchroll/`).replaceAll("/var/spool/patchroll", `${destdir}/var/spool/patchroll`).replaceAll("/var/lib/patchroll/", `${destdir}/var/lib/patchroll/`);
    writeFileSync(join(apt.root, "parts", "50patchroll"), map(readFileSync(join(destdir, "etc/apt/apt.conf.d/50patchroll"), "utf8")));
    await apt.update();

    const install = await apt.install([`${name}=1.0`]);
    expect(install.exitCode, install.stderr).toBe(0);
    expect(install.stderr).not.toMatch(/^patchroll:/m);
    const oldLibrary = readFileSync(demoLibraryPath(name));
    const upgrade = await apt.install([`${name}=1.1`]);
    expect(upgrade.exitCode, upgrade.stderr).toBe(0);
    expect(upgrade.stderr).not.toMatch(/^patchroll:/m);
    const spool = join(destdir, "var/spool/patchroll");
    expect(readdirSync(spool).filter((f) => f.endsWith(".rec")).map((f) => /(pre-install|post-invoke)\.rec$/.exec(f)?.[0]).sort()).toEqual(["post-invoke.rec", "post-invoke.rec", "pre-install.rec", "pre-install.rec"]);
    // The installer's capture dir shares /usr's filesystem: the hook could hard-link the old library.
    const captured = join(destdir, "var/lib/patchroll/capture", `${name}_1.0_${arch}`, "root", demoLibraryPath(name));
    expect(readFileSync(captured).equals(oldLibrary)).toBe(true);

    const env = stagedPaths(destdir, uniqueHostId("install-hooks"));
    mkdirSync(env["PATCHROLL_LXC_PATH"]!, { recursive: true });
    daemon = startUnit(parseUnit(readFileSync(join(destdir, "etc/systemd/system/patchroll.service"), "utf8")), destdir, env);
    await daemon.waitFor("patchroll daemon started");
    const cli = (...args: string[]) => run(join(destdir, "usr/bin/patchroll"), args, { ...env, PATH: process.env["PATH"] ?? "/usr/bin:/bin" });
    let events: { packages: { name: string; from: string | null; to: string | null; action: string }[] }[] = [];
    for (let i = 0; i < 300 && events.length < 2; i++) {
      const list = await cli("events", "list", "--json");
      expect(list.exitCode, list.all).toBe(0);
      events = (JSON.parse(list.stdout) as { events: typeof events }).events;
      if (events.length < 2) await new Promise((r) => setTimeout(r, 100));
    }
    expect(events.map((e) => e.packages)).toEqual([
      [{ name, arch, from: "1.0", to: "1.1", action: "upgrade" }],
      [{ name, arch, from: null, to: "1.0", action: "install" }],
    ]);
    expect(readdirSync(spool).filter((f) => f.endsWith(".rec"))).toEqual([]);
    daemon.child.kill("SIGTERM");
    expect((await daemon.child).exitCode, daemon.output()).toBe(0);

    const purge = await apt.purge([name]);
    expect(purge.exitCode, purge.stderr).toBe(0);
    expect(existsSync(demoLibraryPath(name))).toBe(false);
  });
});
