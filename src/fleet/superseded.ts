import { compareDebianVersions } from "../intake/debian-version.js";
import type { Installed } from "./absent-versions.js";
import { type PackageVersion, versionKey } from "./version-state.js";

/**
 * Why a held rollout is superseded, or undefined (pure given `installed`): every version it brings has a
 * later version installed on this host since, whose own rollout restarts the same containers onto it. A
 * rollout with any version still current is not superseded: it still has work to do once released.
 */
export async function supersededBy(versions: readonly PackageVersion[], installed: (pkg: string) => Promise<Installed>): Promise<string | undefined> {
  if (versions.length === 0) return undefined;
  const later: string[] = [];
  for (const v of versions) {
    const here = await installed(v.pkg);
    if (!here.installed || compareDebianVersions(here.version, v.version) <= 0) return undefined;
    later.push(`${v.pkg} ${here.version} is installed since ${versionKey(v)}`);
  }
  return `superseded: ${later.join("; ")}; the later version's own rollout restarts these containers`;
}
