import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freeSpace } from "../../src/containers/disk-space.js";
import { precopyDelta, restoreDelta, snapshotDelta, snapshotTree } from "../../src/containers/snapshot.js";
import { buildOverlayDelta, compareTrees, patternBytes } from "../helpers/tree-compare.js";

const MiB = 1 << 20;

// A filesystem with reflinks (XFS, made in an image file by this test; deploy/bootstrap.sh installs
// xfsprogs): a snapshot clones extents instead of copying them, so it costs next to no time and space.
describe("snapshots on a filesystem with reflinks (loop-mounted XFS, root)", () => {
  let root: string;
  let mnt: string;
  beforeAll(async () => {
    root = await mkdtemp("/var/tmp/patchroll-test-reflink-");
    const image = join(root, "xfs.img");
    mnt = join(root, "mnt");
    await mkdir(mnt);
    // XFS needs 300 MB at least; the image file is sparse.
    await execa("truncate", ["-s", "400M", image]);
    await execa("mkfs.xfs", ["-q", "-m", "reflink=1", image]);
    await execa("mount", ["-o", "loop", image, mnt]);
  });
  afterAll(async () => {
    if (mnt !== undefined) await execa("umount", [mnt], { reject: false });
    await rm(root, { recursive: true, force: true });
  });

  it("clones a delta larger than the free space, exactly, and restores it by cloning too", async () => {
    const c = join(mnt, "c1");
    await mkdir(c);
    const delta = join(c, "delta0");
    await buildOverlayDelta(delta);
    const block = patternBytes(MiB, "cache");
    for (let i = 0; i < 4; i += 1) await writeFile(join(delta, `cache${i}.bin`), Buffer.concat(Array.from({ length: 60 }, () => block)));
    const snaps = join(c, "snapshots");
    const before = freeSpace(mnt).availableBytes;
    // 240 MiB of data and the 64 MiB margin would not fit a copy; clones take none of it.
    expect(before).toBeLessThan(240 * MiB + 64 * MiB);

    const pre = await precopyDelta({ deltaDir: delta, snapshotsDir: snaps, id: "s1" });
    expect(pre?.cloned).toBeGreaterThan(4);
    expect(pre?.copied).toBeLessThan(30);
    const info = await snapshotDelta({ deltaDir: delta, snapshotsDir: snaps, id: "s1" });
    expect(await compareTrees(delta, snapshotTree(info))).toEqual([]);
    expect(before - freeSpace(mnt).availableBytes).toBeLessThan(8 * MiB);

    // A rollback clones too: the restored delta fits where a copy would not, and shares no inode with the snapshot.
    await rm(join(delta, "cache0.bin"));
    await restoreDelta({ snapshot: info, deltaDir: delta });
    expect(await compareTrees(delta, snapshotTree(info))).toEqual([]);
    expect((await stat(join(delta, "cache1.bin"))).ino).not.toBe((await stat(join(snapshotTree(info), "cache1.bin"))).ino);
  });
});
