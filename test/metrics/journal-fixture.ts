import type { JournalEntry } from "../../src/journal/entry.js";

/**
 * A halted rollout's journal as the engine writes it (canary rolled back, the second batch untouched),
 * for pure tests. Times are fixed.
 */
export function haltedJournal(rollout = "20261123T063114Z-b6a11992", names: [string, string, string] = ["web-1", "web-2", "api-1"]): JournalEntry[] {
  const [canary, b, c] = names;
  let seq = 0;
  const t0 = Date.parse("2026-11-23T06:31:14.000Z");
  const e = (ms: number, type: string, data: Record<string, unknown> = {}, container?: string): JournalEntry => ({
    v: 1,
    seq: ++seq,
    ts: new Date(t0 + ms).toISOString(),
    host: "web7",
    rollout,
    type,
    ...(container !== undefined ? { container } : {}),
    data,
  });
  const health = (ok: boolean, at: number) => ({ ok, target: "http://127.0.0.1:8080/health", at: new Date(t0 + at).toISOString(), latencyMs: ok ? 3.2 : 1.1, ...(ok ? { status: 200 } : { status: 500, failure: "returned 500" }) });
  return [
    e(0, "rollout.planned", { plan: { select: "stale", affected: [], excluded: [], batches: [[canary], [b, c]] }, event: { id: "ev1" }, scans: [] }),
    e(100, "batch.started", { batch: 1, of: 2, containers: [canary] }),
    e(110, "step.begin", { step: "stop", timeoutSec: 5 }, canary),
    e(130, "step.end", { step: "stop", ok: true, ms: 20 }, canary),
    e(140, "step.begin", { step: "snapshot" }, canary),
    e(190, "step.end", { step: "snapshot", ok: true, ms: 50, snapshot: rollout }, canary),
    e(200, "step.begin", { step: "start" }, canary),
    e(220, "step.end", { step: "start", ok: true, ms: 20 }, canary),
    e(230, "step.begin", { step: "health", checks: 1 }, canary),
    e(900, "step.end", { step: "health", ok: true, ms: 670, healthy: false, reason: "health check http://127.0.0.1:8080/health returned 500 3 times in a row after restart", rounds: 3, last: [health(false, 880)] }, canary),
    e(910, "rollback.begin", { reason: "health check returned 500 3 times in a row", snapshot: rollout }, canary),
    e(920, "step.begin", { step: "rollback.stop" }, canary),
    e(940, "step.end", { step: "rollback.stop", ok: true, ms: 20 }, canary),
    e(950, "step.begin", { step: "rollback.restore" }, canary),
    e(1000, "step.end", { step: "rollback.restore", ok: true, ms: 50 }, canary),
    e(1010, "step.begin", { step: "rollback.start" }, canary),
    e(1030, "step.end", { step: "rollback.start", ok: true, ms: 20 }, canary),
    e(1040, "step.begin", { step: "rollback.health" }, canary),
    e(1300, "step.end", { step: "rollback.health", ok: true, ms: 260, healthy: true, rounds: 2, last: [health(true, 1290)] }, canary),
    e(1310, "container.done", { outcome: "rolled-back", reason: "health check returned 500 3 times in a row; delta restored, old files pinned, healthy again" }, canary),
    e(1320, "batch.finished", { batch: 1, failures: 1 }),
    e(1330, "rollout.halted", { reason: `halted after batch 1: 1 failure(s), budget 0. ${canary} rolled-back: health check returned 500`, batch: 1, untouched: [b, c] }),
    e(5000, "control.pause", { who: "alice", why: "looking at the canary" }),
  ];
}
