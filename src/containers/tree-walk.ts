import { type BigIntStats, lstatSync, readdirSync } from "node:fs";
import { lstat, readdir } from "node:fs/promises";

const SLASH = Buffer.from("/");

/** What a directory tree holds, on the filesystem of its root (mounts below it are left out). */
export interface Tree {
  /** Allocated bytes (holes free, hardlinked files once). */
  bytes: number;
  /** Entries, the root included (hardlinked files once). */
  files: number;
  /**
   * Its directories and regular files, one path per inode, relative to the root ("" is the root; names
   * are bytes: a delta may hold names that are not UTF-8). Only for a tree of at most
   * {@link LISTED_LIMIT} entries.
   */
  listed?: Buffer[];
}

/** Trees up to this many entries are walked with synchronous calls and listed in full. */
export const LISTED_LIMIT = 2000;

/** Counts each inode of the root's filesystem once. */
class Tally {
  private readonly dev: bigint;
  private readonly seen: Set<bigint>;
  bytes: bigint;
  files = 1;

  constructor(root: BigIntStats) {
    this.dev = root.dev;
    this.seen = new Set([root.ino]);
    this.bytes = root.blocks * 512n;
  }

  /** False for an entry not to count: another filesystem, or an inode already counted (a hardlink). */
  add(st: BigIntStats): boolean {
    if (st.dev !== this.dev || this.seen.has(st.ino)) return false;
    this.seen.add(st.ino);
    this.bytes += st.blocks * 512n;
    this.files++;
    return true;
  }
}

const join = (a: Buffer, b: Buffer) => (a.length === 0 ? b : Buffer.concat([a, SLASH, b]));

/**
 * Walks `dir` once for its usage and, when it is small (a typical delta: tens of entries), its paths. A
 * small tree is walked with synchronous calls: for a few hundred cached entries they cost less than the
 * round trips of asynchronous ones, and a rollout walks every container's delta at the same time. Past
 * {@link LISTED_LIMIT} entries the walk starts over asynchronously, so a huge delta never holds up the
 * daemon.
 */
export async function walkTree(dir: string): Promise<Tree> {
  return walkSmall(dir) ?? (await walkLarge(dir));
}

function walkSmall(dir: string): Tree | undefined {
  const root = Buffer.from(dir);
  const top = lstatSync(root, { bigint: true });
  const tally = new Tally(top);
  const listed: Buffer[] = [Buffer.alloc(0)];
  // A single file is a tree of one.
  if (!top.isDirectory()) return { bytes: Number(tally.bytes), files: 1, ...(top.isFile() ? { listed } : { listed: [] }) };
  const visit = (rel: Buffer): boolean => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true, encoding: "buffer" })) {
      const child = join(rel, e.name);
      if (!tally.add(lstatSync(join(root, child), { bigint: true }))) continue;
      if (tally.files > LISTED_LIMIT) return false;
      if (e.isFile() || e.isDirectory()) listed.push(child);
      if (e.isDirectory() && !visit(child)) return false;
    }
    return true;
  };
  return visit(Buffer.alloc(0)) ? { bytes: Number(tally.bytes), files: tally.files, listed } : undefined;
}

async function walkLarge(dir: string): Promise<Tree> {
  const root = Buffer.from(dir);
  const tally = new Tally(await lstat(root, { bigint: true }));
  const visit = async (path: Buffer): Promise<void> => {
    for (const e of await readdir(path, { withFileTypes: true, encoding: "buffer" })) {
      const child = join(path, e.name);
      if (tally.add(await lstat(child, { bigint: true })) && e.isDirectory()) await visit(child);
    }
  };
  await visit(root);
  return { bytes: Number(tally.bytes), files: tally.files };
}
