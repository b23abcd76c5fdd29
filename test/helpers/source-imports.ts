import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root, as paths in these helpers are relative to it. */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** One module specifier a source file imports (static, re-export or dynamic `import("...")`). */
export interface SourceImport {
  /** The importing file, relative to the repository (`src/intake/take-report.ts`). */
  file: string;
  /** The specifier as written. */
  specifier: string;
  /** A relative specifier resolved against the repository (`workers/finish-run.js`); the specifier otherwise. */
  target: string;
  line: number;
}

/** The `.ts` files under `dirs` (relative to the repository), sorted. */
export function sourceFiles(...dirs: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(REPO, dir), { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith(".ts")) out.push(path);
    }
  };
  for (const d of dirs) walk(d);
  return out.sort();
}

// `import x from "m"`, `import type {...} from "m"`, `export {...} from "m"`, `import "m"`, `import("m")`:
// the multi-line form of the first three ends with `} from "m"` on a line of its own.
const IMPORT = /(?:^\s*(?:import|export)\b[^"'`]*?\bfrom\s*|^\s*import\s*|\bimport\s*\(\s*)["']([^"']+)["']/gm;
const FROM_LINE = /^\s*}\s*from\s*["']([^"']+)["']/gm;

/** Every module specifier the files import, in file order. */
export function importsOf(files: readonly string[]): SourceImport[] {
  const out: SourceImport[] = [];
  for (const file of files) {
    const text = readFileSync(join(REPO, file), "utf8");
    for (const re of [IMPORT, FROM_LINE]) {
      for (const m of text.matchAll(re)) {
        const specifier = m[1]!;
        const target = specifier.startsWith(".") ? relative(REPO, resolve(REPO, dirname(file), specifier)) : specifier;
        out.push({ file, specifier, target, line: text.slice(0, m.index).split("\n").length });
      }
    }
  }
  return out;
}
