import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listPins, pinnedPaths, pinOldFiles } from "../../src/containers/pins.js";
import { releasePin } from "../../src/containers/release-pin.js";
import { buildDemoPackage, demoLibraryPath, demoVersionPath, dpkgArchitecture, LocalRepo } from "../../src/demo/package-fixture.js";
import { scanContainer } from "../../src/detect/scan.js";
import { captureDir } from "../../src/intake/capture.js";
import { HermeticApt } from "../helpers/apt.js";
import { lxcTestBed, type TestBed, type TestContainer } from "../helpers/lxc.js";

/**
 * A pin for real: a library upgraded by apt (the hook captures the old files), the container pinned to the
 * old version while the host keeps the new one, across restarts; then unpinned onto the new version.
 */
describe("pins (real apt upgrade with the capture hook, real LXC)", () => {
  const pkg = `prp${randomBytes(3).toString("hex")}`;
  let bed: TestBed;
  let apt: HermeticApt;
  let c: TestContainer;
  let stateDir: string;

  beforeAll(async () => {
    bed = await lxcTestBed("pins");
    stateDir = join(bed.lxcPath, "state");
    const repo = new LocalRepo(join(bed.lxcPath, "repo"), { origin: "prt", label: "prt", suite: "prt", codename: "prt" });
    for (const v of ["1.0", "2.0"]) await repo.add(await buildDemoPackage({ dir: join(bed.lxcPath, "debs"), name: pkg, version: v }));
    await repo.publish();
    apt = new HermeticApt({ root: join(bed.lxcPath, "apt"), repo, hooks: { spoolDir: join(bed.lxcPath, "spool"), captureDir: captureDir(stateDir) } });
    await apt.update();
    expect((await apt.install([`${pkg}=1.0`])).exitCode).toBe(0);
    c = await bed.create({ env: { LD_PRELOAD: demoLibraryPath(pkg) } });
    expect((await apt.install([`${pkg}=2.0`])).exitCode).toBe(0);
  });
  afterAll(async () => {
    await apt?.cleanup();
    await bed?.cleanup();
  });

  const mappedInode = async () => {
    const scan = await scanContainer(await c.info(), { packages: [pkg], pinnedPaths: pinnedPaths(stateDir, c.name) });
    return scan;
  };

  it("runs the old library in the pinned container while the host keeps the new one, across restarts", async () => {
    await bed.driver.stop(c.name, 5);
    const pinned = await pinOldFiles({ stateDir, container: c.name, deltaDir: c.deltaDir, event: { packages: [{ name: pkg, arch: await dpkgArchitecture(), from: "1.0", to: "2.0", action: "upgrade" }] }, rolloutId: "r1" });
    expect(pinned).toMatchObject({ pinned: true });
    await c.start();
    const hostLib = demoLibraryPath(pkg);
    for (let restart = 0; restart < 2; restart++) {
      const scan = await mappedInode();
      expect(scan.verdict).toBe("pinned");
      expect(scan.pinned.map((p) => p.path)).toContain(hostLib);
      expect(scan.stale).toEqual([]);
      // The container reads 1.0 through its delta; the host has 2.0.
      expect(readFileSync(join(c.deltaDir, demoVersionPath(pkg)), "utf8").trim()).toBe("1.0");
      expect(readFileSync(demoVersionPath(pkg), "utf8").trim()).toBe("2.0");
      const maps = readFileSync(`/proc/${(await c.info()).pids.at(-1)}/maps`, "utf8");
      expect(maps).toContain(String(statSync(join(c.deltaDir, hostLib)).ino));
      await bed.driver.stop(c.name, 5);
      await c.start();
    }
    expect(listPins(stateDir).map((p) => [p.container, p.packages[0]!.version])).toEqual([[c.name, "1.0"]]);
  });

  it("unpins onto the host's current files, restarting the container", async () => {
    const { pin, restarted } = await releasePin({ stateDir, container: c.name, deltaDir: c.deltaDir, driver: bed.driver, stopTimeoutSec: 5 });
    expect(pin?.container).toBe(c.name);
    expect(restarted).toBe(true);
    const scan = await mappedInode();
    expect(scan.verdict).toBe("patched");
    expect(listPins(stateDir)).toEqual([]);
    const maps = readFileSync(`/proc/${(await c.info()).pids.at(-1)}/maps`, "utf8");
    expect(maps).toContain(String(statSync(demoLibraryPath(pkg)).ino));
  });
});
