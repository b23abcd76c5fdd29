import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { z } from "zod";

/**
 * Writes `value` as JSON so that readers see either the old file or the new one, never a torn one:
 * write a temporary file in the same directory, fsync it, rename it over `file`, fsync the directory.
 */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    const fh = await open(tmp, "w", 0o640);
    try {
      await fh.writeFile(`${JSON.stringify(value)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const dh = await open(dir, "r");
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** Outcome of reading a small JSON state file. */
export type JsonRead<T> = { kind: "ok"; value: T } | { kind: "missing" } | { kind: "invalid"; reason: string };

/** Reads and validates a JSON state file; a missing or damaged file is reported, never thrown. */
export async function readJsonFile<S extends z.ZodType>(file: string, schema: S): Promise<JsonRead<z.infer<S>>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { kind: "missing" };
    return { kind: "invalid", reason: (err as Error).message };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { kind: "invalid", reason: `not JSON (${(err as Error).message})` };
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) return { kind: "invalid", reason: parsed.error.message };
  return { kind: "ok", value: parsed.data };
}
