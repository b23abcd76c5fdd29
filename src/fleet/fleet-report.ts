import type { Milestone } from "./milestones.js";
import { type VersionReport, versionReport } from "./verdicts.js";
import type { VersionView } from "./version-state.js";

/** One host's part in a version, as the fleet report tells it. */
export interface FleetReportHost {
  host: string;
  wave: number;
  state: string;
  rollout?: string;
  restarted?: number;
  /** When the host reported the version (its apt run brought it), started restarting, and was through. */
  reportedAt?: string;
  startedAt?: string;
  endedAt?: string;
  /** From reported to through (or to the report's time, when not through): how long it ran the old version. */
  exposureSec?: number;
}

/** An operator's fleet action on this version. */
export interface FleetReportAction {
  at: string;
  action: string;
  who: string;
  why: string;
  /** The host the command was run on. */
  host: string;
}

/** `patchroll report --fleet PKG=VERSION --format json` (docs/cli.md). */
export interface FleetReport {
  v: 1;
  kind: "fleet";
  package: string;
  version: string;
  status: VersionReport["status"];
  firstSeen: string;
  at: string;
  waves: FleetReportHost[][];
  verdict: VersionReport["verdict"];
  hold: VersionReport["hold"];
  release: VersionReport["release"];
  actions: FleetReportAction[];
  /** True when the fleet stream was trimmed past this version's start: early milestones are missing. */
  trimmed: boolean;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const THROUGH = new Set(["passed", "failed", "inconclusive", "absent"]);

/**
 * The fleet report of one version (pure): its waves with each host's times and outcome from the milestones
 * the hosts published, the verdict that held it, the operators' actions. `trimmedUpToMs`: up to when the
 * stream may have lost entries; after the version's first sighting, some of its milestones may be gone,
 * and the report says so.
 */
export function buildFleetReport(view: VersionView, firstSeen: number, milestones: readonly Milestone[], actions: readonly FleetReportAction[], trimmedUpToMs: number | null, nowMs: number): FleetReport {
  const r = versionReport(view, firstSeen);
  const of = (host: string) => milestones.filter((m) => m.host === host && m.milestone !== "verdict");
  const waves = r.waves.map((w, i) =>
    w.map((h): FleetReportHost => {
      const ms = of(h.host);
      const reported = ms.find((m) => m.milestone === "waiting")?.at;
      const started = ms.find((m) => m.milestone === "running")?.at;
      const ended = ms.findLast((m) => THROUGH.has(m.milestone))?.at;
      const until = ended ?? nowMs;
      return {
        host: h.host,
        wave: i + 1,
        state: h.state,
        ...(h.rollout !== undefined ? { rollout: h.rollout } : {}),
        ...(h.restarted !== undefined ? { restarted: h.restarted } : {}),
        ...(reported !== undefined ? { reportedAt: iso(reported)! } : {}),
        ...(started !== undefined ? { startedAt: iso(started)! } : {}),
        ...(ended !== undefined ? { endedAt: iso(ended)! } : {}),
        ...(reported !== undefined && h.state !== "absent" ? { exposureSec: Math.max(0, Math.round((until - reported) / 1000)) } : {}),
      };
    }),
  );
  return {
    v: 1,
    kind: "fleet",
    package: r.package,
    version: r.version,
    status: r.status,
    firstSeen: r.firstSeen,
    at: new Date(nowMs).toISOString(),
    waves,
    verdict: r.verdict,
    hold: r.hold,
    release: r.release,
    actions: [...actions],
    trimmed: trimmedUpToMs !== null && trimmedUpToMs > firstSeen,
  };
}
