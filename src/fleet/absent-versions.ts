import { compareDebianVersions } from "../intake/debian-version.js";
import { runTool } from "../proc/run-tool.js";
import type { PackageVersion } from "./version-state.js";

/** What this host has of a package: not installed, or its installed version. */
export type Installed = { installed: false } | { installed: true; version: string };

/**
 * Whether this host will ever roll `v` out (pure): not when the package is not installed here, or when a
 * later version already is (it went past this one). An earlier installed version will be upgraded by the
 * host's next apt run: the host is still to come.
 */
export function willNeverHave(v: PackageVersion, here: Installed): boolean {
  return !here.installed || compareDebianVersions(here.version, v.version) > 0;
}

/** dpkg's word on a package on this host. */
export async function installedHere(pkg: string): Promise<Installed> {
  const r = await runTool("dpkg-query", ["-W", "-f=${db:Status-Status}\t${Version}", "--", pkg], { timeoutMs: 10_000 }).result;
  const [status, version] = r.stdout.split("\t");
  return r.exitCode === 0 && status === "installed" && version !== undefined && version !== "" ? { installed: true, version } : { installed: false };
}
