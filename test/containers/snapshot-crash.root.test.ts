import { lstat, mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa, type ResultPromise } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { treeUsage } from "../../src/containers/disk-space.js";
import { copyTree } from "../../src/containers/snapshot-copy.js";
import { listSnapshots, latestSnapshot, precopyDelta, recoverInterruptedRestore, restoreDelta, snapshotDelta, snapshotTree, type SnapshotInfo } from "../../src/containers/snapshot.js";
import { restorePaths } from "../../src/containers/snapshot-restore-plan.js";
import { processGone, startTicks, waitUntilGone, waitUntilStopped } from "../helpers/process-state.js";
import { buildOverlayDelta, compareTrees, patternBytes, setXattr } from "../helpers/tree-compare.js";

// A real crash is a kill -9 of the process doing the work, at a point the test chooses through the
// hooks (never a sleep race). The work runs in a child Node process that loads the TypeScript sources
// directly (Node 24 strips types; this hook maps the sources' ".js" imports to their ".ts" files).
const CHILD = `
import { registerHooks } from "node:module";
registerHooks({
  resolve(specifier, context, next) {
    try { return next(specifier, context); } catch (err) {
      if (specifier.startsWith(".") && specifier.endsWith(".js")) return next(specifier.slice(0, -3) + ".ts", context);
      throw err;
    }
  },
});
const [modulePath, json] = process.argv.slice(2);
const args = JSON.parse(json);
const m = await import(modulePath);
const say = (line) => process.stdout.write(line + "\\n");
const hooks = {};
if (args.stopInCopy) {
  hooks.stopCopyAfter = args.stopAfter;
  hooks.onCopyStart = async (pid) => { say("cp-pid " + pid); await new Promise(() => setInterval(() => {}, 1000)); };
}
if (args.dieAt) hooks.onStep = (step) => { if (step === args.dieAt) { say("dying at " + step); process.kill(process.pid, "SIGKILL"); } };
if (args.op === "snapshot") await m.snapshotDelta({ ...args.opts, ...hooks });
else if (args.op === "precopy") await m.precopyDelta({ ...args.opts, ...hooks });
else await m.restoreDelta({ ...args.opts, ...hooks });
say("done");
`;
const SNAPSHOT_MODULE = fileURLToPath(new URL("../../src/containers/snapshot.ts", import.meta.url));

const CHILD_OPTIONS = { reject: false, timeout: 120_000, buffer: false, stdin: "ignore" } as const;

