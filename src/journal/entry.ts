import { z } from "zod";
import { AptEvent } from "../intake/apt-event.js";

/** Version of the journal line format; readers accept every version they know. */
export const JOURNAL_VERSION = 1;

const TYPE_PATTERN = /^[a-z]+(\.[a-z-]+)+$/;

/**
 * One journal line as read, whatever its type: `type` says what happened, `data` holds its details as
 * written. Every reader takes every line in this form (newer writers add types; `journal verify` checks
 * them all); {@link knownEntry} gives the typed form of the types this version knows.
 */
export const JournalEntry = z.object({
  v: z.literal(JOURNAL_VERSION),
  /** Position in this journal file, from 1, without gaps. */
  seq: z.number().int().positive(),
  /** Wall-clock time of writing, ISO 8601 with milliseconds. */
  ts: z.string(),
  host: z.string(),
  rollout: z.string(),
  type: z.string().regex(TYPE_PATTERN),
  container: z.string().optional(),
  data: z.record(z.string(), z.unknown()).default({}),
});
export type JournalEntry = z.infer<typeof JournalEntry>;

/** An entry of any type, as a tool that copies entries or a test playing an older or newer writer gives it. */
export type JournalInput = Omit<JournalEntry, "v" | "seq" | "ts" | "host" | "rollout">;

/** The plan as journaled in `rollout.planned` (src/rollout/plan.ts makes it). */
const PlanData = z.object({
  select: z.enum(["stale", "all"]),
  affected: z.array(z.object({ name: z.string(), group: z.string(), canary: z.boolean(), reason: z.string() })),
  excluded: z.array(z.object({ name: z.string(), reason: z.string() })),
  batches: z.array(z.array(z.string())),
});

const HealthResultData = z.looseObject({
  ok: z.boolean(),
  target: z.string(),
  at: z.string(),
  latencyMs: z.number(),
  status: z.number().optional(),
  bodyExcerpt: z.string().optional(),
  exitCode: z.number().optional(),
  stderrExcerpt: z.string().optional(),
  failure: z.string().optional(),
});

const Merged = z.array(z.object({ rolloutId: z.string(), event: AptEvent }));
const Names = z.array(z.string());
const Outcome = z.enum(["patched", "unverified", "rolled-back", "rollback-failed", "skipped"]);

/** What an operator's control journals: who, why and, since 2026-12, when they asked and the request's name. */
const ControlData = z.looseObject({
  who: z.string(),
  why: z.string(),
  at: z.string().optional(),
  request: z.string().optional(),
  rollBackCompleted: z.boolean().optional(),
  batch: z.number().optional(),
});

/** An operator's fleet action: who, why, and the host or `NAME=VERSION` it was about. */
const FleetActionData = z.looseObject({ who: z.string(), why: z.string(), subject: z.string() });

/**
 * The `data` of each entry type this version writes (docs/journal.md tells them in words). Objects are
 * loose: fields a newer writer adds are kept, and fields only newer writers have are optional.
 */
export const ENTRY_DATA = {
  "rollout.merged": z.looseObject({ into: z.string(), event: AptEvent }),
  "rollout.planned": z.looseObject({ event: AptEvent, merged: Merged.default([]), plan: PlanData, scans: z.array(z.unknown()).default([]), cves: z.array(z.unknown()).optional() }),
  "rollout.resumed": z.looseObject({ finished: Names, inFlight: Names }),
  "rollout.waiting": z.looseObject({ status: z.enum(["paused", "waiting"]), reason: z.string(), batch: z.number() }),
  "rollout.halted": z.looseObject({ reason: z.string(), batch: z.number(), untouched: Names }),
  "rollout.completed": z.looseObject({ containers: z.number(), failures: z.number(), reason: z.string().optional() }),
  "rollout.aborted": z.looseObject({ who: z.string(), why: z.string(), batch: z.number(), rolledBack: Names, untouched: Names }),
  "rollout.released": z.looseObject({ reason: z.string() }),
  "batch.started": z.looseObject({ batch: z.number(), of: z.number(), containers: Names }),
  "batch.finished": z.looseObject({ batch: z.number(), failures: z.number() }),
  "batch.bake": z.looseObject({ batch: z.number(), ms: z.number() }),
  "step.begin": z.looseObject({ step: z.string() }),
  "step.end": z.looseObject({
    step: z.string(),
    /** false: the step threw (see `error`); for a health step, the verdict. */
    ok: z.boolean(),
    ms: z.number(),
    error: z.string().optional(),
    healthy: z.boolean().optional(),
    reason: z.string().optional(),
    verified: z.boolean().optional(),
    detail: z.string().optional(),
    pinned: z.boolean().optional(),
    snapshot: z.string().optional(),
    /** Health steps: the results of the last round of checks (src/rollout/health-check.ts). */
    last: z.array(HealthResultData).optional(),
  }),
  "rollback.begin": z.looseObject({ reason: z.string(), snapshot: z.string() }),
  "container.done": z.looseObject({ outcome: Outcome, reason: z.string(), snapshot: z.string().optional() }),
  "control.pause": ControlData,
  "control.resume": ControlData,
  "control.abort": ControlData,
  "control.approve": ControlData,
  "control.retry": ControlData,
  // Fleet mode (docs/fleet.md): what this rollout reported to, and was told by, the fleet.
  "fleet.joined": z.looseObject({ versions: Names }),
  "fleet.verdict": z.looseObject({ versions: Names, state: z.enum(["failed", "inconclusive"]), host: z.string(), rollout: z.string(), container: z.string().optional(), reason: z.string() }),
  "fleet.lease": z.looseObject({ state: z.enum(["acquired", "lost", "released"]), token: z.number(), limit: z.number().optional() }),
  "fleet.released": z.looseObject({ version: z.string(), who: z.string(), why: z.string(), at: z.string() }),
  // An operator's fleet action, in the host's fleet action journal (not a rollout's).
  "fleet.forget": FleetActionData,
  "fleet.hold": FleetActionData,
  "fleet.release": FleetActionData,
} as const;

