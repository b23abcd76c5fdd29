import { closeSync, fsyncSync, mkdirSync, openSync, statfsSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { DoctorCheck, Finding } from "./check.js";

/** statfs magic numbers of network and FUSE filesystems (linux/magic.h), where rename and fsync promise less. */
const REMOTE_FS: ReadonlyMap<number, string> = new Map([
  [0x6969, "NFS"],
  [0xff534d42, "CIFS"],
  [0xfe534d42, "SMB2"],
  [0x65735546, "FUSE"],
]);

/** Tries what the writer does: create the dir, write a file, fsync it, remove it. Returns the failure, if any. */
export function probeWritable(dir: string): string | undefined {
  const file = join(dir, `.patchroll-doctor-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    const fd = openSync(file, "wx", 0o600);
    try {
      writeSync(fd, "doctor\n");
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    unlinkSync(file);
    return undefined;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return e.code === "EROFS" ? "it is on a read-only filesystem" : e.code === "ENOSPC" ? "its filesystem is full" : e.message;
  }
}

function remoteFs(dir: string): string | undefined {
  try {
    return REMOTE_FS.get(Number(statfsSync(dir).type));
  } catch {
    return undefined;
  }
}

function writableCheck(id: string, title: string, pick: (c: { spoolDir: string; journalDir: string }) => string, what: string, runbook: Finding["runbook"]): DoctorCheck {
  return {
    id,
    title,
    async run(ctx) {
      const dir = pick(ctx.config);
      const failure = probeWritable(dir);
      if (failure !== undefined) {
        return [{ severity: "error", problem: `${what} ${dir} is not writable: ${failure}`, fix: `make ${dir} a writable directory on a local filesystem (mount -o remount,rw, free space, or point the setting elsewhere)`, ...(runbook !== undefined ? { runbook } : {}) }];
      }
      const remote = remoteFs(dir);
      if (remote !== undefined) return [{ severity: "warning", problem: `${what} ${dir} is on ${remote}: fsync and rename there do not make records durable the way patchroll relies on`, fix: `move ${dir} to a local filesystem` }];
      return [];
    },
  };
}

/** The apt hooks write their records here; without it, package changes are only found from dpkg.log later. */
export const spoolWritableCheck = writableCheck("spool-writable", "spool writable", (c) => c.spoolDir, "the spool dir", "spool-backlog");

/** The write-ahead journal: without it no rollout can act (every step is journaled first). */
export const journalWritableCheck = writableCheck("journal-writable", "journal writable", (c) => c.journalDir, "the journal dir", undefined);
