import { appendFile, chmod, chown, link, lstat, mkdir, open, readdir, readFile, rename, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { listSnapshots, precopyDelta, pruneSnapshots, restoreDelta, snapshotDelta, snapshotTree } from "../../src/containers/snapshot.js";
import { waitUntilStopped } from "../helpers/process-state.js";
import { buildOverlayDelta, compareTrees, fixtureContainers, getXattr, makeSwapBait, modifyHeavily, patternBytes, setXattr } from "../helpers/tree-compare.js";

/** Sets the mtime of `path` itself back to `ns` (to the nanosecond), as a tool that preserves times would. */
async function setMtimeNs(path: string, ns: bigint): Promise<void> {
  await execa("touch", ["-h", "-m", "-d", `@${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, "0")}`, "--", path]);
}

/**
 * Pre-copies `<dir>/delta0` into `<dir>/snapshots` as p1; prcopy stops itself once it has written
 * `stopAfter` files, and while it is stopped the delta's dir `d` is moved away and replaced by a symlink to
 * `outside`, as a container could. Returns the snapshots dir.
 */
async function precopyWhileSwapped(dir: string, outside: string, stopAfter: number): Promise<string> {
  const delta = join(dir, "delta0");
  const snaps = join(dir, "snapshots");
  await new Promise((r) => setTimeout(r, 200));
  await precopyDelta({
    deltaDir: delta, snapshotsDir: snaps, id: "p1", stopCopyAfter: stopAfter,
    onCopyStart: async (pid) => {
      await waitUntilStopped(pid);
      await rename(join(delta, "d"), join(dir, "d-moved"));
      await symlink(outside, join(delta, "d"));
      process.kill(pid, "SIGCONT");
    },
  });
  return snaps;
}

// The pre-copy runs while the container writes; the snapshot taken after the stop copies only what
// changed since. Whatever the container did in between, the snapshot must be its stopped delta exactly.
describe("pre-copy, then catch-up (real filesystem, root)", () => {
  const fixture = fixtureContainers("patchroll-test-precopy-");
  async function container(name: string): Promise<{ dir: string; delta: string; snaps: string }> {
    const made = await fixture.container(name);
    // Entries changed within prcopy's racy window (100 ms) of a copy are copied again next time whatever
    // they look like: a delta older than that is what the cheap comparisons are for.
    await new Promise((r) => setTimeout(r, 200));
    return made;
  }

  it("catches up on every kind of change an overlay delta can see, and lists nothing before it", async () => {
    const c = await container("kinds");
    const pass = await precopyDelta({ deltaDir: c.delta, snapshotsDir: c.snaps, id: "r1" });
    expect(pass).toMatchObject({ linked: 0, kept: 0 });
    expect(await listSnapshots(c.snaps)).toEqual([]);
    await modifyHeavily(c.delta);
    const info = await snapshotDelta({ deltaDir: c.delta, snapshotsDir: c.snaps, id: "r1" });
    expect(await compareTrees(c.delta, snapshotTree(info))).toEqual([]);
    expect(info.files).toBeGreaterThan(30);
  });

  it("sees changes that keep size and mtime: rewritten content, xattrs, mode, owner, a file renamed over another, a new hardlink", async () => {
    const c = await container("sneaky");
    await precopyDelta({ deltaDir: c.delta, snapshotsDir: c.snaps, id: "r1" });
    // A second pass over an unchanged delta copies nothing: the catch-up below relies on the comparisons alone.
    const again = await precopyDelta({ deltaDir: c.delta, snapshotsDir: c.snaps, id: "r1" });
    expect(again).toMatchObject({ copied: 0, cloned: 0, removed: 0, kept: again?.entries });
    const untouched = (await lstat(join(c.snaps, ".tmp-r1/delta/bin/sgid"))).ino;
    const keepMtime = async (rel: string, change: (p: string) => Promise<void>): Promise<void> => {
      const p = join(c.delta, rel);
      const before = (await lstat(p, { bigint: true })).mtimeNs;
      await change(p);
      await setMtimeNs(p, before);
    };
    await keepMtime("var/data.bin", async (p) => {
      const fh = await open(p, "r+");
      await fh.write(Buffer.from("same size, same mtime"), 0, 21, 4096);
      await fh.close();
    });
    await keepMtime("home/alice/notes.txt", (p) => setXattr(p, "user.note", "forget"));
    await keepMtime("lib/libfoo.so.1", (p) => chmod(p, 0o600));
    await keepMtime("usr/lib/renamed/libx.so", (p) => chown(p, 1000, 1000));
    // Same size and mtime, another inode: rename(2) over the old name.
    const twin = join(c.dir, "twin");
    await writeFile(twin, patternBytes(4096, "other"));
    await setMtimeNs(twin, (await lstat(join(c.delta, "lib/libfoo.so.1"), { bigint: true })).mtimeNs);
    await rename(twin, join(c.delta, "odd/with space")).catch(async () => {
      await rm(join(c.delta, "odd/with space"));
    });
    await keepMtime("lib", async (p) => link(join(p, "libfoo.so.1"), join(p, "libfoo.so.1.hard")));
    const info = await snapshotDelta({ deltaDir: c.delta, snapshotsDir: c.snaps, id: "r1" });
    expect(await compareTrees(c.delta, snapshotTree(info))).toEqual([]);
    expect((await lstat(join(snapshotTree(info), "bin/sgid"))).ino).toBe(untouched);
  });

  it("takes the stopped state exactly of a container that writes heavily during the pre-copy", async () => {
    const c = await container("busy");
    const block = patternBytes(1 << 20, "busy");
    for (let i = 0; i < 40; i += 1) await writeFile(join(c.delta, "var", `big${i}`), block);
    let writing = true;
    let rounds = 0;
    // The container: appends, rewrites in place, replaces by rename, creates and deletes, until stopped.
    const writer = (async () => {
      while (writing) {
        const i = rounds % 40;
        await appendFile(join(c.delta, "var", `big${i}`), `round ${rounds}\n`);
        const fh = await open(join(c.delta, "var", `big${(i + 7) % 40}`), "r+");
        await fh.write(Buffer.from(`in place ${rounds}`), 0, 10, (rounds * 4099) % (1 << 20));
        await fh.close();
        await writeFile(join(c.delta, "tmp", `new${rounds}`), `new ${rounds}`);
        await rename(join(c.delta, "tmp", `new${rounds}`), join(c.delta, "var", `renamed${rounds % 5}`));
        if (rounds % 3 === 0) await unlink(join(c.delta, "var", `renamed${(rounds + 1) % 5}`)).catch(() => undefined);
        await setXattr(join(c.delta, "etc/opaque.d"), "user.round", String(rounds));
        rounds += 1;
      }
    })();
    try {
      await precopyDelta({ deltaDir: c.delta, snapshotsDir: c.snaps, id: "r1" });
    } finally {
      writing = false;
      await writer;
    }
    expect(rounds).toBeGreaterThan(0);
    // Stopped: nothing writes any more.
    const info = await snapshotDelta({ deltaDir: c.delta, snapshotsDir: c.snaps, id: "r1" });
    expect(await compareTrees(c.delta, snapshotTree(info))).toEqual([]);
  });

  it("shares unchanged files with the previous snapshot by hard links, keeps each exact, prunes by snapshots.keep and restores independent copies", async () => {
    const c = await container("shared");
    const first = await snapshotDelta({ deltaDir: c.delta, snapshotsDir: c.snaps, id: "s1" });
    await appendFile(join(c.delta, "var/data.bin"), "patched");
    const reference = join(c.dir, "reference-s2");
    const pass = await precopyDelta({ deltaDir: c.delta, snapshotsDir: c.snaps, id: "s2" });
    expect(pass?.linked).toBeGreaterThan(5);
    const second = await snapshotDelta({ deltaDir: c.delta, snapshotsDir: c.snaps, id: "s2" });
    await execa("cp", ["-a", c.delta, reference]);
    const ino = async (snap: string, rel: string): Promise<number> => (await lstat(join(c.snaps, snap, "delta", rel))).ino;
    expect(await ino("s2", "home/alice/notes.txt")).toBe(await ino("s1", "home/alice/notes.txt"));
    expect(await ino("s2", "var/data.bin")).not.toBe(await ino("s1", "var/data.bin"));
    // The hardlink group inside the delta stays one group in each snapshot.
    expect(await ino("s2", "bin/tool-link")).toBe(await ino("s2", "sbin/tool"));
    expect(await compareTrees(c.delta, snapshotTree(second))).toEqual([]);
    await buildOverlayDelta(join(c.dir, "reference-s1"));
    expect(await compareTrees(join(c.dir, "reference-s1"), snapshotTree(first))).toEqual([]);

    // A restored delta shares no inode with a snapshot: the container writing to it changes no snapshot.
    await restoreDelta({ snapshot: second, deltaDir: c.delta });
    expect(await ino("s2", "home/alice/notes.txt")).not.toBe((await lstat(join(c.delta, "home/alice/notes.txt"))).ino);
    await appendFile(join(c.delta, "home/alice/notes.txt"), "written after the restore");
    expect(await readFile(join(c.snaps, "s2/delta/home/alice/notes.txt"), "utf8")).toBe("alice's notes\n");

    expect((await pruneSnapshots(c.snaps, 1)).map((s) => s.id)).toEqual(["s1"]);
    expect(await compareTrees(reference, snapshotTree(second))).toEqual([]);
  });

  it("never copies what lies outside the delta when the container swaps a dir for a symlink mid-copy", async () => {
    const dir = join(fixture.root(), "swap");
    const delta = join(dir, "delta0");
    const outside = join(dir, "outside");
    await mkdir(join(delta, "d"), { recursive: true });
    await mkdir(outside);
    for (let i = 0; i < 10; i++) await writeFile(join(delta, `f${i}`), "ok\n");
    for (let i = 0; i < 50; i++) {
      await writeFile(join(delta, "d", `g${i}`), "ok\n");
      await writeFile(join(outside, `g${i}`), "SECRET\n");
    }
    // prcopy stops itself after its first file (the top level's come first); then `d` becomes a symlink.
    const snaps = await precopyWhileSwapped(dir, outside, 1);
    const contents: string[] = [];
    const read = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        if (e.isDirectory()) await read(join(d, e.name));
        else if (e.isFile()) contents.push(await readFile(join(d, e.name), "utf8"));
      }
    };
    await read(snaps);
    expect(contents).toContain("ok\n");
    expect(contents.filter((c) => c.includes("SECRET"))).toEqual([]);
  });

  it("never reads the xattrs of what lies outside the delta when the container swaps a parent dir for a symlink", async () => {
    const dir = join(fixture.root(), "swap-xattr");
    const delta = join(dir, "delta0");
    const outside = join(dir, "outside");
    await makeSwapBait(delta, outside);
    await symlink("target", join(delta, "d/link"));
    await symlink("target", join(outside, "link"));
    await setXattr(join(outside, "sub"), "trusted.overlay.opaque", "y");
    // prcopy stops itself once it has walked the delta, before it writes anything (--stop-after 0).
    const snaps = await precopyWhileSwapped(dir, outside, 0);
    const copied = join(snaps, ".tmp-p1/delta/d/sub");
    expect((await getXattr(copied, "user.whose"))?.toString()).toBe("the container's");
    expect(await getXattr(copied, "trusted.overlay.opaque")).toBeUndefined();
  });
});
