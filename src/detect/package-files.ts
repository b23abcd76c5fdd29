import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** dpkg's database of installed files (`PKG.list`, `PKG:ARCH.list`). */
export const DPKG_INFO_DIR = "/var/lib/dpkg/info";

const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?$/;
const cache = new Map<string, { file: string; mtimeMs: number; size: number; paths: readonly string[] }>();
const dirCache = new Map<string, string>();

function listFile(pkg: string, infoDir: string): string | undefined {
  const direct = join(infoDir, `${pkg}.list`);
  if (statSync(direct, { throwIfNoEntry: false }) !== undefined) return direct;
  if (pkg.includes(":")) return undefined;
  const arch = listFiles(infoDir).find((f) => f.startsWith(`${pkg}:`));
  return arch === undefined ? undefined : join(infoDir, arch);
}

const listings = new Map<string, { mtimeMs: number; listedAt: number; names: readonly string[] }>();

/**
 * The `.list` files in `infoDir` (thousands of entries), listed again only when the directory changed: a
 * rollout looks up the same packages for every container it verifies. A listing taken within a second of
 * the directory's last change is not trusted (timestamps may be that coarse).
 */
function listFiles(infoDir: string): readonly string[] {
  const st = statSync(infoDir, { throwIfNoEntry: false });
  if (st === undefined) return [];
  const hit = listings.get(infoDir);
  if (hit !== undefined && hit.mtimeMs === st.mtimeMs && hit.listedAt - st.mtimeMs > 1000) return hit.names;
  const names = readdirSync(infoDir).filter((f) => f.endsWith(".list"));
  listings.set(infoDir, { mtimeMs: st.mtimeMs, listedAt: Date.now(), names });
  return names;
}

/**
 * Paths dpkg installed for `pkg` (directories included), read from its `.list` file; `pkg` may carry an
 * architecture (`libssl3:amd64`). Empty when the package is not installed or the name is not a package
 * name. Cached until the list file changes.
 */
export function packageFiles(pkg: string, infoDir = DPKG_INFO_DIR): readonly string[] {
  if (!PACKAGE_NAME.test(pkg)) return [];
  const key = `${infoDir}\0${pkg}`;
  const hit = cache.get(key);
  if (hit !== undefined) {
    const now = statSync(hit.file, { throwIfNoEntry: false });
    if (now !== undefined && hit.mtimeMs === now.mtimeMs && hit.size === now.size) return hit.paths;
  }
  const file = listFile(pkg, infoDir);
  if (file === undefined) return [];
  const st = statSync(file, { throwIfNoEntry: false });
  if (st === undefined) return [];
  const paths = readFileSync(file, "utf8").split("\n").filter((p) => p.startsWith("/") && p !== "/.");
  cache.set(key, { file, mtimeMs: st.mtimeMs, size: st.size, paths });
  return paths;
}

/**
 * The path the kernel reports for a package file: its directory with symlinks resolved on the host
 * (`/lib/x86_64-linux-gnu/libc.so.6` -> `/usr/lib/...` on a merged-/usr system), because /proc/PID/maps
 * names the real file. Directory lookups are cached for the process's life.
 */
export function canonicalPath(path: string): string {
  const dir = dirname(path);
  let real = dirCache.get(dir);
  if (real === undefined) {
    try {
      real = realpathSync(dir);
    } catch {
      real = dir;
    }
    dirCache.set(dir, real);
  }
  return join(real, basename(path));
}