export type EntryType = keyof typeof ENTRY_DATA;
/** The `data` a writer gives for an entry of type `T`. */
export type EntryData<T extends EntryType> = z.input<(typeof ENTRY_DATA)[T]>;
function entrySchema<T extends EntryType>(type: T) {
  return JournalEntry.extend({ type: z.literal(type), data: ENTRY_DATA[type] });
}

/** An entry about one container: `container` names it. */
function containerEntrySchema<T extends EntryType>(type: T) {
  return JournalEntry.extend({ type: z.literal(type), container: z.string(), data: ENTRY_DATA[type] });
}

/** The entries this version knows, as a zod discriminated union keyed by `type`. */
export const KnownEntry = z.discriminatedUnion("type", [
  entrySchema("rollout.merged"), entrySchema("rollout.planned"), entrySchema("rollout.resumed"), entrySchema("rollout.waiting"),
  entrySchema("rollout.halted"), entrySchema("rollout.completed"), entrySchema("rollout.aborted"), entrySchema("rollout.released"),
  entrySchema("batch.started"), entrySchema("batch.finished"), entrySchema("batch.bake"),
  containerEntrySchema("step.begin"), containerEntrySchema("step.end"), containerEntrySchema("rollback.begin"), containerEntrySchema("container.done"),
  entrySchema("control.pause"), entrySchema("control.resume"), entrySchema("control.abort"), entrySchema("control.approve"), entrySchema("control.retry"),
  entrySchema("fleet.joined"), entrySchema("fleet.verdict"), entrySchema("fleet.lease"), entrySchema("fleet.released"),
  entrySchema("fleet.forget"), entrySchema("fleet.hold"), entrySchema("fleet.release"),
]);
export type KnownEntry = z.infer<typeof KnownEntry>;
/** A known entry of one type. */
export type EntryOf<T extends EntryType> = Extract<KnownEntry, { type: T }>;

/**
 * The typed form of an entry, or undefined when this version does not know its type or its data is not what
 * this version writes (an older writer's, a damaged line): such an entry is still read and verified, and
 * reports show it with its data.
 */
export function knownEntry(e: JournalEntry): KnownEntry | undefined {
  const r = KnownEntry.safeParse(e);
  return r.success ? r.data : undefined;
}

/** The typed entries of one type, in journal order (an entry that does not fit the type is left out). */
export function entriesOf<T extends EntryType>(entries: readonly JournalEntry[], type: T): EntryOf<T>[] {
  const isOf = (k: KnownEntry | undefined): k is EntryOf<T> => k?.type === type;
  return entries.flatMap((e) => {
    const k = e.type === type ? knownEntry(e) : undefined;
    return isOf(k) ? [k] : [];
  });
}

/** The types of operators' controls. */
export type ControlEntryType = Extract<EntryType, `control.${string}`>;

/** Whether a known entry is an operator's control (`control.*`). */
export function isControlEntry(k: KnownEntry | undefined): k is EntryOf<ControlEntryType> {
  return k !== undefined && k.type.startsWith("control.");
}
