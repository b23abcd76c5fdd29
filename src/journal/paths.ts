import { join } from "node:path";
import type { Config } from "../config/schema.js";

/** The journal file of one rollout: `JOURNALDIR/HOST/ROLLOUT.jsonl`. */
export function journalFile(config: Pick<Config, "journalDir" | "hostId">, rolloutId: string): string {
  return join(config.journalDir, config.hostId, `${rolloutId}.jsonl`);
}
