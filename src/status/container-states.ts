import type { ContainerState as LxcState } from "../containers/driver.js";
import type { ContainerDriver } from "../containers/driver.js";
import { listPins, type Pin, pinnedPaths } from "../containers/pins.js";
import { scanHost } from "../detect/scan.js";
import { VERDICTS, type Verdict } from "../detect/verdict.js";
import type { Config } from "../config/schema.js";
import { ctimeReader, type Exposure, exposureOf } from "./exposure.js";

/** One container with its patch state, as the status screen, the dashboard and the metrics show it. */
export interface ContainerPatchState {
  name: string;
  state: LxcState;
  managed: boolean;
  unmanagedReason?: string;
  group: string;
  canary: boolean;
  /** Absent for unmanaged containers (patchroll does not judge them). */
  verdict?: Verdict;
  /** Outdated mappings, open files and interpreted code (processes x files). */
  stale: number;
  shadowed: number;
  pin?: Pin;
  exposure?: Exposure;
  notes: string[];
}

/** Every container under the LXC path, scanned (read-only). */
export async function containerStates(config: Pick<Config, "lxc" | "stateDir">, opts: { packages?: readonly string[]; driver?: ContainerDriver; now?: Date } = {}): Promise<ContainerPatchState[]> {
  const now = opts.now ?? new Date();
  const pins = new Map(listPins(config.stateDir).map((p) => [p.container, p]));
  const found = await scanHost(
    { lxcPath: config.lxc.path, hostRoot: config.lxc.hostRoot, ...(opts.driver !== undefined ? { driver: opts.driver } : {}) },
    { ...(opts.packages !== undefined && opts.packages.length > 0 ? { packages: opts.packages } : {}), pinnedPathsOf: (n) => pinnedPaths(config.stateDir, n) },
  );
  const ctimeOf = ctimeReader(config.lxc.hostRoot);
  return found.map(({ info, scan }) => {
    const pin = pins.get(info.name);
    const exposure = info.managed ? exposureOf(info.name, scan.stale, ctimeOf, now) : undefined;
    return {
      name: info.name,
      state: info.state,
      managed: info.managed,
      ...(info.unmanagedReason !== undefined ? { unmanagedReason: info.unmanagedReason } : {}),
      group: info.meta.group,
      canary: info.meta.canary,
      ...(info.managed ? { verdict: scan.verdict } : {}),
      stale: scan.stale.length + scan.interpreted.length,
      shadowed: scan.shadowed.length,
      ...(pin !== undefined ? { pin } : {}),
      ...(exposure !== undefined ? { exposure } : {}),
      notes: scan.notes,
    };
  });
}

/** Managed containers per verdict, every verdict present (zero when none). */
export function countByVerdict(states: readonly ContainerPatchState[]): Record<Verdict, number> {
  const out = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
  for (const s of states) if (s.verdict !== undefined) out[s.verdict]++;
  return out;
}
