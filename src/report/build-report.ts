import type { JournalEntry } from "../journal/entry.js";
import type { JournalRead } from "../journal/journal.js";
import { finalEnd, verifyJournal } from "../journal/verify.js";
import { containerFacts, rollbackFacts } from "./container-facts.js";
import { compareCveIds } from "./cve-extract.js";
import { bool, num, str, strs } from "./entry-fields.js";
import { exposureFacts, type LaterFix } from "./exposure.js";
import type { PackageCves } from "./package-cves.js";
import { readPlanned, triggerFacts } from "./plan-facts.js";
import { REPORT_VERSION, type BatchFacts, type ControlFacts, type CveFacts, type HaltFacts, type PlanFacts, type RolloutOutcome, type RolloutReport } from "./report-model.js";
import { summaryText } from "./summary-text.js";
import { msBetween } from "./time-format.js";
import { timelineRows } from "./timeline.js";

export interface BuildReportInput {
  host: string;
  rollout: string;
  /** The rollout's journal as read (entries and unreadable lines). */
  read: JournalRead;
  /** CVEs read from the installed changelogs, used when `rollout.planned` recorded none. */
  changelogCves?: readonly PackageCves[];
  /** Fixes proven by later rollouts on the host, which close windows this one left open. */
  later?: readonly LaterFix[];
  /** The time the report describes; default the last entry read. */
  asOf?: string;
}

/**
 * Builds the report of one rollout from its journal (pure: the same input gives the same report, byte for
 * byte once rendered; no clock is read).
 */
export function buildReport(input: BuildReportInput): RolloutReport {
  const entries = input.read.entries;
  const planned = readPlanned(entries);
  const cves = cveFacts(planned.recordedCves, input.changelogCves);
  const containers = containerFacts(entries, planned.plan);
  const end = finalEnd(entries);
  const outcome = outcomeOf(end);
  const halt = haltFacts(end);
  const startedAt = entries[0]?.ts ?? null;
  const check = verifyJournal(input.read, { host: input.host, rollout: input.rollout });
  const report: RolloutReport = {
    v: REPORT_VERSION,
    kind: "rollout",
    host: input.host,
    rollout: input.rollout,
    outcome,
    summary: "",
    startedAt,
    endedAt: end?.ts ?? null,
    durationMs: msBetween(startedAt, end?.ts ?? null),
    asOf: input.asOf ?? entries.at(-1)?.ts ?? null,
    trigger: planned.event !== null ? triggerFacts(planned.event) : null,
    cves,
    plan: planned.plan,
    batches: batchFacts(entries, planned.plan),
    timeline: timelineRows(entries),
    containers,
    rollbacks: rollbackFacts(entries),
    exposure: exposureFacts({ planned, containers, cves, ended: end !== undefined, later: input.later ?? [] }),
    controls: controlFacts(entries),
    halt,
    journal: { entries: entries.length, problems: check.problems, warnings: check.warnings },
  };
  report.summary = summaryText(report);
  return report;
}

function cveFacts(recorded: PackageCves[] | null, read: readonly PackageCves[] | undefined): CveFacts {
  const packages = recorded ?? (read !== undefined ? [...read] : []);
  const from: CveFacts["from"] = recorded !== null ? "journal" : read !== undefined ? "changelog" : "none";
  const ids = [...new Set(packages.flatMap((p) => p.fixed.map((c) => c.id)))].sort(compareCveIds);
  return { from, packages, ids };
}

function outcomeOf(end: JournalEntry | undefined): RolloutOutcome {
  switch (end?.type) {
    case "rollout.completed":
      return (num(end.data, "failures") ?? 0) > 0 ? "completed-with-failures" : "completed";
    case "rollout.halted":
      return "halted";
    case "rollout.aborted":
      return "aborted";
    default:
      return "unfinished";
  }
}

/** The halt or the abort that ended the rollout, with the containers it left untouched. */
function haltFacts(e: JournalEntry | undefined): HaltFacts | null {
  if (e === undefined || (e.type !== "rollout.halted" && e.type !== "rollout.aborted")) return null;
  const reason = e.type === "rollout.aborted"
    ? `aborted by ${str(e.data, "who") ?? "someone"}: ${str(e.data, "why") ?? ""}${strs(e.data, "rolledBack").length > 0 ? `; rolled back ${strs(e.data, "rolledBack").join(", ")}` : ""}`
    : (str(e.data, "reason") ?? "");
  return { at: e.ts, kind: e.type === "rollout.aborted" ? "aborted" : "halted", batch: num(e.data, "batch"), reason, untouched: strs(e.data, "untouched"), rolledBack: strs(e.data, "rolledBack") };
}

function batchFacts(entries: readonly JournalEntry[], plan: PlanFacts | null): BatchFacts[] {
  const out = (plan?.batches ?? []).map((containers, i): BatchFacts => ({ batch: i + 1, containers, startedAt: null, finishedAt: null, failures: null, bakeMs: null }));
  const get = (n: number | null): BatchFacts | undefined => (n === null ? undefined : out[n - 1]);
  for (const e of entries) {
    const b = get(num(e.data, "batch"));
    if (b === undefined) continue;
    if (e.type === "batch.started") b.startedAt ??= e.ts;
    else if (e.type === "batch.finished") {
      b.finishedAt = e.ts;
      b.failures = num(e.data, "failures");
    } else if (e.type === "batch.bake") b.bakeMs = num(e.data, "ms");
  }
  return out;
}

function controlFacts(entries: readonly JournalEntry[]): ControlFacts[] {
  return entries
    .filter((e) => e.type.startsWith("control."))
    .map((e) => ({
      // When the operator asked; the runner journals it at its next step boundary (older journals: ts).
      at: str(e.data, "at") ?? e.ts,
      action: e.type.slice("control.".length),
      who: str(e.data, "who") ?? "unknown",
      why: str(e.data, "why") ?? "",
      batch: num(e.data, "batch"),
      rollBackCompleted: bool(e.data, "rollBackCompleted"),
    }));
}
