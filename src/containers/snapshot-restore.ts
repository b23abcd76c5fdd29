import { lstat, readdir, rename } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import type { Logger } from "../log/logger.js";
import { silentLogger } from "../log/logger.js";
import { PatchrollError } from "../errors/patchroll-error.js";
import { DEFAULT_MARGIN, freeSpace, spaceShortfall, type SpaceMargin } from "./disk-space.js";
import { fsyncDir } from "../fs/durable-file.js";
import { copyTree, pathExists, removeTree, syncFilesystem, type CopyStartHook } from "./snapshot-copy.js";
import { isSnapshotId } from "./snapshot-id.js";
import { withSnapshotLock } from "./snapshot-lock.js";
import { readSnapshot, snapshotTree, type SnapshotInfo } from "./snapshot-meta.js";
import { NoSpaceError, PRCOPY, syncTree } from "./snapshot-sync.js";
import { leftoversFromNames, planRestoreRecovery, restorePaths, type RecoveryAction } from "./snapshot-restore-plan.js";

/** Points a test can stop at to play a crash: after the copy is complete, after the old delta is set aside, after the copy is in place. */
export type RestoreStep = "copied" | "moved-aside" | "moved-in";

export interface RestoreOptions {
  /** The snapshot: its info, or its path `<snapshotsDir>/<id>`. */
  snapshot: SnapshotInfo | string;
  deltaDir: string;
  /** Room left free on the delta's filesystem after the copy. Default {@link DEFAULT_MARGIN}. */
  margin?: SpaceMargin;
  /** Bound on the copy and on each removal. Default 30 minutes. */
  timeoutMs?: number;
  logger?: Logger;
  /** Test hook: the pid of the copying tool (prcopy, or cp where it is not built), as soon as it runs. */
  onCopyStart?: CopyStartHook;
  /** Test hook: prcopy stops itself (SIGSTOP) once it has written this many files. */
  stopCopyAfter?: number;
  /** Test hook: called after each step (see {@link RestoreStep}). */
  onStep?: (step: RestoreStep) => void | Promise<void>;
}

/**
 * Puts the snapshot back as the delta, exactly. THE CONTAINER MUST BE STOPPED (the caller's duty): an
 * overlay whose upper dir is replaced under it is undefined behaviour.
 *
 * The copy is prcopy's where it is built (parallel, reflinks where the filesystem has them, never hard
 * links), else cp's. Crash-safe and idempotent: the snapshot is copied beside the delta first (`<deltaDir>.restoring-<id>`,
 * then `<deltaDir>.restore-<id>` once complete and synced), the old delta is renamed to
 * `<deltaDir>.pre-restore-<id>`, the copy renamed into place, and only then the old delta removed. The old
 * delta is never deleted before the restored one is in place. After a crash, running restoreDelta again
 * (or {@link recoverInterruptedRestore}) finishes the job from whatever was left. Failures throw
 * PatchrollError("SNAPSHOT_FAILED"); a refusal before the swap leaves the delta untouched.
 */
