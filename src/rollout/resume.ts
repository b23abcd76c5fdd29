import { type JournalEntry, knownEntry } from "../journal/entry.js";
import { type ContainerOutcome, type ContainerOutcomeKind, isFailure } from "./container-outcome.js";
import type { AptEvent } from "../intake/apt-event.js";
import type { Plan } from "./plan.js";
import type { RolloutState } from "./rollout-store.js";

/** What a journal says about a rollout that may have been interrupted. */
export interface JournalState {
  plan?: Plan;
  /** Rollouts folded into this one at planning time, with their events. */
  merged?: { rolloutId: string; event: AptEvent }[];
  /** Containers whose restart finished, with the outcome. */
  finished: Map<string, ContainerOutcome>;
  /** Containers with a step begun and no outcome: the process died in the middle of them. */
  inFlight: string[];
  /** In-flight containers that had begun their rollback: it is finished, never the restart redone. */
  rollingBack: Map<string, { snapshot: string; reason: string }>;
  /** The final entry, if the rollout already ended. */
  ended?: "completed" | "halted" | "aborted";
  /** How many times an operator reopened it after a halt; each retry grants a fresh failure budget. */
  retried?: number;
}

/** Reads a rollout's journal to resume it after a crash (pure). */
export function journalState(entries: readonly JournalEntry[]): JournalState {
  const state: JournalState = { finished: new Map(), inFlight: [], rollingBack: new Map() };
  const begun = new Set<string>();
  for (const e of entries) {
    const k = knownEntry(e);
    if (k === undefined) continue;
    switch (k.type) {
      case "rollout.planned":
        state.plan = k.data.plan;
        state.merged = k.data.merged;
        break;
      case "step.begin":
        begun.add(k.container);
        break;
      case "rollback.begin":
        state.rollingBack.set(k.container, { snapshot: k.data.snapshot, reason: k.data.reason });
        break;
      case "container.done":
        state.finished.set(k.container, { container: k.container, outcome: k.data.outcome, reason: k.data.reason, ...(k.data.snapshot !== undefined ? { snapshot: k.data.snapshot } : {}) });
        break;
      case "rollout.completed":
        state.ended = "completed";
        break;
      case "rollout.halted":
        state.ended = "halted";
        break;
      case "rollout.aborted":
        state.ended = "aborted";
        break;
      case "control.retry":
        // An operator's retry reopens a halted rollout: the runner goes on past the failure.
        if (state.ended === "halted") {
          delete state.ended;
          state.retried = (state.retried ?? 0) + 1;
        }
        break;
    }
  }
  state.inFlight = [...begun].filter((c) => !state.finished.has(c));
  for (const c of state.rollingBack.keys()) if (state.finished.has(c)) state.rollingBack.delete(c);
  return state;
}

/**
 * What a run of the rollout takes from its journal: the containers already finished, the rollbacks a crash
 * cut off, and, after an operator's retry, the failures that no longer count against the budget.
 */
export function resumeOptions(state: JournalState): { finished: JournalState["finished"]; rollingBack: JournalState["rollingBack"]; forgivenFailures: number } {
  const forgivenFailures = state.retried !== undefined ? [...state.finished.values()].filter(isFailure).length : 0;
  return { finished: state.finished, rollingBack: state.rollingBack, forgivenFailures };
}

/**
 * The live state of a rollout as its journal tells it (pure), for when Redis lost it: a failover that
 * dropped the last writes, or a Redis that came back empty. `packages` are the changed packages of its plan.
 */
export function stateFromJournal(entries: readonly JournalEntry[], eventId: string, packages: string[]): RolloutState | undefined {
  const first = entries[0];
  if (first === undefined) return undefined;
  const s = journalState(entries);
  const outcomes = [...s.finished.values()];
  const batches = s.plan?.batches.length ?? 0;
  const halt = entries.findLast((e) => e.type === "rollout.halted");
  return {
    id: first.rollout,
    eventId,
    createdAt: first.ts,
    updatedAt: entries.at(-1)!.ts,
    status: s.ended ?? (s.plan === undefined ? "planned" : "running"),
    packages,
    batch: s.ended === "completed" ? batches : Math.max(0, ...entries.filter((e) => e.type === "batch.started").map((e) => Number(e.data["batch"]))),
    batches,
    done: outcomes.length,
    total: s.plan?.batches.reduce((n, b) => n + b.length, 0) ?? 0,
    failures: outcomes.filter(isFailure).length,
    outcomes,
    ...(s.ended === "halted" && halt !== undefined ? { haltReason: String(halt.data["reason"] ?? "halted") } : {}),
  };
}

/** The event a journal was written for: in its plan, or in the note of a merge. */
export function eventOfJournal(entries: readonly JournalEntry[]): { event: AptEvent; merged: AptEvent[] } | undefined {
  for (const e of entries) {
    const k = knownEntry(e);
    if (k?.type === "rollout.planned") return { event: k.data.event, merged: k.data.merged.map((m) => m.event) };
    if (k?.type === "rollout.merged") return { event: k.data.event, merged: [] };
  }
  return undefined;
}
