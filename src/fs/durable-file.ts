import { closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * How patchroll writes a state file so that a crash or power cut leaves either the old file or the new
 * one, never a torn or empty one: write a temporary file in the same directory, fsync it, rename it over
 * the target, fsync the directory (without the last step the rename itself may be lost). Every state
 * file patchroll writes goes through here; the journal's appends are synced where they are written.
 */

/** Options of {@link writeFileDurable}. */
export interface DurableWriteOptions {
  /** Mode of a new file (before the umask). Default 0o644. */
  mode?: number;
}

/** A temporary name beside `file`, unique per process and call, hidden from `*.json` globs. */
function tempBeside(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
}

/** fsync(2) through a read-only descriptor (enough for a directory, and for a file: nothing is opened for writing). */
export async function syncPath(path: Buffer | string): Promise<void> {
  const fh = await open(path, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsyncs a directory, so that a file created, renamed or removed in it stays so after a crash. */
export function fsyncDir(dir: string): Promise<void> {
  return syncPath(dir);
}

/** {@link fsyncDir} for code that must not yield (the journal). */
export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces `file` by `data` durably (see the top of this module). The directory must exist. */
export async function writeFileDurable(file: string, data: string | Uint8Array, options: DurableWriteOptions = {}): Promise<void> {
  const tmp = tempBeside(file);
  try {
    const fh = await open(tmp, "w", options.mode ?? 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(file));
}

/** Writes and fsyncs a temporary file beside `file`; returns its path. Removes it when that fails. */
function syncedTempSync(file: string, data: string | Uint8Array, options: DurableWriteOptions): string {
  const tmp = tempBeside(file);
  try {
    const fd = openSync(tmp, "w", options.mode ?? 0o644);
    try {
      writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  return tmp;
}

/** {@link writeFileDurable} for code that must not yield. */
export function writeFileDurableSync(file: string, data: string | Uint8Array, options: DurableWriteOptions = {}): void {
  const tmp = syncedTempSync(file, data, options);
  try {
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDirSync(dirname(file));
}

/**
 * Creates `file` holding `data`, durably, unless it exists: the complete file appears at once (link(2)
 * of a synced temporary file, which fails when the name is taken), so a reader never sees it empty.
 * Returns false when the file existed (another writer was first); it is then left as it is.
 */
export function createFileDurableSync(file: string, data: string | Uint8Array, options: DurableWriteOptions = {}): boolean {
  const tmp = syncedTempSync(file, data, options);
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
  fsyncDirSync(dirname(file));
  return true;
}
