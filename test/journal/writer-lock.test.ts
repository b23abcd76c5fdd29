import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lockPathOf, tryLockJournal } from "../../src/journal/writer-lock.js";

/** The writer lock of a journal on a real filesystem: one holder, taken over from a dead one, never stolen from a live one. */
describe("journal writer lock", () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync("/var/tmp/patchroll-test-jlock-");
    file = join(dir, "h1", "r1.jsonl");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("has one holder at a time, within a process too, and is free again once released", () => {
    const first = tryLockJournal(file, "runner");
    expect(first).toBeDefined();
    expect(tryLockJournal(file, "a control")).toBeUndefined();
    first!.release();
    expect(existsSync(lockPathOf(file))).toBe(false);
    const second = tryLockJournal(file, "a control");
    expect(second).toBeDefined();
    second!.release();
    expect(readdirSync(join(dir, "h1"))).toEqual([]);
  });

  it("takes over the lock of a process that died, and refuses one whose holder lives", () => {
    const dead = spawnSync("true").pid;
    mkdirSync(join(dir, "h1"));
    writeFileSync(lockPathOf(file), `${dead} 1\nkilled runner\n`);
    const taken = tryLockJournal(file, "after a crash");
    expect(taken).toBeDefined();
    taken!.release();

    // The start time of a shell that ran just now: certainly not pid 1's.
    const shell = spawnSync("sh", ["-c", "cat /proc/$$/stat"], { encoding: "utf8" }).stdout;
    writeFileSync(lockPathOf(file), `1 ${shell.slice(shell.lastIndexOf(")") + 2).split(" ")[19]}\nanother start time\n`);
    // pid 1 lives, but not since the recorded start time: the pid was reused, and the lock is stale.
    const reused = tryLockJournal(file, "pid reused");
    expect(reused).toBeDefined();
    reused!.release();

    writeFileSync(lockPathOf(file), `${process.pid} ?\nlive holder\n`);
    expect(tryLockJournal(file, "second writer")).toBeUndefined();
  });
});
