import { setTimeout as sleep } from "node:timers/promises";
import type { Config, HealthCheck } from "../config/schema.js";
import type { ContainerDriver } from "../containers/driver.js";
import { type HealthResult, runHealthCheck } from "./health-check.js";

export type HealthPolicy = Pick<Config["rollout"], "healthyAfter" | "unhealthyAfter" | "healthIntervalMs" | "healthTimeoutMs">;

export interface HealthVerdict {
  healthy: boolean;
  /** Plain words: why it is (un)healthy. */
  reason: string;
  /** Every round of checks, in order. */
  rounds: HealthResult[][];
}

/**
 * Checks a freshly started container until a verdict: healthy after `healthyAfter` passing rounds in a row,
 * unhealthy after `unhealthyAfter` failing rounds in a row once it had answered at least once (flap
 * damping), unhealthy when the container stops, and unhealthy when `healthTimeoutMs` passes first. A
 * service that is still starting (never answered) is given until the timeout.
 *
 * Until the service first answers, the pause between rounds starts at {@link FIRST_PAUSE_MS} and doubles up
 * to `healthIntervalMs`: most services answer within tens of milliseconds of their start, and each pause
 * of a full interval before that first answer would be downtime the restart did not need. After a failed
 * round the container's state is read during the pause, not before it.
 */
export async function awaitHealth(
  checks: readonly HealthCheck[],
  policy: HealthPolicy,
  ctx: { container: string; driver: ContainerDriver; onResult?: (r: HealthResult) => void; sleep?: (ms: number) => Promise<void> },
): Promise<HealthVerdict> {
  const rounds: HealthResult[][] = [];
  if (checks.length === 0) {
    const running = (await ctx.driver.state(ctx.container)) === "RUNNING";
    return { healthy: running, reason: running ? "no health checks configured; the container is running" : "the container is not running after start", rounds };
  }
  const deadline = Date.now() + policy.healthTimeoutMs;
  let startingPause = FIRST_PAUSE_MS;
  let passes = 0;
  let fails = 0;
  let answered = false;
  for (;;) {
    const round = await Promise.all(checks.map((c) => runHealthCheck(c, ctx)));
    rounds.push(round);
    for (const r of round) ctx.onResult?.(r);
    const failed = round.find((r) => !r.ok);
    if (failed === undefined) {
      answered = true;
      fails = 0;
      if (++passes >= policy.healthyAfter) return { healthy: true, reason: `${round.map((r) => r.target).join(", ")} passed ${passes} times in a row`, rounds };
    } else {
      passes = 0;
      if (failed.status !== undefined || failed.exitCode !== undefined) answered = true;
      fails++;
      if (answered && fails >= policy.unhealthyAfter) {
        return { healthy: false, reason: `health check ${failed.target} ${failed.failure ?? "failed"} ${times(fails)} in a row after restart`, rounds };
      }
    }
    const pause = answered ? policy.healthIntervalMs : Math.min(startingPause, policy.healthIntervalMs);
    startingPause *= 2;
    if (Date.now() + pause > deadline) {
      const last = failed ?? round[0]!;
      return { healthy: false, reason: `not healthy within ${policy.healthTimeoutMs} ms after restart; last check: ${last.target} ${last.failure ?? "passed"}`, rounds };
    }
    const [state] = await Promise.all([failed !== undefined ? ctx.driver.state(ctx.container) : undefined, (ctx.sleep ?? sleep)(pause)]);
    if (state !== undefined && state !== "RUNNING") {
      return { healthy: false, reason: `the container stopped right after start (state ${state}); last check: ${failed?.target} ${failed?.failure ?? "failed"}`, rounds };
    }
  }
}

/** The first pause between rounds of a service that has not answered yet; it doubles each round. */
export const FIRST_PAUSE_MS = 2;

function times(n: number): string {
  return n === 1 ? "once" : n === 2 ? "twice" : n === 3 ? "three times" : `${n} times`;
}
