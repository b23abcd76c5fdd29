/**
 * Snapshot and restore times of overlay deltas of 1 MiB, 100 MiB and 1 GiB (many small files and a few big
 * ones), next to a plain `cp -a` of the same data (with and without a syncfs, since a snapshot syncs); and
 * the rollout's way: a pre-copy, 1 MiB written, then the catch-up (what the container's downtime pays).
 * Run as root: `npx tsc -p tsconfig.json && node dist/bench/snapshot.bench.js [--dir /var/tmp] [--runs 3]`.
 * Page cache is warm (the bench never drops caches, which would disturb the rest of the machine).
 * restoreDelta's time includes removing the replaced delta. No copy is timed right after a removal (see main).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { execa } from "execa";
import { formatBytes, freeSpace } from "../src/containers/disk-space.js";
import { precopyDelta, restoreDelta, snapshotDelta, type SnapshotInfo } from "../src/containers/snapshot.js";
import { benchRow } from "./report.js";
import { buildDelta, MiB, shapeOf, type Shape } from "./delta-shape.js";

/** Removes a tree outside the timed parts, then syncs, so freed blocks (discard) are not billed to the next step. */
async function removeAndSettle(path: string): Promise<void> {
  await rm(path, { recursive: true });
  await execa("sync", ["-f", dirname(path)]);
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

async function reflinkSupported(dir: string): Promise<boolean> {
  await writeFile(join(dir, "reflink-probe"), "x");
  const r = await execa("cp", ["--reflink=always", join(dir, "reflink-probe"), join(dir, "reflink-probe.copy")], { reject: false });
  await rm(join(dir, "reflink-probe.copy"), { force: true });
  await rm(join(dir, "reflink-probe"), { force: true });
  return r.exitCode === 0;
}

interface Times {
  cp: number[];
  cpSync: number[];
  snap: number[];
  restore: number[];
  pre: number[];
  catchUp: number[];
}

/** One size's copies, none removed: see {@link main}. Returns the snapshots taken, for the restores. */
async function measure(dir: string, delta: string, runs: number, t: Times): Promise<SnapshotInfo[]> {
  const taken: SnapshotInfo[] = [];
  for (let r = 0; r < runs; r += 1) {
    const cpSync = async (): Promise<void> => {
      t.cpSync.push(await timed(async () => {
        await execa("cp", ["-a", delta, join(dir, `plain-sync-${r}`)]);
        await execa("sync", ["-f", join(dir, `plain-sync-${r}`)]);
      }));
    };
    const snap = async (): Promise<void> => {
      t.snap.push(await timed(async () => {
        taken.push(await snapshotDelta({ deltaDir: delta, snapshotsDir: join(dir, `snapshots-${r}`), id: `bench-${r}`, margin: { bytes: 0, inodes: 0 } }));
      }));
    };
    // Which of the two goes first alternates between runs.
    for (const step of r % 2 === 0 ? [cpSync, snap] : [snap, cpSync]) await step();
    t.cp.push(await timed(() => execa("cp", ["-a", delta, join(dir, `plain-${r}`)])));
    await execa("sync", ["-f", dir]);
    // The rollout's way: a pre-copy while the container runs, 1 MiB written, then the catch-up.
    await new Promise((res) => setTimeout(res, 150)); // older than prcopy's racy window, as a delta's files are
    const snapshotsDir = join(dir, `pre-${r}`);
    t.pre.push(await timed(() => precopyDelta({ deltaDir: delta, snapshotsDir, id: `bench-pre-${r}`, margin: { bytes: 0, inodes: 0 } })));
    await mkdir(join(delta, "var/written"), { recursive: true });
    for (let i = 0; i < 16; i += 1) await writeFile(join(delta, "var/written", `r${r}-${i}`), Buffer.alloc(MiB / 16, r + 1));
    t.catchUp.push(await timed(() => snapshotDelta({ deltaDir: delta, snapshotsDir, id: `bench-pre-${r}`, margin: { bytes: 0, inodes: 0 } })));
    await rm(join(delta, "var/written"), { recursive: true });
  }
  return taken;
}

/**
 * Builds every delta first, then copies each size `runs` times, each copy to a fresh place, removing
 * nothing until every copy is timed; the restores (which remove the delta they replace) come last. Reason,
 * measured on this bench's machine: on an ext4 without a journal the inode allocator passes over inodes
 * freed within the last minute, so a copy timed right after a large removal pays for that removal (cp -a
 * of the 100 MiB delta: 87 ms with nothing removed before, 400 to 900 ms after removals), whatever copies.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { dir: { type: "string", default: "/var/tmp" }, runs: { type: "string", default: "3" } } });
  const runs = Number(values.runs);
  const base = await mkdtemp(join(values.dir, "patchroll-bench-snapshot-"));
  const fsType = (await execa("findmnt", ["-n", "-o", "FSTYPE", "--target", base])).stdout.trim();
  const rows: string[][] = [];
  try {
    const reflink = await reflinkSupported(base);
    console.log(`filesystem ${fsType} at ${base}; reflinks ${reflink ? "supported" : "not supported"}; median of ${runs} runs, warm cache\n`);
    const sizes: { label: string; total: number; shape: Shape; dir: string; delta: string; t: Times; taken: SnapshotInfo[] }[] = [];
    let needed = 256 * MiB;
    for (const [label, total] of [["1 MiB", MiB], ["100 MiB", 100 * MiB], ["1 GiB", 1024 * MiB]] as const) {
      needed += total * (4 * runs + 2);
      if (freeSpace(base).availableBytes < needed) {
        rows.push([label, "skipped: not enough free space"]);
        continue;
      }
      const dir = join(base, label.replace(" ", ""));
      const delta = join(dir, "delta0");
      await mkdir(delta, { recursive: true });
      const shape = shapeOf(label, total);
      await buildDelta(delta, shape);
      sizes.push({ label, total, shape, dir, delta, t: { cp: [], cpSync: [], snap: [], restore: [], pre: [], catchUp: [] }, taken: [] });
    }
    for (const size of sizes) size.taken = await measure(size.dir, size.delta, runs, size.t);
    for (const { delta, t, taken } of sizes) {
      for (const snapshot of taken) t.restore.push(await timed(() => restoreDelta({ snapshot, deltaDir: delta, margin: { bytes: 0, inodes: 0 } })));
    }
    for (const { label, total, shape, t } of sizes) {
      const mibps = (ms: number): string => `${(total / MiB / (ms / 1000)).toFixed(0)} MiB/s`;
      rows.push([label, `${shape.smallFiles + shape.bigFiles} files`, ...[t.cp, t.cpSync, t.snap, t.restore, t.pre, t.catchUp].map((xs) => `${median(xs).toFixed(0)} ms (${mibps(median(xs))})`)]);
      console.log(benchRow("snapshot", `${label} delta: cp -a + sync`, median(t.cpSync), "ms"));
      console.log(benchRow("snapshot", `${label} delta: snapshotDelta, whole copy`, median(t.snap), "ms"));
      console.log(benchRow("snapshot", `${label} delta: snapshotDelta / (cp -a + sync)`, median(t.snap) / median(t.cpSync), "x", "<= 1.0"));
      console.log(benchRow("snapshot", `${label} delta: pre-copy (container running)`, median(t.pre), "ms"));
      console.log(benchRow("snapshot", `${label} delta: catch-up after it, 1 MiB written (container stopped)`, median(t.catchUp), "ms"));
      console.log(benchRow("snapshot", `${label} delta: restoreDelta`, median(t.restore), "ms"));
    }
  } finally {
    await removeAndSettle(base);
  }
  const header = ["delta", "entries", "cp -a", "cp -a + syncfs", "snapshotDelta", "restoreDelta", "pre-copy", "catch-up (1 MiB)"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]): string => `| ${header.map((_, i) => (r[i] ?? "").padEnd(widths[i] ?? 0)).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const r of rows) console.log(line(r));
  console.log(`\nfree on ${values.dir}: ${formatBytes(freeSpace(values.dir).availableBytes)}`);
}

await main();
