import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { writeFileDurable } from "../../fs/durable-file.js";
import type { z } from "zod";

/** Writes `value` as JSON, durably (src/fs/durable-file.ts): readers see the old file or the new one, never a torn one. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFileDurable(file, `${JSON.stringify(value)}\n`, { mode: 0o640 });
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
