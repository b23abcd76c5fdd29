import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

/** patchroll's version, from the package.json of the checkout or installation this module runs from. */
export function patchrollVersion(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "patchroll" && pkg.version !== undefined) return (cached = pkg.version);
    }
    if (dirname(dir) === dir) return (cached = "unknown");
    dir = dirname(dir);
  }
}
