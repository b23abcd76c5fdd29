import type { Config } from "../config/schema.js";
import type { ContainerInfo } from "../containers/discover.js";
import type { ContainerDriver } from "../containers/driver.js";
import { pinnedPaths } from "../containers/pins.js";
import { type ContainerScan, scanHost } from "../detect/scan.js";
import type { AptEvent } from "../intake/apt-event.js";
import type { RestartTarget } from "./container-restart.js";
import { isIgnored } from "./ignore.js";
import { type Candidate, type Plan, planRollout } from "./plan.js";
import { shadowInWords } from "./verification.js";

export interface Prepared {
  plan: Plan;
  targets: Map<string, RestartTarget>;
  scans: ContainerScan[];
  /** What discovery found, by name (verification reuses it with fresh pids). */
  infos: Map<string, ContainerInfo>;
}

/**
 * Actions that leave containers running outdated files of a package that is still there: only these call
 * for a rollout. A fresh install has no old files to run; a removal leaves nothing to restart onto (a
 * restart would break what still uses the files); a bare configure changes no files.
 */
const ROLLOUT_ACTIONS: ReadonlySet<string> = new Set(["upgrade", "downgrade", "reinstall"]);

/** Names of the packages whose change calls for restarting the containers that use them (not ignored ones). */
export function changedPackages(event: Pick<AptEvent, "packages">, config?: Pick<Config, "rollout">): string[] {
  return [...new Set(event.packages.filter((p) => ROLLOUT_ACTIONS.has(p.action) && (config === undefined || !isIgnored(p.name, config))).map((p) => p.name))];
}

/** Looks at every container on the host for the event's packages and plans the rollout. Read-only. */
export async function prepareRollout(event: Pick<AptEvent, "packages">, config: Config, driver: ContainerDriver): Promise<Prepared> {
  const packages = changedPackages(event, config);
  const found = await scanHost({ lxcPath: config.lxc.path, hostRoot: config.lxc.hostRoot, driver }, { packages, pinnedPathsOf: (name) => pinnedPaths(config.stateDir, name) });
  const candidates: Candidate[] = found.map(({ info, scan }) => ({
    name: info.name,
    group: info.meta.group,
    canary: info.meta.canary,
    unmanagedReason: info.managed ? undefined : (info.unmanagedReason ?? "not an overlay container on the host root"),
    verdict: scan.verdict,
    mapsPackages: scan.mapsPackages,
    shadow: shadowInWords(scan),
  }));
  const plan = planRollout(candidates, config.rollout);
  const infos = found.map((f) => f.info);
  return { plan, targets: targetsOf(infos), scans: found.filter((f) => f.info.managed).map((f) => f.scan), infos: new Map(infos.map((i) => [i.name, i])) };
}

/** Restart targets of the managed containers, by name. */
export function targetsOf(infos: readonly ContainerInfo[]): Map<string, RestartTarget> {
  const out = new Map<string, RestartTarget>();
  for (const i of infos) if (i.managed && i.deltaDir !== undefined) out.set(i.name, { name: i.name, group: i.meta.group, deltaDir: i.deltaDir, health: i.meta.health });
  return out;
}
