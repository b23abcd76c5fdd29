import { lstat, mkdir, rename } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { PatchrollError } from "../errors/patchroll-error.js";
import type { Logger } from "../log/logger.js";
import { silentLogger } from "../log/logger.js";
import { DEFAULT_MARGIN, freeSpace, spaceShortfall, treeUsage, type SpaceMargin, type TreeUsage } from "./disk-space.js";
import { fsyncDir } from "../fs/durable-file.js";
import { copyTree, pathExists, removeTree, syncFilesystem, type CopyStartHook } from "./snapshot-copy.js";
import { assertSnapshotId } from "./snapshot-id.js";
import { clearLeftovers, listSnapshots, TEMP_PREFIX } from "./snapshot-list.js";
import { withSnapshotLock } from "./snapshot-lock.js";
import { readSnapshot, SNAPSHOT_MANIFEST, SNAPSHOT_TREE, snapshotTree, writeSnapshotMeta, type SnapshotInfo } from "./snapshot-meta.js";
import { NoSpaceError, PRCOPY, syncTree, type SyncPass, type SyncResult } from "./snapshot-sync.js";

export type { SnapshotInfo } from "./snapshot-meta.js";
export { snapshotTree } from "./snapshot-meta.js";
export type { SyncResult } from "./snapshot-sync.js";
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
  /** Test hook: the pid of the copying tool (prcopy, or cp where it is not built), as soon as it runs. */
  onCopyStart?: CopyStartHook;
  /** Test hook: prcopy stops itself (SIGSTOP) once it has written this many files (a known point to kill it at). */
  stopCopyAfter?: number;
}

/**
 * Takes an exact copy of `deltaDir` as `<snapshotsDir>/<id>` (see snapshot-copy.ts for what "exact" covers).
 *
 * Atomic: the copy goes to `<snapshotsDir>/.tmp-<id>`, the filesystem is synced, `snapshot.json` written
 * and synced, then the dir renamed into place and its parent synced; a crash leaves at most a `.tmp-` dir,
 * which is never listed and is cleared by the next call. Idempotent: if snapshot `id` exists complete, it
 * is returned as is. Refuses (PatchrollError "SNAPSHOT_FAILED") when the copy would not fit with `margin`
 * to spare. For a point-in-time copy, freeze or stop the container first: a running one can change its
 * delta while it is read.
 *
 * With prcopy built (native/prcopy.c), the copy is incremental: after a {@link precopyDelta} of the same
 * id, only what changed since is copied (the catch-up), and files unchanged since the previous snapshot of
 * the same delta are hard-links to it. The space check then counts only what is really written.
 */
export async function snapshotDelta(opts: SnapshotOptions): Promise<SnapshotInfo> {
  const { deltaDir, snapshotsDir, final, log, timeoutMs } = await prepare(opts);
  return withSnapshotLock(snapshotsDir, `snapshot ${opts.id}`, async () => {
    const existing = await completeSnapshot(final, deltaDir);
    if (existing !== undefined) {
      log.info({ snapshot: opts.id, deltaDir }, "snapshot already taken; reusing it");
      return existing;
    }
    const tmp = await startCopy(snapshotsDir, opts.id, log);
    try {
      let usage: TreeUsage;
      if (PRCOPY !== "") {
        const pass = await syncTree({ ...(await passPaths(snapshotsDir, deltaDir, tmp)), sync: "auto", tolerant: false, margin: opts.margin ?? DEFAULT_MARGIN, timeoutMs, onCopyStart: opts.onCopyStart, stopAfter: opts.stopCopyAfter });
        log.debug({ snapshot: opts.id, ...pass }, "delta copied");
        usage = pass.usage;
      } else {
        usage = await copyWithCp(deltaDir, snapshotsDir, tmp, opts);
      }
      const createdAt = new Date().toISOString();
      await writeSnapshotMeta(tmp, { id: opts.id, createdAt, bytes: usage.bytes, files: usage.files, source: deltaDir });
      await fsyncDir(tmp);
      await rename(tmp, final);
      await fsyncDir(snapshotsDir);
      log.info({ snapshot: opts.id, deltaDir, bytes: usage.bytes, files: usage.files }, "delta snapshot taken");
      return { id: opts.id, path: final, createdAt, bytes: usage.bytes, files: usage.files, source: deltaDir };
    } catch (err) {
      await removeTree(tmp, timeoutMs).catch(() => undefined);
      throw copyFailed("snapshot", deltaDir, snapshotsDir, opts.id, err, "Nothing was kept; do not touch this container's delta until a snapshot succeeds.");
    }
  }, log);
}

/**
 * Copies `deltaDir` into the temp dir of snapshot `id` while the container still runs, so that the
 * {@link snapshotDelta} of the same id, once the container is stopped, copies only what changed since
 * (the catch-up). Nothing is listed as a snapshot until that call: a crash leaves a temp dir the catch-up
 * reuses, or the next snapshot of another id clears. Returns what the pass did, or `undefined` when there
 * is nothing to do (the snapshot exists already) or no way to do it (prcopy not built: the snapshot then
 * copies everything). Refuses (PatchrollError "SNAPSHOT_FAILED") when the copy would not fit.
 */
