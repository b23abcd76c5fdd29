import { readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { readProcStat } from "../proc/proc-stat.js";
import { devString, isPseudoPath, type MappedFile, parseMaps } from "./maps.js";

/** A regular file a process holds open, from `/proc/PID/fd`. */
export interface OpenFile {
  fd: number;
  /** Path as the process sees it, without the " (deleted)" suffix. */
  path: string;
  inode: number;
  dev: string;
  deleted: boolean;
}

/** What a scan reads of one process. */
export interface ProcessView {
  pid: number;
  comm: string;
  /** Device of its root directory (for an overlay container: the overlay's). */
  rootDev: string;
  maps: MappedFile[];
  openFiles: OpenFile[];
  /** Its program as the kernel names it (`/proc/PID/exe`), inside its mount namespace. */
  exe: string | undefined;
  /** When it started, in ms since the epoch (about 10 ms precise). */
  startedMs: number;
}

const DELETED = " (deleted)";
/** USER_HZ, the unit of /proc/PID/stat's times: 100 on every Linux architecture (proc(5), "clock ticks"). */
const TICKS_PER_SEC = 100;
let bootMs: number | undefined;

/** When the machine booted, ms since the epoch, from /proc/uptime (10 ms precise, unlike /proc/stat's btime). */
function bootTimeMs(): number {
  if (bootMs === undefined) {
    const up = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    bootMs = Date.now() - up * 1000;
  }
  return bootMs;
}

/** A start time in clock ticks after boot (field 22 of `/proc/PID/stat`), in ms since the epoch. */
function ticksToMs(ticks: number): number {
  return bootTimeMs() + (ticks * 1000) / TICKS_PER_SEC;
}

/** Start time of `pid` in ms since the epoch; undefined when it is gone. */
export function processStartMs(pid: number): number | undefined {
  const stat = readProcStat(pid);
  return stat === null ? undefined : ticksToMs(stat.startTicks);
}

/** Regular files `pid` holds open; sockets, pipes, devices and pseudo files are left out. */
export function readOpenFiles(pid: number): OpenFile[] {
  const out: OpenFile[] = [];
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const name of fds) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${name}`);
      if (!link.startsWith("/")) continue;
      const deleted = link.endsWith(DELETED);
      const path = deleted ? link.slice(0, -DELETED.length) : link;
      if (isPseudoPath(path)) continue;
      const st = statSync(`/proc/${pid}/fd/${name}`);
      if (!st.isFile()) continue;
      out.push({ fd: Number(name), path, inode: st.ino, dev: devString(st.dev), deleted });
    } catch {
      // Closed meanwhile.
    }
  }
  return out;
}

/** Reads one process (its open files unless `openFiles` is false); undefined when it exited meanwhile. */
export function readProcess(pid: number, openFiles = true): ProcessView | undefined {
  try {
    const stat = readProcStat(pid);
    if (stat === null) return undefined;
    const comm = stat.comm;
    const rootDev = devString(statSync(`/proc/${pid}/root`).dev);
    const maps = parseMaps(readFileSync(`/proc/${pid}/maps`, "utf8"));
    const startedMs = ticksToMs(stat.startTicks);
    let exe: string | undefined;
    try {
      exe = readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, "");
    } catch {
      exe = undefined;
    }
    return { pid, comm, rootDev, maps, openFiles: openFiles ? readOpenFiles(pid) : [], exe, startedMs };
  } catch {
    return undefined;
  }
}

/** Its argv, from `/proc/PID/cmdline`; empty when gone or a kernel thread. */
export function readCmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(0, -1);
  } catch {
    return [];
  }
}

/** One variable of its environment, from `/proc/PID/environ`. */
export function readEnvVar(pid: number, name: string): string | undefined {
  try {
    const entry = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").find((e) => e.startsWith(`${name}=`));
    return entry?.slice(name.length + 1);
  } catch {
    return undefined;
  }
}

/** Its working directory inside its mount namespace. */
export function readCwd(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}
