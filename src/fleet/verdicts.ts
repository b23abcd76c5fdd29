import { table } from "../cli/output.js";
import { standingVerdict } from "./decide.js";
import type { HostVersion, HumanMark, Verdict, VersionView } from "./version-state.js";

/** Where a version stands in the fleet. */
export type VersionStatus = "held" | "failed" | "inconclusive" | "passed" | "in-flight";

/** One version as `fleet verdicts` shows it (the `--json` shape, docs/cli.md). */
export interface VersionReport {
  package: string;
  version: string;
  status: VersionStatus;
  firstSeen: string;
  /** The failed or inconclusive rollout holding it (null when none stands, e.g. after a release). */
  verdict: (Omit<Verdict, "at"> & { at: string }) | null;
  hold: (Omit<HumanMark, "at"> & { at: string }) | null;
  release: (Omit<HumanMark, "at"> & { at: string }) | null;
  /** The hosts by wave, each with its rollout of the version (state `pending` when it has none yet). */
  waves: { host: string; state: HostVersion["state"] | "pending"; rollout?: string; at?: string; restarted?: number }[][];
}

const iso = <T extends { at: number }>(x: T | null): (Omit<T, "at"> & { at: string }) | null => (x === null ? null : { ...x, at: new Date(x.at).toISOString() });

/** A version's status (pure): a hold, then a standing verdict, then passed once every planned host passed. */
export function versionStatus(v: VersionView): VersionStatus {
  if (v.hold !== null) return "held";
  const verdict = standingVerdict(v);
  if (verdict !== null) return verdict.state;
  const planned = v.plan?.waves.flat() ?? [];
  const through = (h: string) => v.hosts[h]?.state === "passed" || v.hosts[h]?.state === "absent";
  return planned.length > 0 && planned.some((h) => v.hosts[h]?.state === "passed") && planned.every(through) ? "passed" : "in-flight";
}

export function versionReport(v: VersionView, firstSeen: number): VersionReport {
  return {
    package: v.pkg,
    version: v.version,
    status: versionStatus(v),
    firstSeen: new Date(firstSeen).toISOString(),
    verdict: iso(standingVerdict(v)),
    hold: iso(v.hold),
    release: iso(v.release),
    waves: (v.plan?.waves ?? []).map((w) =>
      w.map((host) => {
        const s = v.hosts[host];
        return s === undefined ? { host, state: "pending" as const } : { host, state: s.state, rollout: s.rollout, at: new Date(s.at).toISOString(), ...(s.restarted !== undefined ? { restarted: s.restarted } : {}) };
      }),
    ),
  };
}

/** The `fleet verdicts --json` document. */
export interface VerdictsDocument {
  v: 1;
  at: string;
  versions: VersionReport[];
}

/** `patchroll fleet verdicts` as text (pure). */
export function renderVerdicts(doc: VerdictsDocument): string {
  if (doc.versions.length === 0) return "no package version has reached the fleet yet";
  const rows = doc.versions.map((r) => {
    const why = r.hold !== null ? `held by ${r.hold.who}: ${r.hold.why}` : r.verdict !== null ? `${r.verdict.host} rollout ${r.verdict.rollout}${r.verdict.container !== undefined ? ` ${r.verdict.container}` : ""}: ${r.verdict.reason}` : r.release !== null ? `released by ${r.release.who}: ${r.release.why}` : "";
    const waves = r.waves.map((w, i) => `${i + 1}:${w.map((h) => `${h.host}=${h.state}`).join(",")}`).join(" ");
    return [`${r.package}=${r.version}`, r.status.toUpperCase(), waves, why];
  });
  return table(["VERSION", "STATUS", "WAVES", "WHY"], rows);
}
