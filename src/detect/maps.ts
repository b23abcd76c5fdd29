/** One file-backed mapping of a process, from `/proc/PID/maps`. */
export interface MappedFile {
  /** Path as the process sees it (inside its mount namespace), without the " (deleted)" suffix. */
  path: string;
  inode: number;
  /** `major:minor` in hex, as maps prints it (for an overlay file: the overlay's device). */
  dev: string;
  /** The kernel marked the mapping " (deleted)": the file was unlinked. Overlay containers often lack it. */
  deleted: boolean;
}

const DELETED = " (deleted)";

/**
 * Parses `/proc/PID/maps` text (proc(5)): `address perms offset dev inode path`. Returns each distinct
 * file-backed mapping once; anonymous and pseudo mappings (`[heap]`, inode 0) are dropped.
 */
export function parseMaps(text: string): MappedFile[] {
  const seen = new Map<string, MappedFile>();
  for (const line of text.split("\n")) {
    const m = /^\S+\s+\S+\s+\S+\s+([0-9a-f]+:[0-9a-f]+)\s+(\d+)\s+(\/.*)$/.exec(line);
    if (m === null) continue;
    const [, dev, ino, rawPath] = m as unknown as [string, string, string, string];
    const inode = Number(ino);
    if (inode === 0) continue;
    const deleted = rawPath.endsWith(DELETED);
    const path = deleted ? rawPath.slice(0, -DELETED.length) : rawPath;
    const key = `${dev} ${inode} ${path}`;
    if (!seen.has(key)) seen.set(key, { path, inode, dev, deleted });
  }
  return [...seen.values()];
}

/** A `stat()` device number as maps prints it: `major:minor`, hex, at least two digits each (Linux dev_t encoding). */
export function devString(dev: number): string {
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | ((Math.floor(dev / 4096) & 0xfff00));
  const hex = (n: number) => n.toString(16).padStart(2, "0");
  return `${hex(major)}:${hex(minor)}`;
}

/** Mappings that never name a file of the root filesystem: shared memory, memfd, SysV segments, devices. */
export function isPseudoPath(path: string): boolean {
  return path.startsWith("/memfd:") || path.startsWith("/SYSV") || path.startsWith("/dev/") || path.startsWith("/proc/") || path.startsWith("/sys/");
}
