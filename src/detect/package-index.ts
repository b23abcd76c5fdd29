import { join } from "node:path";
import type { LayerProbe } from "./layer-probe.js";
import { canonicalPath, packageFiles } from "./package-files.js";

/** The host files of the packages a scan is limited to. */
export interface PackageIndex {
  /** Canonical path -> package, for the files (not directories) the host has now. */
  owner: Map<string, string>;
  notes: string[];
}

/** Indexes the files of `packages` the host has now (canonical paths); a package not installed gets a note. */
export function indexPackages(packages: readonly string[], hostRoot: string, probe: LayerProbe): PackageIndex {
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
