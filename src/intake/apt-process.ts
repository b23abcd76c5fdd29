import { readFileSync } from "node:fs";
import { parseProcStat } from "../proc/proc-stat.js";

export { parseProcStat, type ProcStat } from "../proc/proc-stat.js";

/** This boot's id (/proc/sys/kernel/random/boot_id). */
export function currentBootId(): string {
  return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
}

/**
 * True while the apt process that wrote a spool record still runs: same pid AND same start time (a pid is
 * reused once the process is gone), and, when `bootId` is given, the same boot. Synchronous: two reads of
 * small /proc files, cheap enough for a worker's poll loop.
 */
export function aptProcessAlive(pid: number, startTicks: number, bootId?: string): boolean {
  if (pid <= 0) return false;
  try {
    if (bootId !== undefined && bootId !== currentBootId()) return false;
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8"))?.startTicks === startTicks;
  } catch {
    return false;
  }
}
