import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lockPathOf } from "../../src/journal/writer-lock.js";

const RACERS = 4;
const TAKES = 150;

/**
 * Each racer takes the lock, marks itself the holder with an exclusive file (a second holder at the same
 * time finds it there), then "dies": replaces its lock with one of a dead process. So every take is a
 * takeover of a stale lock, raced by the other racers. Runs the built module (dist/), as a runner does.
 */
const RACER = `
import { closeSync, openSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
const [, moduleUrl, file, dead, takes] = process.argv;
const { lockPathOf, tryLockJournal } = await import(moduleUrl);
const lockPath = lockPathOf(file);
let took = 0, overlaps = 0;
const deadline = Date.now() + 20000;
while (took < Number(takes) && Date.now() < deadline) {
  const lock = tryLockJournal(file, "racer");
  if (lock === undefined) continue;
  took += 1;
  try { closeSync(openSync(file + ".holder", "wx")); } catch { overlaps += 1; continue; }
  for (const until = Date.now() + 1; Date.now() < until; );
  unlinkSync(file + ".holder");
  const stale = file + ".stale." + process.pid;
  writeFileSync(stale, dead + " 1 dead" + took + "\\nkilled runner\\n");
  renameSync(stale, lockPath);
}
console.log(JSON.stringify({ took, overlaps }));
`;

describe("journal writer lock, raced", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync("/var/tmp/patchroll-test-jlock-race-");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("has one holder at a time while processes race to take over stale locks", async () => {
    const file = join(dir, "h1", "r1.jsonl");
    mkdirSync(join(dir, "h1"));
    const dead = spawnSync("true").pid;
    writeFileSync(lockPathOf(file), `${dead} 1\nkilled runner\n`);
    const moduleUrl = pathToFileURL(resolve("dist/src/journal/writer-lock.js")).href;
    const results = await Promise.all(
      Array.from({ length: RACERS }, () => {
        const child = spawn(process.execPath, ["--input-type=module", "-e", RACER, moduleUrl, file, String(dead), String(TAKES)], {
          stdio: ["ignore", "pipe", "inherit"],
        });
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        return new Promise<{ took: number; overlaps: number }>((res, rej) =>
          child.on("close", (code) => (code === 0 ? res(JSON.parse(out) as { took: number; overlaps: number }) : rej(new Error(`racer exited ${code}`)))),
        );
      }),
    );
    expect(results.map((r) => r.overlaps)).toEqual(Array(RACERS).fill(0));
    expect(results.reduce((n, r) => n + r.took, 0)).toBeGreaterThan(RACERS * 10);
  });
});
