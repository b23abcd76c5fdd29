import { lstat, mkdir, rename } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { PatchrollError } from "../errors/patchroll-error.js";
import type { Logger } from "../log/logger.js";
import { silentLogger } from "../log/logger.js";
import { DEFAULT_MARGIN, freeSpace, spaceShortfall, treeUsage, type SpaceMargin } from "./disk-space.js";
import { fsyncDir } from "../fs/durable-file.js";
import { copyTree, pathExists, removeTree, syncFilesystem, type CopyStartHook } from "./snapshot-copy.js";
import { assertSnapshotId } from "./snapshot-id.js";
import { clearLeftovers, TEMP_PREFIX } from "./snapshot-list.js";
import { withSnapshotLock } from "./snapshot-lock.js";
import { readSnapshot, SNAPSHOT_TREE, writeSnapshotMeta, type SnapshotInfo } from "./snapshot-meta.js";

export type { SnapshotInfo } from "./snapshot-meta.js";
export { snapshotTree } from "./snapshot-meta.js";
export { assertSnapshotId, isSnapshotId, snapshotIdFor } from "./snapshot-id.js";
export { latestSnapshot, listSnapshots, pruneSnapshots } from "./snapshot-list.js";
export { recoverInterruptedRestore, restoreDelta, type RestoreOptions, type RestoreStep } from "./snapshot-restore.js";

export interface SnapshotOptions {
  /** The container's overlay upper dir. */
  deltaDir: string;
  /**
   * Where this delta's snapshots live, one dir per delta. Keep it on the delta's filesystem (beside the
   * container's `work` dir), so copies can be reflinks and restores are renames.
   */
  snapshotsDir: string;
  /** Names the snapshot; sorts by time when made with {@link snapshotIdFor}. */
  id: string;
  /** Room left free on the snapshots filesystem after the copy. Default {@link DEFAULT_MARGIN}. */
  margin?: SpaceMargin;
  /** Bound on the copy (and each removal). Default 30 minutes. */
  timeoutMs?: number;
  logger?: Logger;
  /** Test hook: the `cp` pid, as soon as the copy starts. */
  onCopyStart?: CopyStartHook;
}

/**
 * Takes an exact copy of `deltaDir` as `<snapshotsDir>/<id>` (see snapshot-copy.ts for what "exact" covers).
 *
 * Atomic: the copy goes to `<snapshotsDir>/.tmp-<id>`, the filesystem is synced, `snapshot.json` written
 * and synced, then the dir renamed into place and its parent synced; a crash leaves at most a `.tmp-` dir,
 * which is never listed and is cleared by the next call. Idempotent: if snapshot `id` exists complete, it
 * is returned as is. Refuses (PatchrollError "SNAPSHOT_FAILED") when the copy would not fit with `margin`
 * to spare. For a point-in-time copy, freeze or stop the container first: a running one can change its
 * delta while cp reads it.
 */
export async function snapshotDelta(opts: SnapshotOptions): Promise<SnapshotInfo> {
  assertSnapshotId(opts.id);
  const log = opts.logger ?? silentLogger();
  const timeoutMs = opts.timeoutMs ?? 30 * 60_000;
  const deltaDir = resolve(opts.deltaDir);
  const snapshotsDir = resolve(opts.snapshotsDir);
  if (isWithin(snapshotsDir, deltaDir) || isWithin(deltaDir, snapshotsDir)) {
    throw new PatchrollError("USAGE", `snapshots dir ${snapshotsDir} and delta ${deltaDir} must not contain each other; put the snapshots beside the delta.`);
  }
  const deltaStat = await lstat(deltaDir).catch(() => undefined);
  if (deltaStat === undefined || !deltaStat.isDirectory()) {
    throw new PatchrollError("SNAPSHOT_FAILED", `cannot snapshot ${deltaDir}: it is not a directory. Check the container's lxc.rootfs.path (its last part is the delta).`);
  }
  await mkdir(snapshotsDir, { recursive: true, mode: 0o700 });
  const final = join(snapshotsDir, opts.id);

  return withSnapshotLock(snapshotsDir, `snapshot ${opts.id}`, async () => {
    const existing = await readSnapshot(final);
    if (existing !== undefined) {
      if (existing.source !== deltaDir) {
        throw new PatchrollError("SNAPSHOT_FAILED", `snapshot ${final} exists but was taken of ${existing.source}, not ${deltaDir}; use a snapshots dir per delta.`);
      }
      log.info({ snapshot: opts.id, deltaDir }, "snapshot already taken; reusing it");
      return existing;
    }
    if (await pathExists(final)) {
      throw new PatchrollError("SNAPSHOT_FAILED", `${final} exists but is not a complete snapshot; move it out of ${snapshotsDir} after checking what it is, then retry.`);
    }
    const cleared = await clearLeftovers(snapshotsDir);
    if (cleared.length > 0) log.warn({ cleared }, "removed leftovers of interrupted snapshots");

    const usage = await treeUsage(deltaDir);
    const shortfall = spaceShortfall(usage, freeSpace(snapshotsDir), opts.margin ?? DEFAULT_MARGIN);
    if (shortfall !== undefined) {
      throw new PatchrollError("SNAPSHOT_FAILED", `snapshot of ${deltaDir} refused: a copy in ${snapshotsDir} ${shortfall}. Free space there (prune old snapshots) before patching this container.`);
    }

    const tmp = join(snapshotsDir, `${TEMP_PREFIX}${opts.id}`);
    try {
      await mkdir(tmp, { mode: 0o700 });
      await copyTree(deltaDir, join(tmp, SNAPSHOT_TREE), { timeoutMs, onCopyStart: opts.onCopyStart });
      // The copy is exact: the delta's walk lists its paths too. tmp itself is synced below.
      await syncFilesystem(join(tmp, SNAPSHOT_TREE), timeoutMs, usage);
      const createdAt = new Date().toISOString();
      await writeSnapshotMeta(tmp, { id: opts.id, createdAt, bytes: usage.bytes, files: usage.files, source: deltaDir });
      await fsyncDir(tmp);
      await rename(tmp, final);
      await fsyncDir(snapshotsDir);
      log.info({ snapshot: opts.id, deltaDir, bytes: usage.bytes, files: usage.files }, "delta snapshot taken");
      return { id: opts.id, path: final, createdAt, bytes: usage.bytes, files: usage.files, source: deltaDir };
    } catch (err) {
      await removeTree(tmp, timeoutMs).catch(() => undefined);
      throw new PatchrollError("SNAPSHOT_FAILED", `snapshot of ${deltaDir} as ${opts.id} failed: ${(err as Error).message}. Nothing was kept; do not touch this container's delta until a snapshot succeeds.`, { cause: err });
    }
  });
}

function isWithin(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
