import { runbookFile, type RunbookSlug } from "./runbooks.js";
import type { Attention, StatusReport } from "./status-report.js";

/** A spool record older than this means the daemon is not draining it. */
export const SPOOL_STUCK_AFTER_SEC = 60;
/** Redis memory use above this share of `maxmemory` is reported. */
export const REDIS_MEMORY_WARN_RATIO = 0.8;

const item = (severity: Attention["severity"], what: string, next: string, runbook: RunbookSlug): Attention => ({ severity, what, next, runbook, runbookFile: runbookFile(runbook) });

const names = (list: readonly string[], max = 3): string => (list.length > max ? `${list.slice(0, max).join(", ")} and ${list.length - max} more` : list.join(", "));

/** What in a status report needs a human, most urgent first (pure). */
export function attentionItems(r: Omit<StatusReport, "attention">): Attention[] {
  const out: Attention[] = [];
  if (!r.redis.reachable) {
    const held = (r.redis.away?.held ?? []).map((h) => `rollout ${h.id} held at ${h.done} of ${h.total} containers`);
    const since = r.redis.away !== undefined ? ` since ${r.redis.away.since}` : "";
    out.push(item("critical", `Redis is away${since} (${r.redis.where}): no rollout can start or progress${held.length > 0 ? ` (${held.join("; ")})` : ""}; apt keeps spooling (${r.spool.records} record(s))`, "patchroll config check; journalctl -u patchroll -n 100", "redis-down"));
  } else if (r.daemon.up === false) {
    out.push(item("critical", "no patchroll worker is connected (the daemon is down, or its workers lost Redis): no job is taken and the spool is not drained", "systemctl start patchroll; journalctl -u patchroll -n 100", "daemon-down"));
  }
  for (const h of r.halted ?? []) {
    out.push(item("critical", `rollout ${h.id} halted: ${h.haltReason ?? "see its journal"}`, `patchroll rollouts show ${h.id}`, "rollout-halted"));
  }
  for (const a of r.active ?? []) {
    // A rollout waiting for its maintenance window needs no one; a pause or an approval gate does.
    if (a.status === "paused") out.push(item("warning", `rollout ${a.id} is paused: ${a.waitReason ?? ""}`, `patchroll rollouts resume ${a.id} --why "..."`, "rollout-waiting"));
    else if (a.status === "waiting" && /approv/.test(a.waitReason ?? "")) out.push(item("warning", `rollout ${a.id} waits for approval: ${a.waitReason ?? ""}`, `patchroll rollouts approve ${a.id} --why "..."`, "rollout-waiting"));
  }
  for (const p of r.redis.problems) out.push(item("warning", p, "patchroll doctor", "redis-down"));
  const { health, maxMemory } = r.redis;
  if (health !== undefined && maxMemory !== undefined && maxMemory > 0 && health.usedMemory / maxMemory > REDIS_MEMORY_WARN_RATIO) {
    out.push(item("warning", `Redis uses ${Math.round((100 * health.usedMemory) / maxMemory)}% of its maxmemory: with noeviction, writes fail when it is full`, "patchroll queues; patchroll jobs --state completed", "redis-down"));
  }
  for (const q of r.queues ?? []) {
    if (q.stalled > 0) out.push(item("warning", `${q.stalled} stalled job(s) in ${q.queue}: active without a live worker`, "patchroll jobs --state stalled", "queue-stuck"));
    if (q.counts.failed > 0) out.push(item("warning", `${q.counts.failed} failed job(s) in ${q.queue}`, `patchroll jobs --state failed --queue ${q.queue}`, "queue-stuck"));
    if (q.paused) out.push(item("warning", `queue ${q.queue} is paused: nothing is picked up`, "patchroll queues", "queue-stuck"));
  }
  for (const p of r.pins) {
    out.push(item("warning", `${p.container} is pinned to ${p.packages.map((x) => `${x.name} ${x.version}`).join(", ")} since ${p.createdAt} (rollout ${p.rollout})`, "patchroll pins", "container-pinned"));
  }
  const c = r.containers;
  if (c.stale.length > 0 && (r.active ?? []).length === 0) {
    out.push(item("warning", `${c.stale.length} container(s) run outdated files and no rollout is running: ${names(c.stale)}`, "patchroll scan", "stale-containers"));
  }
  if (c.shadowed.length > 0) out.push(item("warning", `${c.shadowed.length} container(s) shadow patched files in their delta, a restart cannot patch them: ${names(c.shadowed)}`, `patchroll scan --packages ${c.packages.join(" ") || "PACKAGE"}`, "shadowed-containers"));
  if (c.ownDpkg.length > 0) out.push(item("warning", `${c.ownDpkg.length} container(s) have their own dpkg database: ${names(c.ownDpkg)}`, "patchroll scan", "own-dpkg-containers"));
  if (r.spool.error !== undefined) {
    out.push(item("critical", `the spool dir ${r.spool.dir} cannot be read: ${r.spool.error}`, "patchroll doctor", "spool-backlog"));
  } else if (r.spool.records > 0 && (r.spool.oldestAgeSec ?? 0) > SPOOL_STUCK_AFTER_SEC) {
    out.push(item("warning", `${r.spool.records} spool record(s) waiting, the oldest for ${r.spool.oldestAgeSec} s: the daemon is not draining the spool`, `ls -la ${r.spool.dir}`, "spool-backlog"));
  }
  if (r.spool.corrupt > 0) out.push(item("warning", `${r.spool.corrupt} unreadable spool record(s) in ${r.spool.dir}/corrupt`, `ls -la ${r.spool.dir}/corrupt`, "hook-warning"));
  const rank = { critical: 0, warning: 1 } as const;
  return out.sort((a, b) => rank[a.severity] - rank[b.severity]);
}
