import { type JournalEntry, knownEntry } from "../journal/entry.js";
import { type ContainerOutcome, isFailure } from "./container-outcome.js";
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
