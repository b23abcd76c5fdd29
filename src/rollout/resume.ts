import type { JournalEntry } from "../journal/entry.js";
import { type ContainerOutcome, type ContainerOutcomeKind, isFailure } from "./container-outcome.js";
import type { AptEvent } from "../intake/apt-event.js";
import type { Plan } from "./plan.js";

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
 * What a run of the rollout takes from its journal: the containers already finished, the rollbacks a crash
 * cut off, and, after an operator's retry, the failures that no longer count against the budget.
 */
export function resumeOptions(state: JournalState): { finished: JournalState["finished"]; rollingBack: JournalState["rollingBack"]; forgivenFailures: number } {
  const forgivenFailures = state.retried !== undefined ? [...state.finished.values()].filter(isFailure).length : 0;
  return { finished: state.finished, rollingBack: state.rollingBack, forgivenFailures };
}
