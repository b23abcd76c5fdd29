import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { LISTED_LIMIT, walkTree } from "../../src/containers/tree-walk.js";

const dir = mkdtempSync("/var/tmp/patchroll-test-tree-walk-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What du(1) says of a tree: allocated bytes and inodes, one filesystem, hardlinks once. */
async function du(path: string): Promise<{ bytes: number; files: number }> {
  const bytes = Number((await execa("du", ["-sx", "-B1", path])).stdout.split("\t")[0]);
  const files = Number((await execa("du", ["-sx", "--inodes", path])).stdout.split("\t")[0]);
  return { bytes, files };
}

describe("walkTree", () => {
  it("lists a small tree's directories and regular files once per inode, and agrees with du", async () => {
    const root = join(dir, "small");
    mkdirSync(join(root, "etc/sub"), { recursive: true });
    writeFileSync(join(root, "etc/a.conf"), "a".repeat(10_000));
    linkSync(join(root, "etc/a.conf"), join(root, "etc/sub/a-link"));
    symlinkSync("a.conf", join(root, "etc/sym"));
    await execa("mkfifo", [join(root, "fifo")]);
    const odd = Buffer.concat([Buffer.from(join(root, "etc/sub/")), Buffer.from([0x6e, 0xff, 0x6f])]);
    writeFileSync(odd, "x");
    const tree = await walkTree(root);
    expect(tree).toMatchObject(await du(root));
    const listed = tree.listed!.map((b) => b.toString("latin1")).sort();
    // The hardlink counts once (whichever name came first); the symlink and the fifo are not listed.
    expect(listed.filter((p) => p.endsWith("a.conf") || p.endsWith("a-link"))).toHaveLength(1);
    expect(listed.filter((p) => !p.endsWith("a.conf") && !p.endsWith("a-link"))).toEqual(["", "etc", "etc/sub", "etc/sub/n\xffo"]);
  });

  it("does not list a tree past the limit, and still measures it", async () => {
    const root = join(dir, "large");
    mkdirSync(join(root, "many"), { recursive: true });
    for (let i = 0; i < LISTED_LIMIT + 50; i++) writeFileSync(join(root, "many", `f${i}`), "");
    const tree = await walkTree(root);
    expect(tree.listed).toBeUndefined();
    expect(tree).toMatchObject(await du(root));
  });

  it("takes a single file for a tree of one", async () => {
    writeFileSync(join(dir, "single"), "x".repeat(5000));
    const tree = await walkTree(join(dir, "single"));
    expect(tree).toMatchObject({ ...(await du(join(dir, "single"))), listed: [Buffer.alloc(0)] });
  });

  it("says what is wrong with a path that is not there", async () => {
    await expect(walkTree(join(dir, "missing"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});
