import { readFileSync, rmSync } from "node:fs";
import { PatchrollError } from "../errors/patchroll-error.js";

/** One line of `/proc/PID/mountinfo` (proc(5)), with octal escapes (`\040`) decoded. */
export interface MountInfoEntry {
  id: number;
  parentId: number;
  /** `major:minor` of the mounted filesystem. */
  device: string;
  /** Directory of that filesystem shown at the mount point (`/` for a whole-filesystem mount or bind of `/`). */
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
}

function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

/** Parses mountinfo text; malformed lines are skipped. */
export function parseMountInfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(" ");
    const sep = fields.indexOf("-", 6);
    if (fields.length < 10 || sep < 0) continue;
    const [id, parentId, device, root, mountPoint] = fields;
    if (id === undefined || parentId === undefined || device === undefined || root === undefined || mountPoint === undefined) continue;
    out.push({
      id: Number(id),
      parentId: Number(parentId),
      device,
      root: unescape(root),
      mountPoint: unescape(mountPoint),
      fsType: fields[sep + 1] ?? "",
      source: unescape(fields[sep + 2] ?? ""),
    });
  }
  return out;
}

/** Mount table of this process's mount namespace. */
export function readMountInfo(): MountInfoEntry[] {
  return parseMountInfo(readFileSync("/proc/self/mountinfo", "utf8"));
}

/** The entry currently visible at `path` (the last one mounted there), if any. */
export function mountAt(entries: readonly MountInfoEntry[], path: string): MountInfoEntry | undefined {
  let found: MountInfoEntry | undefined;
  for (const e of entries) if (e.mountPoint === path) found = e;
  return found;
}

/**
 * Mount points other than `/` that show the root filesystem's own root: bind mounts of `/`, such as
 * `/var/lib/lxc/host/rootfs` in the seed layout.
 */
export function rootBindMounts(entries: readonly MountInfoEntry[]): Set<string> {
  const root = mountAt(entries, "/");
  const out = new Set<string>();
  if (root === undefined) return out;
  for (const e of entries) {
    if (e.mountPoint !== "/" && e.device === root.device && e.root === root.root && mountAt(entries, e.mountPoint) === e) out.add(e.mountPoint);
  }
  return out;
}

/** Mounts at `dir` or below it. Anything that deletes a tree must find none, or it would reach into them. */
export function mountsUnder(entries: readonly MountInfoEntry[], dir: string): MountInfoEntry[] {
  const base = dir.replace(/\/+$/, "");
  return entries.filter((e) => e.mountPoint === base || e.mountPoint.startsWith(`${base}/`));
}

/** Removes a directory tree only when no mount lies inside it (rm -r crosses mount points: a bind of / would be wiped). */
export function removeTreeSafely(dir: string): void {
  const inside = mountsUnder(readMountInfo(), dir);
  if (inside.length > 0) {
    throw new PatchrollError("CONTAINER_FAILED", `refusing to remove ${dir}: ${inside.map((m) => m.mountPoint).join(", ")} is still mounted inside it; unmount it first.`);
  }
  rmSync(dir, { recursive: true, force: true });
}
