import { readdir, readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { gunzip } from "node:zlib";
import { promisify } from "node:util";
import type { FollowedLine } from "../tail/line.js";

const gunzipAsync = promisify(gunzip);

/** `dpkg.log`, `dpkg.log.1`, `dpkg.log.2.gz`, ... that exist, newest first (as logrotate numbers them). */
export async function rotatedLogFiles(logPath: string): Promise<string[]> {
  const dir = dirname(logPath);
  const base = basename(logPath);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const numbered: { n: number; file: string }[] = [];
  for (const name of names) {
    if (!name.startsWith(`${base}.`)) continue;
    const m = /^(\d+)(\.gz)?$/.exec(name.slice(base.length + 1));
    if (m !== null) numbered.push({ n: Number(m[1]), file: join(dir, name) });
  }
  numbered.sort((a, b) => a.n - b.n);
  return [...(names.includes(base) ? [logPath] : []), ...numbered.map((x) => x.file)];
}

/**
 * The complete lines of one log file (gunzipped when it ends in .gz), lossily decoded, with file and
 * line number. A last line without its newline (being written right now) is left out.
 */
export async function readLogLines(file: string): Promise<FollowedLine[]> {
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (err) {
    // Rotated away between listing and reading: logrotate's next file has the lines.
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const bytes = file.endsWith(".gz") ? await gunzipAsync(raw) : raw;
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  const parts = text.split("\n");
  parts.pop(); // after the last newline: empty, or a partial line
  return parts.map((line, i) => ({ line, file, lineNo: i + 1 }));
}

/** The `YYYY-MM-DD HH:MM:SS` prefix of a dpkg.log line, if it has one. */
export function stampOf(line: string): string | undefined {
  return /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?= |$)/.exec(line)?.[0];
}
