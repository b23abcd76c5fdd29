import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import { compareDebianVersions } from "../intake/debian-version.js";
import { runTool } from "../proc/run-tool.js";
import type { PackageVersion } from "./version-state.js";
import { VersionStore } from "./version-store.js";

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

/** How far back the versions in flight are looked at. */
const RECENT_MS = 14 * 86_400_000;

/**
 * For every recent version whose waves name this host but which this host has not reported: if this host
 * will never roll it out, it says so (`absent`), so later waves do not wait for it. Cheap once answered: a
 * version this host has a record of costs one HEXISTS.
 */
export async function reportAbsentVersions(redis: Redis, config: Pick<Config, "redis" | "hostId">, nowMs: number, installed: (pkg: string) => Promise<Installed> = installedHere): Promise<PackageVersion[]> {
  const store = new VersionStore(redis, config);
  const absent: PackageVersion[] = [];
  for (const v of await store.recent(nowMs - RECENT_MS)) {
    if (await store.hasHost(v, config.hostId)) continue;
    const plan = await store.plan(v);
    if (plan === null || !plan.waves.some((w) => w.includes(config.hostId))) continue;
    if (!willNeverHave(v, await installed(v.pkg))) continue;
    await store.setHost(v, config.hostId, { state: "absent", rollout: "none" });
    absent.push(v);
  }
  return absent;
}
