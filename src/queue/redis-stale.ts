import { readFile, readlink, rm } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../log/logger.js";
import { PatchrollError } from "../errors/patchroll-error.js";
import type { EmbeddedRedisPaths } from "./redis-config.js";

/**
 * Clears what a crash leaves behind in `STATEDIR/redis` so it cannot block a start: a pid file whose
 * process is gone, a socket file nobody listens on, and a redis-server orphaned by a killed daemon (it
 * still holds the AOF and the socket, so it is stopped: SIGTERM, then SIGKILL after `stopTimeoutMs`).
 * Refuses when that redis-server's parent is a live Node process running this same binary (another
 * supervisor, or another RedisSupervisor in this process, owns it).
 */
export async function clearStaleRedis(paths: EmbeddedRedisPaths, logger: Logger, stopTimeoutMs: number): Promise<void> {
  const pid = await readPid(paths.pidFile);
  if (pid !== undefined && (await isOurRedis(pid, paths.dir))) {
    const parent = await parentPid(pid);
    if (parent !== undefined && (await isSameNode(parent))) {
      throw new PatchrollError(
        "REDIS_UNAVAILABLE",
        `the embedded redis-server (pid ${pid}) for ${paths.dir} is already supervised by process ${parent}. Is another patchroll daemon running with this state directory? Stop it first (patchroll status).`,
      );
    }
    logger.warn({ pid, dir: paths.dir }, "stopping an orphaned embedded redis-server left by a previous run");
    await terminate(pid, stopTimeoutMs);
  }
  await rm(paths.pidFile, { force: true });
  // Redis unlinks its socket path before binding, but a leftover file would still confuse a client.
  await rm(paths.socketPath, { force: true });
}

async function readPid(file: string): Promise<number | undefined> {
  const text = await readFile(file, "utf8").catch(() => undefined);
  const pid = Number(text?.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** A redis-server whose working directory is ours (Redis chdirs to its `dir`). */
async function isOurRedis(pid: number, dir: string): Promise<boolean> {
  const [cwd, exe] = await Promise.all([readlink(`/proc/${pid}/cwd`).catch(() => undefined), readlink(`/proc/${pid}/exe`).catch(() => undefined)]);
  return cwd === resolve(dir) && exe !== undefined && basename(exe).startsWith("redis-");
}

async function parentPid(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  // Fields after the command name, which is in parentheses and may itself contain spaces.
  const rest = stat?.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ppid = Number(rest?.[1]);
  return Number.isInteger(ppid) && ppid > 0 ? ppid : undefined;
}

async function isSameNode(pid: number): Promise<boolean> {
  const exe = await readlink(`/proc/${pid}/exe`).catch(() => undefined);
  return exe === process.execPath;
}

/** True while `pid` runs; a zombie (exited, not yet reaped by its new parent) counts as gone. */
async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (stat === undefined) return false;
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
}

async function terminate(pid: number, timeoutMs: number): Promise<void> {
  const signal = (s: NodeJS.Signals): void => {
    try {
      process.kill(pid, s);
    } catch {
      // Already gone.
    }
  };
  signal("SIGTERM");
  const deadline = Date.now() + timeoutMs;
  while ((await alive(pid)) && Date.now() < deadline) await sleep(50);
  if (!(await alive(pid))) return;
  signal("SIGKILL");
  const killDeadline = Date.now() + 5000;
  while (await alive(pid)) {
    if (Date.now() > killDeadline) throw new PatchrollError("REDIS_UNAVAILABLE", `the orphaned embedded redis-server (pid ${pid}) survived SIGKILL for 5 s; check it with ps and remove it by hand.`);
    await sleep(20);
  }
}
