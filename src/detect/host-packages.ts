import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { DPKG_INFO_DIR } from "./package-files.js";

/** dpkg's record of installed packages (their versions). */
export const DPKG_STATUS = "/var/lib/dpkg/status";

interface Cached<T> {
  mtimeMs: number;
  size: number;
  value: T;
}

/** Reads `file` through `parse` again only when its mtime or size changed. */
function cachedRead<T>(cache: Map<string, Cached<T>>, file: string, parse: (text: string) => T): T | undefined {
  const st = statSync(file, { throwIfNoEntry: false });
  if (st === undefined) return undefined;
  const hit = cache.get(file);
  if (hit !== undefined && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.value;
  const value = parse(readFileSync(file, "utf8"));
  cache.set(file, { mtimeMs: st.mtimeMs, size: st.size, value });
  return value;
}

const statusCache = new Map<string, Cached<Map<string, string>>>();

/** `Package` (with `:arch` for Multi-Arch: same) -> `Version` of the installed packages in dpkg's status file (pure). */
export function parseDpkgStatus(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const stanza of text.split(/\n\s*\n/)) {
    const pkg = /^Package: (\S+)$/m.exec(stanza)?.[1];
    const version = /^Version: (\S+)$/m.exec(stanza)?.[1];
    const arch = /^Architecture: (\S+)$/m.exec(stanza)?.[1];
    if (pkg === undefined || version === undefined || !/^Status: .* installed$/m.test(stanza)) continue;
    out.set(pkg, version);
    if (arch !== undefined) out.set(`${pkg}:${arch}`, version);
  }
  return out;
}

/** The installed version of `pkg` on the host (`libssl3` or `libssl3:amd64`), from dpkg's status file. */
export function installedVersion(pkg: string, statusFile = DPKG_STATUS): string | undefined {
  return cachedRead(statusCache, statusFile, parseDpkgStatus)?.get(pkg);
}

const md5Cache = new Map<string, Cached<Map<string, string>>>();

/** Path (absolute) -> md5 from a dpkg `.md5sums` file, whose lines read `MD5  relative/path` (pure). */
export function parseMd5sums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]{32}) {2}(.+)$/.exec(line);
    if (m !== null) out.set(`/${m[2] as string}`, m[1] as string);
  }
  return out;
}

/** The md5 dpkg recorded for the host's current file at `path` of `pkg`; undefined when dpkg kept none. */
export function dpkgMd5(pkg: string, path: string, infoDir = DPKG_INFO_DIR): string | undefined {
  for (const name of [pkg, ...(pkg.includes(":") ? [pkg.slice(0, pkg.indexOf(":"))] : [])]) {
    const sums = cachedRead(md5Cache, join(infoDir, `${name}.md5sums`), parseMd5sums);
    const hit = sums?.get(path) ?? (path.startsWith("/usr/") ? sums?.get(path.slice(4)) : undefined);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

const conffileCache = new Map<string, Cached<Set<string>>>();

/**
 * Whether `path` is a conffile of `pkg` (dpkg's `PKG.conffiles`): a configuration file an admin may change
 * on purpose, which a package update never replaces over a local change either.
 */
export function isConffile(pkg: string, path: string, infoDir = DPKG_INFO_DIR): boolean {
  for (const name of [pkg, ...(pkg.includes(":") ? [pkg.slice(0, pkg.indexOf(":"))] : [])]) {
    const set = cachedRead(conffileCache, join(infoDir, `${name}.conffiles`), (t) => new Set(t.split("\n").map((l) => l.replace(/ (remove-on-upgrade|obsolete)$/, "")).filter((l) => l.startsWith("/"))));
    if (set?.has(path) === true) return true;
  }
  return false;
}

/** md5 of a file's content, hex. */
export function md5File(file: string): string {
  return createHash("md5").update(readFileSync(file)).digest("hex");
}

let ownerIndex: { mtimeMs: number; owner: Map<string, string> } | undefined;

/**
 * Which host package owns the file at `path` (as /proc shows it), from every dpkg `.list` file. dpkg lists
 * paths as packaged (`/lib/x86_64-linux-gnu/libc.so.6`) while /proc names the real file (`/usr/lib/...` on
 * a merged-/usr host): a path under /usr is also looked up without it. The index is built on the first
 * question (about 70 ms for 770 packages here; callers ask only about paths the host has a file at) and
 * kept until dpkg's info directory changes.
 */
export function ownerOf(path: string, infoDir = DPKG_INFO_DIR): string | undefined {
  const st = statSync(infoDir, { throwIfNoEntry: false });
  if (st === undefined) return undefined;
  if (ownerIndex === undefined || ownerIndex.mtimeMs !== st.mtimeMs) {
    const owner = new Map<string, string>();
    for (const f of readdirSync(infoDir)) {
      if (!f.endsWith(".list")) continue;
      const pkg = f.slice(0, -".list".length);
      let text: string;
      try {
        text = readFileSync(join(infoDir, f), "utf8");
      } catch {
        continue;
      }
      for (const p of text.split("\n")) if (p.startsWith("/") && p !== "/.") owner.set(p, pkg);
    }
    ownerIndex = { mtimeMs: st.mtimeMs, owner };
  }
  return ownerIndex.owner.get(path) ?? (path.startsWith("/usr/") ? ownerIndex.owner.get(path.slice(4)) : undefined);
}
