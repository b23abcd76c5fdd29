import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { markOpaque, makeWhiteouts } from "../../src/containers/overlay-markers.js";
import { packageFiles } from "../../src/detect/package-files.js";
import { scanContainer, scanHost, verifyPatched } from "../../src/detect/scan.js";
import { lxcTestBed, type TestBed } from "../helpers/lxc.js";

// busybox is installed on the host (the test bed's service): its files are the "package" scanned here.
const PKG = ["busybox"];
let bed: TestBed;
beforeAll(async () => {
  bed = await lxcTestBed("scan");
});
afterAll(async () => {
  await bed.cleanup();
});

describe("scanContainer", () => {
  it("reads dpkg's file list of a host package", () => {
    expect(packageFiles("busybox")).toContain("/bin/busybox");
    expect(packageFiles("libc6").some((p) => p.endsWith("/libc.so.6"))).toBe(true);
    expect(packageFiles("no-such-package-prt")).toEqual([]);
    expect(packageFiles("../../etc/passwd")).toEqual([]);
  });

  it("patched: a running container that maps only the host's current files", async () => {
    const c = await bed.create();
    const scan = await scanContainer(await c.info(), { packages: PKG });
    expect(scan).toMatchObject({ name: c.name, verdict: "patched", stale: [], shadowed: [], pinned: [], mapsPackages: true });
    expect(await verifyPatched(await c.info(), PKG)).toMatchObject({ ok: true });
    expect((await scanContainer(await c.info())).verdict).toBe("patched");
  });

  it("shadowed: the delta's own copy, a whiteout and an opaque dir over package files, each with its kind", async () => {
    const c = await bed.create({ start: false });
    mkdirSync(join(c.deltaDir, "usr/bin"), { recursive: true });
    copyFileSync("/usr/bin/busybox", join(c.deltaDir, "usr/bin/busybox"));
    await execa("chmod", ["755", join(c.deltaDir, "usr/bin/busybox")]);
    mkdirSync(join(c.deltaDir, "usr/share/doc/busybox"), { recursive: true });
    await markOpaque([join(c.deltaDir, "usr/share/doc/busybox")]);
    mkdirSync(join(c.deltaDir, "usr/share/man/man1"), { recursive: true });
    await makeWhiteouts([join(c.deltaDir, "usr/share/man/man1/busybox.1.gz")]);
    await c.start();

    const scan = await scanContainer(await c.info(), { packages: PKG });
    expect(scan.verdict).toBe("shadowed");
    // The service runs the delta's copy: it is not stale (a host update never reaches it), it is shadowed.
    expect(scan.stale).toEqual([]);
    expect(scan.mapsPackages).toBe(false);
    const kinds = Object.fromEntries(scan.shadowed.map((s) => [s.path, s.kind]));
    expect(kinds).toEqual({
      "/usr/bin/busybox": "copy",
      "/usr/share/doc/busybox/changelog.Debian.amd64.gz": "opaque",
      "/usr/share/doc/busybox/changelog.Debian.gz": "opaque",
      "/usr/share/doc/busybox/copyright": "opaque",
      "/usr/share/doc/busybox/mdev.txt.gz": "opaque",
      "/usr/share/doc/busybox/syslog.conf.txt": "opaque",
      "/usr/share/man/man1/busybox.1.gz": "whiteout",
    });
    expect(scan.shadowed.every((s) => s.package === "busybox")).toBe(true);
    expect(await verifyPatched(await c.info(), PKG)).toMatchObject({ ok: false });
  });

  it("pinned: a shadowing copy listed in pinnedPaths is pinned, not shadowed", async () => {
    const c = await bed.create({ start: false });
    mkdirSync(join(c.deltaDir, "usr/bin"), { recursive: true });
    copyFileSync("/usr/bin/busybox", join(c.deltaDir, "usr/bin/busybox"));
    await execa("chmod", ["755", join(c.deltaDir, "usr/bin/busybox")]);
    await c.start();
    const scan = await scanContainer(await c.info(), { packages: PKG, pinnedPaths: new Set(["/usr/bin/busybox"]) });
    expect(scan).toMatchObject({ verdict: "pinned", shadowed: [], pinned: [{ path: "/usr/bin/busybox", kind: "copy", package: "busybox" }] });
  });

  it("own-dpkg: the delta holds its own dpkg database", async () => {
    const c = await bed.create({ start: false });
    mkdirSync(join(c.deltaDir, "var/lib/dpkg"), { recursive: true });
    writeFileSync(join(c.deltaDir, "var/lib/dpkg/status"), "Package: busybox\nStatus: install ok installed\n");
    await c.start();
    const scan = await scanContainer(await c.info(), { packages: PKG });
    expect(scan.verdict).toBe("own-dpkg");
    expect(scan.notes.join(" ")).toContain("own dpkg database");
  });

  it("stopped: nothing runs, nothing is stale", async () => {
    const c = await bed.create({ start: false });
    const scan = await scanContainer(await c.info(), { packages: PKG });
    expect(scan).toMatchObject({ verdict: "stopped", stale: [], mapsPackages: false });
  });

  it("skips a process that exits mid-scan with a note, never a crash", async () => {
    const c = await bed.create();
    const gone = execa("/bin/true");
    await gone;
    const info = await c.info();
    const scan = await scanContainer({ ...info, pids: [...info.pids, gone.pid as number] }, { packages: PKG });
    expect(scan.verdict).toBe("patched");
    expect(scan.notes).toContain(`process ${String(gone.pid)} exited during the scan; skipped.`);
  });
});

describe("scanHost", () => {
  it("scans every container of the LXC path with the same verdicts as one by one", async () => {
    const all = await scanHost({ lxcPath: bed.lxcPath, hostRoot: bed.hostRoot }, { packages: PKG, pinnedPathsOf: () => new Set(["/usr/bin/busybox"]) });
    expect(all.length).toBeGreaterThanOrEqual(6);
    for (const { info, scan } of all) {
      const alone = await scanContainer(info, { packages: PKG, pinnedPaths: new Set(["/usr/bin/busybox"]) });
      expect({ name: info.name, verdict: scan.verdict, stale: scan.stale, shadowed: scan.shadowed, pinned: scan.pinned }).toEqual({ name: info.name, verdict: alone.verdict, stale: alone.stale, shadowed: alone.shadowed, pinned: alone.pinned });
    }
    expect(new Set(all.map((e) => e.scan.verdict))).toEqual(new Set(["patched", "shadowed", "pinned", "own-dpkg", "stopped"]));
  });
});
