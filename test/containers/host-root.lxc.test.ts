import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { ensureHostRoot, isHostRootMounted, releaseHostRoot } from "../../src/containers/host-root.js";
import { mountsUnder, readMountInfo, removeTreeSafely } from "../../src/containers/mountinfo.js";

const dirs: string[] = [];
function scratch(): string {
  const d = mkdtempSync("/var/tmp/patchroll-test-hostroot-");
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) {
    for (const m of mountsUnder(readMountInfo(), d).reverse()) await execa("umount", [m.mountPoint], { reject: false });
    removeTreeSafely(d);
  }
});

describe("host root bind mount", () => {
  it("bind-mounts / once, is idempotent, and shows the host's files", async () => {
    const hostRoot = join(scratch(), "host", "rootfs");
    expect(isHostRootMounted(hostRoot)).toBe(false);
    expect(await ensureHostRoot(hostRoot)).toEqual({ mounted: true });
    expect(await ensureHostRoot(hostRoot)).toEqual({ mounted: false });
    expect(isHostRootMounted(hostRoot)).toBe(true);
    expect(mountsUnder(readMountInfo(), hostRoot)).toHaveLength(1);
    await releaseHostRoot(hostRoot);
    expect(isHostRootMounted(hostRoot)).toBe(false);
    await releaseHostRoot(hostRoot);
  });

  it("refuses to mount over something else, and to release a mount that is not a bind of /", async () => {
    const dir = join(scratch(), "rootfs");
    await ensureHostRoot(join(dir, "..", "unused"));
    await releaseHostRoot(join(dir, "..", "unused"));
    await execa("mkdir", ["-p", dir]);
    await execa("mount", ["-t", "tmpfs", "patchroll-test", dir]);
    await expect(ensureHostRoot(dir)).rejects.toMatchObject({ code: "CONTAINER_FAILED", message: expect.stringContaining("not a bind mount of /") });
    await expect(releaseHostRoot(dir)).rejects.toMatchObject({ code: "CONTAINER_FAILED" });
  });

  it("never removes a tree with a mount inside (rm -r would cross into the host root)", async () => {
    const root = scratch();
    await ensureHostRoot(join(root, "host", "rootfs"));
    expect(() => removeTreeSafely(root)).toThrow(/still mounted inside it/);
    expect(isHostRootMounted(join(root, "host", "rootfs"))).toBe(true);
    await releaseHostRoot(join(root, "host", "rootfs"));
    removeTreeSafely(root);
    expect(() => rmSync(root)).toThrow();
  });
});
