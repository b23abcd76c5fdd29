import type { PackageChange } from "../intake/apt-event.js";
import type { PackageCves } from "./package-cves.js";

/** Version of the report's JSON shape (`patchroll report --format json`); fields are only ever added. */
export const REPORT_VERSION = 1;

/** How a rollout ended, as the journal tells it. */
export type RolloutOutcome = "completed" | "completed-with-failures" | "halted" | "aborted" | "unfinished";

/** The post-incident report of one rollout, built from its journal alone (docs/cli.md, `report`). */
export interface RolloutReport {
  v: typeof REPORT_VERSION;
  kind: "rollout";
  host: string;
  rollout: string;
  outcome: RolloutOutcome;
  /** One paragraph in plain words. */
  summary: string;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  /** The time the report describes: the last journal entry read (or the time asked for). */
  asOf: string | null;
  trigger: TriggerFacts | null;
  cves: CveFacts;
  plan: PlanFacts | null;
  batches: BatchFacts[];
  timeline: TimelineRow[];
  containers: ContainerFacts[];
  rollbacks: RollbackFacts[];
  exposure: ExposureFacts;
  controls: ControlFacts[];
  /** Set when the rollout ended halted or aborted. */
  halt: HaltFacts | null;
  journal: { entries: number; problems: { line: number; reason: string }[]; warnings: string[] };
}

export interface TriggerFacts {
  event: string;
  /** When the apt run started. */
  startedAt: string;
  /** When dpkg finished (the new files were on disk): where exposure windows start. */
  installedAt: string;
  packages: PackageChange[];
  origin: string;
  /** Which of patchroll's intake sources saw the run (`hook`, `uu-log`, `reconcile`). */
  sources: string[];
  /** apt-get or unattended-upgrades, as far as the sources tell. */
  runBy: string;
  aptOutcome: { status: string; reason?: string | undefined } | null;
}

export interface CveFacts {
  /** `journal`: recorded at plan time; `changelog`: read from the installed changelogs when the report was made. */
  from: "journal" | "changelog" | "none";
  packages: PackageCves[];
  /** Every CVE id fixed, in id order. */
  ids: string[];
}

export interface PlanFacts {
  select: string;
  affected: { name: string; group: string; canary: boolean; reason: string; batch: number | null }[];
  /** `kind` is the first word of the reason: shadowed, pinned, stopped, own-dpkg, patched, unmanaged. */
  excluded: { name: string; kind: string; reason: string }[];
  batches: string[][];
}

export interface BatchFacts {
  batch: number;
  containers: string[];
  startedAt: string | null;
  finishedAt: string | null;
  failures: number | null;
  bakeMs: number | null;
}

/** One line of the timeline: an entry, or a step (its begin and end entries merged). */
export interface TimelineRow {
  seq: number;
  at: string;
  /** Milliseconds since the first entry. */
  offsetMs: number;
  container: string | null;
  type: string;
  /** The step, for step rows. */
  step: string | null;
  endedAt: string | null;
  ms: number | null;
  ok: boolean | null;
  /** What happened, in plain words. */
  text: string;
}

export interface StepFacts {
  step: string;
  beganAt: string;
  endedAt: string | null;
  ms: number | null;
  /** The step ran to its end (false: it threw, see `error`). */
  ok: boolean | null;
  error: string | null;
  /** It failed, or its verdict was negative (a health step that found it unhealthy, a verify that did not verify). */
  failed: boolean;
}

/** Health evidence: the verdict and the last round of results that decided it. */
export interface HealthFacts {
  phase: "restart" | "rollback";
  at: string;
  healthy: boolean;
  reason: string;
  rounds: number | null;
  last: { target: string; ok: boolean; at: string | null; latencyMs: number | null; status: number | null; detail: string }[];
}

export interface ContainerFacts {
  name: string;
  batch: number | null;
  outcome: string | null;
  reason: string | null;
  steps: StepFacts[];
  health: HealthFacts[];
  verify: { at: string; verified: boolean; detail: string } | null;
  /** When it was verified to run only current files (its exposure ends here). */
  verifiedAt: string | null;
  /** When its outcome was recorded. */
  doneAt: string | null;
}

export interface RollbackFacts {
  container: string;
  at: string;
  /** Why, as the engine put it. */
  reason: string;
  snapshot: string | null;
  pinned: boolean | null;
  pinDetail: string | null;
  result: string | null;
  /** What the rollback achieved, in plain words. */
  text: string;
}

export type ExposureStatus = "closed" | "open" | "not-exposed" | "unknown";

/** Exposure of one container to one package's fixed CVEs: from package install to verified restart. */
export interface ExposureWindow {
  container: string;
  package: string;
  cves: string[];
  from: string | null;
  until: string | null;
  ms: number | null;
  status: ExposureStatus;
  /** Why this status, in plain words. */
  why: string;
  /** The runbook to follow while it is open. */
  runbook: string | null;
  /** A later rollout on this host that closed it, when one did. */
  closedBy: string | null;
}

export interface CveClosure {
  id: string;
  packages: string[];
  closed: { container: string; at: string }[];
  open: { container: string; why: string }[];
}

export interface ExposureFacts {
  installedAt: string | null;
  windows: ExposureWindow[];
  byCve: CveClosure[];
  /** Containers still running code the change fixed, as of `asOf`. */
  stillExposed: { container: string; packages: string[]; cves: string[]; since: string | null; why: string; runbook: string | null }[];
}

export interface ControlFacts {
  at: string;
  action: string;
  who: string;
  why: string;
  batch: number | null;
  rollBackCompleted: boolean | null;
}

/** How a halted or aborted rollout stopped. */
export interface HaltFacts {
  at: string;
  kind: "halted" | "aborted";
  batch: number | null;
  reason: string;
  untouched: string[];
  /** Containers an abort took back to their snapshot (abort with rollBackCompleted). */
  rolledBack: string[];
}
