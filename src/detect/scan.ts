import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { type ContainerInfo, type DiscoverOptions, discoverContainers } from "../containers/discover.js";
import { decideVerdict } from "./decide-verdict.js";
import { LayerProbe, type ShadowKind } from "./layer-probe.js";
import { devString, isPseudoPath, type MappedFile, parseMaps } from "./maps.js";
import { canonicalPath, packageFiles } from "./package-files.js";
import type { Verdict } from "./verdict.js";

/** A process that maps a file whose inode is not the one the host serves at that path now. */
export interface StaleMapping {
  pid: number;
  comm: string;
  path: string;
  mappedInode: number;
  /** The host's current inode at `path`; null when the host has no file there any more. */
  hostInode: number | null;
  package?: string;
}

/** A host file of the scanned packages that a layer above the host root hides from the container. */
export interface ShadowedPath {
  path: string;
  kind: ShadowKind;
  package?: string;
}

/** The patch state of one container, with the evidence. */
export interface ContainerScan {
  name: string;
  verdict: Verdict;
  stale: StaleMapping[];
  /** Shadowed files not listed as pinned. */
  shadowed: ShadowedPath[];
  /** Shadowed files listed in `pinnedPaths`: old files kept on purpose. */
  pinned: ShadowedPath[];
  /** Some process maps the host's copy of a file of the scanned packages (current or outdated): it really uses them. */
  mapsPackages: boolean;
  notes: string[];
}

/** What to look for. */
export interface ScanOptions {
  /** Limit stale and shadow findings to these packages' files. Without it: every mapped file, no shadow check. */
  packages?: readonly string[];
  /** Paths (absolute, as in the host) deliberately pinned for this container; they count as pinned, not shadowed. */
  pinnedPaths?: ReadonlySet<string>;
}

interface PackageIndex {
  /** Canonical path -> package, for the files (not directories) the host has now. */
  owner: Map<string, string>;
  notes: string[];
}

function indexPackages(packages: readonly string[], hostRoot: string, probe: LayerProbe): PackageIndex {
  const owner = new Map<string, string>();
  const notes: string[] = [];
  for (const pkg of packages) {
    const files = packageFiles(pkg);
    if (files.length === 0) notes.push(`package ${pkg} is not installed on the host (no dpkg file list): nothing of it can be stale or shadowed.`);
    for (const f of files) {
      const path = canonicalPath(f);
      const st = probe.lstat(join(hostRoot, path));
      if (st !== undefined && !st.isDirectory()) owner.set(path, pkg);
    }
  }
  return { owner, notes };
}

/** Layers top first (delta, upper lowers, host root); empty when the container is not an overlay. */
const layersOf = (info: ContainerInfo): string[] => (info.deltaDir === undefined ? [] : [info.deltaDir, ...info.lowerDirs]);

function readProcess(pid: number): { comm: string; rootDev: string; maps: MappedFile[] } | undefined {
  try {
    const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    const rootDev = devString(statSync(`/proc/${pid}/root`).dev);
    return { comm, rootDev, maps: parseMaps(readFileSync(`/proc/${pid}/maps`, "utf8")) };
  } catch {
    return undefined;
  }
}

