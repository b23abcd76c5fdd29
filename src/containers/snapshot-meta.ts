import { lstat, open, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { z } from "zod";
import { isSnapshotId } from "./snapshot-id.js";

/** Inside a snapshot dir: the exact copy of the delta. */
export const SNAPSHOT_TREE = "delta";
/**
 * Inside a snapshot dir: what prcopy last saw of each path of the delta (native/prcopy.c), so the next pass
 * copies only what changed and the next snapshot hard-links what did not. Absent where cp made the copy.
 */
export const SNAPSHOT_MANIFEST = "manifest";
/** Inside a snapshot dir: what the snapshot is; written last, before the dir gets its final name. */
export const SNAPSHOT_META = "snapshot.json";

const SnapshotMeta = z.strictObject({
  v: z.literal(1),
  id: z.string().refine(isSnapshotId, "a valid snapshot id"),
  createdAt: z.iso.datetime(),
  bytes: z.number().int().min(0),
  files: z.number().int().min(0),
  /** The delta dir it was taken from. */
  source: z.string(),
});

/**
 * A complete snapshot: `path` is `<snapshotsDir>/<id>`, holding `delta/` (the exact copy, see
 * {@link snapshotTree}) and `snapshot.json`.
 */
export interface SnapshotInfo {
  id: string;
  path: string;
  /** ISO 8601 UTC time the copy was complete. */
  createdAt: string;
  /** Disk usage of the delta when taken: allocated bytes, holes free, hardlinks counted once. */
  bytes: number;
  /** Entries in the delta, its root dir included. */
  files: number;
  /** The delta dir it was taken from (absolute). */
  source: string;
}

/** Where the copy of the delta lives inside a snapshot. */
export function snapshotTree(info: Pick<SnapshotInfo, "path">): string {
  return join(info.path, SNAPSHOT_TREE);
}

/** Writes `snapshot.json` into `dir` and fsyncs it. */
export async function writeSnapshotMeta(dir: string, meta: Omit<SnapshotInfo, "path">): Promise<void> {
  const fh = await open(join(dir, SNAPSHOT_META), "wx", 0o644);
  try {
    await fh.writeFile(`${JSON.stringify({ v: 1, ...meta }, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Reads the snapshot at `path`; `undefined` when it is not a complete snapshot (no or bad
 * `snapshot.json`, id not matching the dir name, or no `delta/` dir).
 */
export async function readSnapshot(path: string): Promise<SnapshotInfo | undefined> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(path, SNAPSHOT_META), "utf8"));
  } catch {
    return undefined;
  }
  const parsed = SnapshotMeta.safeParse(raw);
  if (!parsed.success || parsed.data.id !== basename(path)) return undefined;
  try {
    if (!(await lstat(join(path, SNAPSHOT_TREE))).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  const { id, createdAt, bytes, files, source } = parsed.data;
  return { id, path, createdAt, bytes, files, source };
}
