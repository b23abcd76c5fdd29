import { lstat } from "node:fs/promises";
import { syncPath } from "../fs/durable-file.js";
import { runTool, type ToolResult, type ToolRun } from "../proc/run-tool.js";
import { failure } from "../proc/tool-failure.js";
import { type Tree, walkTree } from "./tree-walk.js";

/** Called with the pid of the `cp` process as soon as it runs (tests use it to kill the copy mid-way). */
export type CopyStartHook = (pid: number) => void | Promise<void>;

/**
 * GNU cp arguments for an exact copy of an overlay upper dir.
 *
 * Not `cp -a`: it means `--preserve=all`, and with `all` cp silently drops xattrs it fails to copy
 * (coreutils manual, "--preserve"). Naming the attributes makes a lost `trusted.overlay.*` xattr an error.
 * As root this keeps owners, modes (setuid, ACLs), nanosecond times (symlinks too), hardlinks inside the
 * tree, all xattrs (trusted.*, security.capability, user.*), device nodes (whiteouts are char 0/0), fifos,
 * sockets and holes (`--sparse=auto`); `--reflink=auto` clones extents where the filesystem can (btrfs, xfs);
 * `--one-file-system` keeps out anything mounted below the delta.
 * Not kept: inode flags (chattr +i/+a) and ctime, which no copy can set.
 */
export function cpArgs(src: string, dst: string): string[] {
  return ["-dR", "--one-file-system", "--preserve=mode,ownership,timestamps,links,xattr", "--reflink=auto", "--sparse=auto", "--no-target-directory", "--", src, dst];
}

/** Copies tree `src` to the new path `dst` exactly (see {@link cpArgs}); rejects with cp's own complaint. */
export async function copyTree(src: string, dst: string, opts: { timeoutMs: number; onCopyStart?: CopyStartHook | undefined }): Promise<void> {
  const r = await copyResult(runTool("cp", cpArgs(src, dst), { timeoutMs: opts.timeoutMs, killAfterMs: 5_000 }), opts.onCopyStart);
  if (r.exitCode !== 0) throw new Error(`cp ${src} -> ${dst} failed: ${failure(r)}`);
}

/** How a copying tool ended; `onCopyStart` gets its pid first (if it throws, the tool is killed). */
export async function copyResult(child: ToolRun, onCopyStart: CopyStartHook | undefined): Promise<ToolResult> {
  const pid = await child.pid;
  if (onCopyStart !== undefined && pid !== undefined) {
    try {
      await onCopyStart(pid);
    } catch (err) {
      child.kill("SIGKILL");
      await child.result;
      throw err;
    }
  }
  return child.result;
}

/**
 * Makes every file and directory of the tree at `path` durable. A small tree (a typical delta) gets an
 * fsync(2) per directory and regular file: on a busy host, syncfs(2) waits for every other writer's dirty
 * data too (measured: seconds, with 50 restarts at once). A large tree gets one syncfs(2) through
 * `sync -f`. `tree`, when given, is the walk of a tree with the same layout (the source of an exact copy),
 * which saves walking this one.
 */
export async function syncFilesystem(path: string, timeoutMs: number, tree?: Tree): Promise<void> {
  const listed = (tree ?? (await walkTree(path))).listed;
  if (listed === undefined) {
    const r = await runTool("sync", ["-f", "--", path], { timeoutMs }).result;
    if (r.exitCode !== 0) throw new Error(`sync -f ${path} failed: ${failure(r)}`);
    return;
  }
  const root = Buffer.from(path);
  const entries = listed.map((rel) => ({ path: rel.length === 0 ? root : Buffer.concat([root, Buffer.from("/"), rel]) }));
  // A few at once: the filesystem commits concurrent fsyncs together (ext4's journal, xfs's log), so a
  // tree costs about one commit instead of one per file.
  let next = 0;
  const worker = async () => {
    while (next < entries.length) await syncPath(entries[next++]!.path);
  };
  await Promise.all(Array.from({ length: Math.min(SYNC_PARALLEL, entries.length) }, worker));
}

const SYNC_PARALLEL = 8;


/**
 * Removes a tree with `rm -rf --one-file-system`, which copes with any file name (non-UTF-8 bytes too)
 * and never crosses into a mount below it.
 */
export async function removeTree(path: string, timeoutMs: number): Promise<void> {
  const r = await runTool("rm", ["-rf", "--one-file-system", "--", path], { timeoutMs }).result;
  if (r.exitCode !== 0) throw new Error(`rm -rf ${path} failed: ${failure(r)}`);
}

/** True when something (of any type, a dangling symlink too) is at `path`. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}
