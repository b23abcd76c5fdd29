import { VERDICTS } from "../detect/verdict.js";
import { COUNTED_STATES } from "./queue-counts.js";
import { formatBytes, formatDuration, rolloutProgress } from "./format.js";
import type { Attention, StatusReport } from "./status-report.js";

const label = (name: string) => name.padEnd(11);

function daemonLine(r: StatusReport): string {
  const d = r.daemon;
  const state = d.up === null ? "unknown (Redis away, dashboard disabled)" : d.up ? "up" : "DOWN";
  const workers = d.workers === null ? "" : `, ${d.workers} worker connection(s)`;
  const http = d.http === null ? ", dashboard disabled" : `, dashboard ${d.http.url} ${d.http.up ? "answers" : "does not answer"}`;
  return `${label("daemon")}${state}${workers}${http}`;
}

function redisLine(r: StatusReport): string {
  const x = r.redis;
  if (!x.reachable && x.away !== undefined) return `${label("redis")}Redis away since ${x.away.since} (${formatDuration(Math.max(0, Math.round((Date.parse(r.at) - Date.parse(x.away.since)) / 1000)))}), ${x.where}: ${x.error ?? ""}`;
  if (!x.reachable) return `${label("redis")}UNREACHABLE ${x.where}: ${x.error ?? ""}`;
  const h = x.health!;
  const persistence = h.persistence.aof ? `AOF ${h.persistence.appendfsync}` : h.persistence.rdb === true ? "RDB only" : "NO persistence";
  const mem = `${formatBytes(h.usedMemory)}${x.maxMemory ? ` of ${formatBytes(x.maxMemory)}` : ""}`;
  return `${label("redis")}${x.where} ${h.version}, ${mem}, ${persistence}, ${h.maxmemoryPolicy}`;
}

function queueLines(r: StatusReport): string[] {
  if (r.queues === null) return [`${label("queues")}unknown (Redis away)`];
  const width = Math.max(...r.queues.map((q) => q.queue.length));
  return r.queues.map((q, i) => {
    const counts = COUNTED_STATES.filter((s) => s !== "completed" && (q.counts[s] > 0 || s === "waiting" || s === "active" || s === "failed")).map((s) => `${s} ${q.counts[s]}`);
    return `${label(i === 0 ? "queues" : "")}${q.queue.padEnd(width)} ${[...counts, `stalled ${q.stalled}`, ...(q.paused ? ["PAUSED"] : [])].join("  ")}`;
  });
}

/** What waits while Redis is away, from the journals. */
function heldLines(r: StatusReport): string[] {
  const held = r.redis.away?.held ?? [];
  if (held.length === 0) return [`${label("rollout")}none held (Redis away; journals: patchroll rollouts show ID)`];
  return held.map((h, i) => {
    const now = h.inFlight.length > 0 ? `; ${h.inFlight.join(", ")} being restarted from local disk` : "; no container stopped";
    return `${label(i === 0 ? "rollout" : "")}${h.id} held while Redis is away: ${h.done} of ${h.total} containers done${now}; resumes when Redis is back`;
  });
}

function watchdogLines(r: StatusReport): string[] {
  return (r.redis.recreations ?? []).map((w, i) => `${label(i === 0 ? "watchdog" : "")}${w.queue} worker replaced at ${w.at} (${w.count} time(s)): ${w.reason}`);
}

function rolloutLines(r: StatusReport): string[] {
  if (r.active === null) return heldLines(r);
  // Redis answers reads but the daemon's heartbeat gets no answer (writes refused, out of memory): what
  // Redis shows of a rollout stopped with the refusal; the journals tell where it is held.
  const live = r.active.length === 0 ? [`${label("rollout")}none running`] : r.active.map((a, i) => `${label(i === 0 ? "rollout" : "")}${a.id} ${a.status}: ${rolloutProgress(a)} (${a.packages.join(", ")})${a.waitReason ? `; ${a.waitReason}` : ""}`);
  const lines = r.redis.away !== undefined ? heldLines(r) : live;
  for (const [i, h] of (r.halted ?? []).entries()) lines.push(`${label(i === 0 ? "halted" : "")}${h.id}: ${h.haltReason ?? "halted"}`);
  return lines;
}

function containerLine(r: StatusReport): string {
  const c = r.containers;
  if (c.error !== undefined) return `${label("containers")}scan failed: ${c.error}`;
  const parts = VERDICTS.filter((v) => c.byVerdict[v] > 0).map((v) => `${c.byVerdict[v]} ${v}`);
  const scope = c.packages.length > 0 ? ` (judged on ${c.packages.join(", ")})` : "";
  return `${label("containers")}${c.managed} managed${c.total > c.managed ? `, ${c.total - c.managed} unmanaged` : ""}${parts.length > 0 ? `: ${parts.join(", ")}` : ""}${scope}`;
}

/** `patchroll status` as one screen of text (pure). */
export function renderStatus(r: StatusReport): string {
  const lines = [
    `patchroll on ${r.host} at ${r.at}`,
    daemonLine(r),
    redisLine(r),
    ...queueLines(r),
    ...watchdogLines(r),
    ...rolloutLines(r),
    `${label("pinned")}${r.pins.length === 0 ? "none" : r.pins.map((p) => `${p.container} (${p.packages.map((x) => `${x.name} ${x.version}`).join(", ")})`).join(", ")}`,
    containerLine(r),
    `${label("spool")}${r.spool.error !== undefined ? `unreadable: ${r.spool.error}` : `${r.spool.records} record(s) waiting${r.spool.oldestAgeSec !== undefined ? `, oldest ${formatDuration(r.spool.oldestAgeSec)}` : ""}${r.spool.corrupt > 0 ? `, ${r.spool.corrupt} corrupt` : ""}`}`,
    `${label("exposure")}${r.exposure === null ? "none: no container runs an outdated file" : `${r.exposure.container} runs an old ${r.exposure.path}${r.exposure.package ? ` (${r.exposure.package})` : ""} for ${formatDuration(r.exposure.ageSec)}, since ${r.exposure.since}`}`,
  ];
  return [...lines, ...attentionLines(r.attention, "nothing needs a human")].join("\n");
}

/** What needs a human, each with its next command and runbook; `none` when nothing does. */
export function attentionLines(attention: readonly Attention[], none: string): string[] {
  if (attention.length === 0) return ["", none];
  const out = ["", `NEEDS A HUMAN (${attention.length})`];
  for (const a of attention) out.push(`${a.severity === "critical" ? "!!" : " !"} ${a.what}`, `     next:    ${a.next}`, `     runbook: ${a.runbookFile}`);
  return out;
}