export async function precopyDelta(opts: SnapshotOptions): Promise<SyncResult | undefined> {
  if (PRCOPY === "") return undefined;
  const { deltaDir, snapshotsDir, final, log, timeoutMs } = await prepare(opts);
  return withSnapshotLock(snapshotsDir, `pre-copy ${opts.id}`, async () => {
    if ((await completeSnapshot(final, deltaDir)) !== undefined) return undefined;
    const tmp = await startCopy(snapshotsDir, opts.id, log);
    try {
      const pass = await syncTree({ ...(await passPaths(snapshotsDir, deltaDir, tmp)), sync: "auto", tolerant: true, margin: opts.margin ?? DEFAULT_MARGIN, timeoutMs, onCopyStart: opts.onCopyStart, stopAfter: opts.stopCopyAfter });
      log.info({ snapshot: opts.id, deltaDir, copied: pass.copied + pass.cloned, linked: pass.linked, kept: pass.kept }, "delta pre-copied");
      return pass;
    } catch (err) {
      // A partial pre-copy would hold space until the next snapshot of this delta: it goes.
      await removeTree(tmp, timeoutMs).catch(() => undefined);
      throw copyFailed("pre-copy", deltaDir, snapshotsDir, opts.id, err, "Nothing was kept; the container was not touched.");
    }
  }, log);
}

/** What the on-call person reads when a copy into `snapshotsDir` failed or would not fit. */
function copyFailed(what: "snapshot" | "pre-copy", deltaDir: string, snapshotsDir: string, id: string, err: unknown, after: string): PatchrollError {
  if (err instanceof NoSpaceError) {
    return new PatchrollError("SNAPSHOT_FAILED", `${what} of ${deltaDir} refused: a copy in ${snapshotsDir} ${err.message}. Free space there (prune old snapshots) before patching this container.`);
  }
  return new PatchrollError("SNAPSHOT_FAILED", `${what} of ${deltaDir} as ${id} failed: ${(err as Error).message}. ${after}`, { cause: err });
}

/** Checks the options; makes the snapshots dir. */
async function prepare(opts: SnapshotOptions): Promise<{ deltaDir: string; snapshotsDir: string; final: string; log: Logger; timeoutMs: number }> {
  assertSnapshotId(opts.id);
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
  return { deltaDir, snapshotsDir, final: join(snapshotsDir, opts.id), log: opts.logger ?? silentLogger(), timeoutMs: opts.timeoutMs ?? 30 * 60_000 };
}

/** The complete snapshot at `final`, if there is one (taken of `deltaDir`: anything else is refused). Caller holds the lock. */
async function completeSnapshot(final: string, deltaDir: string): Promise<SnapshotInfo | undefined> {
  const existing = await readSnapshot(final);
  if (existing !== undefined && existing.source !== deltaDir) {
    throw new PatchrollError("SNAPSHOT_FAILED", `snapshot ${final} exists but was taken of ${existing.source}, not ${deltaDir}; use a snapshots dir per delta.`);
  }
  if (existing === undefined && (await pathExists(final))) {
    throw new PatchrollError("SNAPSHOT_FAILED", `${final} exists but is not a complete snapshot; move it out of ${dirname(final)} after checking what it is, then retry.`);
  }
  return existing;
}

/** Clears what interrupted work of other ids left; returns the temp dir of `id` (kept: a pre-copy to catch up on). Caller holds the lock. */
async function startCopy(snapshotsDir: string, id: string, log: Logger): Promise<string> {
  const tmp = join(snapshotsDir, `${TEMP_PREFIX}${id}`);
  const cleared = await clearLeftovers(snapshotsDir, undefined, [tmp]);
  if (cleared.length > 0) log.warn({ cleared }, "removed leftovers of interrupted snapshots");
  await mkdir(tmp, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "EEXIST") throw err;
  });
  return tmp;
}

/** Where a prcopy pass reads and writes: the delta into `tmp`, and the newest snapshot of the same delta to link from. */
async function passPaths(snapshotsDir: string, deltaDir: string, tmp: string): Promise<Pick<SyncPass, "src" | "dst" | "manifest" | "linkDest">> {
  const previous = (await listSnapshots(snapshotsDir)).filter((s) => s.source === deltaDir).at(-1);
  const linkManifest = previous !== undefined ? join(previous.path, SNAPSHOT_MANIFEST) : undefined;
  const linkDest = previous !== undefined && linkManifest !== undefined && (await pathExists(linkManifest)) ? { tree: snapshotTree(previous), manifest: linkManifest } : undefined;
  return { src: deltaDir, dst: join(tmp, SNAPSHOT_TREE), manifest: join(tmp, SNAPSHOT_MANIFEST), linkDest };
}

/** The copy where prcopy is not built: all of it with cp, then synced. */
async function copyWithCp(deltaDir: string, snapshotsDir: string, tmp: string, opts: SnapshotOptions): Promise<TreeUsage> {
  const timeoutMs = opts.timeoutMs ?? 30 * 60_000;
  const usage = await treeUsage(deltaDir);
  const shortfall = spaceShortfall(usage, freeSpace(snapshotsDir), opts.margin ?? DEFAULT_MARGIN);
  if (shortfall !== undefined) throw new NoSpaceError(shortfall);
  await removeTree(join(tmp, SNAPSHOT_TREE), timeoutMs);
  await copyTree(deltaDir, join(tmp, SNAPSHOT_TREE), { timeoutMs, onCopyStart: opts.onCopyStart });
  // The copy is exact: the delta's walk lists its paths too. tmp itself is synced by the caller.
  await syncFilesystem(join(tmp, SNAPSHOT_TREE), timeoutMs, usage);
  return usage;
}

function isWithin(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
