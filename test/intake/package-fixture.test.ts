import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDemoPackage, demoLibraryPath, demoVersionPath, dpkgArchitecture, LocalRepo } from "../../src/demo/package-fixture.js";

/** The demo packages and repository, built with the real cc, dpkg-deb and apt-ftparchive (nothing installed). */
describe("demo package fixture", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync("/var/tmp/patchroll-test-fixture-");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function unpack(deb: string): Promise<string> {
    const root = mkdtempSync(join(dir, "root-"));
    await execa("dpkg-deb", ["-x", deb, root]);
    return root;
  }

  it("builds a package whose library loads cleanly and whose version file holds the version", async () => {
    const deb = await buildDemoPackage({ dir, name: "prfixgood", version: "1:1.0-1" });
    expect(deb).toBe(join(dir, `prfixgood_1%3a1.0-1_${await dpkgArchitecture()}.deb`));
    const { stdout } = await execa("dpkg-deb", ["-f", deb, "Package", "Version"]);
    expect(stdout).toBe("Package: prfixgood\nVersion: 1:1.0-1");
    const root = await unpack(deb);
    expect(readFileSync(join(root, demoVersionPath("prfixgood")), "utf8")).toBe("1:1.0-1\n");
    const run = await execa("/bin/true", { env: { LD_PRELOAD: join(root, demoLibraryPath("prfixgood")) }, reject: false });
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toBe("");
  });

  it("builds a broken version whose library makes every process that loads it exit 42, saying why", async () => {
    const root = await unpack(await buildDemoPackage({ dir, name: "prfixbad", version: "2.0", broken: true }));
    const run = await execa("/bin/true", { env: { LD_PRELOAD: join(root, demoLibraryPath("prfixbad")) }, reject: false });
    expect(run.exitCode).toBe(42);
    expect(run.stderr).toContain("libprfixbad.so.1 2.0: broken build, exiting 42 at load");
  });

  it("publishes a repository that says who it is, for unattended-upgrades' origin patterns", async () => {
    const repo = new LocalRepo(join(dir, "repo"), { origin: "prorigin", label: "prlabel", suite: "stable-security", codename: "bookworm-security" });
    await repo.add(await buildDemoPackage({ dir, name: "prfixrepo", version: "1.0" }));
    await repo.add(await buildDemoPackage({ dir, name: "prfixrepo", version: "1.1" }));
    await repo.publish();
    expect(await repo.debs()).toHaveLength(2);
    const packages = readFileSync(join(repo.dir, "Packages"), "utf8");
    expect(packages.match(/^Package: prfixrepo$/gm)).toHaveLength(2);
    expect(packages).toMatch(/^Version: 1\.1$/m);
    const release = readFileSync(join(repo.dir, "Release"), "utf8");
    for (const line of ["Origin: prorigin", "Label: prlabel", "Suite: stable-security", "Codename: bookworm-security"]) expect(release).toContain(line);
    expect(repo.sourcesLine).toBe(`deb [trusted=yes] file:${repo.dir} ./`);
  });
});
