import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listSnapshots, precopyDelta, restoreDelta, snapshotDelta, snapshotTree } from "../../src/containers/snapshot.js";
import { copyTree } from "../../src/containers/snapshot-copy.js";
import { freeSpace } from "../../src/containers/disk-space.js";
import { waitUntilStopped } from "../helpers/process-state.js";
import { compareTrees, patternBytes } from "../helpers/tree-compare.js";

const MiB = 1 << 20;

// Full disks for real: small tmpfs mounts made and removed by this file.
describe("free space (real tmpfs mounts, root)", () => {
  let root: string;
  const mounts: string[] = [];

  beforeAll(async () => {
    root = await mkdtemp("/var/tmp/patchroll-test-snapspace-");
  });
  afterAll(async () => {
    for (const m of mounts.reverse()) {
      await execa("umount", [m], { reject: false }).then(async (r) => {
        if (r.exitCode !== 0) await execa("umount", ["-l", m], { reject: false });
      });
    }
    await rm(root, { recursive: true, force: true });
  });

  async function smallFs(name: string, options: string): Promise<string> {
    const dir = join(root, name);
    await mkdir(dir);
    await execa("mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir]);
    mounts.push(dir);
    return dir;
  }

  async function deltaOf(name: string, files: Record<string, Buffer>): Promise<string> {
    const dir = join(root, name);
    await mkdir(dir);
    for (const [rel, data] of Object.entries(files)) await writeFile(join(dir, rel), data);
    return dir;
  }

  it("refuses a snapshot that does not fit, saying how much is needed and free", async () => {
    const fs = await smallFs("full", "size=16m,mode=0700");
    const delta = await deltaOf("big-delta", { "big.bin": patternBytes(20 * MiB, "big") });
    const snaps = join(fs, "snapshots");
    await expect(snapshotDelta({ deltaDir: delta, snapshotsDir: snaps, id: "s1" })).rejects.toMatchObject({
      code: "SNAPSHOT_FAILED",
      message: expect.stringMatching(/needs 84\.0 MiB \(20\.0 MiB of data \+ 64\.0 MiB margin\) but only 1[56]\.\d MiB is free/),
    });
    expect(await readdir(snaps)).toEqual([]);
  });

  it("keeps the margin: a delta that fits only without it is refused, and taken with a smaller margin", async () => {
    const fs = await smallFs("margin", "size=16m");
    const delta = await deltaOf("mid-delta", { "mid.bin": patternBytes(8 * MiB, "mid") });
    const snaps = join(fs, "snapshots");
    await expect(snapshotDelta({ deltaDir: delta, snapshotsDir: snaps, id: "s1" })).rejects.toMatchObject({ code: "SNAPSHOT_FAILED" });
    const info = await snapshotDelta({ deltaDir: delta, snapshotsDir: snaps, id: "s1", margin: { bytes: MiB, inodes: 16 } });
    expect(await compareTrees(delta, snapshotTree(info))).toEqual([]);
  });

  it("counts inodes too", async () => {
    const fs = await smallFs("inodes", "size=64m,nr_inodes=64");
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 100; i += 1) files[`f${i}`] = Buffer.from(String(i));
    const delta = await deltaOf("many-delta", files);
    await expect(snapshotDelta({ deltaDir: delta, snapshotsDir: join(fs, "snapshots"), id: "s1", margin: { bytes: 0, inodes: 0 } })).rejects.toMatchObject({
      code: "SNAPSHOT_FAILED",
      message: expect.stringMatching(/needs 101 inodes .* only \d+ are free/),
    });
  });

  it("cleans up when the disk fills up during the copy anyway", async () => {
    const fs = await smallFs("race", "size=16m");
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 20; i += 1) files[`f${i}.bin`] = patternBytes(MiB / 2, `part${i}`);
    const delta = await deltaOf("race-delta", files);
    const snaps = join(fs, "snapshots");
    const attempt = snapshotDelta({
      deltaDir: delta, snapshotsDir: snaps, id: "s1", margin: { bytes: 0, inodes: 0 }, stopCopyAfter: 2,
      onCopyStart: async (pid) => {
        // Someone else takes the space after the check passed (prcopy stops itself after 2 files).
        await waitUntilStopped(pid);
        await writeFile(join(fs, "filler"), Buffer.alloc(freeSpace(fs).availableBytes, 1)).catch(() => undefined);
        process.kill(pid, "SIGCONT");
      },
    });
    await expect(attempt).rejects.toMatchObject({ code: "SNAPSHOT_FAILED", message: expect.stringContaining("No space left on device") });
    expect(await readdir(snaps)).toEqual([]);
    expect(await listSnapshots(snaps)).toEqual([]);
  });

  it("refuses a restore whose copy would not fit beside the delta, leaving the delta untouched", async () => {
    const fs = await smallFs("restore", "size=16m");
    const source = await deltaOf("restore-source", { "big.bin": patternBytes(20 * MiB, "big") });
    const info = await snapshotDelta({ deltaDir: source, snapshotsDir: join(root, "restore-snaps"), id: "s1" });
    const delta = join(fs, "delta0");
    await mkdir(delta);
    await writeFile(join(delta, "small"), "current\n");
    await copyTree(delta, join(root, "restore-ref"), { timeoutMs: 60_000 });
    await expect(restoreDelta({ snapshot: info, deltaDir: delta })).rejects.toMatchObject({
      code: "SNAPSHOT_FAILED",
      message: expect.stringMatching(/restore of snapshot s1 refused: .* needs 84\.0 MiB .* the delta was not touched/),
    });
    expect(await compareTrees(delta, join(root, "restore-ref"))).toEqual([]);
    expect(await readdir(fs)).toEqual(["delta0"]);
  });

  it("refuses to restore into a delta that is a mount point, which renames cannot replace", async () => {
    const source = await deltaOf("mp-source", { "a": Buffer.from("a") });
    const info = await snapshotDelta({ deltaDir: source, snapshotsDir: join(root, "mp-snaps"), id: "s1" });
    await mkdir(join(root, "mp"));
    const delta = await smallFs("mp/delta0", "size=1m");
    await writeFile(join(delta, "current"), "x");
    await expect(restoreDelta({ snapshot: info, deltaDir: delta })).rejects.toMatchObject({ code: "SNAPSHOT_FAILED", message: expect.stringContaining("is a mount point") });
    expect(await readdir(delta)).toEqual(["current"]);
    expect(await readdir(join(root, "mp"))).toEqual(["delta0"]);
  });
  it("counts only what a snapshot really writes: files unchanged since the previous snapshot are hard-links to it", async () => {
    const fs = await smallFs("shared", "size=24m");
    const delta = join(fs, "delta0");
    await mkdir(delta);
    await writeFile(join(delta, "cache.bin"), patternBytes(8 * MiB, "cache"));
    await writeFile(join(delta, "small"), "v1\n");
    // Older than prcopy's racy window, as a real delta's files are.
    await new Promise((r) => setTimeout(r, 200));
    const snaps = join(fs, "snapshots");
    const margin = { bytes: MiB, inodes: 16 };
    const first = await snapshotDelta({ deltaDir: delta, snapshotsDir: snaps, id: "s1", margin });
    // Less than a second full copy plus the margin is left: only the changed file is copied.
    await writeFile(join(delta, "small"), "v2\n");
    const second = await snapshotDelta({ deltaDir: delta, snapshotsDir: snaps, id: "s2", margin });
    expect(await compareTrees(delta, snapshotTree(second))).toEqual([]);
    expect((await stat(join(snapshotTree(second), "cache.bin"))).ino).toBe((await stat(join(snapshotTree(first), "cache.bin"))).ino);
    // A changed big file must be copied, which does not fit: refused before the container is touched.
    await writeFile(join(delta, "cache.bin"), patternBytes(8 * MiB, "cache v2"));
    await expect(precopyDelta({ deltaDir: delta, snapshotsDir: snaps, id: "s3", margin })).rejects.toMatchObject({
      code: "SNAPSHOT_FAILED",
      message: expect.stringMatching(/pre-copy of .* refused: .* needs 9\.0 MiB \(8\.0 MiB of data \+ 1\.0 MiB margin\) but only/),
    });
    expect((await listSnapshots(snaps)).map((s) => s.id)).toEqual(["s1", "s2"]);
  });
});
