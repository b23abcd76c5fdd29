import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import {
  latestSnapshot,
  listSnapshots,
  pruneSnapshots,
  restoreDelta,
  snapshotDelta,
  snapshotIdFor,
  snapshotTree,
} from "../../src/containers/snapshot.js";
import { isPatchrollError } from "../../src/errors/patchroll-error.js";
import { buildOverlayDelta, compareTrees, fixtureContainers, modifyHeavily } from "../helpers/tree-compare.js";

describe("snapshotDelta / restoreDelta (real filesystem, root)", () => {
  const fixture = fixtureContainers("patchroll-test-snap-");
  const container = fixture.container;

  it("restores a heavily changed delta exactly, and the overlay sees the whiteouts, opaque and redirect dirs again", async () => {
    const c = await container("roundtrip");
    const info = await snapshotDelta({ deltaDir: c.delta, snapshotsDir: c.snaps, id: "20261123T061500Z-r1" });
    expect(info).toMatchObject({ id: "20261123T061500Z-r1", path: join(c.snaps, "20261123T061500Z-r1"), source: c.delta });
    // 18 dirs and 21 other entries; the three hardlinks count once.
    expect(info.files).toBe(39);
    // The 100 MiB sparse file costs its allocation only.
    expect(info.bytes).toBeGreaterThan(1 << 20);
    expect(info.bytes).toBeLessThan(4 << 20);
    expect(await compareTrees(c.delta, snapshotTree(info))).toEqual([]);

    await modifyHeavily(c.delta);
    expect((await compareTrees(c.delta, snapshotTree(info))).length).toBeGreaterThan(20);

    await restoreDelta({ snapshot: info, deltaDir: c.delta });
    expect(await compareTrees(c.delta, snapshotTree(info))).toEqual([]);
    // Independent of cp: a second build of the same fixture.
    await buildOverlayDelta(join(c.dir, "reference"));
    expect(await compareTrees(c.delta, join(c.dir, "reference"))).toEqual([]);
    expect((await readdir(c.dir)).sort()).toEqual(["delta0", "reference", "snapshots"]);

    // What the container would see: an overlay with a lower layer the delta hides and redirects to.
    const lower = join(c.dir, "lower");
    await mkdir(join(lower, "etc/opaque.d"), { recursive: true });
    await mkdir(join(lower, "usr/lib/original"), { recursive: true });
    await writeFile(join(lower, "etc/shadow"), "host shadow\n");
    await writeFile(join(lower, "etc/opaque.d/host.conf"), "hidden\n");
    await writeFile(join(lower, "usr/lib/original/libhost.so"), "merged\n");
    const [work, merged] = [join(c.dir, "work"), join(c.dir, "merged")];
    await mkdir(work);
    await mkdir(merged);
    await execa("mount", ["-t", "overlay", "-o", `lowerdir=${lower},upperdir=${c.delta},workdir=${work},redirect_dir=on`, "overlay", merged]);
    try {
      expect(await readdir(join(merged, "etc"))).not.toContain("shadow");
      expect(await readdir(join(merged, "etc/opaque.d"))).toEqual(["new.conf"]);
      expect((await readdir(join(merged, "usr/lib/renamed"))).sort()).toEqual(["libhost.so", "libx.so"]);
    } finally {
      await execa("umount", [merged]);
    }
  });

  it("restores from a path too, and recreates a delta that is gone", async () => {
    const c = await container("from-path");
    const info = await snapshotDelta({ deltaDir: c.delta, snapshotsDir: c.snaps, id: "s1" });
    await rm(c.delta, { recursive: true });
    await restoreDelta({ snapshot: info.path, deltaDir: c.delta });
    expect(await compareTrees(c.delta, snapshotTree(info))).toEqual([]);
  });

  it("reuses a complete snapshot of the same id instead of copying again", async () => {
    const c = await container("idempotent");
    const first = await snapshotDelta({ deltaDir: c.delta, snapshotsDir: c.snaps, id: "s1" });
    await writeFile(join(c.delta, "after-first"), "x");
    const again = await snapshotDelta({ deltaDir: c.delta, snapshotsDir: c.snaps, id: "s1" });
    expect(again).toEqual(first);
    expect(await compareTrees(c.delta, snapshotTree(first))).toContainEqual(expect.stringMatching(/^after-first: only in /));
  });

  it("refuses an id taken by another delta, a half-made dir in its place, bad ids and nested dirs", async () => {
    const a = await container("clash-a");
    const b = await container("clash-b");
    const snaps = join(fixture.root(), "shared-snaps");
    await snapshotDelta({ deltaDir: a.delta, snapshotsDir: snaps, id: "same" });
    const codeOf = async (p: Promise<unknown>): Promise<string | undefined> => p.then(() => undefined, (e: unknown) => (isPatchrollError(e) ? e.code : String(e)));
    expect(await codeOf(snapshotDelta({ deltaDir: b.delta, snapshotsDir: snaps, id: "same" }))).toBe("SNAPSHOT_FAILED");
    await mkdir(join(snaps, "half"));
    expect(await codeOf(snapshotDelta({ deltaDir: a.delta, snapshotsDir: snaps, id: "half" }))).toBe("SNAPSHOT_FAILED");
    expect(await codeOf(snapshotDelta({ deltaDir: a.delta, snapshotsDir: snaps, id: "../escape" }))).toBe("USAGE");
    expect(await codeOf(snapshotDelta({ deltaDir: a.delta, snapshotsDir: join(a.delta, "snaps"), id: "in" }))).toBe("USAGE");
    expect(await codeOf(snapshotDelta({ deltaDir: join(fixture.root(), "missing"), snapshotsDir: snaps, id: "m" }))).toBe("SNAPSHOT_FAILED");
    expect(await codeOf(restoreDelta({ snapshot: join(snaps, "half"), deltaDir: a.delta }))).toBe("SNAPSHOT_FAILED");
    expect((await listSnapshots(snaps)).map((s) => s.id)).toEqual(["same"]);
  });

  it("lists only complete snapshots and clears leftovers of interrupted ones", async () => {
    const c = await container("leftovers");
    await mkdir(join(c.snaps, ".tmp-crashed/delta"), { recursive: true });
    await mkdir(join(c.snaps, ".trash-old/delta"), { recursive: true });
    await mkdir(join(c.snaps, "no-meta/delta"), { recursive: true });
    expect(await listSnapshots(c.snaps)).toEqual([]);
    expect(await latestSnapshot(c.snaps)).toBeUndefined();
    await snapshotDelta({ deltaDir: c.delta, snapshotsDir: c.snaps, id: "good" });
    expect((await readdir(c.snaps)).sort()).toEqual(["good", "no-meta"]);
    expect(await listSnapshots(join(fixture.root(), "no-such-dir"))).toEqual([]);
  });

  it("keeps the newest snapshots when pruning, and never all of them", async () => {
    const c = await container("retention");
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const id = snapshotIdFor(`rollout-${i}`, new Date(Date.UTC(2026, 10, 23, 6, i)));
      ids.push(id);
      await snapshotDelta({ deltaDir: c.delta, snapshotsDir: c.snaps, id });
    }
    expect((await listSnapshots(c.snaps)).map((s) => s.id)).toEqual(ids);
    const removed = await pruneSnapshots(c.snaps, 2);
    expect(removed.map((s) => s.id)).toEqual(ids.slice(0, 3));
    expect((await listSnapshots(c.snaps)).map((s) => s.id)).toEqual(ids.slice(3));
    expect((await latestSnapshot(c.snaps))?.id).toBe(ids[4]);
    expect(await readdir(c.snaps)).toHaveLength(2);
    await expect(pruneSnapshots(c.snaps, 0)).rejects.toMatchObject({ code: "USAGE" });
    expect(await pruneSnapshots(c.snaps, 2)).toEqual([]);
  });

  it("refuses while another live process holds the lock, and takes over one left by a dead process", async () => {
    const c = await container("lock");
    await mkdir(c.snaps);
    const sleeper = execa("sleep", ["60"]);
    try {
      await writeFile(join(c.snaps, ".lock"), `${sleeper.pid}\nsomething else\n`);
      await expect(snapshotDelta({ deltaDir: c.delta, snapshotsDir: c.snaps, id: "s1" })).rejects.toMatchObject({
        code: "SNAPSHOT_FAILED",
        message: expect.stringContaining(`held by pid ${sleeper.pid}`),
      });
    } finally {
      sleeper.kill("SIGKILL");
      await sleeper.catch(() => undefined);
    }
    await snapshotDelta({ deltaDir: c.delta, snapshotsDir: c.snaps, id: "s1" });
    expect((await readdir(c.snaps)).sort()).toEqual(["s1"]);
  });
});
