import type { z } from "zod";
import type { BatchSize } from "../config/batch-size.js";
import { cutBatches } from "../rollout/batches.js";
import { globToRegExp } from "../rollout/ignore.js";

type Size = z.infer<typeof BatchSize>;

/**
 * The hosts in wave order (pure): those `canaryHosts` names first, pattern by pattern (the matches of one
 * glob sorted by id), then every other host sorted by id. Sorting by id makes the first wave predictable
 * when no canary host is named: the operator knows which host tries a version first.
 */
export function orderHosts(hosts: readonly string[], canaryHosts: readonly string[]): string[] {
  const sorted = [...new Set(hosts)].sort();
  const first: string[] = [];
  for (const pattern of canaryHosts) {
    const re = globToRegExp(pattern);
    for (const h of sorted) if (re.test(h) && !first.includes(h)) first.push(h);
  }
  return [...first, ...sorted.filter((h) => !first.includes(h))];
}

/** The waves of a version over these hosts (pure), with Ansible `serial` semantics: `[1, "10%", "100%"]`. */
export function planWaves(hosts: readonly string[], waves: readonly Size[], canaryHosts: readonly string[]): string[][] {
  return cutBatches(orderHosts(hosts, canaryHosts), waves);
}

/** The wave (1-based) of `host`; a host that joined the fleet after the plan was made goes last. */
export function waveOf(plan: readonly (readonly string[])[], host: string): number {
  const i = plan.findIndex((w) => w.includes(host));
  return i === -1 ? Math.max(1, plan.length) : i + 1;
}
