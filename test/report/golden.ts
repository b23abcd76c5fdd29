import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

/** Journals of real rollouts kept as fixtures: `JOURNALS/demo/ROLLOUT.jsonl`, with `doc/` as their docRoot. */
export const JOURNALS = fileURLToPath(new URL("../fixtures/journals", import.meta.url));
export const GOLDEN = join(JOURNALS, "golden");

/**
 * Compares `raw` (with this checkout's fixture path made relative, and `replace` applied) with the golden
 * file `name`. `PATCHROLL_UPDATE_GOLDEN=1` rewrites the file instead:
 * review its diff before committing it.
 */
export function expectGolden(name: string, raw: string, replace: readonly [string, string][] = []): void {
  // The checkout's location is no part of a report: golden files name the fixtures by their repository path.
  const text = [...replace, [JOURNALS, "test/fixtures/journals"] as const].reduce((t, [from, to]) => t.replaceAll(from, to), raw);
  const file = join(GOLDEN, name);
  if (process.env["PATCHROLL_UPDATE_GOLDEN"] === "1" || !existsSync(file)) {
    if (process.env["PATCHROLL_UPDATE_GOLDEN"] !== "1") throw new Error(`golden file ${file} is missing; run with PATCHROLL_UPDATE_GOLDEN=1 and review it`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    return;
  }
  expect(text, `differs from ${file} (PATCHROLL_UPDATE_GOLDEN=1 rewrites it)`).toBe(readFileSync(file, "utf8"));
}
