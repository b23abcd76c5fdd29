import type { JournalEntry } from "../journal/entry.js";
import { type Data, items, num, obj, stepRan, str, strs } from "./entry-fields.js";
import type { TimelineRow } from "./report-model.js";
import { formatDuration, msBetween } from "./time-format.js";

const STEP_WORDS: Record<string, string> = {
  precopy: "copy of the delta while it runs",
  snapshot: "snapshot of the delta",
  stop: "stop",
  start: "start",
  health: "health checks after the restart",
  verify: "verify it runs only current files",
  "rollback.stop": "rollback: stop",
  "rollback.restore": "rollback: restore the delta",
  "rollback.pin": "rollback: pin the old package files",
  "rollback.start": "rollback: start",
  "rollback.health": "rollback: health checks",
};

/**
 * Every journal entry as one timeline row, in journal order, in plain words (pure). A step's begin and end
 * become one row (begin time, duration, result); a step with no end says the process died during it.
 */
export function timelineRows(entries: readonly JournalEntry[]): TimelineRow[] {
  const t0 = entries[0]?.ts ?? null;
  const rows: TimelineRow[] = [];
  const open = new Map<string, TimelineRow>();
  const row = (e: JournalEntry, text: string, extra: Partial<TimelineRow> = {}): TimelineRow => ({
    seq: e.seq, at: e.ts, offsetMs: msBetween(t0, e.ts) ?? 0, container: e.container ?? null, type: e.type,
    step: null, endedAt: null, ms: null, ok: null, text, ...extra,
  });
  for (const e of entries) {
    const step = str(e.data, "step");
    const key = `${e.container ?? ""}\u0000${step ?? ""}`;
    if (e.type === "step.begin" && step !== null) {
      const r = row(e, `${STEP_WORDS[step] ?? step}: began, no end recorded (the process died during it, or it is still running)`, { step });
      open.set(key, r);
      rows.push(r);
    } else if (e.type === "step.end" && step !== null) {
      const r = open.get(key) ?? row(e, "", { step });
      if (!open.has(key)) rows.push(r);
      open.delete(key);
      r.endedAt = e.ts;
      r.ms = num(e.data, "ms") ?? msBetween(r.at, e.ts);
      r.ok = stepRan(e.data);
      r.text = stepText(step, e.data, r.ms);
    } else {
      if (e.type === "rollout.resumed") open.clear();
      rows.push(row(e, entryText(e)));
    }
  }
  return rows;
}

function stepText(step: string, d: Data, ms: number | null): string {
  const took = ms !== null ? ` (${formatDuration(ms)})` : "";
  const name = STEP_WORDS[step] ?? step;
  if (stepRan(d) === false) return `${name}: FAILED${took}: ${str(d, "error") ?? "no error recorded"}`;
  if (step === "snapshot") return `${name}: ok${took}, snapshot ${str(d, "snapshot") ?? "?"}`;
  if (step === "health" || step === "rollback.health") {
    const verdict = d["healthy"] === true ? "healthy" : "UNHEALTHY";
    return `${name}: ${verdict}${took}: ${str(d, "reason") ?? ""}`;
  }
  if (step === "verify") return `${name}: ${d["verified"] === true ? "verified" : "NOT verified"}${took}: ${str(d, "detail") ?? ""}`;
  if (step === "rollback.pin") return `${name}: ${d["pinned"] === true ? "pinned" : "not pinned"}${took}: ${str(d, "detail") ?? ""}`;
  return `${name}: ok${took}`;
}

function list(names: readonly string[]): string {
  return names.length === 0 ? "none" : names.join(", ");
}

/** Plain words for a non-step entry; an entry type this version does not know is shown with its data. */
export function entryText(e: JournalEntry): string {
  const d = e.data;
  switch (e.type) {
    case "rollout.planned": {
      const plan = obj(d, "plan");
      const batches = plan !== null ? items(plan, "batches").length : 0;
      const affected = plan !== null ? items(plan, "affected").length : 0;
      const excluded = plan !== null ? items(plan, "excluded").length : 0;
      return `planned: ${affected} container(s) to restart in ${batches} batch(es), ${excluded} excluded`;
    }
    case "rollout.resumed":
      return `the worker restarted after an interruption and resumed: finished before ${list(strs(d, "finished"))}; in flight ${list(strs(d, "inFlight"))}`;
    case "batch.started":
      return `batch ${num(d, "batch") ?? "?"} of ${num(d, "of") ?? "?"} started: ${list(strs(d, "containers"))}`;
    case "batch.finished":
      return `batch ${num(d, "batch") ?? "?"} finished; failures so far: ${num(d, "failures") ?? "?"}`;
    case "batch.bake":
      return `bake: batch ${num(d, "batch") ?? "?"} must stay healthy for ${formatDuration(num(d, "ms"))} before the next batch`;
    case "rollback.begin":
      return `rollback begins: ${str(d, "reason") ?? "no reason recorded"}`;
    case "container.done":
      return `done: ${str(d, "outcome") ?? "?"}: ${str(d, "reason") ?? ""}`;
    case "rollout.halted":
      return `HALTED: ${str(d, "reason") ?? ""}; untouched: ${list(strs(d, "untouched"))}`;
    case "rollout.completed":
      return `completed: ${num(d, "containers") ?? "?"} container(s), ${num(d, "failures") ?? "?"} failure(s)`;
    case "rollout.aborted": {
      const back = strs(d, "rolledBack");
      return `ABORTED by ${str(d, "who") ?? "someone"}: "${str(d, "why") ?? ""}"${back.length > 0 ? `; rolled back ${list(back)}` : ""}; untouched: ${list(strs(d, "untouched"))}`;
    }
    case "rollout.waiting":
      return `${str(d, "status") === "paused" ? "paused" : "waiting"}: ${str(d, "reason") ?? ""}`;
    case "rollout.released":
      return `released back to the queue at a step boundary (${str(d, "reason") ?? "the worker was stopping"}); it resumes from this journal`;
    default:
      if (e.type.startsWith("control.")) {
        const extra = [num(d, "batch") !== null ? `batch ${num(d, "batch")}` : "", d["rollBackCompleted"] === true ? "and roll back the completed batches" : ""].filter(Boolean).join(", ");
        return `${str(d, "who") ?? "someone"} asked to ${e.type.slice("control.".length)}${extra ? ` (${extra})` : ""}: "${str(d, "why") ?? ""}"`;
      }
      return `${e.type}: ${Object.entries(d).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ").slice(0, 300)}`;
  }
}
