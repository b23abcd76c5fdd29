import { mkdir, mkdtemp, readFile, rename, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PRCOPY } from "../../src/containers/snapshot-sync.js";
import { waitUntilStopped } from "../helpers/process-state.js";
import { compareTrees, getXattr, makeSwapBait, setXattr } from "../helpers/tree-compare.js";

/**
 * native/prcopy against what a running container can do to its delta while it is copied (prcopy runs as
 * root, the delta is the container's): a file swapped for a fifo, a parent dir swapped for a symlink
 * beyond the descriptor budget, and a DST dir whose default ACL new entries would inherit. prcopy is
 * stopped at a known point (--stop-after 0: once the delta is walked, before anything is written) while
 * the test changes the delta.
 */
describe.skipIf(PRCOPY === "")("prcopy with a hostile delta (real filesystem, root)", () => {
  let root = "";
  beforeAll(async () => {
    root = await mkdtemp("/var/tmp/patchroll-test-prcopy-hostile-");
  });
  afterAll(async () => {
    if (root !== "") await rm(root, { recursive: true, force: true });
  });

  /**
   * Runs prcopy `args` (behind `wrapper`, a command that execs it: same pid); once it has stopped itself,
   * `meanwhile` changes the delta, then it goes on.
   */
  async function copyWhile(args: string[], meanwhile: () => Promise<void>, wrapper: string[] = []) {
    const [cmd, ...rest] = [...wrapper, PRCOPY, "--stop-after", "0", ...args];
    const child = execa(cmd!, rest, { reject: false, timeout: 60_000 });
    await waitUntilStopped(child.pid!);
    await meanwhile();
    process.kill(child.pid!, "SIGCONT");
    return child;
  }

  it("never blocks on a file the container swapped for a fifo", async () => {
    const dir = join(root, "fifo");
    const delta = join(dir, "delta");
    await mkdir(join(delta, "var"), { recursive: true });
    await writeFile(join(delta, "var/log"), "a log\n");
    await writeFile(join(delta, "var/other"), "other\n");
    const r = await copyWhile(["--tolerant", "--sync", "none", delta, join(dir, "copy")], async () => {
      await unlink(join(delta, "var/log"));
      await execa("mkfifo", [join(delta, "var/log")]);
    });
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(0);
    expect(await readFile(join(dir, "copy/var/other"), "utf8")).toBe("other\n");
  });

  it("reads no xattr outside the delta when a parent dir is swapped for a symlink beyond the descriptor budget", async () => {
    const dir = join(root, "budget");
    const delta = join(dir, "delta");
    const outside = join(dir, "outside");
    await makeSwapBait(delta, outside);
    // With 64 descriptors prcopy keeps no dir open: every entry is reached again a name at a time.
    const r = await copyWhile(["--tolerant", "--jobs", "1", "--sync", "none", delta, join(dir, "copy")], async () => {
      await rename(join(delta, "d"), join(dir, "d-moved"));
      await symlink(outside, join(delta, "d"));
    }, ["prlimit", "--nofile=64:64", "--"]);
    expect(r.exitCode).toBe(0);
    const copied = await getXattr(join(dir, "copy/d/sub"), "user.whose").catch(() => undefined);
    expect(copied?.toString()).not.toBe("SECRET");
  });

  it("gives new entries exactly the source's xattrs where their DST dir has a default ACL", async () => {
    const dir = join(root, "acl");
    const delta = join(dir, "delta");
    await mkdir(join(delta, "shared/sub"), { recursive: true });
    await writeFile(join(delta, "shared/file"), "no ACL of its own\n");
    await symlink("file", join(delta, "shared/link"));
    // A default ACL (user::rwx group::r-x other::r-x) on a dir whose entries were made before it: they have none.
    const entry = (tag: number, perm: number) => Buffer.from([tag & 0xff, tag >> 8, perm, 0, 0xff, 0xff, 0xff, 0xff]);
    await setXattr(join(delta, "shared"), "system.posix_acl_default", Buffer.concat([Buffer.from([2, 0, 0, 0]), entry(0x01, 7), entry(0x04, 5), entry(0x20, 5)]));
    const r = await execa(PRCOPY, ["--sync", "none", delta, join(dir, "copy")], { reject: false });
    expect(r.stderr).toBe("");
    expect(await compareTrees(delta, join(dir, "copy"))).toEqual([]);
  });
});
