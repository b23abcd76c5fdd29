import type { JournalEntry } from "../journal/entry.js";
import type { ContainerOutcome, ContainerOutcomeKind } from "./container-outcome.js";
import type { Plan } from "./plan.js";

/** What a journal says about a rollout that may have been interrupted. */
export interface JournalState {
  plan?: Plan;
  /** Containers whose restart finished, with the outcome. */
  finished: Map<string, ContainerOutcome>;
  /** Containers with a step begun and no outcome: the process died in the middle of them. */
  inFlight: string[];
  /** The final entry, if the rollout already ended. */
  ended?: "completed" | "halted";
}

/** Reads a rollout's journal to resume it after a crash (pure). */
export function journalState(entries: readonly JournalEntry[]): JournalState {
  const state: JournalState = { finished: new Map(), inFlight: [] };
  const begun = new Set<string>();
  for (const e of entries) {
    if (e.type === "rollout.planned") state.plan = e.data["plan"] as Plan;
    else if (e.type === "step.begin" && e.container !== undefined) begun.add(e.container);
    else if (e.type === "container.done" && e.container !== undefined) {
      state.finished.set(e.container, { container: e.container, outcome: e.data["outcome"] as ContainerOutcomeKind, reason: String(e.data["reason"] ?? "") });
    } else if (e.type === "rollout.completed") state.ended = "completed";
    else if (e.type === "rollout.halted") state.ended = "halted";
  }
  state.inFlight = [...begun].filter((c) => !state.finished.has(c));
  return state;
}
