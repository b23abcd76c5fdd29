/** How one container's restart ended. */
export type ContainerOutcomeKind =
  /** Restarted, healthy, and verified to run only current files. */
  | "patched"
  /** Restarted and healthy, but still runs outdated files, or its delta shadows a changed file (a restart cannot fix that). */
  | "unverified"
  /** Failed after restart; delta restored, old files pinned, healthy again on them. */
  | "rolled-back"
  /** Failed, and the rollback did not make it healthy either; it is running, a human must look. */
  | "rollback-failed"
  /** Not patched: the stop or the snapshot failed; started again with its delta unchanged. */
  | "skipped";

export interface ContainerOutcome {
  container: string;
  outcome: ContainerOutcomeKind;
  /** Plain words, e.g. "health check http://127.0.0.1:8080/health returned 503 three times in a row after restart". */
  reason: string;
  /** The snapshot taken before its restart (the way back, e.g. when the rollout is aborted later). */
  snapshot?: string;
}

/** True when the outcome counts against the rollout's failure budget. */
export function isFailure(o: ContainerOutcome): boolean {
  return o.outcome !== "patched";
}
