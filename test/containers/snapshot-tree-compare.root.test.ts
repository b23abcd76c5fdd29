import { chmod, chown, lstat, lutimes, mkdtemp, open, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyTree } from "../../src/containers/snapshot-copy.js";
import { buildOverlayDelta, compareTrees, setXattr } from "../helpers/tree-compare.js";

// The helper every snapshot test relies on must itself be able to fail: each attribute a rollback
// must keep is changed on its own and has to show up as a difference.
describe("compareTrees (real filesystem, root)", () => {
  let root: string;
  let pristine: string;
  let n = 0;

  beforeAll(async () => {
    root = await mkdtemp("/var/tmp/patchroll-test-treecmp-");
    pristine = join(root, "pristine");
    await buildOverlayDelta(pristine);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function variant(): Promise<string> {
    n += 1;
    const dir = join(root, `case-${n}`);
    await copyTree(pristine, dir, { timeoutMs: 60_000 });
    expect(await compareTrees(pristine, dir)).toEqual([]);
    return dir;
  }

  /** Keeps the mtimes of `paths` across a change (to the ns, which Node's utimes cannot), so only the attribute under test differs. */
  async function keepingTimes(paths: string[], change: () => Promise<void>): Promise<void> {
    const before = await Promise.all(paths.map(async (p) => [p, (await lstat(p, { bigint: true })).mtimeNs] as const));
    await change();
    for (const [p, ns] of before) {
      const stamp = `@${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, "0")}`;
      await execa("touch", ["-h", "-m", "-d", stamp, "--", p]);
    }
  }

  it("finds two independent builds of the fixture identical", async () => {
    const again = join(root, "again");
    await buildOverlayDelta(again);
    expect(await compareTrees(pristine, again)).toEqual([]);
  });

  it.each([
    ["mode", "tmp", async (p: string) => chmod(p, 0o777), "tmp: mode 1777 != 777"],
    ["uid", "home/alice/notes.txt", async (p: string) => chown(p, 1001, 1000), "home/alice/notes.txt: uid 1000 != 1001"],
    ["gid", "bin/sgid", async (p: string) => { await chown(p, 0, 51); await chmod(p, 0o2755); }, "bin/sgid: gid 50 != 51"],
    ["opaque xattr", "etc/opaque.d", async (p: string) => setXattr(p, "trusted.overlay.opaque", "n"), "etc/opaque.d: xattrs"],
    ["redirect xattr", "usr/lib/renamed", async (p: string) => setXattr(p, "trusted.overlay.redirect", "/elsewhere"), "usr/lib/renamed: xattrs"],
    ["user xattr", "home/alice/notes.txt", async (p: string) => setXattr(p, "user.binary", Buffer.from([0, 1, 2, 0xff, 1])), "home/alice/notes.txt: xattrs"],
    ["added xattr", ".", async (p: string) => setXattr(p, "user.extra", "x"), ".: xattrs"],
    ["whiteout rdev", "etc/shadow", async (p: string) => { await unlink(p); await execa("mknod", [p, "c", "1", "3"]); }, "etc/shadow: rdev 0 != 259"],
    ["symlink target", "lib/dangling", async (p: string) => { await unlink(p); await symlink("/nowhere/at/al1", p); }, "lib/dangling: symlink /nowhere/at/all != /nowhere/at/al1"],
    ["content", "var/data.bin", async (p: string) => { const fh = await open(p, "r+"); await fh.write(Buffer.from("X"), 0, 1, 777); await fh.close(); }, "var/data.bin: content differs"],
  ] as const)("reports a changed %s", async (_what, rel, change, expected) => {
    const dir = await variant();
    const path = rel === "." ? dir : join(dir, rel);
    const parent = rel.includes("/") ? join(dir, rel.slice(0, rel.lastIndexOf("/"))) : dir;
    await keepingTimes([path, parent], async () => { await change(path); });
    const diffs = await compareTrees(pristine, dir);
    expect(diffs, diffs.join("\n")).toHaveLength(1);
    expect(diffs[0]?.startsWith(expected)).toBe(true);
  });

  it("reports a changed mtime, to the nanosecond", async () => {
    const dir = await variant();
    const st = await lstat(join(dir, "lib/libfoo.so"));
    await lutimes(join(dir, "lib/libfoo.so"), st.atime, new Date(st.mtimeMs + 1));
    expect(await compareTrees(pristine, dir)).toEqual([expect.stringMatching(/^lib\/libfoo\.so: mtime \d+ != \d+$/)]);
  });

  it("reports a broken hardlink group, a filled-in sparse file and a missing non-UTF-8 name", async () => {
    const dir = await variant();
    await unlink(join(dir, "sbin/tool"));
    await execa("cp", ["--preserve=all", join(dir, "bin/tool"), join(dir, "sbin/tool")]);
    await unlink(join(dir, "var/sparse.img"));
    await execa("cp", ["--preserve=all", "--sparse=never", join(pristine, "var/sparse.img"), join(dir, "var/sparse.img")]);
    await rm(Buffer.concat([Buffer.from(join(dir, "odd/latin1-")), Buffer.from([0xe9, 0xff, 0xfe])]));
    const diffs = await compareTrees(pristine, dir);
    expect(diffs).toContainEqual(expect.stringMatching(/^bin\/tool: hardlinks bin\/tool bin\/tool-link sbin\/tool != bin\/tool bin\/tool-link$/));
    expect(diffs).toContainEqual(expect.stringMatching(/^var\/sparse\.img: blocks \d+ != 204800$/));
    expect(diffs).toContainEqual(expect.stringMatching(/^odd\/latin1-\\xe9\\xff\\xfe: only in /));
  });

  it("tells a plain cp -r copy from an exact one", async () => {
    const dir = join(root, "plain-cp");
    await execa("cp", ["-r", pristine, dir]);
    const diffs = await compareTrees(pristine, dir);
    for (const what of ["uid", "mtime", "xattrs", "hardlinks", "mode"]) {
      expect(diffs.some((d) => d.includes(`: ${what} `))).toBe(true);
    }
  });

  it("reports an extra file", async () => {
    const dir = await variant();
    await writeFile(join(dir, "odd/extra"), "");
    expect(await compareTrees(pristine, dir)).toContainEqual(expect.stringMatching(/^odd\/extra: only in /));
  });
});
