import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LogFollower, type LogFollowerOptions } from "../../../src/intake/tail/follower.js";
import type { FollowedLine, ParseWarning } from "../../../src/intake/tail/line.js";
import { appendLines, HeldWriter, logrotate, tempDir, waitUntil } from "./log-helpers.js";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(label: string): { dir: string; log: string; cp: string } {
  const t = tempDir(label);
  cleanups.push(t.cleanup);
  return { dir: t.dir, log: join(t.dir, "app.log"), cp: join(t.dir, "state", "follower.json") };
}

/** A follower that collects what it emits; stopped after the test. */
function follower(opts: Partial<LogFollowerOptions> & { path: string }): { f: LogFollower; got: FollowedLine[]; warnings: ParseWarning[]; errors: unknown[] } {
  const got: FollowedLine[] = [];
  const warnings: ParseWarning[] = [];
  const errors: unknown[] = [];
  const f = new LogFollower({
    startAt: "start",
    pollMs: 60_000, // tests drive reads with poll() unless they test the watcher
    watch: false,
    onLines: (lines) => void got.push(...lines),
    onWarning: (w) => void warnings.push(w),
    onError: (e) => void errors.push(e),
    ...opts,
  });
  cleanups.push(() => f.stop());
  return { f, got, warnings, errors };
}

const texts = (lines: FollowedLine[]): string[] => lines.map((l) => l.line);

