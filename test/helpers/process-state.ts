import { readFile } from "node:fs/promises";

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
