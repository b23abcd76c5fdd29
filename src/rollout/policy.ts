import type { Config } from "../config/schema.js";
import type { HealthPolicy } from "./health-gate.js";

type Rollout = Config["rollout"];

/** Failures the rollout tolerates: a count, or a percentage of the planned containers (rounded down). */
export function failureBudget(maxFailures: Rollout["maxFailures"], total: number): number {
  return typeof maxFailures === "number" ? maxFailures : Math.floor((total * Number.parseInt(maxFailures, 10)) / 100);
}

/** The health settings of a container's service group: the group's overrides over the rollout's. */
export function healthPolicyFor(group: string, policy: Rollout): HealthPolicy {
  const o = policy.groups[group] ?? {};
  return {
    healthyAfter: o.healthyAfter ?? policy.healthyAfter,
    unhealthyAfter: o.unhealthyAfter ?? policy.unhealthyAfter,
    healthIntervalMs: o.healthIntervalMs ?? policy.healthIntervalMs,
    healthTimeoutMs: o.healthTimeoutMs ?? policy.healthTimeoutMs,
  };
}
