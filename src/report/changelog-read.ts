import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import type { AptEvent, PackageChange } from "../intake/apt-event.js";
import { looksLikeDebianChangelog } from "./changelog-parse.js";
import { cvesFromChangelog, type PackageCves } from "./package-cves.js";

const gunzipAsync = promisify(gunzip);

/** Where installed packages keep their documentation. */
export const DOC_ROOT = "/usr/share/doc";

/** A package's changelog as installed: the file read and its text. */
export interface InstalledChangelog {
  path: string;
  text: string;
}

async function readGz(path: string): Promise<string | undefined> {
  try {
    return (await gunzipAsync(await readFile(path))).toString("utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    // Missing, or not gzip at all (a damaged file): no changelog to read, which the report says.
    if (code === "ENOENT" || code === "ENOTDIR" || code.startsWith("Z_")) return undefined;
    throw err;
  }
}

/**
 * Reads the Debian changelog of an installed package from `DOCROOT/NAME/` (symlinked directories are
 * followed, as dpkg installs them for packages of one source): `changelog.Debian.gz`, with the
 * `changelog.Debian.ARCH.gz` of a binary-only rebuild (binNMU, `+b1`) put on top; for a native package,
 * `changelog.gz` when it is in Debian format. Falls back to the source package's directory. Local files
 * only, never the network.
 */
export async function readInstalledChangelog(pkg: Pick<PackageChange, "name" | "arch" | "sourcePackage">, docRoot = DOC_ROOT): Promise<InstalledChangelog | undefined> {
  const dirs = [pkg.name, ...(pkg.sourcePackage !== undefined && pkg.sourcePackage !== pkg.name ? [pkg.sourcePackage] : [])];
  for (const d of dirs) {
    const dir = join(docRoot, d);
    const main = await readGz(join(dir, "changelog.Debian.gz"));
    if (main !== undefined) {
      const binNmu = pkg.arch !== "all" ? await readGz(join(dir, `changelog.Debian.${pkg.arch}.gz`)) : undefined;
      return { path: join(dir, "changelog.Debian.gz"), text: binNmu !== undefined ? `${binNmu}\n${main}` : main };
    }
    const native = await readGz(join(dir, "changelog.gz"));
    if (native !== undefined && looksLikeDebianChangelog(native)) return { path: join(dir, "changelog.gz"), text: native };
  }
  return undefined;
}

/** The CVEs one package change closed, read from the installed package's changelog. */
export async function packageCves(change: PackageChange, docRoot = DOC_ROOT): Promise<PackageCves> {
  const found = await readInstalledChangelog(change, docRoot);
  return cvesFromChangelog(change, found?.text, found?.path ?? null);
}

/**
 * The CVEs of every package an apt run changed. Meant for plan time, while the new versions' changelogs
 * are certainly installed: the rollout worker records the result as `rollout.planned` `data.cves`.
 */
export async function cvesOfEvent(event: Pick<AptEvent, "packages">, docRoot = DOC_ROOT): Promise<PackageCves[]> {
  return Promise.all(event.packages.map((p) => packageCves(p, docRoot)));
}
