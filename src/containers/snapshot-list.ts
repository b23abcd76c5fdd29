import { readdir, rename } from "node:fs/promises";
import { join } from "node:path";
import { PatchrollError } from "../errors/patchroll-error.js";
import { fsyncDir } from "../fs/durable-file.js";
import { removeTree } from "./snapshot-copy.js";
import { isSnapshotId } from "./snapshot-id.js";
import { withSnapshotLock } from "./snapshot-lock.js";
import { readSnapshot, type SnapshotInfo } from "./snapshot-meta.js";

/** Prefix of a snapshot being copied; such dirs are never listed and are cleared by the next snapshot. */
export const TEMP_PREFIX = ".tmp-";
/** Prefix of a snapshot being deleted (renamed first, so a crash mid-delete leaves nothing listable). */
export const TRASH_PREFIX = ".trash-";

const REMOVE_TIMEOUT_MS = 30 * 60_000;

/** Complete snapshots in `snapshotsDir`, oldest first (by creation time, then id). Missing dir: none. */
export async function listSnapshots(snapshotsDir: string): Promise<SnapshotInfo[]> {
  let names: string[];
  try {
    names = await readdir(snapshotsDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const found: SnapshotInfo[] = [];
  for (const name of names) {
    if (!isSnapshotId(name)) continue;
    const info = await readSnapshot(join(snapshotsDir, name));
    if (info !== undefined) found.push(info);
  }
  return found.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

/** The newest complete snapshot, or undefined when there is none. */
export async function latestSnapshot(snapshotsDir: string): Promise<SnapshotInfo | undefined> {
  return (await listSnapshots(snapshotsDir)).at(-1);
}

/**
 * Deletes all but the `keep` newest snapshots (keep >= 1: a delta always keeps a snapshot) and any
 * leftover of an interrupted delete. Returns the snapshots removed, oldest first.
 */
export async function pruneSnapshots(snapshotsDir: string, keep: number): Promise<SnapshotInfo[]> {
  if (!Number.isInteger(keep) || keep < 1) {
    throw new PatchrollError("USAGE", `pruneSnapshots: keep must be an integer >= 1, got ${keep}; the newest snapshot is never pruned.`);
  }
  const all = await listSnapshots(snapshotsDir);
  if (all.length === 0) return [];
  return withSnapshotLock(snapshotsDir, "prune snapshots", async () => {
    await clearLeftovers(snapshotsDir, [TRASH_PREFIX]);
    const current = await listSnapshots(snapshotsDir);
    const doomed = current.slice(0, Math.max(0, current.length - keep));
    for (const info of doomed) {
      const trash = join(snapshotsDir, `${TRASH_PREFIX}${info.id}`);
      await rename(info.path, trash);
      await fsyncDir(snapshotsDir);
      await removeTree(trash, REMOVE_TIMEOUT_MS);
    }
    return doomed;
  });
}

/** Removes temp and trash dirs left by a crash, but those in `keep`. Caller holds the lock. */
export async function clearLeftovers(snapshotsDir: string, prefixes: readonly string[] = [TEMP_PREFIX, TRASH_PREFIX], keep: readonly string[] = []): Promise<string[]> {
  const cleared: string[] = [];
  for (const name of await readdir(snapshotsDir)) {
    if (!prefixes.some((p) => name.startsWith(p))) continue;
    const path = join(snapshotsDir, name);
    if (keep.includes(path)) continue;
    await removeTree(path, REMOVE_TIMEOUT_MS);
    cleared.push(path);
  }
  if (cleared.length > 0) await fsyncDir(snapshotsDir);
  return cleared;
}
