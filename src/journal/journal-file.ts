import { existsSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { fsyncDirSync, writeFileDurableSync } from "../fs/durable-file.js";

/** A live journal: `ROLLOUT.jsonl`. */
export const JOURNAL_EXT = ".jsonl";
/** A journal compressed by retention: `ROLLOUT.jsonl.gz`; readers read it as if it were the plain file. */
export const COMPRESSED_EXT = ".jsonl.gz";

/** The compressed twin of a plain journal path. */
export function compressedPathOf(file: string): string {
  return file.endsWith(".gz") ? file : `${file}.gz`;
}

/** The plain twin of a journal path. */
export function plainPathOf(file: string): string {
  return file.endsWith(".gz") ? file.slice(0, -".gz".length) : file;
}

/**
 * The text of a journal, read from the plain file or, when retention compressed it, from its `.gz` twin;
 * undefined when neither exists.
 */
export function readJournalText(file: string): string | undefined {
  const plain = plainPathOf(file);
  if (existsSync(plain)) return readFileSync(plain, "utf8");
  const gz = compressedPathOf(file);
  if (existsSync(gz)) return gunzipSync(readFileSync(gz)).toString("utf8");
  return undefined;
}


/**
 * Replaces `ROLLOUT.jsonl` by `ROLLOUT.jsonl.gz` (synced, atomic). When the plain file grew while it was
 * being compressed (a late `control.*` line), nothing is removed and false is returned: the next run
 * tries again.
 */
export function compressJournal(plain: string): boolean {
  const before = readFileSync(plain);
  const gz = compressedPathOf(plain);
  writeFileDurableSync(gz, gzipSync(before), { mode: 0o640 });
  if (statSync(plain).size !== before.length) {
    unlinkSync(gz);
    return false;
  }
  unlinkSync(plain);
  fsyncDirSync(dirname(plain));
  return true;
}

/**
 * Turns a compressed journal back into a plain one, so that a writer can append to it again (an operator
 * acting on an old rollout). The plain file is complete before the `.gz` goes.
 */
export function inflateJournal(plain: string): void {
  const gz = compressedPathOf(plain);
  writeFileDurableSync(plain, gunzipSync(readFileSync(gz)), { mode: 0o640 });
  unlinkSync(gz);
  fsyncDirSync(dirname(plain));
}
