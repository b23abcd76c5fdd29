import { lstat, open, readdir } from "node:fs/promises";
import { execa, type ExecaError } from "execa";

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
  const child = execa("cp", cpArgs(src, dst), { timeout: opts.timeoutMs, forceKillAfterDelay: 5_000, stdin: "ignore", stdout: "ignore" });
  if (opts.onCopyStart !== undefined && child.pid !== undefined) {
    try {
      await opts.onCopyStart(child.pid);
    } catch (err) {
      child.kill("SIGKILL");
      await child.catch(() => undefined);
      throw err;
    }
  }
  try {
    await child;
  } catch (err) {
    throw new Error(`cp ${src} -> ${dst} failed: ${describeExecaError(err)}`, { cause: err });
  }
}

/** Trees with at most this many entries are synced file by file; larger ones with one syncfs(2). */
const FSYNC_EACH_LIMIT = 2000;

/**
 * Makes every file and directory of the tree at `path` durable. A small tree (a typical delta) gets an
 * fsync(2) per entry: on a busy host, syncfs(2) waits for every other writer's dirty data too (measured:
 * seconds, with 50 restarts at once). A large tree gets one syncfs(2) through `sync -f`.
 */
export async function syncFilesystem(path: string, timeoutMs: number): Promise<void> {
  // Names are bytes: a delta may hold names that are not UTF-8.
  const entries: { path: Buffer; dir: boolean }[] = [];
  const walk = async (p: Buffer): Promise<boolean> => {
    entries.push({ path: p, dir: true });
    for (const e of await readdir(p, { withFileTypes: true, encoding: "buffer" })) {
      if (entries.length > FSYNC_EACH_LIMIT) return false;
      const child = Buffer.concat([p, Buffer.from("/"), e.name]);
      if (e.isDirectory()) {
        if (!(await walk(child))) return false;
      } else if (e.isFile()) entries.push({ path: child, dir: false });
    }
    return true;
  };
  const small = (await lstat(path)).isDirectory() && (await walk(Buffer.from(path)));
  if (!small) {
    await execa("sync", ["-f", "--", path], { timeout: timeoutMs, forceKillAfterDelay: 2_000, stdin: "ignore" });
    return;
  }
  for (const e of entries) {
    // fsync(2) works on a read-only descriptor; nothing is opened for writing.
    const fh = await open(e.path, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}

/** fsync(2) of a directory, so a rename or an unlink inside it survives a power cut. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Removes a tree with `rm -rf --one-file-system`, which copes with any file name (non-UTF-8 bytes too)
 * and never crosses into a mount below it.
 */
export async function removeTree(path: string, timeoutMs: number): Promise<void> {
  try {
    await execa("rm", ["-rf", "--one-file-system", "--", path], { timeout: timeoutMs, forceKillAfterDelay: 2_000, stdin: "ignore" });
  } catch (err) {
    throw new Error(`rm -rf ${path} failed: ${describeExecaError(err)}`, { cause: err });
  }
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

function describeExecaError(err: unknown): string {
  const e = err as Partial<ExecaError>;
  if (e.timedOut === true) return "timed out";
  if (typeof e.signal === "string") return `killed by ${e.signal}`;
  const stderr = typeof e.stderr === "string" ? e.stderr.trim().split("\n").slice(0, 5).join("; ") : "";
  return stderr !== "" ? `${stderr} (exit ${e.exitCode ?? "?"})` : (e.shortMessage ?? String(err));
}
