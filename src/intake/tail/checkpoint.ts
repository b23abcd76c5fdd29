import { createHash } from "node:crypto";
import { z } from "zod";
import { readJsonFile, writeJsonAtomic, type JsonRead } from "./atomic-json.js";

/**
 * Where a {@link LogFollower} stopped: the file identity (device, inode, both as decimal strings
 * because inode numbers can exceed 2^53), the byte offset just after the last line handed out, the
 * line number there when known, and a fingerprint of the bytes before the offset so that a file
 * truncated and refilled while patchroll was down is noticed.
 */
export const FollowerCheckpoint = z.strictObject({
  v: z.literal(1),
  path: z.string(),
  dev: z.string().regex(/^\d+$/),
  ino: z.string().regex(/^\d+$/),
  offset: z.number().int().nonnegative(),
  lineNo: z.number().int().nonnegative().nullable(),
  /** sha256 (hex) of the last `tailLength` bytes before `offset`. */
  tailSha256: z.string(),
  tailLength: z.number().int().nonnegative(),
});
export type FollowerCheckpoint = z.infer<typeof FollowerCheckpoint>;

/** sha256 hex of a fingerprint. */
export function hashTail(tail: Buffer): string {
  return createHash("sha256").update(tail).digest("hex");
}

/** Reads a follower checkpoint; a missing or damaged file is reported, never thrown. */
export function loadFollowerCheckpoint(file: string): Promise<JsonRead<FollowerCheckpoint>> {
  return readJsonFile(file, FollowerCheckpoint);
}

/** Writes a follower checkpoint atomically. */
export function saveFollowerCheckpoint(file: string, checkpoint: FollowerCheckpoint): Promise<void> {
  return writeJsonAtomic(file, checkpoint);
}
