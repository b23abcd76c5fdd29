/**
 * Snapshot and restore times of overlay deltas of 1 MiB, 100 MiB and 1 GiB (many small files and a few big
 * ones), next to a plain `cp -a` of the same data (with and without a syncfs, since a snapshot syncs).
 * Run as root: `npx tsc -p tsconfig.json && node dist/bench/snapshot.bench.js [--dir /var/tmp] [--runs 3]`.
 * Page cache is warm (the bench never drops caches, which would disturb the rest of the machine).
 * restoreDelta's time includes removing the replaced delta.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { execa } from "execa";
import { formatBytes, freeSpace } from "../src/containers/disk-space.js";
import { restoreDelta, snapshotDelta } from "../src/containers/snapshot.js";
import { benchRow } from "./report.js";

const MiB = 1024 * 1024;

interface Shape {
  label: string;
  smallFiles: number;
  smallSize: number;
  bigFiles: number;
  bigSize: number;
}

/** About a quarter of the bytes in 8 KiB files (at most 20 000), the rest in up to 4 big files. */
function shapeOf(label: string, total: number): Shape {
  const smallSize = 8 * 1024;
  const smallFiles = Math.min(20_000, Math.max(1, Math.floor(total / 4 / smallSize)));
  const bigFiles = total >= 100 * MiB ? 4 : 1;
  const bigSize = Math.floor((total - smallFiles * smallSize) / bigFiles);
  return { label, smallFiles, smallSize, bigFiles, bigSize };
}

async function buildDelta(dir: string, s: Shape): Promise<void> {
  const block = Buffer.alloc(MiB);
  for (let off = 0, i = 0; off < MiB; off += 32, i += 1) createHash("sha256").update(String(i)).digest().copy(block, off);
  for (let i = 0; i < s.smallFiles; i += 1) {
    const sub = join(dir, "usr/share", `d${Math.floor(i / 500)}`);
    if (i % 500 === 0) await mkdir(sub, { recursive: true });
    const start = (i * 4099) % (MiB - s.smallSize);
    await writeFile(join(sub, `f${i}`), block.subarray(start, start + s.smallSize));
  }
  await mkdir(join(dir, "var/lib"), { recursive: true });
  for (let i = 0; i < s.bigFiles; i += 1) {
    const chunks = Array.from({ length: Math.ceil(s.bigSize / MiB) }, () => block);
    await writeFile(join(dir, "var/lib", `big${i}.bin`), Buffer.concat(chunks).subarray(0, s.bigSize));
  }
  await execa("sync", ["-f", dir]);
}

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

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { dir: { type: "string", default: "/var/tmp" }, runs: { type: "string", default: "3" } } });
  const runs = Number(values.runs);
  const base = await mkdtemp(join(values.dir, "patchroll-bench-snapshot-"));
  const fsType = (await execa("findmnt", ["-n", "-o", "FSTYPE", "--target", base])).stdout.trim();
  const rows: string[][] = [];
  try {
    const reflink = await reflinkSupported(base);
    console.log(`filesystem ${fsType} at ${base}; reflinks ${reflink ? "supported" : "not supported"}; median of ${runs} runs, warm cache\n`);
    for (const [label, total] of [["1 MiB", MiB], ["100 MiB", 100 * MiB], ["1 GiB", 1024 * MiB]] as const) {
      const s = shapeOf(label, total);
      if (freeSpace(base).availableBytes < total * 4 + 256 * MiB) {
        rows.push([label, "skipped: not enough free space"]);
        continue;
      }
      const dir = join(base, label.replace(" ", ""));
      const delta = join(dir, "delta0");
      await mkdir(delta, { recursive: true });
      await buildDelta(delta, s);
      const t = { cp: [] as number[], cpSync: [] as number[], snap: [] as number[], restore: [] as number[] };
      for (let r = 0; r < runs; r += 1) {
        const plain = join(dir, `plain-${r}`);
        t.cp.push(await timed(() => execa("cp", ["-a", delta, plain])));
        await removeAndSettle(plain);
        t.cpSync.push(await timed(async () => {
          await execa("cp", ["-a", delta, plain]);
          await execa("sync", ["-f", plain]);
        }));
        await removeAndSettle(plain);
        const snapshotsDir = join(dir, "snapshots");
        let info: Awaited<ReturnType<typeof snapshotDelta>> | undefined;
        t.snap.push(await timed(async () => {
          info = await snapshotDelta({ deltaDir: delta, snapshotsDir, id: `bench-${r}`, margin: { bytes: 0, inodes: 0 } });
        }));
        const taken = info;
        if (taken === undefined) throw new Error("no snapshot");
        t.restore.push(await timed(() => restoreDelta({ snapshot: taken, deltaDir: delta, margin: { bytes: 0, inodes: 0 } })));
        await removeAndSettle(snapshotsDir);
      }
      const files = s.smallFiles + s.bigFiles;
      const mibps = (ms: number): string => `${(total / MiB / (ms / 1000)).toFixed(0)} MiB/s`;
      rows.push([label, `${files} files`, ...[t.cp, t.cpSync, t.snap, t.restore].map((xs) => `${median(xs).toFixed(0)} ms (${mibps(median(xs))})`)]);
      console.log(benchRow("snapshot", `${label} delta: cp -a`, median(t.cp), "ms"));
      console.log(benchRow("snapshot", `${label} delta: snapshotDelta`, median(t.snap), "ms"));
      console.log(benchRow("snapshot", `${label} delta: restoreDelta`, median(t.restore), "ms"));
      await rm(dir, { recursive: true });
    }
  } finally {
    await rm(base, { recursive: true, force: true });
  }
  const header = ["delta", "entries", "cp -a", "cp -a + syncfs", "snapshotDelta", "restoreDelta"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]): string => `| ${header.map((_, i) => (r[i] ?? "").padEnd(widths[i] ?? 0)).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const r of rows) console.log(line(r));
  console.log(`\nfree on ${values.dir}: ${formatBytes(freeSpace(values.dir).availableBytes)}`);
}

await main();
