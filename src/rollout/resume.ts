import type { JournalEntry } from "../journal/entry.js";
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
    if (e.type === "rollout.planned") {
      state.plan = e.data["plan"] as Plan;
      state.merged = (e.data["merged"] as JournalState["merged"]) ?? [];
    }
    else if (e.type === "step.begin" && e.container !== undefined) begun.add(e.container);
    else if (e.type === "rollback.begin" && e.container !== undefined) {
      state.rollingBack.set(e.container, { snapshot: String(e.data["snapshot"]), reason: String(e.data["reason"] ?? "") });
    }
    else if (e.type === "container.done" && e.container !== undefined) {
      const snapshot = e.data["snapshot"];
      state.finished.set(e.container, { container: e.container, outcome: e.data["outcome"] as ContainerOutcomeKind, reason: String(e.data["reason"] ?? ""), ...(typeof snapshot === "string" ? { snapshot } : {}) });
    } else if (e.type === "rollout.completed") state.ended = "completed";
    else if (e.type === "rollout.halted") state.ended = "halted";
    else if (e.type === "rollout.aborted") state.ended = "aborted";
    // An operator's retry reopens a halted rollout: the runner goes on past the failure.
    else if (e.type === "control.retry" && state.ended === "halted") {
      delete state.ended;
      state.retried = (state.retried ?? 0) + 1;
    }
  }
  state.inFlight = [...begun].filter((c) => !state.finished.has(c));
  for (const c of state.rollingBack.keys()) if (state.finished.has(c)) state.rollingBack.delete(c);
  return state;
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
  const planned = entries.find((e) => e.type === "rollout.planned" || e.type === "rollout.merged");
  const event = planned?.data["event"] as AptEvent | undefined;
  if (event === undefined) return undefined;
  const merged = ((planned?.data["merged"] ?? []) as { event: AptEvent }[]).map((m) => m.event);
  return { event, merged };
}