export async function restoreDelta(opts: RestoreOptions): Promise<void> {
  const log = opts.logger ?? silentLogger();
  const timeoutMs = opts.timeoutMs ?? 30 * 60_000;
  const snapshotPath = resolve(typeof opts.snapshot === "string" ? opts.snapshot : opts.snapshot.path);
  const info = await readSnapshot(snapshotPath);
  if (info === undefined) {
    throw new PatchrollError("SNAPSHOT_FAILED", `${snapshotPath} is not a complete snapshot (no valid snapshot.json and delta/); the delta was not touched. Pick another with listSnapshots.`);
  }
  const deltaDir = resolve(opts.deltaDir);
  const parent = dirname(deltaDir);
  const paths = restorePaths(deltaDir, info.id);
  const [deltaStat, parentStat] = await Promise.all([lstat(deltaDir).catch(() => undefined), lstat(parent)]);
  if (deltaStat !== undefined && deltaStat.dev !== parentStat.dev) {
    throw new PatchrollError("SNAPSHOT_FAILED", `${deltaDir} is a mount point; a restore replaces the delta by renames within ${parent} and cannot do that. Keep deltas as plain dirs; the delta was not touched.`);
  }

  await withSnapshotLock(dirname(snapshotPath), `restore ${info.id} into ${deltaDir}`, async () => {
    try {
      await recover(deltaDir, info.id, log, timeoutMs);
      if (!(await pathExists(paths.ready))) {
        const margin = opts.margin ?? DEFAULT_MARGIN;
        const refused = (shortfall: string) => new PatchrollError("SNAPSHOT_FAILED", `restore of snapshot ${info.id} refused: the copy beside ${deltaDir} ${shortfall}. Free space on that filesystem, then retry; the delta was not touched.`);
        try {
          if (PRCOPY !== "") {
            // A copy of its own (never hard links: the container will write to it), reflinked where it can be.
            await syncTree({ src: snapshotTree(info), dst: paths.partial, sync: "auto", tolerant: false, margin, timeoutMs, onCopyStart: opts.onCopyStart, stopAfter: opts.stopCopyAfter });
          } else {
            const shortfall = spaceShortfall(info, freeSpace(parent), margin);
            if (shortfall !== undefined) throw new NoSpaceError(shortfall);
            await copyTree(snapshotTree(info), paths.partial, { timeoutMs, onCopyStart: opts.onCopyStart });
            await syncFilesystem(paths.partial, timeoutMs);
          }
        } catch (err) {
          await removeTree(paths.partial, timeoutMs).catch(() => undefined);
          throw err instanceof NoSpaceError ? refused(err.message) : err;
        }
        await rename(paths.partial, paths.ready);
        await fsyncDir(parent);
      }
      await opts.onStep?.("copied");
      if (await pathExists(deltaDir)) {
        await rename(deltaDir, paths.aside);
        await fsyncDir(parent);
        await opts.onStep?.("moved-aside");
      }
      await rename(paths.ready, deltaDir);
      await fsyncDir(parent);
      await opts.onStep?.("moved-in");
      if (await pathExists(paths.aside)) {
        await removeTree(paths.aside, timeoutMs);
        await fsyncDir(parent);
      }
    } catch (err) {
      if (err instanceof PatchrollError) throw err;
      throw new PatchrollError("SNAPSHOT_FAILED", `restore of snapshot ${info.id} into ${deltaDir} failed: ${(err as Error).message}. Run the restore again: it resumes from what is left (${deltaDir} or ${paths.aside} holds the old delta until the restored one is in place).`, { cause: err });
    }
    log.info({ snapshot: info.id, deltaDir }, "delta restored from snapshot");
  }, log);
}

/**
 * Finishes or undoes whatever interrupted restores left beside `deltaDir` (see snapshot-restore-plan.ts),
 * so that afterwards `deltaDir` holds a whole delta. Call it before starting a container after a crash.
 * With `snapshotsDir` (the delta's snapshots dir) it runs under that dir's lock: no restore runs meanwhile,
 * and the copy of one whose process died, which may still be writing beside the delta, is ended first
 * (see withSnapshotLock). Without it, no restore of this delta may be running. Returns the actions taken.
 */
export async function recoverInterruptedRestore(deltaDir: string, opts: { logger?: Logger; timeoutMs?: number; snapshotsDir?: string } = {}): Promise<RecoveryAction[]> {
  const log = opts.logger ?? silentLogger();
  const run = () => recover(resolve(deltaDir), undefined, log, opts.timeoutMs ?? 30 * 60_000);
  // The daemon's start asks this of every container: where a restore left nothing, no lock is taken.
  if ((await leftoversBeside(resolve(deltaDir))).length === 0) return [];
  if (opts.snapshotsDir === undefined || !(await pathExists(opts.snapshotsDir))) return run();
  return withSnapshotLock(resolve(opts.snapshotsDir), `recovery of an interrupted restore into ${deltaDir}`, run, log);
}

/** What interrupted restores left beside `deltaDir` (named after it and a snapshot id). */
async function leftoversBeside(deltaDir: string): Promise<ReturnType<typeof leftoversFromNames>> {
  return leftoversFromNames(basename(deltaDir), await readdir(dirname(deltaDir)), isSnapshotId);
}

async function recover(deltaDir: string, keepReadyFor: string | undefined, log: Logger, timeoutMs: number): Promise<RecoveryAction[]> {
  const parent = dirname(deltaDir);
  const leftovers = await leftoversBeside(deltaDir);
  if (leftovers.length === 0) return [];
  const plan = planRestoreRecovery({ deltaExists: await pathExists(deltaDir), leftovers, keepReadyFor });
  if (!plan.ok) {
    throw new PatchrollError("SNAPSHOT_FAILED", `cannot finish an interrupted restore of ${deltaDir}: ${plan.conflict}. Nothing was changed.`);
  }
  for (const action of plan.actions) {
    const paths = restorePaths(deltaDir, action.id);
    if (action.op === "move-in") {
      await rename(paths[action.what], deltaDir);
      await fsyncDir(parent);
    } else {
      await removeTree(paths[action.what], timeoutMs);
    }
    log.warn({ deltaDir, action }, "finished an interrupted restore step");
  }
  if (plan.actions.length > 0) await fsyncDir(parent);
  return plan.actions;
}
