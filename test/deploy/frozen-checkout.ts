import { cpSync, mkdirSync, symlinkSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The checkout these tests run from. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * A copy of what deploy/install.sh and deploy/debian/build.sh read from a built checkout (dist/, bin/,
 * hooks/, docs/, deploy/, runbooks/, package files; node_modules linked), taken once, so that a test's
 * installs see one consistent source even while someone rebuilds dist/ in the real checkout. Returns its path.
 */
export function frozenCheckout(into: string): string {
  const dir = join(into, "checkout");
  mkdirSync(dir, { recursive: true });
  for (const d of ["dist/src", "dist/workers", "dist/native", "bin", "hooks", "docs", "deploy", "runbooks"]) {
    cpSync(join(repoRoot, d), join(dir, d), { recursive: true, preserveTimestamps: true });
  }
  for (const f of ["package.json", "package-lock.json", "README.md"]) cpSync(join(repoRoot, f), join(dir, f), { preserveTimestamps: true });
  symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"));
  return dir;
}
