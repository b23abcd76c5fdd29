import { join } from "node:path";
import { type ContainerInfo, type DiscoverOptions, discoverContainers } from "../containers/discover.js";
import { decideVerdict } from "./decide-verdict.js";
import { addCandidate, findStale, layersOf, type ShadowCandidates, shadowsInUse, type StaleMapping } from "./file-uses.js";
import { ownerOf } from "./host-packages.js";
import { findInterpreted, type InterpretedStale } from "./interpreters/interpreted.js";
import { LayerProbe } from "./layer-probe.js";
import { indexPackages, type PackageIndex } from "./package-index.js";
import { type ProcessView, processStartMs, readProcess } from "./process-view.js";
import { compareCopy, type ShadowedPath, splitPinned, withEvidence } from "./shadow-check.js";
import type { Verdict } from "./verdict.js";

export type { StaleMapping } from "./file-uses.js";
export type { ShadowedPath } from "./shadow-check.js";
export type { InterpretedStale } from "./interpreters/interpreted.js";

/** The patch state of one container, with the evidence. */
export interface ContainerScan {
  name: string;
  verdict: Verdict;
  stale: StaleMapping[];
  /** Interpreted code (Python, Perl, Ruby, Node.js, PHP, shell) a process loaded or may have loaded before its file changed. */
  interpreted: InterpretedStale[];
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
  /**
   * Limit stale and shadow findings to these packages' files, and look for every file of them the delta
   * shadows (used or not). Without it: every file the processes use, shadowed only when it differs.
   */
  packages?: readonly string[];
  /** Paths (absolute, as in the host) deliberately pinned for this container; they count as pinned, not shadowed. */
  pinnedPaths?: ReadonlySet<string>;
  /** Which checks run beyond the memory maps; every one by default. Turning one off is for benchmarks only. */
  checks?: ScanChecks;
}

/** The checks of a scan beyond `/proc/PID/maps`. */
export interface ScanChecks {
  /** Open files (`/proc/PID/fd`). Default true. */
  openFiles?: boolean;
  /** Interpreted code (Python, Perl, Ruby, Node.js, PHP, shells). Default true. */
  interpreters?: boolean;
  /** The shadow check of files in use. Default true. */
  shadowInUse?: boolean;
}

/** Every file of the scanned packages a layer above the host root hides (copies, whiteouts, opaque dirs), used or not. */
function findShadows(info: ContainerInfo, index: PackageIndex, probe: LayerProbe): Map<string, ShadowedPath> {
  const out = new Map<string, ShadowedPath>();
  const layers = layersOf(info);
  const hostRoot = layers[layers.length - 1] as string;
  for (const [path, pkg] of index.owner) {
    for (const layer of layers.slice(0, -1)) {
      // Most deltas hold nothing under /usr or /lib: one cached lstat of the top directory rules them out.
      const cut = path.indexOf("/", 1);
      if (cut > 0 ? !probe.hasDir(layer, path.slice(0, cut)) : probe.lstat(`${layer}${path}`) === undefined) continue;
      const kind = probe.shadowOf(layer, path);
      if (kind === undefined) continue;
      const words = kind === "copy" ? compareCopy(probe, join(layer, path), join(hostRoot, path), pkg, path)?.words : undefined;
      out.set(path, withEvidence({ path, kind, package: pkg }, layer, words));
      break;
    }
  }
  return out;
}

