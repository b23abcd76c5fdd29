import type { Digest } from "./digest.js";
import type { Block, Section } from "./report-document.js";
import { listWords } from "./summary-text.js";
import { formatDuration, formatMoment } from "./time-format.js";

const p = (text: string): Block => ({ kind: "p", text });

/** The digest's title line. */
export function digestTitle(d: Digest): string {
  return `patchroll digest for ${d.host}: ${d.since.slice(0, 10)} to ${d.until.slice(0, 10)}`;
}

/** The digest's paragraph in plain words. */
export function digestSummary(d: Digest): string {
  const o = d.rollouts.outcomes;
  if (d.rollouts.count === 0) return `No rollout started on ${d.host} between ${formatMoment(d.since)} and ${formatMoment(d.until)}.`;
  const ends = Object.entries(o).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`);
  const median = d.medianInstallToAllVerifiedMs !== null ? ` Median time from package install to every container verified: ${formatDuration(d.medianInstallToAllVerifiedMs)}.` : " No rollout of the period had every container verified.";
  const exposed = d.stillExposed.length > 0 ? ` ${d.stillExposed.length} container exposure(s) remain open (${listWords([...new Set(d.stillExposed.map((s) => s.container))])}).` : " No container is left exposed.";
  const repeat = d.repeatOffenders.length > 0 ? ` Repeat offenders (shadowed or own dpkg in several rollouts): ${listWords(d.repeatOffenders.map((x) => x.container))}.` : "";
  return `${d.rollouts.count} rollout(s) started on ${d.host} between ${formatMoment(d.since)} and ${formatMoment(d.until)}: ${ends.join(", ")}. They fixed ${d.cves.fixed.length} CVE(s) named in changelogs.${median}${exposed}${repeat}`;
}

/** The digest's sections (pure). */
export function digestSections(d: Digest): Section[] {
  return [
    { id: "summary", title: "Summary", blocks: [p(digestSummary(d))] },
    { id: "rollouts", title: "Rollouts", blocks: [{ kind: "table", header: ["ROLLOUT", "STARTED", "PACKAGES", "OUTCOME", "PATCHED", "INSTALL -> ALL VERIFIED", "STILL EXPOSED"], rows: d.rollouts.list.map((r) => [r.rollout, formatMoment(r.startedAt), r.packages.join(", "), r.outcome, `${r.patched}/${r.containers}`, formatDuration(r.installToAllVerifiedMs), r.stillExposed]) }] },
    { id: "outcomes", title: "Container outcomes", blocks: [{ kind: "table", header: ["OUTCOME", "CONTAINERS"], rows: Object.entries(d.containerOutcomes).sort().map(([k, n]) => [k, n]) }] },
    { id: "exposed", title: "Still exposed", blocks: [{ kind: "table", header: ["CONTAINER", "ROLLOUT", "PACKAGES", "CVES", "SINCE", "WHY", "RUNBOOK"], rows: d.stillExposed.map((s) => [s.container, s.rollout, s.packages.join(", "), listWords(s.cves, 8), formatMoment(s.since), s.why, s.runbook]) }] },
    { id: "offenders", title: "Repeat offenders", blocks: [
      p("Containers excluded because their delta shadows patched files or holds its own dpkg database: a restart cannot patch them (runbooks/shadowed-containers.md, runbooks/own-dpkg-containers.md)."),
      { kind: "table", header: ["CONTAINER", "SHADOWED", "OWN DPKG", "ROLLOUTS"], rows: d.offenders.map((o) => [o.container, o.shadowed, o.ownDpkg, o.rollouts.join(", ")]) },
    ] },
    { id: "cves", title: "CVEs", blocks: [p(`Fixed by the period's rollouts: ${listWords(d.cves.fixed, 50)}.`), p(`Still open on some container: ${listWords(d.cves.stillOpen, 50)}.`)] },
    { id: "journal", title: "Journal", blocks: [p(d.journalProblems.length === 0 ? "Every journal read cleanly." : `Journals with unreadable lines: ${d.journalProblems.map((j) => `${j.rollout} (${j.problems})`).join(", ")}; see patchroll journal verify.`)] },
  ];
}
