import { join } from "node:path";
import type { ContainerInfo } from "../containers/discover.js";
import { isConffile, ownerOf } from "./host-packages.js";
import type { LayerProbe } from "./layer-probe.js";
import { isPseudoPath } from "./maps.js";
import type { PackageIndex } from "./package-index.js";
import type { ProcessView } from "./process-view.js";
import { compareCopy, type ShadowedPath, type ShadowUser, withEvidence } from "./shadow-check.js";

/** A process that maps or holds open a file whose inode is not the one the host serves at that path now. */
export interface StaleMapping {
  pid: number;
  comm: string;
  path: string;
  /** The inode the process maps (or holds open, see `via`). */
  mappedInode: number;
  /** The host's current inode at `path`; null when the host has no file there any more. */
  hostInode: number | null;
  package?: string;
  /** How the process holds the file: mapped (`/proc/PID/maps`) or open (`/proc/PID/fd`, see `fd`). Scans always set it; journals of older versions lack it (mapped). */
  via?: "map" | "fd";
  /** The open file descriptor, when `via` is "fd". */
  fd?: number;
}

/** Layers top first (delta, upper lowers, host root); empty when the container is not an overlay. */
export const layersOf = (info: ContainerInfo): string[] => (info.deltaDir === undefined ? [] : [info.deltaDir, ...info.lowerDirs].map((l) => l.replace(/\/+$/, "")));

/** One file a process uses: mapped or held open. */
interface FileUse {
  path: string;
  inode: number;
  dev: string;
  deleted: boolean;
  via: "map" | "fd";
  fd?: number;
}

const usesOf = (p: ProcessView): FileUse[] => [
  ...p.maps.map((m) => ({ path: m.path, inode: m.inode, dev: m.dev, deleted: m.deleted, via: "map" as const })),
  ...p.openFiles.map((f) => ({ path: f.path, inode: f.inode, dev: f.dev, deleted: f.deleted, via: "fd" as const, fd: f.fd })),
];

/** Files served by a layer above the host root that processes use: candidates for the shadow check. */
export type ShadowCandidates = Map<string, { layer: number; users: ShadowUser[] }>;

export function addCandidate(c: ShadowCandidates, path: string, layer: number, user: ShadowUser | undefined): void {
  const hit = c.get(path) ?? { layer, users: [] };
  if (user !== undefined && !hit.users.some((u) => u.pid === user.pid && u.via === user.via)) hit.users.push(user);
  c.set(path, hit);
}

/**
 * Judges every file the processes map or hold open: stale when its inode is not the one the host serves at
 * that path now; a file a layer above the host root serves becomes a shadow candidate instead.
 */
export function findStale(info: ContainerInfo, procs: readonly ProcessView[], index: PackageIndex | undefined, probe: LayerProbe, notes: string[], candidates: ShadowCandidates): { stale: StaleMapping[]; mapsPackages: boolean } {
  const layers = layersOf(info);
  const hostRoot = layers[layers.length - 1];
  const stale: StaleMapping[] = [];
  let mapsPackages = false;
  let otherStale = 0;
  for (const proc of procs) {
    for (const m of usesOf(proc)) {
      // Only files of the container's root overlay: bind mounts and tmpfs files are not the host root's.
      if (isPseudoPath(m.path) || (layers.length > 0 && m.dev !== proc.rootDev)) continue;
      const pkg = index?.owner.get(m.path);
      let hostInode: number | null;
      if (hostRoot !== undefined) {
        const serving = probe.servingLayer(layers, m.path);
        if (serving !== undefined && serving.index < layers.length - 1) {
          // The delta's own copy (or a pin): never outdated by a host update, but maybe shadowing one.
          const runsCopy = Number(serving.stats.ino) === m.inode && !m.deleted;
          addCandidate(candidates, m.path, serving.index, runsCopy ? { pid: proc.pid, comm: proc.comm, via: m.via, ...(m.fd !== undefined ? { fd: m.fd } : {}) } : undefined);
          // An open file the delta now serves anew (a rotated log, a rewritten data file) is the container's
          // own business, not a host update.
          if (runsCopy || m.via === "fd") continue;
          // It still runs what the layer below served before the copy appeared: judged against the host.
          const host = probe.lstat(join(hostRoot, m.path));
          hostInode = host === undefined ? null : Number(host.ino);
        } else {
          // An open file nobody serves any more (a deleted temp file) was never the host's to update.
          if (serving === undefined && m.via === "fd") continue;
          hostInode = serving === undefined ? null : Number(serving.stats.ino);
        }
        if (pkg !== undefined) mapsPackages = true;
        if (hostInode === m.inode && !m.deleted) continue;
      } else {
        // Without layers the container's paths are not host paths: only the kernel's marker counts.
        if (pkg !== undefined) mapsPackages = true;
        if (!m.deleted) continue;
        hostInode = null;
      }
      if (index !== undefined && pkg === undefined) {
        otherStale++;
        continue;
      }
      stale.push({ pid: proc.pid, comm: proc.comm, path: m.path, mappedInode: m.inode, hostInode, ...(pkg !== undefined ? { package: pkg } : {}), via: m.via, ...(m.fd !== undefined ? { fd: m.fd } : {}) });
    }
  }
  if (otherStale > 0) notes.push(`${otherStale} other outdated mapping(s) or open file(s) belong to packages outside this scan; scan without packages to list them.`);
  return { stale, mapsPackages };
}

/**
 * The shadow check of files in use: a file a process runs from a layer above the host root, whose path a
 * host package owns, is shadowed when it is not the host's current file (an identical copy is not; nor is
 * a conffile, which is the container's own configuration).
 */
export function shadowsInUse(info: ContainerInfo, candidates: ShadowCandidates, index: PackageIndex | undefined, probe: LayerProbe, notes: string[]): Map<string, ShadowedPath> {
  const layers = layersOf(info);
  const hostRoot = layers[layers.length - 1] as string;
  const out = new Map<string, ShadowedPath>();
  let other = 0;
  for (const [path, c] of candidates) {
    // Most files of a delta are the container's own (no host file there): no package to ask about.
    if (probe.lstat(join(hostRoot, path))?.isFile() !== true) continue;
    const pkg = index !== undefined ? index.owner.get(path) : ownerOf(path);
    if (pkg === undefined) {
      if (index !== undefined && ownerOf(path) !== undefined) other++;
      continue;
    }
    // A container's own configuration (a changed conffile) is no outdated code: dpkg keeps local changes too.
    if (isConffile(pkg, path)) continue;
    const layer = layers[c.layer] as string;
    const compared = compareCopy(probe, join(layer, path), join(hostRoot, path), pkg, path);
    if (compared === undefined || (!compared.differs && index === undefined)) continue;
    out.set(path, withEvidence({ path, kind: "copy", package: pkg, ...(c.users.length > 0 ? { usedBy: c.users } : {}) }, layer, compared.words));
  }
  if (other > 0) notes.push(`${other} file(s) in use from the delta shadow packages outside this scan; scan without packages to list them.`);
  return out;
}
