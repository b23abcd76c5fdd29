import { randomBytes } from "node:crypto";
import { appendFileSync, chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scanContainer, scanHost, verifyPatched } from "../../src/detect/scan.js";
import { runDpkg } from "../helpers/dpkg-lock.js";
import { lxcTestBed, type TestBed } from "../helpers/lxc.js";

// A package of our own, unique to this run, that ships the binary the container runs as its service.
const pkg = `prt-stale-${randomBytes(4).toString("hex")}`;
const binary = `/usr/lib/${pkg}/busybox`;
const dpkg = runDpkg;
let bed: TestBed;
let work: string;

/** Builds PKG_VERSION.deb holding a copy of busybox; each version's copy differs (a trailing marker). */
async function buildDeb(version: string): Promise<string> {
  const root = join(work, version);
  mkdirSync(join(root, "DEBIAN"), { recursive: true });
  mkdirSync(join(root, "usr/lib", pkg), { recursive: true });
  writeFileSync(join(root, "DEBIAN/control"), `Package: ${pkg}\nVersion: ${version}\nArchitecture: all\nMaintainer: patchroll tests <root@localhost>\nDescription: patchroll stale-detection test package\n`);
  copyFileSync("/usr/bin/busybox", join(root, "usr/lib", pkg, "busybox"));
  appendFileSync(join(root, "usr/lib", pkg, "busybox"), `\npatchroll-test ${version}\n`);
  chmodSync(join(root, "usr/lib", pkg, "busybox"), 0o755);
  const deb = join(work, `${pkg}_${version}_all.deb`);
  await execa("dpkg-deb", ["--root-owner-group", "-b", root, deb], { timeout: 60_000 });
  return deb;
}

beforeAll(async () => {
  work = mkdtempSync("/var/tmp/patchroll-test-debs-");
  bed = await lxcTestBed("stale");
});
afterAll(async () => {
  try {
    await dpkg(["--purge", pkg]);
  } finally {
    rmSync(work, { recursive: true, force: true });
    await bed.cleanup();
  }
});

describe("stale detection after a real host package upgrade", () => {
  it("finds the container still running the replaced file (no '(deleted)' marker), and a restart patches it", async () => {
    await dpkg(["-i", await buildDeb("1.0")]);
    const c = await bed.create({ busybox: binary });
    const oldInode = statSync(binary).ino;
    expect(await scanContainer(await c.info(), { packages: [pkg] })).toMatchObject({ verdict: "patched", stale: [], mapsPackages: true });

    await dpkg(["-i", await buildDeb("1.1")]);
    const newInode = statSync(binary).ino;
    expect(newInode).not.toBe(oldInode);
    expect(readFileSync(binary, "utf8")).toContain("patchroll-test 1.1");

    const info = await c.info();
    const service = info.pids.find((p) => readFileSync(`/proc/${p}/comm`, "utf8").trim() === "busybox") as number;
    // What needrestart relies on is absent: the old file is mapped without any "(deleted)" marker...
    const maps = readFileSync(`/proc/${service}/maps`, "utf8").split("\n").filter((l) => l.endsWith(binary));
    expect(maps.length).toBeGreaterThan(0);
    expect(maps.every((l) => l.includes(` ${oldInode} `))).toBe(true);
    // ...and inside the container the overlay still serves the old inode.
    expect((await bed.driver.attach(c.name, ["/bin/busybox", "stat", "-c", "%i", binary], 10_000)).stdout).toBe(String(oldInode));

    const scan = await scanContainer(info, { packages: [pkg] });
    expect(scan.verdict).toBe("stale");
    expect(scan.mapsPackages).toBe(true);
    expect(scan.stale).toEqual([{ pid: service, comm: "busybox", path: binary, mappedInode: oldInode, hostInode: newInode, package: pkg, via: "map" }]);
    expect(await verifyPatched(info, [pkg])).toMatchObject({ ok: false, scan: { verdict: "stale" } });
    // Without a package filter the same mapping is found, just not attributed.
    expect((await scanContainer(info)).stale).toEqual([{ pid: service, comm: "busybox", path: binary, mappedInode: oldInode, hostInode: newInode, via: "map" }]);
    // A container that does not run the package is not stale for it.
    const other = await bed.create();
    const host = await scanHost({ lxcPath: bed.lxcPath, hostRoot: bed.hostRoot }, { packages: [pkg] });
    expect(Object.fromEntries(host.map((h) => [h.info.name, h.scan.verdict]))).toEqual({ [c.name]: "stale", [other.name]: "patched" });

    await bed.driver.stop(c.name, 10);
    await c.start();
    const after = await verifyPatched(await c.info(), [pkg]);
    expect(after).toMatchObject({ ok: true, scan: { verdict: "patched", stale: [], mapsPackages: true } });
    const restarted = (await c.info()).pids.find((p) => readFileSync(`/proc/${p}/comm`, "utf8").trim() === "busybox") as number;
    expect(readFileSync(`/proc/${restarted}/maps`, "utf8")).toContain(` ${newInode} `);
  });

  it("counts a mapping of a file the host no longer has as stale", async () => {
    await dpkg(["-i", await buildDeb("1.2")]);
    const c = await bed.create({ busybox: binary });
    const before = (await scanContainer(await c.info(), { packages: [pkg] })).verdict;
    expect(before).toBe("patched");
    const oldInode = statSync(binary).ino;
    await dpkg(["--purge", pkg]);
    const scan = await scanContainer(await c.info());
    expect(scan.verdict).toBe("stale");
    expect(scan.stale).toMatchObject([{ path: binary, mappedInode: oldInode, hostInode: null }]);
  });
});