function startChild(script: string, args: object): { child: ResultPromise<typeof CHILD_OPTIONS>; line: (prefix: string) => Promise<string> } {
  const child = execa(process.execPath, [script, SNAPSHOT_MODULE, JSON.stringify(args)], CHILD_OPTIONS);
  let seen = "";
  const waiters: Array<() => void> = [];
  child.stdout?.on("data", (chunk: Buffer) => {
    seen += chunk.toString();
    for (const w of waiters.splice(0)) w();
  });
  const line = async (prefix: string): Promise<string> => {
    for (;;) {
      const found = seen.split("\n").find((l) => l.startsWith(prefix));
      if (found !== undefined) return found.slice(prefix.length);
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`child ended before printing "${prefix}": ${seen}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        child.once("exit", () => resolve());
      });
    }
  };
  return { child, line };
}

/** Files prcopy writes before it stops itself (the `stopCopyAfter` hook): a known point in the middle of a copy. */
const STOP_AFTER = 100;

/** The copy tool a killed holder left behind: its pid and start time. */
interface Orphan {
  pid: number;
  started: string;
}

/**
 * Waits until the holder's copy has stopped itself, then kills only the holder, as a daemon under kill -9
 * (prspawn lets its tools live on); returns the orphaned copy, still there.
 */
async function killHolder(child: ReturnType<typeof startChild>["child"], line: (prefix: string) => Promise<string>): Promise<Orphan> {
  const pid = Number(await line("cp-pid "));
  await waitUntilStopped(pid);
  const orphan = { pid, started: (await startTicks(pid))! };
  child.kill("SIGKILL");
  expect((await child).signal).toBe("SIGKILL");
  expect(await processGone(orphan.pid, orphan.started)).toBe(false);
  return orphan;
}

/**
 * An onCopyStart hook for the next copy: records whether the orphan was gone before it began; if not, lets
 * the orphan go on and finish its own pass mid-copy, then lets this copy go on.
 */
function watchOrphan(orphan: Orphan): { onCopyStart: (pid: number) => Promise<void>; goneFirst: () => boolean | undefined } {
  let gone: boolean | undefined;
  return {
    goneFirst: () => gone,
    onCopyStart: async (pid) => {
      gone = await processGone(orphan.pid, orphan.started);
      await waitUntilStopped(pid);
      if (!gone) {
        process.kill(orphan.pid, "SIGCONT");
        await waitUntilGone(orphan.pid, orphan.started);
      }
      process.kill(pid, "SIGCONT");
    },
  };
}

/**
 * Freezes the copy in the middle and returns how much it had copied: prcopy stops itself after
 * {@link STOP_AFTER} files; cp is stopped once it has put an entry into `partialRoot`.
 */
async function freezeCopyMidway(pid: number, partialRoot: string): Promise<number> {
  if ((await readFile(`/proc/${pid}/comm`, "utf8")).trim() === "prcopy") {
    await waitUntilStopped(pid);
  } else {
    const deadline = Date.now() + 60_000;
    while ((await readdir(partialRoot).catch(() => [])).length === 0) {
      if (Date.now() > deadline) throw new Error(`cp never wrote into ${partialRoot}`);
      await new Promise((r) => setTimeout(r, 1));
    }
    process.kill(pid, "SIGSTOP");
  }
  return (await treeUsage(partialRoot)).files;
}

/** The overlay fixture plus enough data that cp is still busy when the test stops it. */
async function buildBigDelta(dir: string): Promise<void> {
  await buildOverlayDelta(dir);
  const block = patternBytes(1 << 20, "bulk");
  for (let d = 0; d < 10; d += 1) {
    await mkdir(join(dir, "bulk", `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f += 1) await writeFile(join(dir, "bulk", `d${d}`, `f${f}`), block.subarray(f * 4096, f * 4096 + 4096));
  }
  await writeFile(join(dir, "bulk/big.bin"), Buffer.concat(Array.from({ length: 64 }, () => block)));
}

