import { readdir, readFile } from "node:fs/promises";

/** The one-letter state of process `pid` (R, S, D, T for stopped, Z...), from /proc/PID/stat. */
export async function processState(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
}

/** Waits until `pid` is stopped (SIGSTOP), for at most `timeoutMs`. */
export async function waitUntilStopped(pid: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await processState(pid)) !== "T") {
    if (Date.now() > deadline) throw new Error(`process ${pid} never stopped`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Field 22 of /proc/PID/stat (start time, clock ticks after boot); undefined when `pid` does not exist. */
export async function startTicks(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  return stat?.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
}

/**
 * Whether the process `pid` that started at `started` can no longer do anything: gone, its pid taken by
 * another, or a zombie with no thread left (an orphan's zombie stays where pid 1 does not reap, as here).
 */
export async function processGone(pid: number, started: string): Promise<boolean> {
  if ((await startTicks(pid)) !== started) return true;
  const state = await processState(pid).catch(() => "gone");
  if (state === "gone") return true;
  return state === "Z" && (await readdir(`/proc/${pid}/task`).catch(() => [])).length <= 1;
}

/** Waits until {@link processGone}, for at most `timeoutMs`. */
export async function waitUntilGone(pid: number, started: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await processGone(pid, started))) {
    if (Date.now() > deadline) throw new Error(`process ${pid} never ended`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
