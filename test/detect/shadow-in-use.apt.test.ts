import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeWhiteouts, markOpaque } from "../../src/containers/overlay-markers.js";
import { buildDemoPackage, demoLibraryPath } from "../../src/demo/package-fixture.js";
import { scanContainer, verifyPatched } from "../../src/detect/scan.js";
import { runDpkg } from "../helpers/dpkg-lock.js";
import { scanCli, scanJson } from "../helpers/scan-json.js";
import { buildFilesPackage } from "../helpers/files-package.js";
import { lxcTestBed, type TestBed, type TestContainer } from "../helpers/lxc.js";

// Two packages of this run: a real shared library (loaded into each service with LD_PRELOAD) and data files.
const id = randomBytes(3).toString("hex");
const lib = `prt-slib-${id}`;
const data = `prt-sdat-${id}`;
const libPath = demoLibraryPath(lib);
let bed: TestBed;
let work: string;
let copy: TestContainer;
let masks: TestContainer;
let clean: TestContainer;

const dataFiles = (v: string) => ({ [`/usr/share/${data}/data/a.txt`]: `a ${v}\n`, [`/usr/share/${data}/data/b.txt`]: `b ${v}\n`, [`/usr/share/${data}/more/c.txt`]: `c ${v}\n` });
const install = async (version: string) => {
  await runDpkg(["-i", await buildDemoPackage({ dir: work, name: lib, version }), await buildFilesPackage({ dir: work, name: data, version, files: dataFiles(version) })]);
};
const servicePid = async (c: TestContainer) => (await c.info()).pids.find((p) => readFileSync(`/proc/${p}/comm`, "utf8").trim() === "busybox") as number;

beforeAll(async () => {
  work = mkdtempSync("/var/tmp/patchroll-test-debs-");
  bed = await lxcTestBed("shadow");
  await install("1.0");
  const preload = { LD_PRELOAD: libPath };
  // A developer's copy of the library, put into the delta while the service runs the host's.
  copy = await bed.create({ env: preload });
  mkdirSync(join(copy.deltaDir, "usr/lib", lib), { recursive: true });
  copyFileSync(libPath, join(copy.deltaDir, libPath));
  masks = await bed.create({ start: false });
  mkdirSync(join(masks.deltaDir, "usr/share", data, "data"), { recursive: true });
  mkdirSync(join(masks.deltaDir, "usr/share", data, "more"), { recursive: true });
  await makeWhiteouts([join(masks.deltaDir, "usr/share", data, "data/a.txt")]);
  await markOpaque([join(masks.deltaDir, "usr/share", data, "more")]);
  await masks.start();
  clean = await bed.create({ env: preload });
  await install("1.1");
});
afterAll(async () => {
  try {
    await runDpkg(["--purge", lib, data]);
  } finally {
    rmSync(work, { recursive: true, force: true });
    await bed.cleanup();
  }
});

describe("the shadow check of every scan", () => {
  it("a library copied into the delta before the upgrade: stale while the old host file runs, shadowed (never patched) after a restart", async () => {
    const before = await scanContainer(await copy.info());
    expect(before.verdict).toBe("stale");
    expect(before.stale).toEqual([expect.objectContaining({ pid: await servicePid(copy), path: libPath, via: "map" })]);
    expect(before.shadowed).toEqual([
      expect.objectContaining({ path: libPath, kind: "copy", package: lib, hostVersion: "1.1", deltaHolds: expect.stringMatching(/^its own copy .*md5/), fix: expect.stringContaining(`remove ${join(copy.deltaDir, libPath)}`) }),
    ]);

    await bed.driver.stop(copy.name, 10);
    await copy.start();
    const pid = await servicePid(copy);
    const after = await scanContainer(await copy.info());
    expect(after).toMatchObject({ verdict: "shadowed", stale: [], interpreted: [] });
    expect(after.shadowed).toEqual([expect.objectContaining({ path: libPath, package: lib, hostVersion: "1.1", usedBy: [{ pid, comm: "busybox", via: "map" }] })]);
    // The rollout's verification after that restart must not call it patched either.
    expect(await verifyPatched(await copy.info(), [lib])).toMatchObject({ ok: false, scan: { verdict: "shadowed" } });
  });

  it("a whiteout and an opaque dir over a package's files: shadowed with the host version, what the delta holds and the fix", async () => {
    const scan = await scanContainer(await masks.info(), { packages: [data] });
    expect(scan.verdict).toBe("shadowed");
    const byPath = Object.fromEntries(scan.shadowed.map((s) => [s.path, s]));
    expect(Object.keys(byPath).sort()).toEqual([`/usr/share/${data}/data/a.txt`, `/usr/share/${data}/more/c.txt`]);
    expect(byPath[`/usr/share/${data}/data/a.txt`]).toMatchObject({ kind: "whiteout", package: data, hostVersion: "1.1", deltaHolds: expect.stringContaining("whiteout"), fix: expect.stringContaining("remove the whiteout") });
    expect(byPath[`/usr/share/${data}/more/c.txt`]).toMatchObject({ kind: "opaque", package: data, hostVersion: "1.1", deltaHolds: expect.stringContaining("opaque"), fix: expect.stringContaining("opaque marker") });
  });

  it("no false positive: a container restarted after the upgrade runs the host's current files", async () => {
    expect((await scanContainer(await clean.info())).verdict).toBe("stale");
    await bed.driver.stop(clean.name, 10);
    await clean.start();
    expect(await scanContainer(await clean.info())).toMatchObject({ verdict: "patched", stale: [], interpreted: [], shadowed: [], pinned: [] });
    expect(await verifyPatched(await clean.info(), [lib, data])).toMatchObject({ ok: true });
  });

  it("patchroll scan --json carries the evidence of each", async () => {
    const { code, byName } = await scanJson(bed);
    expect(code).toBe(7);
    expect(byName[copy.name]).toMatchObject({ verdict: "shadowed", shadowed: [{ path: libPath, kind: "copy", package: lib, hostVersion: "1.1", deltaHolds: expect.any(String), fix: expect.any(String), usedBy: [expect.objectContaining({ via: "map" })] }] });
    expect(byName[clean.name]).toMatchObject({ verdict: "patched", stale: [], interpreted: [], shadowed: [] });
    // The table an operator reads says the same in words.
    const row = (await scanCli(bed)).output.split("\n").find((l) => l.startsWith(copy.name));
    expect(row).toMatch(new RegExp(`shadowed +copy ${libPath} \\[${lib} 1\\.1\\]: its own copy .*, run by pid \\d+ \\(busybox\\); a restart cannot fix it: remove `));
  });
});