function findStale(info: ContainerInfo, index: PackageIndex | undefined, probe: LayerProbe, notes: string[]): { stale: StaleMapping[]; mapsPackages: boolean } {
  const layers = layersOf(info);
  const stale: StaleMapping[] = [];
  let mapsPackages = false;
  let otherStale = 0;
  for (const pid of info.pids) {
    const proc = readProcess(pid);
    if (proc === undefined) {
      notes.push(`process ${pid} exited during the scan; skipped.`);
      continue;
    }
    for (const m of proc.maps) {
      // Only files of the container's root overlay: bind mounts and tmpfs files are not the host root's.
      if (isPseudoPath(m.path) || (layers.length > 0 && m.dev !== proc.rootDev)) continue;
      const pkg = index?.owner.get(m.path);
      let hostInode: number | null;
      if (layers.length > 0) {
        const serving = probe.servingLayer(layers, m.path);
        // The delta's own copy or a pin layer: not the host's file, so never outdated by a host update.
        if (serving !== undefined && serving.index < layers.length - 1) continue;
        if (pkg !== undefined) mapsPackages = true;
        hostInode = serving === undefined ? null : Number(serving.stats.ino);
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
      stale.push({ pid, comm: proc.comm, path: m.path, mappedInode: m.inode, hostInode, ...(pkg !== undefined ? { package: pkg } : {}) });
    }
  }
  if (otherStale > 0) notes.push(`${otherStale} other outdated mapping(s) belong to packages outside this scan; scan without packages to list them.`);
  return { stale, mapsPackages };
}

function findShadows(info: ContainerInfo, index: PackageIndex, probe: LayerProbe, pinnedPaths: ReadonlySet<string>): { shadowed: ShadowedPath[]; pinned: ShadowedPath[] } {
  const shadowed: ShadowedPath[] = [];
  const pinned: ShadowedPath[] = [];
  const upper = layersOf(info).slice(0, -1);
  for (const [path, pkg] of index.owner) {
    for (const layer of upper) {
      // Most deltas hold nothing under /usr or /lib: one cached lstat of the top directory rules them out.
      const cut = path.indexOf("/", 1);
      if (probe.lstat(join(layer, cut < 0 ? path : path.slice(0, cut))) === undefined) continue;
      const kind = probe.shadowOf(layer, path);
      if (kind === undefined) continue;
      (pinnedPaths.has(path) ? pinned : shadowed).push({ path, kind, package: pkg });
      break;
    }
  }
  return { shadowed, pinned };
}

async function scanWith(info: ContainerInfo, opts: ScanOptions, probe: LayerProbe, index: PackageIndex | undefined): Promise<ContainerScan> {
  const notes: string[] = [...(index?.notes ?? [])];
  const layers = layersOf(info);
  if (layers.length === 0) notes.push(`not an overlay container (${info.unmanagedReason ?? "no overlay rootfs"}): only mappings marked "(deleted)" can be detected.`);
  const { stale, mapsPackages } = findStale(info, index, probe, notes);
  let shadowed: ShadowedPath[] = [];
  let pinned: ShadowedPath[] = [];
  if (index !== undefined && layers.length > 1) {
    await probe.prefetchOpaque(layers.slice(0, -1).map((layer) => ({ layer, paths: index.owner.keys() })));
    ({ shadowed, pinned } = findShadows(info, index, probe, opts.pinnedPaths ?? new Set()));
  }
  const dpkgStatus = info.deltaDir === undefined ? undefined : probe.lstat(join(info.deltaDir, "var/lib/dpkg/status"));
  const ownDpkg = dpkgStatus?.isFile() === true;
  if (ownDpkg) notes.push("its delta holds its own dpkg database (var/lib/dpkg/status): apt ran inside, so the host's package state does not describe it.");
  const running = info.pids.length > 0;
  if (!running) notes.push(`not running (${info.state}): no process can map an outdated file.`);
  const verdict = decideVerdict({ running, stale: stale.length, shadowed: shadowed.length, pinned: pinned.length, ownDpkg });
  return { name: info.name, verdict, stale, shadowed, pinned, mapsPackages, notes };
}

function hostRootOf(info: ContainerInfo): string {
  return info.lowerDirs[info.lowerDirs.length - 1] ?? "/";
}

/**
 * Scans one container: which processes map outdated host files (compared with the host's current inode,
 * because overlay mappings carry no "(deleted)" marker), which package files its delta shadows, and whether
 * it has its own dpkg database. A process that exits mid-scan is skipped with a note.
 */
export async function scanContainer(info: ContainerInfo, opts: ScanOptions = {}): Promise<ContainerScan> {
  const probe = new LayerProbe();
  const index = opts.packages === undefined ? undefined : indexPackages(opts.packages, hostRootOf(info), probe);
  return scanWith(info, opts, probe, index);
}

/** The rollout's proof for one container: patched means no process maps an outdated file of `packages`. */
export async function verifyPatched(info: ContainerInfo, packages: readonly string[]): Promise<{ ok: boolean; scan: ContainerScan }> {
  const scan = await scanContainer(info, { packages });
  return { ok: scan.verdict === "patched", scan };
}

/** Options of {@link scanHost}: those of a scan, with pinned paths per container. */
export interface HostScanOptions {
  packages?: readonly string[];
  pinnedPathsOf?: (name: string) => ReadonlySet<string>;
}

/**
 * Scans every container under `lxcPath` with one shared cache: each host path is stat'ed once and every
 * opaque marker is read in one helper run, so hundreds of containers take well under a second or two.
 */
export async function scanHost(where: DiscoverOptions, opts: HostScanOptions = {}): Promise<{ info: ContainerInfo; scan: ContainerScan }[]> {
  const infos = await discoverContainers(where);
  const probe = new LayerProbe();
  const index = opts.packages === undefined ? undefined : indexPackages(opts.packages, where.hostRoot, probe);
  if (index !== undefined) {
    await probe.prefetchOpaque(infos.flatMap((i) => layersOf(i).slice(0, -1).map((layer) => ({ layer, paths: index.owner.keys() }))));
  }
  const out: { info: ContainerInfo; scan: ContainerScan }[] = [];
  for (const info of infos) {
    const scanOpts: ScanOptions = { ...(opts.packages !== undefined ? { packages: opts.packages } : {}), pinnedPaths: opts.pinnedPathsOf?.(info.name) ?? new Set() };
    out.push({ info, scan: await scanWith(info, scanOpts, probe, index) });
  }
  return out;
}
