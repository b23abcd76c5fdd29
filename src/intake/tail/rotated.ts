import { readFile } from "node:fs/promises";
import { gunzip } from "node:zlib";
import { promisify } from "node:util";
import { hashTail } from "./checkpoint.js";

const gunzipAsync = promisify(gunzip);

/** What was read before: bytes just before `offset` (or their hash and length, from a checkpoint). */
export type Fingerprint = { tail: Buffer } | { tailSha256: string; tailLength: number };

/** The rest of a rotated copy of the followed file, from the offset we had reached. */
export interface Continuation {
  file: string;
  rest: Buffer;
}

/** Rotated copies of a log that can hold the lines after our offset, newest first. */
export function rotatedCandidates(path: string): string[] {
  return [`${path}.1`, `${path}.1.gz`];
}

/**
 * Finds the rotated copy of `path` (`PATH.1`, or `PATH.1.gz` when logrotate compressed it at once)
 * whose bytes before `offset` are the ones we read, and returns its bytes after `offset`.
 * Undefined when no copy continues what we read. Files larger than `maxBytes` are not loaded.
 */
export async function findContinuation(path: string, offset: number, fp: Fingerprint, maxBytes = 256 * 1024 * 1024): Promise<Continuation | undefined> {
  for (const file of rotatedCandidates(path)) {
    const bytes = await loadMaybeGzip(file, maxBytes);
    if (bytes === undefined || bytes.length < offset) continue;
    if (matches(bytes, offset, fp)) return { file, rest: bytes.subarray(offset) };
  }
  return undefined;
}

/** True when `bytes` holds the fingerprinted bytes right before `offset`. */
export function matches(bytes: Buffer, offset: number, fp: Fingerprint): boolean {
  const len = "tail" in fp ? fp.tail.length : fp.tailLength;
  if (offset - len < 0 || offset > bytes.length) return false;
  const before = bytes.subarray(offset - len, offset);
  return "tail" in fp ? before.equals(fp.tail) : hashTail(before) === fp.tailSha256;
}

async function loadMaybeGzip(file: string, maxBytes: number): Promise<Buffer | undefined> {
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  if (!file.endsWith(".gz")) return raw.length > maxBytes ? undefined : raw;
  try {
    const out = await gunzipAsync(raw, { maxOutputLength: maxBytes });
    return out;
  } catch {
    // Being written by logrotate right now, or not gzip after all: not a usable copy.
    return undefined;
  }
}
