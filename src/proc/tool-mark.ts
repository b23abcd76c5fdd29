import { AsyncLocalStorage } from "node:async_hooks";
import { readdirSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { readProcStat, type ProcStat } from "./proc-stat.js";

/** The environment variable that carries a tool's mark (see {@link withToolMark}). */
export const TOOL_MARK_ENV = "PATCHROLL_TOOL_MARK";

const marks = new AsyncLocalStorage<string>();

/**
 * Runs `fn` so that every tool it starts with runTool (src/proc/run-tool.ts), however deep in what it
 * calls, carries `mark` in its environment (PATCHROLL_TOOL_MARK=mark), and so does whatever those tools
 * start.
 *
 * A tool outlives the process that started it: prspawn lets its tools run on when the daemon dies, as the
 * daemon's own children would. The mark is how whoever comes next finds such a tool ({@link endMarkedTools}).
 * A tool carries it from its first instruction, so there is no moment between its start and a record of
 * its pid in which the daemon could die leaving it unrecorded (prspawn even starts a request it read just
 * before the daemon went away).
 */
export function withToolMark<T>(mark: string, fn: () => Promise<T>): Promise<T> {
  return marks.run(mark, fn);
}

/** The mark of the tools started from here (within {@link withToolMark}), if any. */
export function currentToolMark(): string | undefined {
  return marks.getStore();
}

/**
 * Kills (SIGKILL) every process that carries `mark` and waits until none of them can do anything any
 * more, then looks again (for what they started meanwhile) until none is left. Returns the pids killed.
 * Throws when one still runs after `timeoutMs` (a process in uninterruptible sleep dies only once its
 * system call returns).
 */
export async function endMarkedTools(mark: string, timeoutMs = 60_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  const killed: number[] = [];
  for (;;) {
    const found = await markedProcesses(mark);
    if (found.length === 0) return killed;
    for (const p of found) {
      // Still the process that carried the mark (not a pid reused since): pid and start time.
      if (readProcStat(p.pid)?.startTicks !== p.startTicks) continue;
      try {
        process.kill(p.pid, "SIGKILL");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
      }
      killed.push(p.pid);
    }
    for (const p of found) {
      while (!ended(p)) {
        if (Date.now() > deadline) throw new Error(`pid ${p.pid} (${p.comm}) still runs ${timeoutMs} ms after SIGKILL`);
        await sleep(10);
      }
    }
  }
}

/** The processes whose environment holds `PATCHROLL_TOOL_MARK=mark`. */
async function markedProcesses(mark: string): Promise<ProcStat[]> {
  const entry = Buffer.from(`${TOOL_MARK_ENV}=${mark}\0`);
  const pids = (await readdir("/proc")).filter((n) => /^[0-9]+$/.test(n)).map(Number).filter((pid) => pid !== process.pid);
  const found = await Promise.all(pids.map(async (pid) => {
    const before = readProcStat(pid);
    // A zombie's environment reads empty: it can do nothing more, and is not found.
    const environ = before === null ? undefined : await readFile(`/proc/${pid}/environ`).catch(() => undefined);
    if (environ === undefined || !holdsEntry(environ, entry)) return undefined;
    // The same process before and after the read, not one that got its pid meanwhile.
    return readProcStat(pid)?.startTicks === before!.startTicks ? before! : undefined;
  }));
  return found.filter((p) => p !== undefined);
}

/** Whether the NUL-separated `environ` holds `entry` (NUL-terminated) as one of its strings. */
function holdsEntry(environ: Buffer, entry: Buffer): boolean {
  for (let at = environ.indexOf(entry); at >= 0; at = environ.indexOf(entry, at + 1)) {
    if (at === 0 || environ[at - 1] === 0) return true;
  }
  return false;
}

/**
 * Whether `p` can do nothing more: gone, its pid another process's, or a zombie with no thread left (an
 * orphan's zombie stays where pid 1 does not reap; the leader of a process is a zombie while its other
 * threads still run, so those are counted).
 */
function ended(p: ProcStat): boolean {
  const now = readProcStat(p.pid);
  if (now === null || now.startTicks !== p.startTicks) return true;
  if (now.state !== "Z") return false;
  try {
    return readdirSync(`/proc/${p.pid}/task`).length <= 1;
  } catch {
    return true;
  }
}