describe("crash safety (real filesystem, root, kill -9)", () => {
  let root: string;
  let script: string;
  let delta: string;
  let snaps: string;
  let full: number;
  beforeAll(async () => {
    root = await mkdtemp("/var/tmp/patchroll-test-snapcrash-");
    script = join(root, "child.mjs");
    await writeFile(script, CHILD);
    delta = join(root, "c1", "delta0");
    snaps = join(root, "c1", "snapshots");
    await mkdir(join(root, "c1"));
    await buildBigDelta(delta);
    full = (await treeUsage(delta)).files;
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("a cp killed mid-snapshot leaves nothing behind, and the next snapshot succeeds", async () => {
    let copied = 0;
    const attempt = snapshotDelta({
      deltaDir: delta, snapshotsDir: snaps, id: "s-killed-cp", stopCopyAfter: STOP_AFTER,
      onCopyStart: async (pid) => {
        copied = await freezeCopyMidway(pid, join(snaps, ".tmp-s-killed-cp", "delta"));
        process.kill(pid, "SIGKILL");
      },
    });
    await expect(attempt).rejects.toMatchObject({ code: "SNAPSHOT_FAILED", message: expect.stringContaining("killed by SIGKILL") });
    expect(copied).toBeGreaterThan(0);
    expect(copied).toBeLessThan(full);
    expect(await readdir(snaps)).toEqual([]);
    const info = await snapshotDelta({ deltaDir: delta, snapshotsDir: snaps, id: "s-killed-cp" });
    expect(await compareTrees(delta, snapshotTree(info))).toEqual([]);
  });

  it("a process killed mid-snapshot leaves a temp dir that is never listed and is cleared by the next snapshot", async () => {
    // Files unchanged since the last snapshot are hard-links to it: change enough that the copy has work to do.
    for (let f = 0; f < 2 * STOP_AFTER; f += 1) await writeFile(join(delta, "bulk", `d${5 + (f % 2)}`, `f${f >> 1}`), `changed ${f}`);
    const { child, line } = startChild(script, { op: "snapshot", stopInCopy: true, stopAfter: STOP_AFTER, opts: { deltaDir: delta, snapshotsDir: snaps, id: "s-crash" } });
    const cpPid = Number(await line("cp-pid "));
    const copied = await freezeCopyMidway(cpPid, join(snaps, ".tmp-s-crash", "delta"));
    child.kill("SIGKILL");
    process.kill(cpPid, "SIGKILL");
    expect((await child).signal).toBe("SIGKILL");
    expect(copied).toBeLessThan(full);
    expect((await readdir(snaps)).sort()).toEqual([".lock", ".tmp-s-crash", "s-killed-cp"]);
    expect((await listSnapshots(snaps)).map((s) => s.id)).toEqual(["s-killed-cp"]);
    expect((await latestSnapshot(snaps))?.id).toBe("s-killed-cp");

    const info = await snapshotDelta({ deltaDir: delta, snapshotsDir: snaps, id: "s-crash" });
    expect(await compareTrees(delta, snapshotTree(info))).toEqual([]);
    expect((await readdir(snaps)).sort()).toEqual(["s-crash", "s-killed-cp"]);
  });

  describe("pre-copy and catch-up", () => {
    const psnaps = (): string => join(root, "precopy-snapshots");

    it("a process killed mid-pre-copy leaves nothing listed, and the catch-up after it still takes an exact snapshot", async () => {
      const { child, line } = startChild(script, { op: "precopy", stopInCopy: true, stopAfter: STOP_AFTER, opts: { deltaDir: delta, snapshotsDir: psnaps(), id: "p1" } });
      const pid = Number(await line("cp-pid "));
      expect(await freezeCopyMidway(pid, join(psnaps(), ".tmp-p1", "delta"))).toBeLessThan(full);
      child.kill("SIGKILL");
      process.kill(pid, "SIGKILL");
      expect((await child).signal).toBe("SIGKILL");
      expect(await listSnapshots(psnaps())).toEqual([]);
      expect(await readdir(join(psnaps(), ".tmp-p1"))).not.toContain("manifest");
      // The container went on writing until it was stopped.
      await writeFile(join(delta, "bulk/d0/f1"), "written after the crash");
      const info = await snapshotDelta({ deltaDir: delta, snapshotsDir: psnaps(), id: "p1" });
      expect(await compareTrees(delta, snapshotTree(info))).toEqual([]);
      expect(await readdir(psnaps())).toEqual(["p1"]);
    });

    it("a process killed mid-catch-up leaves nothing listed, and the next try takes an exact snapshot sharing what did not change", async () => {
      expect(await precopyDelta({ deltaDir: delta, snapshotsDir: psnaps(), id: "p2" })).toMatchObject({ linked: expect.any(Number) });
      // More than STOP_AFTER files change after the pre-copy, as in a busy container before it stops.
      for (let d = 0; d < 3; d += 1) for (let f = 0; f < 100; f += 1) await writeFile(join(delta, "bulk", `d${d}`, `f${f}`), `rewritten ${d}/${f}`);
      await rm(join(delta, "bulk/d4"), { recursive: true });
      const { child, line } = startChild(script, { op: "snapshot", stopInCopy: true, stopAfter: STOP_AFTER, opts: { deltaDir: delta, snapshotsDir: psnaps(), id: "p2" } });
      const pid = Number(await line("cp-pid "));
      await freezeCopyMidway(pid, join(psnaps(), ".tmp-p2", "delta"));
      child.kill("SIGKILL");
      process.kill(pid, "SIGKILL");
      expect((await child).signal).toBe("SIGKILL");
      expect((await listSnapshots(psnaps())).map((s) => s.id)).toEqual(["p1"]);

      const info = await snapshotDelta({ deltaDir: delta, snapshotsDir: psnaps(), id: "p2" });
      expect(await compareTrees(delta, snapshotTree(info))).toEqual([]);
      const ino = async (snapshot: string, rel: string): Promise<number> => (await lstat(join(psnaps(), snapshot, "delta", rel))).ino;
      expect(await ino("p2", "bulk/d9/f0")).toBe(await ino("p1", "bulk/d9/f0"));
      expect(await ino("p2", "bulk/d0/f0")).not.toBe(await ino("p1", "bulk/d0/f0"));
    });

    it("a holder killed mid-pre-copy leaves its prcopy running; the next snapshot ends that copy before touching the temp dir, and is exact", async () => {
      const osnaps = join(root, "orphan-snapshots");
      const { child, line } = startChild(script, { op: "precopy", stopInCopy: true, stopAfter: STOP_AFTER, opts: { deltaDir: delta, snapshotsDir: osnaps, id: "o1" } });
      const orphan = await killHolder(child, line);
      // The container went on writing until it was stopped.
      await writeFile(join(delta, "bulk/d1/f2"), "written after the holder died");

      const watch = watchOrphan(orphan);
      const info = await snapshotDelta({ deltaDir: delta, snapshotsDir: osnaps, id: "o1", stopCopyAfter: STOP_AFTER, onCopyStart: watch.onCopyStart });
      expect(watch.goneFirst()).toBe(true);
      expect(await compareTrees(delta, snapshotTree(info))).toEqual([]);
      expect(await readdir(osnaps)).toEqual(["o1"]);
    });
  });

  describe("restore", () => {
    let snap: SnapshotInfo;
    const oldRef = (): string => join(root, "old-ref");
    beforeAll(async () => {
      snap = await snapshotDelta({ deltaDir: delta, snapshotsDir: snaps, id: "s-restore" });
    });

    /** Changes the delta as a failed patch would, and keeps an exact reference of that old state. */
    async function breakDelta(tag: string): Promise<void> {
      await writeFile(join(delta, "etc/shadow.new"), tag);
      await unlink(join(delta, "etc/sub/gone"));
      await rm(join(delta, "bulk/d3"), { recursive: true });
      await setXattr(join(delta, "etc/opaque.d"), "trusted.overlay.opaque", tag);
      await rm(oldRef(), { recursive: true, force: true });
      await copyTree(delta, oldRef(), { timeoutMs: 60_000 });
      expect(await compareTrees(delta, oldRef())).toEqual([]);
      expect(await compareTrees(delta, snapshotTree(snap))).not.toEqual([]);
    }

    async function expectRestoredCleanly(): Promise<void> {
      expect(await compareTrees(delta, snapshotTree(snap))).toEqual([]);
      expect((await readdir(join(root, "c1"))).sort()).toEqual(["delta0", "snapshots"]);
    }

    it("a cp killed mid-restore leaves the old delta in place untouched", async () => {
      await breakDelta("cp-killed");
      const paths = restorePaths(delta, snap.id);
      const attempt = restoreDelta({
        snapshot: snap, deltaDir: delta, stopCopyAfter: STOP_AFTER,
        onCopyStart: async (pid) => {
          await freezeCopyMidway(pid, paths.partial);
          process.kill(pid, "SIGKILL");
        },
      });
      await expect(attempt).rejects.toMatchObject({ code: "SNAPSHOT_FAILED" });
      expect(await compareTrees(delta, oldRef())).toEqual([]);
      expect((await readdir(join(root, "c1"))).sort()).toEqual(["delta0", "snapshots"]);
      await restoreDelta({ snapshot: snap, deltaDir: delta });
      await expectRestoredCleanly();
    });

    it.each(["copying", "copied", "moved-aside", "moved-in"] as const)("a process killed at %s never loses the old delta, and running restore again finishes the job", async (at) => {
      await breakDelta(at);
      const paths = restorePaths(delta, snap.id);
      const { child, line } = startChild(script, { op: "restore", stopInCopy: at === "copying", stopAfter: STOP_AFTER, ...(at === "copying" ? {} : { dieAt: at }), opts: { snapshot: snap.path, deltaDir: delta } });
      if (at === "copying") {
        const cpPid = Number(await line("cp-pid "));
        expect(await freezeCopyMidway(cpPid, paths.partial)).toBeLessThan(full);
        child.kill("SIGKILL");
        process.kill(cpPid, "SIGKILL");
      }
      expect((await child).signal).toBe("SIGKILL");

      // Right after the crash: the old delta is whole, at its place or set aside beside a complete copy.
      if (at === "copying" || at === "copied") expect(await compareTrees(delta, oldRef())).toEqual([]);
      if (at === "copied" || at === "moved-aside") expect(await compareTrees(paths.ready, snapshotTree(snap))).toEqual([]);
      if (at === "moved-aside" || at === "moved-in") expect(await compareTrees(paths.aside, oldRef())).toEqual([]);
      if (at === "moved-in") expect(await compareTrees(delta, snapshotTree(snap))).toEqual([]);
      if (at === "moved-aside") {
        // The one moment without a delta: recovery alone (what the daemon runs at start) puts the restored copy in.
        expect(await readdir(join(root, "c1"))).not.toContain("delta0");
        expect(await recoverInterruptedRestore(delta)).toEqual([{ op: "move-in", what: "ready", id: snap.id }, { op: "remove", what: "aside", id: snap.id }]);
        await expectRestoredCleanly();
      }

      await restoreDelta({ snapshot: snap, deltaDir: delta });
      await expectRestoredCleanly();
      expect(await readdir(snaps)).not.toContain(".lock");
    });

    it("a holder killed mid-restore leaves its prcopy running; the next restore ends that copy first, and restores exactly", async () => {
      await breakDelta("orphan");
      const { child, line } = startChild(script, { op: "restore", stopInCopy: true, stopAfter: STOP_AFTER, opts: { snapshot: snap.path, deltaDir: delta } });
      const orphan = await killHolder(child, line);

      const watch = watchOrphan(orphan);
      await restoreDelta({ snapshot: snap, deltaDir: delta, stopCopyAfter: STOP_AFTER, onCopyStart: watch.onCopyStart });
      expect(watch.goneFirst()).toBe(true);
      await expectRestoredCleanly();
    });

    it("the daemon's start after a holder killed mid-restore ends that copy before it clears what the restore left", async () => {
      await breakDelta("orphan at start");
      const { child, line } = startChild(script, { op: "restore", stopInCopy: true, stopAfter: STOP_AFTER, opts: { snapshot: snap.path, deltaDir: delta } });
      const orphan = await killHolder(child, line);

      expect(await recoverInterruptedRestore(delta, { snapshotsDir: snaps })).toEqual([{ op: "remove", what: "partial", id: snap.id }]);
      expect(await processGone(orphan.pid, orphan.started)).toBe(true);
      expect(await compareTrees(delta, oldRef())).toEqual([]);
      expect((await readdir(join(root, "c1"))).sort()).toEqual(["delta0", "snapshots"]);
      await restoreDelta({ snapshot: snap, deltaDir: delta });
      await expectRestoredCleanly();
    });
  });
});
