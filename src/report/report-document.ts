import type { RolloutReport } from "./report-model.js";
import { listWords } from "./summary-text.js";
import { formatClock, formatDuration, formatMoment } from "./time-format.js";

/** A block of a report, rendered alike to Markdown and HTML. */
export type Block =
  | { kind: "p"; text: string }
  | { kind: "facts"; items: [string, string][] }
  | { kind: "table"; header: string[]; rows: (string | number | null)[][]; caption?: string }
  | { kind: "list"; items: string[] }
  | { kind: "h3"; text: string }
  | { kind: "chart" };

export interface Section {
  id: string;
  title: string;
  blocks: Block[];
}

export const OUTCOME_WORDS: Record<RolloutReport["outcome"], string> = {
  completed: "completed",
  "completed-with-failures": "completed with failures",
  halted: "HALTED",
  aborted: "ABORTED",
  unfinished: "unfinished",
};

/** The report's title line. */
export function reportTitle(r: RolloutReport): string {
  return `Rollout ${r.rollout} on ${r.host}: ${OUTCOME_WORDS[r.outcome]}`;
}

const p = (text: string): Block => ({ kind: "p", text });
const table = (header: string[], rows: (string | number | null)[][], caption?: string): Block => ({ kind: "table", header, rows, ...(caption !== undefined ? { caption } : {}) });

