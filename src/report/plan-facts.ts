import { z } from "zod";
import { AptEvent } from "../intake/apt-event.js";
import type { JournalEntry } from "../journal/entry.js";
import { arr, type Data, bool, items, obj, str } from "./entry-fields.js";
import { PackageCves } from "./package-cves.js";
import type { PlanFacts, TriggerFacts } from "./report-model.js";

/** What the plan-time scan said of one container, as far as a report needs it. */
export interface ScanView {
  name: string;
  verdict: string;
  /** Packages whose outdated files it mapped, held open or loaded as interpreted code. */
  stalePackages: string[];
  /** Packages whose patched files its delta shadows. */
  shadowedPackages: string[];
}

/** Everything `rollout.planned` recorded. */
export interface PlannedView {
  at: string | null;
  event: AptEvent | null;
  plan: PlanFacts | null;
  scans: ScanView[];
  /** `data.cves`, when the worker recorded it at plan time (read optionally). */
  recordedCves: PackageCves[] | null;
}

const packagesOf = (items: Data[]): string[] => [...new Set(items.map((x) => str(x, "package")).filter((p): p is string => p !== null))].sort();

/** Reads the (first) `rollout.planned` entry; every part is optional, so a damaged plan still gives a report. */
export function readPlanned(entries: readonly JournalEntry[]): PlannedView {
  const e = entries.find((x) => x.type === "rollout.planned");
  if (e === undefined) return { at: null, event: null, plan: null, scans: [], recordedCves: null };
  const event = AptEvent.safeParse(e.data["event"]);
  const cves = z.array(PackageCves).safeParse(e.data["cves"]);
  const scans = arr(e.data, "scans").map((s) => ({
    name: str(s, "name") ?? "?",
    verdict: str(s, "verdict") ?? "?",
    stalePackages: [...new Set([...packagesOf(arr(s, "stale")), ...packagesOf(arr(s, "interpreted"))])].sort(),
    shadowedPackages: packagesOf(arr(s, "shadowed")),
  }));
  return { at: e.ts, event: event.success ? event.data : null, plan: planFacts(obj(e.data, "plan")), scans, recordedCves: cves.success ? cves.data : null };
}

function planFacts(plan: Data | null): PlanFacts | null {
  if (plan === null) return null;
  const batches = items(plan, "batches").map((b) => (Array.isArray(b) ? b.filter((x): x is string => typeof x === "string") : []));
  const batchOf = (name: string): number | null => {
    const i = batches.findIndex((b) => b.includes(name));
    return i < 0 ? null : i + 1;
  };
  return {
    select: str(plan, "select") ?? "?",
    affected: arr(plan, "affected").map((a) => {
      const name = str(a, "name") ?? "?";
      return { name, group: str(a, "group") ?? "default", canary: bool(a, "canary") ?? false, reason: str(a, "reason") ?? "", batch: batchOf(name) };
    }),
    excluded: arr(plan, "excluded").map((x) => {
      const reason = str(x, "reason") ?? "";
      return { name: str(x, "name") ?? "?", kind: exclusionKind(reason), reason };
    }),
    batches,
  };
}

/** The first word of an exclusion reason (`shadowed: its delta holds ...` -> `shadowed`). */
export function exclusionKind(reason: string): string {
  const m = /^([a-z-]+):/.exec(reason);
  return m?.[1] ?? "other";
}

const SOURCE_WORDS: Record<string, string> = { hook: "the apt hook", "uu-log": "the unattended-upgrades log", reconcile: "dpkg.log reconciliation" };

/** The trigger section: the apt run, its packages and who saw it. */
export function triggerFacts(event: AptEvent): TriggerFacts {
  return {
    event: event.id,
    startedAt: event.time,
    installedAt: event.endedAt ?? event.time,
    packages: event.packages,
    origin: event.origin,
    sources: [...event.sources],
    runBy: event.sources.includes("uu-log") ? "unattended-upgrades" : event.sources.includes("hook") ? "an apt front end (the apt hook does not tell apt-get from unattended-upgrades)" : "dpkg (found in dpkg.log only)",
    aptOutcome: event.outcome ?? null,
  };
}

/** `the apt hook and the unattended-upgrades log`. */
export function sourcesInWords(sources: readonly string[]): string {
  const words = sources.map((s) => SOURCE_WORDS[s] ?? s);
  return words.length <= 1 ? (words[0] ?? "nothing") : `${words.slice(0, -1).join(", ")} and ${words.at(-1)}`;
}

/** Packages of the event whose version went up: the ones whose old code a restart retires. */
export function upgradedPackages(event: AptEvent | null): string[] {
  return (event?.packages ?? []).filter((p) => p.from !== null && p.to !== null && p.from !== p.to).map((p) => p.name);
}
