import { statfsSync } from "node:fs";
import { PatchrollError } from "../errors/patchroll-error.js";
import { type Tree, walkTree } from "./tree-walk.js";

/** Space left on a filesystem for an unprivileged writer (root's reserved blocks are not counted). */
export interface FreeSpace {
  availableBytes: number;
  /** Free inodes; `undefined` when the filesystem has no fixed inode count (btrfs reports 0 of 0). */
  availableInodes: number | undefined;
  totalBytes: number;
}

/** What a directory tree takes on disk: allocated bytes (holes free, hardlinks once) and entries. */
export type TreeUsage = Pick<Tree, "bytes" | "files">;

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

/** Disk usage of a tree (one filesystem, sparse files by allocation, hardlinks once: what `du -sx` says). */
export async function treeUsage(dir: string): Promise<Tree> {
  try {
    return await walkTree(dir);
  } catch (err) {
    throw new PatchrollError("SNAPSHOT_FAILED", `could not measure ${dir}: ${(err as Error).message}`, { cause: err });
  }
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
