import { join } from "node:path";
import { dpkgMd5, installedVersion, md5File } from "./host-packages.js";
import type { LayerProbe, ShadowKind } from "./layer-probe.js";

/** A process that runs (maps, holds open or may have loaded) a file its container's delta serves. */
export interface ShadowUser {
  pid: number;
  comm: string;
  via: "map" | "fd" | "interpreter";
  fd?: number;
}

/** A host file of a package that a layer above the host root hides from the container. */
export interface ShadowedPath {
  path: string;
  kind: ShadowKind;
  package?: string;
  /** The host package's installed version (dpkg), whose file the container does not see. */
  hostVersion?: string;
  /** What the delta holds instead, in plain words (size and md5 of its copy against the host's). */
  deltaHolds?: string;
  /** What would fix it (a restart alone never does). */
  fix?: string;
  /** Processes that run the delta's copy. */
  usedBy?: ShadowUser[];
}

/** The delta's copy compared with the host's current file of `pkg`; size first, md5 only on equal sizes. */
export function compareCopy(probe: LayerProbe, copy: string, hostFile: string, pkg: string, path: string): { differs: boolean; words: string } | undefined {
  const mine = probe.lstat(copy);
  const host = probe.lstat(hostFile);
  if (mine === undefined || host === undefined || !host.isFile()) return undefined;
  if (!mine.isFile()) return { differs: true, words: `its own ${mine.isSymbolicLink() ? "symlink" : "non-regular file"} where the host has a file` };
  try {
    const hostMd5 = dpkgMd5(pkg, path) ?? md5File(hostFile);
    if (mine.size !== host.size) return { differs: true, words: `its own copy (${mine.size} bytes); the host's current file has ${host.size} bytes (md5 ${hostMd5})` };
    const md5 = md5File(copy);
    return md5 === hostMd5
      ? { differs: false, words: `its own copy, identical to the host's current file today (md5 ${md5}): the next update of ${pkg} will not reach it` }
      : { differs: true, words: `its own copy (md5 ${md5}); the host's current file has md5 ${hostMd5}` };
  } catch {
    return { differs: true, words: "its own copy (unreadable)" };
  }
}

/** What would make the container see the host's file again. */
export function shadowFix(kind: ShadowKind, layer: string, path: string): string {
  const where = join(layer, path);
  switch (kind) {
    case "copy":
      return `remove ${where} from the container's delta (keep it aside if someone put it there on purpose), then restart the container`;
    case "whiteout":
      return `remove the whiteout ${where} from the container's delta, then restart the container`;
    case "opaque":
      return `clear the opaque marker (trusted.overlay.opaque) of the delta directory above ${where}, or remove that directory, then restart the container`;
  }
}

/** Plain words for what a layer holds at a shadowed path; `copyWords` from {@link compareCopy} when known. */
export function deltaHoldsWords(kind: ShadowKind, copyWords: string | undefined): string {
  if (kind === "whiteout") return "a whiteout: the file is removed for the container";
  if (kind === "opaque") return "an opaque directory above it: the host's directory is hidden for the container";
  return copyWords ?? "its own copy";
}

/** Completes a finding with the host version, what the delta holds and the fix. */
export function withEvidence(s: ShadowedPath, layer: string, copyWords?: string): ShadowedPath {
  const version = s.package === undefined ? undefined : installedVersion(s.package);
  return { ...s, ...(version !== undefined ? { hostVersion: version } : {}), deltaHolds: deltaHoldsWords(s.kind, copyWords), fix: shadowFix(s.kind, layer, s.path) };
}

/** Splits findings into shadowed and pinned (kept on purpose), in path order. */
export function splitPinned(found: Map<string, ShadowedPath>, pinnedPaths: ReadonlySet<string>): { shadowed: ShadowedPath[]; pinned: ShadowedPath[] } {
  const shadowed: ShadowedPath[] = [];
  const pinned: ShadowedPath[] = [];
  for (const s of [...found.values()].sort((a, b) => a.path.localeCompare(b.path))) {
    (pinnedPaths.has(s.path) ? pinned : shadowed).push(pinnedPaths.has(s.path) ? { ...s, fix: "patchroll unpin releases it (it was pinned on purpose after a rollback), then restart the container" } : s);
  }
  return { shadowed, pinned };
}
