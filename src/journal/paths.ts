import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/schema.js";
import { compressedPathOf, JOURNAL_EXT } from "./journal-file.js";

/** The journal file of one rollout: `JOURNALDIR/HOST/ROLLOUT.jsonl` (readers also find its `.gz` twin). */
export function journalFile(config: Pick<Config, "journalDir" | "hostId">, rolloutId: string): string {
  return join(config.journalDir, config.hostId, `${rolloutId}${JOURNAL_EXT}`);
}

/** Whether a rollout has a journal on this host, plain or compressed. */
export function journalExists(config: Pick<Config, "journalDir" | "hostId">, rolloutId: string): boolean {
  const file = journalFile(config, rolloutId);
  return existsSync(file) || existsSync(compressedPathOf(file));
}