describe("LogFollower on plain appends", () => {
  it("holds a partial last line until its newline arrives", async () => {
    const { log } = setup("partial");
    writeFileSync(log, "one\ntw");
    const { f, got } = follower({ path: log });
    await f.start();
    expect(texts(got)).toEqual(["one"]);
    writeFileSync(log, "one\ntwo and more\n");
    await f.poll();
    expect(got).toEqual([
      { line: "one", file: log, lineNo: 1 },
      { line: "two and more", file: log, lineNo: 2 },
    ]);
  });

  it("decodes invalid UTF-8 lossily and keeps going", async () => {
    const { log } = setup("utf8");
    writeFileSync(log, Buffer.concat([Buffer.from("ok ä\n"), Buffer.from([0x62, 0xff, 0xfe, 0x63, 0x0a, 0xc3]), Buffer.from("\n")]));
    const { f, got, errors } = follower({ path: log });
    await f.start();
    expect(texts(got)).toEqual(["ok ä", "b\uFFFD\uFFFDc", "\uFFFD"]);
    expect(errors).toEqual([]);
  });

  it("waits for a file that does not exist yet and reads it from its start", async () => {
    const { log, cp } = setup("absent");
    const { f, got } = follower({ path: log, checkpointFile: cp, startAt: "end" });
    await f.start();
    expect(got).toEqual([]);
    const written = appendLines(log, "line", 1, 3);
    await f.poll();
    expect(texts(got)).toEqual(written);
  });

  it("starts at the end of an existing file on a first start with startAt=end", async () => {
    const { log } = setup("end");
    appendLines(log, "old", 1, 5);
    const { f, got } = follower({ path: log, startAt: "end" });
    await f.start();
    const fresh = appendLines(log, "new", 1, 2);
    await f.poll();
    expect(texts(got)).toEqual(fresh);
    expect(got[0]!.lineNo).toBeUndefined();
  });

  it("notices appends by itself (fs.watch and the poll safety net)", async () => {
    const { log } = setup("watch");
    writeFileSync(log, "");
    const { f, got } = follower({ path: log, pollMs: 200, watch: true });
    await f.start();
    const written = appendLines(log, "w", 1, 50);
    await waitUntil(() => got.length >= 50, "50 lines");
    expect(texts(got)).toEqual(written);
  });

  it("finds appends by polling alone when fs.watch is off", async () => {
    const { log } = setup("poll");
    writeFileSync(log, "");
    const { f, got } = follower({ path: log, pollMs: 50, watch: false });
    await f.start();
    const written = appendLines(log, "p", 1, 5);
    await waitUntil(() => got.length >= 5, "5 lines");
    expect(texts(got)).toEqual(written);
  });

  it("cuts over-long lines and names file and line in the warning", async () => {
    const { log } = setup("huge");
    writeFileSync(log, `short\n${"x".repeat(5000)}\nafter\n`);
    const { f, got, warnings } = follower({ path: log, maxLineBytes: 100 });
    await f.start();
    expect(texts(got)).toEqual(["short", "x".repeat(100), "after"]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toContain(`${log}:2`);
    expect(warnings[0]!.lineNo).toBe(2);
  });
});

describe("LogFollower through logrotate", () => {
  it("rename rotation with create + delaycompress: reads the old inode to its end, then the new file", async () => {
    const { dir, log } = setup("create");
    const w = new HeldWriter(log);
    cleanups.push(() => w.close());
    const { f, got } = follower({ path: log, rotateGraceMs: 3_600_000 });
    const expected = w.lines("before", 1, 20);
    await f.start();
    expected.push(...w.lines("unread-before-rotation", 1, 5));
    await logrotate(dir, log, ["rotate 3", "compress", "delaycompress", "create 0644", "missingok"]);
    expect(existsSync(`${log}.1`)).toBe(true);
    // The writer has not reopened yet: it keeps appending to the renamed inode.
    expected.push(...w.lines("old-inode-after-rename", 1, 5));
    await f.poll();
    expect(texts(got)).toEqual(expected);
    w.reopen();
    expected.push(...w.lines("new-file", 1, 5));
    await f.poll();
    // A second rotation: app.log.1 is compressed to app.log.2.gz, app.log becomes app.log.1.
    expected.push(...w.lines("between", 1, 3));
    await logrotate(dir, log, ["rotate 3", "compress", "delaycompress", "create 0644", "missingok"]);
    expect(readdirSync(dir)).toContain("app.log.2.gz");
    w.write("partial line at rotation");
    w.reopen();
    w.write("\n");
    expected.push("partial line at rotation", "");
    expected.push(...w.lines("after", 1, 5));
    await f.poll();
    await f.poll();
    expect(texts(got)).toEqual(expected);
  });

  it("switches to the new file after the grace period when the writer never writes to it", async () => {
    const { dir, log } = setup("grace");
    let now = 0;
    const { f, got } = follower({ path: log, rotateGraceMs: 1000, now: () => now });
    const expected = appendLines(log, "a", 1, 3);
    await f.start();
    await logrotate(dir, log, ["rotate 2", "create 0644"]);
    await f.poll();
    now = 5000;
    await f.poll();
    expected.push(...appendLines(log, "b", 1, 3));
    await f.poll();
    expect(texts(got)).toEqual(expected);
  });

  it("copytruncate: lines not yet read when the file was truncated come from PATH.1, then the file restarts at 0", async () => {
    const { dir, log } = setup("copytruncate");
    const w = new HeldWriter(log);
    cleanups.push(() => w.close());
    const { f, got, warnings } = follower({ path: log });
    const expected = w.lines("before", 1, 10);
    await f.start();
    expected.push(...w.lines("unread", 1, 10));
    await logrotate(dir, log, ["rotate 3", "copytruncate", "delaycompress", "compress"]);
    // The writer refills the truncated file past the old offset before the follower looks again.
    expected.push(...w.lines("after-truncate-with-a-much-longer-text-than-before", 1, 30));
    await f.poll();
    expect(texts(got)).toEqual(expected);
    expect(got.find((l) => l.line === "unread 1")?.file).toBe(`${log}.1`);
    expect(got.find((l) => l.line === "after-truncate-with-a-much-longer-text-than-before 1")?.lineNo).toBe(1);
    expected.push(...w.lines("between", 1, 3));
    await f.poll();
    await logrotate(dir, log, ["rotate 3", "copytruncate", "delaycompress", "compress"]);
    expected.push(...w.lines("x", 1, 2)); // shorter than before: size < offset
    await f.poll();
    expect(texts(got)).toEqual(expected);
    expect(warnings).toEqual([]);
  });

  it("copytruncate with immediate compress: the rest is read from PATH.1.gz", async () => {
    const { dir, log } = setup("copytruncate-gz");
    const { f, got } = follower({ path: log });
    const expected = appendLines(log, "before", 1, 5);
    await f.start();
    expected.push(...appendLines(log, "unread", 1, 5));
    await logrotate(dir, log, ["rotate 3", "copytruncate", "compress"]);
    expect(existsSync(`${log}.1.gz`)).toBe(true);
    expected.push(...appendLines(log, "after", 1, 5));
    await f.poll();
    expect(texts(got)).toEqual(expected);
  });
});

describe("LogFollower restarts", () => {
  async function restartScenario(
    label: string,
    rotate: (dir: string, log: string) => Promise<void>,
  ): Promise<{ expected: string[]; all: FollowedLine[]; warnings: ParseWarning[] }> {
    const { dir, log, cp } = setup(label);
    const all: FollowedLine[] = [];
    const first = follower({ path: log, checkpointFile: cp });
    const expected = appendLines(log, "first-run", 1, 10);
    await first.f.start();
    expected.push(...appendLines(log, "first-run-late", 1, 3));
    await first.f.poll();
    await first.f.stop();
    all.push(...first.got);
    expected.push(...appendLines(log, "while-stopped-before-rotation", 1, 7));
    await rotate(dir, log);
    expected.push(...appendLines(log, "while-stopped-after-rotation", 1, 4));
    const second = follower({ path: log, checkpointFile: cp });
    await second.f.start();
    expected.push(...appendLines(log, "second-run", 1, 3));
    await second.f.poll();
    await second.f.stop();
    all.push(...second.got);
    const third = follower({ path: log, checkpointFile: cp });
    await third.f.start();
    await third.f.poll();
    all.push(...third.got);
    return { expected, all, warnings: [...first.warnings, ...second.warnings, ...third.warnings] };
  }

  it("resumes without loss or repetition when nothing was rotated", async () => {
    const r = await restartScenario("restart-plain", async () => {});
    expect(texts(r.all)).toEqual(r.expected);
    expect(r.all.map((l) => l.lineNo)).toEqual(r.expected.map((_, i) => i + 1));
  });

  it("reads PATH.1's rest first when the file was renamed (create) while stopped", async () => {
    const r = await restartScenario("restart-create", (dir, log) => logrotate(dir, log, ["rotate 2", "create 0644", "delaycompress", "compress"]));
    expect(texts(r.all)).toEqual(r.expected);
    expect(r.warnings).toEqual([]);
  });

  it("reads PATH.1's rest first when the file was copytruncated while stopped", async () => {
    const r = await restartScenario("restart-copytruncate", (dir, log) => logrotate(dir, log, ["rotate 2", "copytruncate", "delaycompress", "compress"]));
    expect(texts(r.all)).toEqual(r.expected);
    expect(r.warnings).toEqual([]);
  });

  it("reads PATH.1.gz's rest when logrotate compressed at once (Debian's unattended-upgrades config)", async () => {
    const r = await restartScenario("restart-gz", (dir, log) => logrotate(dir, log, ["rotate 6", "compress", "missingok", "notifempty"]));
    expect(texts(r.all)).toEqual(r.expected);
    expect(r.warnings).toEqual([]);
  });

  it("warns, and reads the new file from its start, when no rotated copy continues", async () => {
    const r = await restartScenario("restart-lost", async (dir, log) => {
      await logrotate(dir, log, ["rotate 2", "create 0644"]);
      await logrotate(dir, log, ["rotate 2", "create 0644"]); // the rest is now in app.log.2
    });
    expect(r.warnings.map((w) => w.message).join("\n")).toMatch(/lines may be lost/);
    const got = texts(r.all);
    expect(got).toContain("while-stopped-after-rotation 1");
    expect(got.filter((l) => l.startsWith("while-stopped-before-rotation"))).toEqual([]);
    expect(new Set(got).size).toBe(got.length);
  });

  it("ignores a damaged checkpoint with a warning instead of failing", async () => {
    const { log, cp } = setup("bad-cp");
    appendLines(log, "a", 1, 2);
    const { f, got, warnings } = follower({ path: log, checkpointFile: cp });
    await f.start();
    expect(got).toHaveLength(2);
    await f.stop();
    writeFileSync(cp, "{not json");
    const again = follower({ path: log, checkpointFile: cp, startAt: "end" });
    await again.f.start();
    expect(again.warnings[0]!.message).toMatch(/unreadable/);
    expect(again.got).toEqual([]);
    expect(warnings).toEqual([]);
  });
});
