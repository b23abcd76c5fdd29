import { readFileSync } from "node:fs";

/** The fields of /proc/PID/stat patchroll uses. */
export interface ProcStat {
  pid: number;
  comm: string;
  /** Field 3: R running, S sleeping, D uninterruptible, T stopped, Z zombie (exited, not yet reaped)... */
  state: string;
  ppid: number;
  /** Field 22: start time in clock ticks after boot; with the pid it identifies a process within a boot. */
  startTicks: number;
}

/** Parses /proc/PID/stat. The name may hold spaces and parentheses, so it ends at the LAST ") ". */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(") ");
  if (open < 0 || close < open) return null;
  const rest = text.slice(close + 2).trim().split(" ");
  const pid = Number(text.slice(0, open).trim());
  const ppid = Number(rest[1]);
  const startTicks = Number(rest[19]);
  if (!Number.isSafeInteger(pid) || !Number.isSafeInteger(ppid) || !Number.isSafeInteger(startTicks) || rest.length < 20) return null;
  return { pid, comm: text.slice(open + 1, close), state: rest[0]!, ppid, startTicks };
}

/** /proc/PID/stat of `pid`, parsed; null when the process is gone (or the text is not what proc(5) says). */
export function readProcStat(pid: number): ProcStat | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return null;
  }
}