/** The sections of a report, in reading order (pure). `chart` marks where HTML puts its SVG. */
export function reportSections(r: RolloutReport): Section[] {
  const clock = (t: string | null) => formatClock(t, r.startedAt);
  const t = r.trigger;
  const cveSource = r.cves.from === "journal" ? "recorded at plan time from the packages' changelogs" : r.cves.from === "changelog" ? "read from the installed packages' changelogs when this report was made (not recorded at plan time)" : "no changelog information";
  return [
    { id: "summary", title: "Summary", blocks: [p(r.summary), { kind: "facts", items: [
      ["Outcome", OUTCOME_WORDS[r.outcome]],
      ["Started", formatMoment(r.startedAt)],
      ["Ended", r.endedAt !== null ? formatMoment(r.endedAt) : "not recorded"],
      ["Duration", formatDuration(r.durationMs)],
      ["Report as of", `${formatMoment(r.asOf)} (the newest journal entry read)`],
    ] }, p("All times are UTC.")] },
    { id: "trigger", title: "Trigger", blocks: t === null ? [p("The journal holds no readable event.")] : [
      p(`apt run ${t.event}, run by ${t.runBy}, started ${formatMoment(t.startedAt)}; dpkg finished ${formatMoment(t.installedAt)}. Origin: ${t.origin}. Seen by: ${t.sources.join(", ")}.${t.aptOutcome !== null ? ` unattended-upgrades said: ${t.aptOutcome.status}${t.aptOutcome.reason ? ` (${t.aptOutcome.reason})` : ""}.` : ""}`),
      table(["PACKAGE", "ARCH", "OLD", "NEW", "ACTION"], t.packages.map((x) => [x.name, x.arch, x.from, x.to, x.action])),
    ] },
    { id: "cves", title: "CVEs fixed", blocks: [
      p(`Source: ${cveSource}. The CVE ids are those named in the changelog entries after the old version up to the new one.`),
      table(["PACKAGE", "OLD -> NEW", "CVES", "ENTRIES", "CHANGELOG", "NOTE"], r.cves.packages.map((x) => [
        x.package, `${x.from ?? "-"} -> ${x.to ?? "-"}`,
        x.status === "downgrade" ? `reintroduced: ${x.reintroduced.map((c) => c.id).join(", ") || "none"}` : x.fixed.map((c) => c.id).join(", ") || "none",
        x.entries, x.changelog ?? "none", [x.status, x.note ?? "", x.malformedLines > 0 ? `${x.malformedLines} malformed line(s) skipped` : ""].filter(Boolean).join("; "),
      ])),
    ] },
    { id: "plan", title: "Plan", blocks: r.plan === null ? [p("No plan in the journal.")] : [
      p(`Selection: ${r.plan.select}. Batches: ${r.plan.batches.map((b, i) => `${i + 1}: ${b.join(", ")}`).join("; ") || "none"}.`),
      table(["CONTAINER", "GROUP", "CANARY", "BATCH", "WHY"], r.plan.affected.map((a) => [a.name, a.group, a.canary ? "yes" : "no", a.batch, a.reason]), "Affected"),
      table(["CONTAINER", "KIND", "WHY"], r.plan.excluded.map((x) => [x.name, x.kind, x.reason]), "Excluded"),
    ] },
    { id: "timeline", title: "Timeline", blocks: [
      { kind: "chart" },
      table(["#", "TIME", "+", "CONTAINER", "WHAT"], r.timeline.map((x) => [x.seq, clock(x.at), formatDuration(x.offsetMs), x.container, x.text])),
    ] },
    { id: "health", title: "Health evidence", blocks: healthBlocks(r, clock) },
    { id: "rollbacks", title: "Rollbacks", blocks: r.rollbacks.length === 0 ? [p("None.")] : [
      { kind: "list", items: r.rollbacks.map((b) => `${b.container} (${clock(b.at)}): ${b.reason.replace(/\.?$/, ".")} ${b.text}`) },
    ] },
    { id: "exposure", title: "Exposure", blocks: [
      p(`From the package install (${formatMoment(r.exposure.installedAt)}) to the verified restart of each container.`),
      table(["CONTAINER", "PACKAGE", "CVES", "FROM", "UNTIL", "WINDOW", "STATUS", "WHY"], r.exposure.windows.map((w) => [
        w.container, w.package, w.cves.join(", ") || "none named", clock(w.from), w.until !== null ? clock(w.until) : w.status === "open" ? "still open" : null, formatDuration(w.ms), w.status, w.why,
      ])),
      ...(r.exposure.byCve.length > 0 ? [table(["CVE", "PACKAGES", "CLOSED ON", "STILL OPEN ON"], r.exposure.byCve.map((c) => [c.id, c.packages.join(", "), c.closed.map((x) => `${x.container} (${clock(x.at)})`).join(", ") || "none", c.open.map((x) => x.container).join(", ") || "none"]), "Per CVE")] : []),
      { kind: "h3", text: `Still exposed as of ${formatMoment(r.asOf)}` },
      r.exposure.stillExposed.length === 0
        ? p("Nothing: every container that ran the old code runs the new code.")
        : table(["CONTAINER", "PACKAGES", "CVES", "SINCE", "WHY", "RUNBOOK"], r.exposure.stillExposed.map((s) => [s.container, s.packages.join(", "), listWords(s.cves, 8), clock(s.since), s.why, s.runbook])),
    ] },
    { id: "controls", title: "Human actions", blocks: r.controls.length === 0 ? [p("None: no one paused, approved, aborted or retried this rollout.")] : [
      table(["TIME", "WHO", "ACTION", "WHY"], r.controls.map((c) => [clock(c.at), c.who, `${c.action}${c.batch !== null ? ` batch ${c.batch}` : ""}${c.rollBackCompleted === true ? ", rolling back completed batches" : ""}`, c.why])),
    ] },
    { id: "journal", title: "Journal", blocks: [
      p(`${r.journal.entries} entries.${r.journal.problems.length + r.journal.warnings.length === 0 ? " Every line read cleanly." : ""}`),
      ...(r.journal.problems.length + r.journal.warnings.length > 0 ? [{ kind: "list", items: [...r.journal.problems.map((x) => `line ${x.line}: ${x.reason}`), ...r.journal.warnings.map((w) => `warning: ${w}`)] } as Block] : []),
    ] },
  ];
}

function healthBlocks(r: RolloutReport, clock: (t: string | null) => string): Block[] {
  const blocks: Block[] = [];
  for (const c of r.containers.filter((x) => x.health.length > 0 || x.verify !== null)) {
    blocks.push({ kind: "h3", text: c.name });
    blocks.push(table(["PHASE", "TIME", "VERDICT", "ROUNDS", "REASON"], c.health.map((h) => [h.phase, clock(h.at), h.healthy ? "healthy" : "UNHEALTHY", h.rounds, h.reason])));
    const last = c.health.flatMap((h) => h.last.map((l) => [h.phase, l.target, clock(l.at), l.ok ? "pass" : "FAIL", l.latencyMs !== null ? `${l.latencyMs} ms` : null, l.detail]));
    if (last.length > 0) blocks.push(table(["PHASE", "CHECK", "TIME", "RESULT", "LATENCY", "EVIDENCE"], last, "Last round of checks"));
    if (c.verify !== null) blocks.push(p(`Verification (${clock(c.verify.at)}): ${c.verify.verified ? "verified" : "NOT verified"}: ${c.verify.detail}`));
  }
  return blocks.length > 0 ? blocks : [p("None recorded.")];
}
