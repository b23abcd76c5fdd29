import type { Config } from "../config/schema.js";
import type { Verdict } from "../detect/verdict.js";
import { cutBatches } from "./batches.js";

/** What the planner knows of one container: its metadata and its verdict for the changed packages. */
export interface Candidate {
  name: string;
  group: string;
  canary: boolean;
  /** Not an overlay container on the host root: never touched. */
  unmanagedReason?: string | undefined;
  verdict: Verdict;
  /** Some process of it maps a file of the changed packages (it really uses them). */
  mapsPackages: boolean;
  /** What its delta shadows of the changed packages and what would fix it, in words (a restart cannot). */
  shadow?: string | undefined;
}

export interface PlannedContainer {
  name: string;
  group: string;
  canary: boolean;
  /** Why it is in the plan, in plain words. */
  reason: string;
}

export interface Plan {
  select: Config["rollout"]["select"];
  affected: PlannedContainer[];
  excluded: { name: string; reason: string }[];
  /** Container names per batch, in order. */
  batches: string[][];
}

const EXCLUDED_BECAUSE: Partial<Record<Verdict, string>> = {
  shadowed: "shadowed: its delta holds its own copy of a patched file, so a restart cannot bring the fix",
  pinned: "pinned: it runs old package files on purpose after a rollback (patchroll unpin to release it)",
  stopped: "stopped: nothing runs, so nothing is exposed; it starts patched",
  "own-dpkg": "own-dpkg: it has its own dpkg database in its delta and disagrees with the host",
};

/**
 * Decides which containers a package change restarts and in which batches: declared canaries first, then
 * the containers that really map the changed files, spread across service groups so that no batch takes
 * every replica of a group (when the group has more than one).
 */
export function planRollout(candidates: readonly Candidate[], policy: Pick<Config["rollout"], "batches" | "select">): Plan {
  const affected: PlannedContainer[] = [];
  const excluded: Plan["excluded"] = [];
  for (const c of candidates) {
    const reason = exclusionReason(c, policy.select);
    if (reason !== undefined) excluded.push({ name: c.name, reason });
    else affected.push({ name: c.name, group: c.group, canary: c.canary, reason: inclusionReason(c) });
  }
  const byName = new Map(candidates.map((c) => [c.name, c]));
  const ordered = orderForRollout(affected, (p) => byName.get(p.name)?.mapsPackages ?? false);
  const batches = spreadGroups(cutBatches(ordered, policy.batches));
  return { select: policy.select, affected: ordered, excluded, batches: batches.map((b) => b.map((p) => p.name)) };
}

function exclusionReason(c: Candidate, select: Config["rollout"]["select"]): string | undefined {
  if (c.unmanagedReason !== undefined) return `unmanaged: ${c.unmanagedReason}`;
  const because = EXCLUDED_BECAUSE[c.verdict];
  if (because !== undefined) return c.verdict === "shadowed" && c.shadow !== undefined ? `${because}: ${c.shadow}` : because;
  if (select === "stale" && c.verdict === "patched") return "patched: it already runs only current files of these packages";
  return undefined;
}

function inclusionReason(c: Candidate): string {
  const shadow = c.shadow !== undefined ? `; its delta also shadows a changed file, which the restart cannot fix: ${c.shadow}` : "";
  if (c.verdict === "stale") return `stale: a process maps, holds open or loaded an outdated file of a changed package${shadow}`;
  return "policy select=all: every running container on the host root is restarted";
}

/** Canaries first, then containers that map the changed files, then the rest; groups interleaved round-robin. */
export function orderForRollout<T extends { name: string; group: string; canary: boolean }>(items: readonly T[], mapsPackages: (t: T) => boolean): T[] {
  const rank = (t: T) => (t.canary ? 0 : mapsPackages(t) ? 1 : 2);
  const out: T[] = [];
  for (const r of [0, 1, 2]) out.push(...interleaveGroups(items.filter((t) => rank(t) === r).sort((a, b) => a.name.localeCompare(b.name))));
  return out;
}

function interleaveGroups<T extends { group: string }>(items: readonly T[]): T[] {
  const groups = new Map<string, T[]>();
  for (const t of items) groups.set(t.group, [...(groups.get(t.group) ?? []), t]);
  const queues = [...groups.values()];
  const out: T[] = [];
  while (out.length < items.length) for (const q of queues) if (q.length > 0) out.push(q.shift()!);
  return out;
}

/**
 * Moves one replica of a group to the next batch when a batch would hold every replica of that group,
 * swapping it for a member of another group, so a group always keeps a replica running.
 */
export function spreadGroups<T extends { group: string }>(batches: T[][]): T[][] {
  const out = batches.map((b) => [...b]);
  const totals = new Map<string, number>();
  for (const b of out) for (const t of b) totals.set(t.group, (totals.get(t.group) ?? 0) + 1);
  for (let i = 0; i < out.length - 1; i++) {
    const batch = out[i]!;
    const next = out[i + 1]!;
    for (const [group, total] of totals) {
      if (total < 2 || batch.filter((t) => t.group === group).length < total) continue;
      const j = batch.findLastIndex((t) => t.group === group);
      const k = next.findIndex((t) => t.group !== group);
      if (k < 0) {
        next.unshift(batch.splice(j, 1)[0]!);
      } else {
        const moved = batch[j]!;
        batch[j] = next[k]!;
        next[k] = moved;
      }
    }
  }
  return out.filter((b) => b.length > 0);
}
