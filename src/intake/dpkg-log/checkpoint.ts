import { createHash } from "node:crypto";
import { z } from "zod";

/**
 * How far dpkg.log reconciliation got, independent of rotation: the last line taken, identified by
 * its timestamp, its index among the lines with that same timestamp (dpkg writes many per second), and
 * a hash of its text to check that the line found there is that line. An empty `stamp` means "nothing
 * taken yet: everything is new" (the log did not exist at the baseline).
 */
export const DpkgCheckpoint = z.strictObject({
  v: z.literal(1),
  stamp: z.string().regex(/^(?:\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})?$/),
  seq: z.number().int().nonnegative(),
  lineSha256: z.string(),
  /** When this checkpoint was committed, ISO 8601 (for people). */
  committedAt: z.string(),
});
export type DpkgCheckpoint = z.infer<typeof DpkgCheckpoint>;

/** sha256 hex of a line's text. */
export function hashLine(line: string): string {
  return createHash("sha256").update(line).digest("hex");
}