/** One container's scan with a shared probe and package index (a host scan shares them across containers). */
async function scanWith(info: ContainerInfo, opts: ScanOptions, probe: LayerProbe, index: PackageIndex | undefined, opaquePrefetched = false): Promise<ContainerScan> {
  const notes: string[] = [...(index?.notes ?? [])];
  const layers = layersOf(info);
  if (layers.length === 0) notes.push(`not an overlay container (${info.unmanagedReason ?? "no overlay rootfs"}): only mappings marked "(deleted)" can be detected.`);
  const procs: ProcessView[] = [];
  const checks = opts.checks ?? {};
  for (const pid of info.pids) {
    const proc = readProcess(pid, checks.openFiles !== false);
    if (proc === undefined) notes.push(`process ${pid} exited during the scan; skipped.`);
    else procs.push(proc);
  }
  const candidates: ShadowCandidates = new Map();
  const { stale, mapsPackages } = findStale(info, procs, index, probe, notes, candidates);
  const interp = checks.interpreters === false ? { findings: [], delta: [] } : await findInterpreted(procs, {
    layers,
    probe,
    containerStartMs: info.initPid === undefined ? undefined : processStartMs(info.initPid),
    ownerOf: (path) => (index !== undefined ? index.owner.get(path) : ownerOf(path)),
    packagesOnly: index !== undefined,
    notes,
  });
  for (const u of interp.delta) addCandidate(candidates, u.path, u.layer, u.user);
  let found = new Map<string, ShadowedPath>();
  if (layers.length > 1) {
    if (checks.shadowInUse !== false) found = shadowsInUse(info, candidates, index, probe, notes);
    if (index !== undefined) {
      if (!opaquePrefetched) await probe.prefetchOpaque(layers.slice(0, -1).map((layer) => ({ layer, paths: index.owner.keys() })));
      // Every file of the packages the delta shadows, used or not; in-use evidence joins the same path.
      for (const [path, s] of findShadows(info, index, probe)) {
        const usedBy = found.get(path)?.usedBy;
        found.set(path, { ...s, ...(usedBy !== undefined ? { usedBy } : {}) });
      }
    }
  }
  const { shadowed, pinned } = splitPinned(found, opts.pinnedPaths ?? new Set());
  const dpkgStatus = info.deltaDir === undefined ? undefined : probe.lstat(join(info.deltaDir, "var/lib/dpkg/status"));
  const ownDpkg = dpkgStatus?.isFile() === true;
  if (ownDpkg) notes.push("its delta holds its own dpkg database (var/lib/dpkg/status): apt ran inside, so the host's package state does not describe it.");
  const running = info.pids.length > 0;
  if (!running) notes.push(`not running (${info.state}): no process can map an outdated file.`);
  const verdict = decideVerdict({ running, stale: stale.length + interp.findings.length, shadowed: shadowed.length, pinned: pinned.length, ownDpkg });
  return { name: info.name, verdict, stale, interpreted: interp.findings, shadowed, pinned, mapsPackages, notes };
}

function hostRootOf(info: ContainerInfo): string {
  return info.lowerDirs[info.lowerDirs.length - 1] ?? "/";
}

/**
 * Scans one container: which processes map or hold open outdated host files (compared with the host's
 * current inode, because overlay mappings carry no "(deleted)" marker) or run interpreted code loaded before
 * its file changed, which package files its delta shadows (those in use always, every file of `packages`
 * with them), and whether it has its own dpkg database. A process that exits mid-scan is skipped with a note.
 */
export async function scanContainer(info: ContainerInfo, opts: ScanOptions = {}): Promise<ContainerScan> {
  const probe = new LayerProbe();
  const index = opts.packages === undefined ? undefined : indexPackages(opts.packages, hostRootOf(info), probe);
  return scanWith(info, opts, probe, index);
}

/**
 * The rollout's proof for one container, the same checks as `patchroll scan --packages`: patched means no
 * process maps, holds open or loaded an outdated file of `packages`, and its delta shadows none of them.
 */
export async function verifyPatched(info: ContainerInfo, packages: readonly string[]): Promise<{ ok: boolean; scan: ContainerScan }> {
  const scan = await scanContainer(info, { packages });
  return { ok: scan.verdict === "patched", scan };
}

/** Options of {@link scanHost}: those of a scan, with pinned paths per container. */
export interface HostScanOptions {
  packages?: readonly string[];
  pinnedPathsOf?: (name: string) => ReadonlySet<string>;
  checks?: ScanChecks;
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
    const scanOpts: ScanOptions = { ...(opts.packages !== undefined ? { packages: opts.packages } : {}), pinnedPaths: opts.pinnedPathsOf?.(info.name) ?? new Set(), ...(opts.checks !== undefined ? { checks: opts.checks } : {}) };
    out.push({ info, scan: await scanWith(info, scanOpts, probe, index, true) });
  }
  return out;
}
