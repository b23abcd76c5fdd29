import { z } from "zod";

/** What an operator can ask of a rollout. */
export const ControlAction = z.enum(["pause", "resume", "abort", "approve", "retry"]);
export type ControlAction = z.infer<typeof ControlAction>;
