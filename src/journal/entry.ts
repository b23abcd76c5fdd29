import { z } from "zod";

/** Version of the journal line format; readers accept every version they know. */
export const JOURNAL_VERSION = 1;

/** One journal line. `type` says what happened; `data` holds its details and is kept as written. */
export const JournalEntry = z.object({
  v: z.literal(JOURNAL_VERSION),
  /** Position in this journal file, from 1, without gaps. */
  seq: z.number().int().positive(),
  /** Wall-clock time of writing, ISO 8601 with milliseconds. */
  ts: z.string(),
  host: z.string(),
  rollout: z.string(),
  type: z.string().regex(/^[a-z]+(\.[a-z-]+)+$/),
  container: z.string().optional(),
  data: z.record(z.string(), z.unknown()).default({}),
});
export type JournalEntry = z.infer<typeof JournalEntry>;
export type JournalInput = Omit<JournalEntry, "v" | "seq" | "ts" | "host" | "rollout">;
