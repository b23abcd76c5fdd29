import { compareCveIds } from "./cve-extract.js";
import type { RolloutOutcome, RolloutReport } from "./report-model.js";
import { msBetween } from "./time-format.js";

/** `patchroll report --since 7d`: what the rollouts of a period did, and what they left exposed. */
export interface Digest {
  v: 1;
  kind: "digest";
  host: string;
  since: string;
  until: string;
  rollouts: {
    count: number;
    outcomes: Record<RolloutOutcome, number>;
    list: DigestRollout[];
  };
  /** Container outcomes over every rollout (`patched`, `rolled-back`, ..., and `untouched`). */
  containerOutcomes: Record<string, number>;
  /** Median, over rollouts whose every container was verified, of package install -> last container verified. */
  medianInstallToAllVerifiedMs: number | null;
  /** Containers still running code a rollout of the period meant to retire (as of each report's `asOf`). */
  stillExposed: { container: string; rollout: string; packages: string[]; cves: string[]; since: string | null; why: string; runbook: string | null }[];
  /** Containers excluded as shadowed or own-dpkg in two or more rollouts of the period. */
  repeatOffenders: Offender[];
  /** Every container excluded as shadowed or own-dpkg at least once. */
  offenders: Offender[];
  cves: { fixed: string[]; stillOpen: string[] };
  /** Journals with unreadable lines (a torn last line after a crash, damage). */
  journalProblems: { rollout: string; problems: number }[];
}

export interface DigestRollout {
  rollout: string;
  startedAt: string | null;
  packages: string[];
  outcome: RolloutOutcome;
  containers: number;
  patched: number;
  installToAllVerifiedMs: number | null;
  stillExposed: number;
}

export interface Offender {
  container: string;
  shadowed: number;
  ownDpkg: number;
  rollouts: string[];
}

/** The median of `values`, or null when there are none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Package install to the last verified container, when every planned container was verified; else null. */
export function installToAllVerified(r: RolloutReport): number | null {
  if (r.containers.length === 0 || r.containers.some((c) => c.outcome !== "patched" || c.verifiedAt === null)) return null;
  const last = r.containers.map((c) => c.verifiedAt!).sort().at(-1)!;
  return msBetween(r.exposure.installedAt, last);
}

/** Builds the digest of the reports of one period (pure). `reports` are the rollouts that started in it. */
export function buildDigest(host: string, since: string, until: string, reports: readonly RolloutReport[]): Digest {
  const outcomes: Record<RolloutOutcome, number> = { completed: 0, "completed-with-failures": 0, halted: 0, aborted: 0, unfinished: 0 };
  const containerOutcomes: Record<string, number> = {};
  const offenders = new Map<string, Offender>();
  const ordered = [...reports].sort((a, b) => (a.rollout < b.rollout ? -1 : 1));
  for (const r of ordered) {
    outcomes[r.outcome]++;
    for (const c of r.containers) {
      const k = c.outcome ?? (c.steps.length > 0 ? "in-flight" : "untouched");
      containerOutcomes[k] = (containerOutcomes[k] ?? 0) + 1;
    }
    for (const x of r.plan?.excluded ?? []) {
      if (x.kind !== "shadowed" && x.kind !== "own-dpkg") continue;
      const o = offenders.get(x.name) ?? { container: x.name, shadowed: 0, ownDpkg: 0, rollouts: [] };
      if (x.kind === "shadowed") o.shadowed++;
      else o.ownDpkg++;
      if (!o.rollouts.includes(r.rollout)) o.rollouts.push(r.rollout);
      offenders.set(x.name, o);
    }
  }
  const list = ordered.map((r): DigestRollout => ({
    rollout: r.rollout,
    startedAt: r.startedAt,
    packages: (r.trigger?.packages ?? []).map((p) => `${p.name} ${p.from ?? "-"} -> ${p.to ?? "-"}`),
    outcome: r.outcome,
    containers: r.containers.length,
    patched: r.containers.filter((c) => c.outcome === "patched").length,
    installToAllVerifiedMs: installToAllVerified(r),
    stillExposed: r.exposure.stillExposed.length,
  }));
  const allOffenders = [...offenders.values()].sort((a, b) => b.rollouts.length - a.rollouts.length || a.container.localeCompare(b.container));
  const fixed = new Set(ordered.flatMap((r) => r.cves.ids));
  const stillOpen = new Set(ordered.flatMap((r) => r.exposure.byCve.filter((c) => c.open.length > 0).map((c) => c.id)));
  return {
    v: 1,
    kind: "digest",
    host,
    since,
    until,
    rollouts: { count: ordered.length, outcomes, list },
    containerOutcomes,
    medianInstallToAllVerifiedMs: median(list.map((x) => x.installToAllVerifiedMs).filter((x): x is number => x !== null)),
    stillExposed: ordered.flatMap((r) => r.exposure.stillExposed.map((s) => ({ container: s.container, rollout: r.rollout, packages: s.packages, cves: s.cves, since: s.since, why: s.why, runbook: s.runbook }))),
    repeatOffenders: allOffenders.filter((o) => o.rollouts.length >= 2),
    offenders: allOffenders,
    cves: { fixed: [...fixed].sort(compareCveIds), stillOpen: [...stillOpen].sort(compareCveIds) },
    journalProblems: ordered.filter((r) => r.journal.problems.length > 0).map((r) => ({ rollout: r.rollout, problems: r.journal.problems.length })),
  };
}
