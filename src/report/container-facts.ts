import type { JournalEntry } from "../journal/entry.js";
import { arr, bool, type Data, num, stepRan, str } from "./entry-fields.js";
import type { ContainerFacts, HealthFacts, PlanFacts, RollbackFacts } from "./report-model.js";

/**
 * Folds the journal into one story per container (pure): its steps with their times, the health evidence
 * after the restart and after a rollback, the verification, and how it ended. Containers come in plan order.
 */
export function containerFacts(entries: readonly JournalEntry[], plan: PlanFacts | null): ContainerFacts[] {
  const byName = new Map<string, ContainerFacts>();
  const get = (name: string): ContainerFacts => {
    let c = byName.get(name);
    if (c === undefined) {
      const batch = plan?.affected.find((a) => a.name === name)?.batch ?? null;
      c = { name, batch, outcome: null, reason: null, steps: [], health: [], verify: null, verifiedAt: null, doneAt: null };
      byName.set(name, c);
    }
    return c;
  };
  for (const a of plan?.affected ?? []) get(a.name);
  for (const e of entries) {
    if (e.container === undefined) continue;
    const c = get(e.container);
    const step = str(e.data, "step");
    if (e.type === "step.begin" && step !== null) {
      c.steps.push({ step, beganAt: e.ts, endedAt: null, ms: null, ok: null, error: null, failed: false });
    } else if (e.type === "step.end" && step !== null) {
      const open = c.steps.findLast((s) => s.step === step && s.endedAt === null);
      const s = open ?? { step, beganAt: e.ts, endedAt: null, ms: null, ok: null, error: null, failed: false };
      if (open === undefined) c.steps.push(s);
      s.endedAt = e.ts;
      s.ms = num(e.data, "ms");
      s.ok = stepRan(e.data);
      s.error = str(e.data, "error");
      s.failed = s.ok === false || e.data["healthy"] === false || e.data["verified"] === false;
      if (step === "health" || step === "rollback.health") c.health.push(healthFacts(e, step === "health" ? "restart" : "rollback"));
      if (step === "verify") {
        const verified = bool(e.data, "verified") ?? false;
        c.verify = { at: e.ts, verified, detail: str(e.data, "detail") ?? str(e.data, "error") ?? "" };
        c.verifiedAt = verified ? e.ts : null;
      }
    } else if (e.type === "container.done") {
      c.outcome = str(e.data, "outcome");
      c.reason = str(e.data, "reason");
      c.doneAt = e.ts;
    }
  }
  return [...byName.values()];
}

function healthFacts(e: JournalEntry, phase: HealthFacts["phase"]): HealthFacts {
  const d = e.data;
  const last = Array.isArray(d["last"]) ? arr(d, "last") : [];
  return {
    phase,
    at: e.ts,
    healthy: bool(d, "healthy") ?? false,
    reason: str(d, "reason") ?? str(d, "error") ?? "",
    rounds: num(d, "rounds"),
    last: last.map((r) => ({
      target: str(r, "target") ?? "?",
      ok: bool(r, "ok") ?? false,
      at: str(r, "at"),
      latencyMs: num(r, "latencyMs"),
      status: num(r, "status"),
      detail: resultDetail(r),
    })),
  };
}

/** The evidence of one check result in a few words: its failure, its status and body, or its exit code. */
function resultDetail(r: Data): string {
  const parts: string[] = [];
  const failure = str(r, "failure");
  if (failure !== null) parts.push(failure);
  const status = num(r, "status");
  if (status !== null && failure === null) parts.push(`HTTP ${status}`);
  const exit = num(r, "exitCode");
  if (exit !== null) parts.push(`exit ${exit}`);
  const body = str(r, "bodyExcerpt") ?? str(r, "stderrExcerpt");
  if (body !== null && body.trim() !== "") parts.push(`"${body.trim().replace(/\s+/g, " ").slice(0, 120)}"`);
  return parts.join(", ");
}

/** Every rollback: why it began, what it restored and pinned, and how the container came out of it. */
export function rollbackFacts(entries: readonly JournalEntry[]): RollbackFacts[] {
  const out: RollbackFacts[] = [];
  for (const [i, e] of entries.entries()) {
    if (e.type !== "rollback.begin" || e.container === undefined) continue;
    const later = entries.slice(i + 1).filter((x) => x.container === e.container);
    const pin = later.find((x) => x.type === "step.end" && x.data["step"] === "rollback.pin");
    const done = later.find((x) => x.type === "container.done");
    const r: RollbackFacts = {
      container: e.container,
      at: e.ts,
      reason: str(e.data, "reason") ?? "no reason recorded",
      snapshot: str(e.data, "snapshot"),
      pinned: pin !== undefined ? bool(pin.data, "pinned") : null,
      pinDetail: pin !== undefined ? (str(pin.data, "detail") ?? str(pin.data, "error")) : null,
      result: done !== undefined ? str(done.data, "outcome") : null,
      text: "",
    };
    r.text = rollbackText(r);
    out.push(r);
  }
  return out;
}

function rollbackText(r: RollbackFacts): string {
  const restored = r.snapshot !== null ? `Its delta was restored from snapshot ${r.snapshot}` : "Its delta was restored";
  const pinned = r.pinned === true ? `, it was pinned to the old package files (${r.pinDetail ?? "details not recorded"})` : r.pinned === false ? `, it could not be pinned (${r.pinDetail ?? "no detail"})` : "";
  switch (r.result) {
    case "rolled-back":
      return `${restored}${pinned}, and it passed its health checks again.`;
    case "rollback-failed":
      return `${restored}${pinned}, but it did not become healthy again: someone must look at it (runbooks/rollout-halted.md, "rollback-failed").`;
    default:
      return "The rollback has no end in the journal: the worker was interrupted during it (it resumes or rolls back on restart).";
  }
}
