import type { JournalEntry } from "./entry.js";
import type { JournalRead } from "./journal.js";

/** Entry types that end a rollout; `rollout.aborted` is accepted for when the engine writes one. */
export const END_TYPES: ReadonlySet<string> = new Set(["rollout.completed", "rollout.halted", "rollout.aborted"]);

/**
 * The entry that ended the rollout, or undefined while it has none: the last `rollout.completed`, `.halted`
 * or `.aborted`, unless an operator's `control.retry` reopened a halted rollout after it.
 */
export function finalEnd(entries: readonly JournalEntry[]): JournalEntry | undefined {
  let end: JournalEntry | undefined;
  for (const e of entries) {
    if (END_TYPES.has(e.type)) end = e;
    else if (e.type === "control.retry" && end?.type === "rollout.halted") end = undefined;
  }
  return end;
}

/** What `patchroll journal verify` finds in one journal. */
export interface JournalCheck {
  rollout: string;
  /** Readable entries. */
  entries: number;
  /** Integrity problems: unreadable lines (a torn last line included), duplicate numbers, foreign lines. */
  problems: { line: number; reason: string }[];
  /** `seq` values at which the sequence breaks (the entry before it is missing, or it repeats). */
  sequenceGaps: number[];
  /** Not damage, but worth a look: the clock going backwards, a step with no end, lines after the end. */
  warnings: string[];
  /** How the rollout ended, or null when the journal has no end (running, or interrupted). */
  finished: "completed" | "halted" | "aborted" | null;
  firstTs: string | null;
  lastTs: string | null;
}

/** A backwards jump of the writer's wall clock smaller than this is ordinary (NTP slew, parallel lanes). */
const CLOCK_SLACK_MS = 1000;

/**
 * Checks a journal as read from `ROLLOUT.jsonl` of `host` (pure): numbering from 1 without gaps or repeats,
 * every line of this host and rollout, and the shape a rollout's record should have.
 */
export function verifyJournal(read: JournalRead, expect: { host: string; rollout: string }): JournalCheck {
  const { entries } = read;
  const problems = [...read.problems];
  const sequenceGaps: number[] = [];
  const warnings: string[] = [];
  let prevSeq = 0;
  let prevTime = Number.NEGATIVE_INFINITY;
  let finished: JournalCheck["finished"] = null;
  const openSteps = new Map<string, { e: JournalEntry; line: number }>();
  for (const [i, e] of entries.entries()) {
    const line = read.lines?.[i] ?? 0;
    if (e.seq <= prevSeq) problems.push({ line, reason: `seq ${e.seq} repeats or goes back (after ${prevSeq})` });
    if (e.seq !== prevSeq + 1) sequenceGaps.push(e.seq);
    prevSeq = Math.max(prevSeq, e.seq);
    if (e.host !== expect.host || e.rollout !== expect.rollout) {
      problems.push({ line, reason: `seq ${e.seq} belongs to host ${e.host}, rollout ${e.rollout}, not to this file` });
    }
    const t = Date.parse(e.ts);
    if (Number.isNaN(t)) problems.push({ line, reason: `seq ${e.seq}: ts ${JSON.stringify(e.ts)} is not a time` });
    else {
      if (t < prevTime - CLOCK_SLACK_MS) warnings.push(`line ${line}, seq ${e.seq}: the writer's clock went back ${((prevTime - t) / 1000).toFixed(1)} s`);
      prevTime = Math.max(prevTime, t);
    }
    if (finished !== null && !e.type.startsWith("control.")) warnings.push(`line ${line}, seq ${e.seq}: ${e.type} after the rollout ended (${finished})`);
    if (END_TYPES.has(e.type)) finished = e.type.slice("rollout.".length) as NonNullable<JournalCheck["finished"]>;
    else if (e.type === "control.retry" && finished === "halted") finished = null;
    const key = `${e.container ?? ""}\u0000${String(e.data["step"] ?? "")}`;
    if (e.type === "step.begin") openSteps.set(key, { e, line });
    else if (e.type === "step.end") openSteps.delete(key);
    else if (e.type === "rollout.resumed") openSteps.clear();
  }
  if (entries.length > 0 && entries[0]!.type !== "rollout.planned" && !entries.every((e) => e.type.startsWith("control."))) {
    warnings.push(`the first entry is ${entries[0]!.type}, not rollout.planned: the plan is missing`);
  }
  for (const { e, line } of openSteps.values()) {
    warnings.push(`line ${line}, seq ${e.seq}: step ${String(e.data["step"])} of ${e.container ?? "?"} began and has no end${finished === null ? " (running, or the process died)" : ""}`);
  }
  return {
    rollout: expect.rollout,
    entries: entries.length,
    problems,
    sequenceGaps,
    warnings,
    finished,
    firstTs: entries[0]?.ts ?? null,
    lastTs: entries.at(-1)?.ts ?? null,
  };
}
