/** Something about a rollout that people want to hear of without watching it. */
export interface RolloutNotice {
  kind: "halted" | "rolled-back" | "approval-needed" | "completed" | "aborted";
  rollout: string;
  /** One sentence in plain words. */
  text: string;
  container?: string;
  batch?: number;
}
