import { randomBytes } from "node:crypto";
import { link, readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PatchrollError } from "../errors/patchroll-error.js";

/** File name of the lock inside a snapshots dir. Names starting with "." are never snapshots. */
export const LOCK_FILE = ".lock";

/**
 * Runs `fn` holding the lock of one snapshots dir, so a prune never removes a snapshot that a restore
 * is copying and two snapshots never clear each other's temp dirs. The lock file holds the owner's pid;
 * one left by a process that died (kill -9) is taken over. Not reentrant: a second call from the same
 * process while the first runs is refused like any other.
 */
export async function withSnapshotLock<T>(snapshotsDir: string, what: string, fn: () => Promise<T>): Promise<T> {
  const lockPath = join(snapshotsDir, LOCK_FILE);
  await acquire(lockPath, what);
  try {
    return await fn();
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}

async function acquire(lockPath: string, what: string): Promise<void> {
  // Written in full under a private name, then hard-linked into place: others never see a half-written lock.
  const mine = `${lockPath}.${process.pid}.${randomBytes(4).toString("hex")}`;
  await writeFile(mine, `${process.pid}\n${what}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        await link(mine, lockPath);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const holder = await readHolder(lockPath);
      if (holder !== undefined && isAlive(holder.pid)) {
        throw new PatchrollError(
          "SNAPSHOT_FAILED",
          `${lockPath} is held by pid ${holder.pid} (${holder.what}); wait for it to finish, then retry ${what}.`,
        );
      }
      // The holder died without unlocking: take the lock over.
      await unlink(lockPath).catch(() => undefined);
    }
    throw new PatchrollError("SNAPSHOT_FAILED", `could not take ${lockPath} for ${what}: another process keeps taking it; retry.`);
  } finally {
    await unlink(mine).catch(() => undefined);
  }
}

async function readHolder(lockPath: string): Promise<{ pid: number; what: string } | undefined> {
  try {
    const [pidLine = "", what = "?"] = (await readFile(lockPath, "utf8")).split("\n");
    const pid = Number.parseInt(pidLine, 10);
    return Number.isInteger(pid) && pid > 0 ? { pid, what } : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
