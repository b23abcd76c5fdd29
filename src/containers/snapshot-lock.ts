import { join } from "node:path";
import { PatchrollError } from "../errors/patchroll-error.js";
import { lockHolder, lockText, readText, tryTakeLockFile, unlinkIfMine } from "../fs/lock-file.js";

/** File name of the lock inside a snapshots dir. Names starting with "." are never snapshots. */
export const LOCK_FILE = ".lock";

/**
 * Runs `fn` holding the lock of one snapshots dir, so a prune never removes a snapshot that a restore
 * is copying and two snapshots never clear each other's temp dirs. The lock file holds the owner's pid
 * and start time (pids are reused: after a power cut a restarted daemon may get its old pid); one left
 * by a process that died (kill -9) is taken over (src/fs/lock-file.ts). Not reentrant: a second call
 * from the same process while the first runs is refused like any other.
 */
export async function withSnapshotLock<T>(snapshotsDir: string, what: string, fn: () => Promise<T>): Promise<T> {
  const lockPath = join(snapshotsDir, LOCK_FILE);
  const me = lockText(what);
  if (!tryTakeLockFile(lockPath, me)) {
    const holder = lockHolder(readText(lockPath));
    const by = holder === undefined ? "another process" : `pid ${holder.pid} (${holder.what})`;
    throw new PatchrollError("SNAPSHOT_FAILED", `${lockPath} is held by ${by}; wait for it to finish, then retry ${what}.`);
  }
  try {
    return await fn();
  } finally {
    unlinkIfMine(lockPath, me);
  }
}
