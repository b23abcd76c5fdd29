import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";

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

/** fsyncs a directory, so that a file created or renamed in it survives a crash. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `data` to `target` through a synced temporary file and an atomic rename. */
function writeAtomically(target: string, data: Uint8Array): void {
  const tmp = `${target}.tmp-${process.pid}`;
  const fd = openSync(tmp, "w", 0o640);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, target);
  fsyncDir(dirname(target));
}

/**
 * Replaces `ROLLOUT.jsonl` by `ROLLOUT.jsonl.gz` (synced, atomic). When the plain file grew while it was
 * being compressed (a late `control.*` line), nothing is removed and false is returned: the next run
 * tries again.
 */
export function compressJournal(plain: string): boolean {
  const before = readFileSync(plain);
  const gz = compressedPathOf(plain);
  writeAtomically(gz, gzipSync(before));
  if (statSync(plain).size !== before.length) {
    unlinkSync(gz);
    return false;
  }
  unlinkSync(plain);
  fsyncDir(dirname(plain));
  return true;
}

/**
 * Turns a compressed journal back into a plain one, so that a writer can append to it again (an operator
 * acting on an old rollout). The plain file is complete before the `.gz` goes.
 */
export function inflateJournal(plain: string): void {
  const gz = compressedPathOf(plain);
  writeAtomically(plain, gunzipSync(readFileSync(gz)));
  unlinkSync(gz);
  fsyncDir(dirname(plain));
}
