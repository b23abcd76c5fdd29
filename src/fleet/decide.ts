import type { ContainerOutcome } from "../rollout/container-outcome.js";
import { type HostVersion, type HumanMark, type Verdict, versionKey, type VersionView } from "./version-state.js";
import { waveOf } from "./waves.js";

/** May a host restart containers for a version now? If not, why, in words for status and the journal. */
export type FleetDecision = { go: true } | { go: false; kind: "held" | "failed" | "inconclusive" | "wave"; reason: string };

export interface DecideInput {
  view: VersionView;
  /** The host asking. */
  host: string;
  nowMs: number;
  /** Hosts heard from within `fleet.lostAfterMs`: a lost, stopped or forgotten host blocks no wave. */
  alive: ReadonlySet<string>;
  bakeMs: number;
}

/** A verdict still standing: no release came after it. */
export function standingVerdict(v: Pick<VersionView, "verdict" | "release">): Verdict | null {
  return v.verdict !== null && !(v.release !== null && v.release.at >= v.verdict.at) ? v.verdict : null;
}

/**
 * A host is through with a version when it passed, will never have it (`absent`), or failed before an
 * operator released the version.
 */
function isDone(s: HostVersion, release: HumanMark | null): boolean {
  if (s.state === "passed" || s.state === "absent") return true;
  return (s.state === "failed" || s.state === "inconclusive") && release !== null && release.at >= s.at;
}

/** `09:42:10 UTC`. */
const clock = (ms: number): string => `${new Date(ms).toISOString().slice(11, 19)} UTC`;

/**
 * The fleet's word on one version for one host (pure): a hold by an operator, then a failed or
 * inconclusive rollout elsewhere that no release answered, then the waves: every live host of each
 * earlier wave must be through with the version, and the last of them must have baked `bakeMs`.
 */
export function decideVersion(i: DecideInput): FleetDecision {
  const { view: v } = i;
  const name = `${v.pkg} ${v.version}`;
  const release = `patchroll fleet release ${versionKey(v)} --why "..."`;
  if (v.hold !== null) return { go: false, kind: "held", reason: `${name} is held fleet-wide by ${v.hold.who}: ${v.hold.why} (${release})` };
  const verdict = standingVerdict(v);
  if (verdict !== null) {
    const what = verdict.state === "failed" ? "failed" : "was inconclusive";
    const where = `rollout ${verdict.rollout}${verdict.container !== undefined ? `, container ${verdict.container}` : ""}`;
    return { go: false, kind: verdict.state, reason: `${name} ${what} on ${verdict.host} (${where}: ${verdict.reason}); held fleet-wide until a human decides: ${release}` };
  }
  if (v.plan === null) return { go: true };
  const mine = waveOf(v.plan.waves, i.host);
  const wait = (why: string): FleetDecision => ({ go: false, kind: "wave", reason: `waiting for wave ${mine} of ${name}: ${why}` });
  for (let w = 1; w < mine; w++) {
    const role = w === 1 ? "canary host" : `wave ${w} host`;
    let last: { host: string; at: number } | undefined;
    for (const h of v.plan.waves[w - 1] ?? []) {
      if (h === i.host || !i.alive.has(h)) continue;
      const s = v.hosts[h];
      if (s === undefined) return wait(`${role} ${h} has not rolled it out yet`);
      if (!isDone(s, v.release)) return wait(`${role} ${h} ${s.state === "running" ? "is rolling it out" : s.state === "waiting" ? "waits for its turn" : `${s.state} and is held`}`);
      // Only a version that runs bakes: a failure an operator released has nothing to watch.
      if (s.state === "passed" && (last === undefined || s.at > last.at)) last = { host: h, at: s.at };
    }
    if (last !== undefined && last.at + i.bakeMs > i.nowMs) return wait(`${role} ${last.host} baking until ${clock(last.at + i.bakeMs)}`);
  }
  return { go: true };
}

/** Several versions (one rollout): go only when every one may go; otherwise the hardest stop first. */
export function decideAll(decisions: readonly FleetDecision[]): FleetDecision {
  const stops = decisions.filter((d): d is Extract<FleetDecision, { go: false }> => !d.go);
  return stops.find((d) => d.kind !== "wave") ?? stops[0] ?? { go: true };
}

/** What a host's finished rollout says of its versions (pure). */
export interface RolloutJudgement {
  state: "passed" | "failed" | "inconclusive";
  restarted: number;
  container?: string;
  reason: string;
}

/**
 * A rollback or a failed rollback is a failure; a container that could not be judged (verification
 * impossible, health timed out with no check failing, not restarted at all) or an aborted rollout is
 * inconclusive: held for a human, not failed (Argo Rollouts' Inconclusive); a rollout that patched every
 * container passed.
 */
export function judgeRollout(r: { status: string; outcomes: readonly ContainerOutcome[]; haltReason?: string }): RolloutJudgement {
  const restarted = r.outcomes.filter((o) => o.outcome === "patched").length;
  const undecided = (o: ContainerOutcome) => o.outcome === "unverified" || o.outcome === "skipped" || /^not healthy within \d+ ms after restart; last check: .* passed$/.test(o.reason.split("; delta restored")[0] ?? "");
  const failed = r.outcomes.find((o) => (o.outcome === "rolled-back" || o.outcome === "rollback-failed") && !undecided(o));
  if (failed !== undefined) return { state: "failed", restarted, container: failed.container, reason: `${failed.outcome}: ${failed.reason}` };
  const unsure = r.outcomes.find((o) => o.outcome !== "patched");
  if (unsure !== undefined) return { state: "inconclusive", restarted, container: unsure.container, reason: `${unsure.outcome}: ${unsure.reason}` };
  if (r.status !== "completed") return { state: "inconclusive", restarted, reason: r.haltReason ?? `rollout ${r.status}` };
  return { state: "passed", restarted, reason: `${restarted} container(s) patched` };
}
