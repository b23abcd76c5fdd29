/** Deltas of a given size for benchmarks: many small files (package caches) and a few big ones. */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";

export const MiB = 1024 * 1024;

export interface Shape {
  label: string;
  smallFiles: number;
  smallSize: number;
  bigFiles: number;
  bigSize: number;
}

/** About a quarter of the bytes in 8 KiB files (at most 20 000), the rest in up to 4 big files. */
export function shapeOf(label: string, total: number): Shape {
  const smallSize = 8 * 1024;
  const smallFiles = Math.min(20_000, Math.max(1, Math.floor(total / 4 / smallSize)));
  const bigFiles = total >= 100 * MiB ? 4 : 1;
  const bigSize = Math.floor((total - smallFiles * smallSize) / bigFiles);
  return { label, smallFiles, smallSize, bigFiles, bigSize };
}

export async function buildDelta(dir: string, s: Shape): Promise<void> {
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
