import { statfsSync } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { PatchrollError } from "../errors/patchroll-error.js";

const SLASH = Buffer.from("/");

/** Space left on a filesystem for an unprivileged writer (root's reserved blocks are not counted). */
export interface FreeSpace {
  availableBytes: number;
  /** Free inodes; `undefined` when the filesystem has no fixed inode count (btrfs reports 0 of 0). */
  availableInodes: number | undefined;
  totalBytes: number;
}

/** What a directory tree takes on disk: allocated bytes (holes free, hardlinks once) and entries. */
export interface TreeUsage {
  bytes: number;
  files: number;
}

/** Extra room a copy must leave free on the target filesystem. Default: 64 MiB and 1024 inodes. */
export interface SpaceMargin {
  bytes: number;
  inodes: number;
}

export const DEFAULT_MARGIN: SpaceMargin = { bytes: 64 * 1024 * 1024, inodes: 1024 };

/** statfs(2) of the filesystem holding `path`. */
export function freeSpace(path: string): FreeSpace {
  const s = statfsSync(path);
  return {
    availableBytes: s.bavail * s.bsize,
    availableInodes: s.files === 0 ? undefined : s.ffree,
    totalBytes: s.blocks * s.bsize,
  };
}

/** Disk usage of a tree, measured with `du` (one filesystem, sparse files by allocation). */
export async function treeUsage(dir: string, _timeoutMs = 10 * 60_000): Promise<TreeUsage> {
  // A walk in-process rather than two `du` runs: a rollout measures every container's delta, and a
  // process start costs more than walking a small delta (du -s -x -B1 and --inodes give the same numbers).
  try {
    const root = await lstat(dir, { bigint: true });
    const seen = new Set<bigint>([root.ino]);
    let bytes = root.blocks * 512n;
    let files = 1;
    // Names are bytes: a delta may hold names that are not UTF-8.
    const walk = async (d: Buffer): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true, encoding: "buffer" })) {
        const p = Buffer.concat([d, SLASH, e.name]);
        const st = await lstat(p, { bigint: true });
        if (st.dev !== root.dev) continue;
        if (seen.has(st.ino)) continue;
        seen.add(st.ino);
        bytes += st.blocks * 512n;
        files++;
        if (e.isDirectory()) await walk(p);
      }
    };
    await walk(Buffer.from(dir));
    return { bytes: Number(bytes), files };
  } catch (err) {
    throw new PatchrollError("SNAPSHOT_FAILED", `could not measure ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

function firstNumber(duOutput: string): number {
  const n = Number.parseInt(duOutput.split("\t", 1)[0] ?? "", 10);
  if (!Number.isFinite(n)) throw new Error(`unexpected du output ${JSON.stringify(duOutput.slice(0, 200))}`);
  return n;
}

/** Decides whether a copy of `need` fits into `free` with `margin` to spare; `undefined` means it fits. */
export function spaceShortfall(need: TreeUsage, free: FreeSpace, margin: SpaceMargin = DEFAULT_MARGIN): string | undefined {
  const wantBytes = need.bytes + margin.bytes;
  if (free.availableBytes < wantBytes) {
    return `needs ${formatBytes(wantBytes)} (${formatBytes(need.bytes)} of data + ${formatBytes(margin.bytes)} margin) but only ${formatBytes(free.availableBytes)} is free`;
  }
  if (free.availableInodes !== undefined && free.availableInodes < need.files + margin.inodes) {
    return `needs ${need.files + margin.inodes} inodes (${need.files} entries + ${margin.inodes} margin) but only ${free.availableInodes} are free`;
  }
  return undefined;
}

/** 1536 -> "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i] ?? "B"}`;
}
