import { join, resolve } from "node:path";
import { PatchrollError } from "../errors/patchroll-error.js";
import { lockHolder, lockText, readText, tryTakeLockFile, unlinkIfMine } from "../fs/lock-file.js";
import { type Logger, silentLogger } from "../log/logger.js";
import { endMarkedTools, TOOL_MARK_ENV, withToolMark } from "../proc/tool-mark.js";

/** A live process holds the lock: nothing was done. */
export class SnapshotLockHeld extends PatchrollError {}

/** File name of the lock inside a snapshots dir. Names starting with "." are never snapshots. */
export const LOCK_FILE = ".lock";

/**
 * Runs `fn` holding the lock of one snapshots dir, so a prune never removes a snapshot that a restore
 * is copying and two snapshots never clear each other's temp dirs. The lock file holds the owner's pid
 * and start time (pids are reused: after a power cut a restarted daemon may get its old pid); one left
 * by a process that died (kill -9) is taken over (src/fs/lock-file.ts). Not reentrant: a second call
 * from the same process while the first runs is refused like any other.
 *
 * The tools `fn` runs (prcopy, cp, rm, sync) outlive a holder killed under them (prspawn lets them run
 * on) and would go on writing into the temp dir, the snapshot or the delta while the next holder works
 * there. So each carries the lock file's path as its mark (src/proc/tool-mark.ts), and whoever takes over
 * the lock of a holder that died first kills every tool still carrying it and waits until they are gone,
 * before `fn` touches anything. That loses nothing: a copy without its manifest is copied again whole, a
 * restore resumes from what is left. A holder whose `fn` failed does the same before it lets go (prspawn
 * may have died under a tool that still runs: its run then fails).
 */
export async function withSnapshotLock<T>(snapshotsDir: string, what: string, fn: () => Promise<T>, logger?: Logger): Promise<T> {
  // Absolute: the path is also the mark the tools carry, which a process started elsewhere looks for.
  const lockPath = join(resolve(snapshotsDir), LOCK_FILE);
  const me = lockText(what);
  let dead: string | undefined;
  if (!tryTakeLockFile(lockPath, me, (stale) => (dead = stale))) {
    const holder = lockHolder(readText(lockPath));
    const by = holder === undefined ? "another process" : `pid ${holder.pid} (${holder.what})`;
    throw new SnapshotLockHeld("SNAPSHOT_FAILED", `${lockPath} is held by ${by}; wait for it to finish, then retry ${what}.`);
  }
  const log = logger ?? silentLogger();
  try {
    if (dead !== undefined) {
      const holder = lockHolder(dead);
      await endLeftTools(lockPath, `of ${holder === undefined ? "a holder" : `pid ${holder.pid} (${holder.what})`}, which died holding the lock`, what, log);
    }
    try {
      return await withToolMark(lockPath, fn);
    } catch (err) {
      await endLeftTools(lockPath, `of this failed ${what}`, what, log, err);
      throw err;
    }
  } finally {
    unlinkIfMine(lockPath, me);
  }
}

/** Ends the tools still carrying the mark of `lockPath` (caller holds the lock); refuses when one will not end. */
async function endLeftTools(lockPath: string, whose: string, what: string, log: Logger, cause?: unknown): Promise<void> {
  let ended: number[];
  try {
    ended = await endMarkedTools(lockPath);
  } catch (err) {
    const after = cause === undefined ? "" : ` (after: ${(cause as Error).message})`;
    throw new PatchrollError("SNAPSHOT_FAILED", `a tool ${whose} still writes under ${lockPath}: ${(err as Error).message}. Nothing more was done; find it with \`grep -lzxF '${TOOL_MARK_ENV}=${lockPath}' /proc/[0-9]*/environ\`, end it, then retry ${what}${after}.`, { cause: cause ?? err });
  }
  if (ended.length > 0) log.warn({ lock: lockPath, pids: ended }, `killed the tools ${whose} (they would have gone on writing)`);
}
