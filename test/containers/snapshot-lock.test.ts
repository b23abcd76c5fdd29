import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LOCK_FILE, withSnapshotLock } from "../../src/containers/snapshot-lock.js";
import { startTimeOf } from "../../src/fs/lock-file.js";
import { TOOL_MARK_ENV } from "../../src/proc/tool-mark.js";
import { processGone, startTicks } from "../helpers/process-state.js";

/**
 * Holds the lock of a snapshots dir and runs a tool under it that starts a process of its own, then waits
 * for the kill -9. Runs the built modules (dist/), as the daemon does.
 */
const HOLDER = `
import { existsSync } from "node:fs";
const [, lockUrl, toolUrl, dir, pidFile] = process.argv;
const { withSnapshotLock } = await import(lockUrl);
const { runTool } = await import(toolUrl);
await withSnapshotLock(dir, "pre-copy p1", async () => {
  const run = runTool("/bin/sh", ["-c", 'sleep 1000 & echo $! > "$0.tmp" && mv "$0.tmp" "$0"; exec sleep 1000', pidFile]);
  const pid = await run.pid;
  while (!existsSync(pidFile)) await new Promise((r) => setTimeout(r, 5));
  console.log("tools " + pid);
  await run.result;
});
`;

/** The lock of a snapshots dir: a holder is known by pid and start time, so a reused pid does not hold it. */
describe("snapshot lock", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync("/var/tmp/patchroll-test-snaplock-");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("records the holder's pid and start time, and lets go after", async () => {
    const seen = await withSnapshotLock(dir, "snapshot", async () => readFileSync(join(dir, LOCK_FILE), "utf8"));
    expect(seen.split("\n")[0]!.split(" ").slice(0, 2)).toEqual([String(process.pid), startTimeOf(process.pid)]);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it("takes over a lock whose pid now belongs to another process (a restart after a power cut), and one of a dead pid", async () => {
    // This very process, but not since the recorded start time: the pid was reused.
    writeFileSync(join(dir, LOCK_FILE), `${process.pid} 1 x\nsnapshot before the power cut\n`);
    await expect(withSnapshotLock(dir, "restore", async () => "ran")).resolves.toBe("ran");
    writeFileSync(join(dir, LOCK_FILE), `${spawnSync("true").pid}\nkilled restore\n`);
    await expect(withSnapshotLock(dir, "restore", async () => "ran")).resolves.toBe("ran");
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it("taken over from a holder killed with kill -9, first ends the tools it left running (and what they started), and nothing else", async () => {
    const pidFile = join(dir, "grandchild.pid");
    const url = (p: string) => pathToFileURL(resolve(p)).href;
    const holder = spawn(process.execPath, ["--input-type=module", "-e", HOLDER, url("dist/src/containers/snapshot-lock.js"), url("dist/src/proc/run-tool.js"), dir, pidFile], { stdio: ["ignore", "pipe", "inherit"] });
    const tool = await new Promise<number>((res, rej) => {
      let out = "";
      holder.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /tools (\d+)\n/.exec(out);
        if (m) res(Number(m[1]));
      });
      holder.on("close", (code) => rej(new Error(`holder exited ${code}: ${out}`)));
    });
    const left = [tool, Number(readFileSync(pidFile, "utf8"))];
    // Not its tools: one without a mark, one with the mark of another lock.
    const others = [spawn("sleep", ["1000"]), spawn("sleep", ["1000"], { env: { ...process.env, [TOOL_MARK_ENV]: `${join(dir, LOCK_FILE)}.other` } })].map((c) => c.pid!);
    const started = new Map(await Promise.all([...left, ...others].map(async (pid) => [pid, (await startTicks(pid))!] as const)));
    const gone = () => Promise.all([...left, ...others].map((pid) => processGone(pid, started.get(pid)!)));
    try {
      holder.kill("SIGKILL");
      await new Promise((r) => holder.once("exit", r));
      // prspawn lets them live on: they would go on writing beside the next holder.
      expect(await gone()).toEqual([false, false, false, false]);
      await expect(withSnapshotLock(dir, "snapshot p1", gone)).resolves.toEqual([true, true, false, false]);
      expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    } finally {
      for (const pid of [...left, ...others]) process.kill(pid, "SIGKILL");
    }
  });

  it("refuses while a live holder has it, within a process too", async () => {
    writeFileSync(join(dir, LOCK_FILE), `${process.pid} ${startTimeOf(process.pid)} x\nprune\n`);
    await expect(withSnapshotLock(dir, "restore", async () => "ran")).rejects.toThrow(/held by pid \d+ \(prune\)/);
    rmSync(join(dir, LOCK_FILE));
    await withSnapshotLock(dir, "snapshot", async () => {
      await expect(withSnapshotLock(dir, "prune", async () => "ran")).rejects.toThrow(/held by pid/);
    });
  });
});
