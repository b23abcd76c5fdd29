import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LOCK_FILE, withSnapshotLock } from "../../src/containers/snapshot-lock.js";
import { startTimeOf } from "../../src/fs/lock-file.js";

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

  it("refuses while a live holder has it, within a process too", async () => {
    writeFileSync(join(dir, LOCK_FILE), `${process.pid} ${startTimeOf(process.pid)} x\nprune\n`);
    await expect(withSnapshotLock(dir, "restore", async () => "ran")).rejects.toThrow(/held by pid \d+ \(prune\)/);
    rmSync(join(dir, LOCK_FILE));
    await withSnapshotLock(dir, "snapshot", async () => {
      await expect(withSnapshotLock(dir, "prune", async () => "ran")).rejects.toThrow(/held by pid/);
    });
  });
});
