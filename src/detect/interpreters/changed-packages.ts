import { lstatSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { canonicalPath, DPKG_INFO_DIR, packageFiles } from "../package-files.js";

let listing: { dirMtimeMs: number; lists: { package: string; changedMs: number }[] } | undefined;

/**
 * Packages dpkg changed (installed, upgraded) as their `.list` file's mtime tells: dpkg rewrites it at
 * every unpack. Listed again only when the info directory changed (an unpack renames files into it).
 */
function changedLists(infoDir: string): { package: string; changedMs: number }[] {
  const st = statSync(infoDir, { throwIfNoEntry: false });
  if (st === undefined) return [];
  if (listing?.dirMtimeMs !== st.mtimeMs) {
    const lists: { package: string; changedMs: number }[] = [];
    for (const f of readdirSync(infoDir)) {
      if (!f.endsWith(".list")) continue;
      const m = statSync(join(infoDir, f), { throwIfNoEntry: false });
      if (m !== undefined) lists.push({ package: f.slice(0, -".list".length), changedMs: m.mtimeMs });
    }
    listing = { dirMtimeMs: st.mtimeMs, lists: lists.sort((a, b) => b.changedMs - a.changedMs) };
  }
  return listing.lists;
}

/**
 * Packages changed after `sinceMs` that ship a file under one of `roots` (a search path), with the first
 * such file in search order (the first root that has one, then by name; a package's own file order follows
 * how it was built): code a process that started before may have loaded in its old version.
 */
export function changedPackagesSince(sinceMs: number, roots: readonly string[], infoDir = DPKG_INFO_DIR): { package: string; file: string; changedMs: number }[] {
  const out: { package: string; file: string; changedMs: number }[] = [];
  const dirs = roots.map((r) => `${r.replace(/\/+$/, "")}/`);
  for (const l of changedLists(infoDir)) {
    if (l.changedMs <= sinceMs) break;
    const file = firstInSearchOrder(packageFiles(l.package, infoDir).map(canonicalPath), dirs);
    if (file !== undefined) out.push({ ...l, file });
  }
  return out;
}

/** The first regular file under the earliest of `dirs` (each ending in "/") that has one, by name within it. */
function firstInSearchOrder(files: readonly string[], dirs: readonly string[]): string | undefined {
  for (const d of dirs) {
    const under = files.filter((f) => f.startsWith(d)).sort();
    const file = under.find((f) => lstatSync(f, { throwIfNoEntry: false })?.isFile() === true);
    if (file !== undefined) return file;
  }
  return undefined;
}
