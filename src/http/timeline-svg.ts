import type { JournalEntry } from "../journal/entry.js";
import { esc } from "./html.js";

/** Outcome colours, also used by the pages' badges (and by the screenshot test). */
export const OUTCOME_COLORS: Record<string, string> = {
  patched: "#2e7d32",
  unverified: "#f9a825",
  "rolled-back": "#c62828",
  "rollback-failed": "#6a1b1a",
  skipped: "#757575",
};

const STEP_COLORS: Record<string, string> = {
  stop: "#90a4ae",
  snapshot: "#5c6bc0",
  start: "#8e24aa",
  health: "#00897b",
  verify: "#43a047",
};
const ROLLBACK_COLOR = "#ef6c00";

const LABEL_W = 170;
const PLOT_W = 620;
const OUTCOME_W = 120;
const ROW_H = 24;
const TOP = 46;
const WIDTH = LABEL_W + PLOT_W + OUTCOME_W + 10;

interface Segment {
  container: string;
  step: string;
  from: number;
  to: number;
  ok?: boolean;
  title: string;
}

function containersOf(entries: readonly JournalEntry[]): string[] {
  const planned = entries.find((e) => e.type === "rollout.planned")?.data["plan"] as { batches?: string[][] } | undefined;
  const names = [...(planned?.batches?.flat() ?? [])];
  for (const e of entries) if (e.container !== undefined && !names.includes(e.container)) names.push(e.container);
  return names;
}

function segmentsOf(entries: readonly JournalEntry[], end: number): Segment[] {
  const open = new Map<string, { at: number; data: Record<string, unknown> }>();
  const out: Segment[] = [];
  for (const e of entries) {
    if (e.container === undefined || (e.type !== "step.begin" && e.type !== "step.end")) continue;
    const step = String(e.data["step"] ?? "?");
    const key = `${e.container}\u0000${step}`;
    const at = Date.parse(e.ts);
    if (e.type === "step.begin") open.set(key, { at, data: e.data });
    else {
      const begun = open.get(key);
      open.delete(key);
      const ok = e.data["ok"] === true;
      const detail = typeof e.data["reason"] === "string" ? `: ${e.data["reason"]}` : typeof e.data["error"] === "string" ? `: ${e.data["error"]}` : "";
      out.push({ container: e.container, step, from: begun?.at ?? at, to: at, ok, title: `${e.container} ${step} ${ok ? "ok" : "FAILED"} (${e.data["ms"] ?? "?"} ms)${detail}` });
    }
  }
  for (const [key, b] of open) {
    const [container, step] = key.split("\u0000") as [string, string];
    out.push({ container, step, from: b.at, to: end, title: `${container} ${step}: begun, no end recorded (in progress, or interrupted)` });
  }
  return out;
}

/**
 * A rollout's timeline as an inline SVG (pure): one row per container in plan order, batches as bands,
 * each journaled step as a bar (rollback steps orange, failed steps outlined red), the health results of
 * the deciding round as dots, each container's outcome at the right, the halt and operator controls as
 * marks. Every element carries a `<title>` for hover.
 */
export function timelineSvg(entries: readonly JournalEntry[]): string {
  if (entries.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="40" role="img" aria-label="no journal"><text x="10" y="24" font-size="13">no journal entries</text></svg>`;
  const times = entries.map((e) => Date.parse(e.ts)).filter(Number.isFinite);
  const t0 = Math.min(...times);
  const t1 = Math.max(...times, t0 + 1000);
  const x = (t: number) => LABEL_W + ((t - t0) / (t1 - t0)) * PLOT_W;
  const containers = containersOf(entries);
  const row = new Map(containers.map((c, i) => [c, i]));
  const y = (c: string) => TOP + (row.get(c) ?? 0) * ROW_H;
  const height = TOP + containers.length * ROW_H + 44;
  const parts: string[] = [];
  parts.push(`<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#ffffff"/>`);
  // batches
  const started = entries.filter((e) => e.type === "batch.started");
  for (const b of started) {
    const n = Number(b.data["batch"]);
    const fin = entries.find((e) => e.type === "batch.finished" && Number(e.data["batch"]) === n);
    const bx = x(Date.parse(b.ts));
    const bw = Math.max(2, x(fin ? Date.parse(fin.ts) : t1) - bx);
    parts.push(`<g class="batch"><title>batch ${n}: ${esc(String((b.data["containers"] as string[] | undefined)?.join(", ") ?? ""))}</title><rect x="${bx.toFixed(1)}" y="${TOP - 8}" width="${bw.toFixed(1)}" height="${containers.length * ROW_H + 8}" fill="${n % 2 === 1 ? "#e3f2fd" : "#ede7f6"}"/><text x="${(bx + 3).toFixed(1)}" y="${TOP - 12}" font-size="11" fill="#37474f">batch ${n}</text></g>`);
  }
  // axis
  parts.push(`<line x1="${LABEL_W}" y1="${TOP - 26}" x2="${LABEL_W + PLOT_W}" y2="${TOP - 26}" stroke="#b0bec5"/>`);
  parts.push(`<text x="${LABEL_W}" y="${TOP - 30}" font-size="10" fill="#546e7a">${esc(new Date(t0).toISOString().slice(11, 19))}Z</text>`);
  parts.push(`<text x="${LABEL_W + PLOT_W}" y="${TOP - 30}" font-size="10" fill="#546e7a" text-anchor="end">+${((t1 - t0) / 1000).toFixed(1)} s</text>`);
  // rows
  for (const c of containers) {
    parts.push(`<text x="6" y="${y(c) + 15}" font-size="12" fill="#263238">${esc(c.length > 24 ? `${c.slice(0, 23)}…` : c)}</text>`);
    parts.push(`<line x1="${LABEL_W}" y1="${y(c) + ROW_H - 1}" x2="${LABEL_W + PLOT_W}" y2="${y(c) + ROW_H - 1}" stroke="#eceff1"/>`);
  }
  for (const s of segmentsOf(entries, t1)) {
    const color = s.step.startsWith("rollback.") ? ROLLBACK_COLOR : (STEP_COLORS[s.step] ?? "#78909c");
    const sx = x(s.from);
    const w = Math.max(3, x(s.to) - sx);
    const stroke = s.ok === false ? ` stroke="#b71c1c" stroke-width="2"` : "";
    parts.push(`<rect class="step" data-step="${esc(s.step)}" x="${sx.toFixed(1)}" y="${y(s.container) + 5}" width="${w.toFixed(1)}" height="${ROW_H - 10}" fill="${color}"${stroke}><title>${esc(s.title)}</title></rect>`);
  }
  // health results of the deciding round
  for (const e of entries) {
    if (e.type !== "step.end" || e.container === undefined || !String(e.data["step"]).endsWith("health") || !Array.isArray(e.data["last"])) continue;
    for (const r of e.data["last"] as { at?: string; ok?: boolean; target?: string; latencyMs?: number; failure?: string }[]) {
      const at = Date.parse(r.at ?? e.ts);
      parts.push(`<circle class="health" cx="${x(Number.isFinite(at) ? at : Date.parse(e.ts)).toFixed(1)}" cy="${y(e.container) + ROW_H / 2}" r="3.5" fill="${r.ok ? "#1b5e20" : "#d50000"}" stroke="#ffffff"><title>${esc(`${r.target ?? "check"} ${r.ok ? "passed" : `failed: ${r.failure ?? ""}`} in ${r.latencyMs ?? "?"} ms`)}</title></circle>`);
    }
  }
  // outcomes
  for (const e of entries) {
    if (e.type !== "container.done" || e.container === undefined) continue;
    const outcome = String(e.data["outcome"]);
    const color = OUTCOME_COLORS[outcome] ?? "#757575";
    const ox = LABEL_W + PLOT_W + 8;
    parts.push(`<g class="outcome" data-container="${esc(e.container)}" data-outcome="${esc(outcome)}"><title>${esc(`${e.container}: ${outcome}: ${String(e.data["reason"] ?? "")}`)}</title><rect x="${ox}" y="${y(e.container) + 3}" width="${OUTCOME_W - 10}" height="${ROW_H - 6}" rx="4" fill="${color}"/><text x="${ox + 6}" y="${y(e.container) + 16}" font-size="11" fill="#ffffff">${esc(outcome)}</text></g>`);
  }
  // halt and controls
  for (const e of entries) {
    const at = x(Date.parse(e.ts));
    if (e.type === "rollout.halted") {
      parts.push(`<g class="halt"><title>${esc(`halted: ${String(e.data["reason"] ?? "")}`)}</title><line x1="${at.toFixed(1)}" y1="${TOP - 20}" x2="${at.toFixed(1)}" y2="${TOP + containers.length * ROW_H}" stroke="#d50000" stroke-width="2" stroke-dasharray="5 3"/><text x="${(at - 3).toFixed(1)}" y="${TOP + containers.length * ROW_H + 14}" font-size="11" fill="#d50000" text-anchor="end">halted</text></g>`);
    } else if (e.type.startsWith("control.")) {
      parts.push(`<g class="control"><title>${esc(`${e.type.slice(8)} by ${String(e.data["who"] ?? "?")}: ${String(e.data["why"] ?? "")}`)}</title><path d="M${at.toFixed(1)} ${TOP - 18} l-5 -8 h10 z" fill="#37474f"/></g>`);
    }
  }
  // legend
  const ly = height - 14;
  const legend = [...Object.entries(STEP_COLORS), ["rollback", ROLLBACK_COLOR] as const];
  legend.forEach(([name, color], i) => {
    parts.push(`<rect x="${6 + i * 92}" y="${ly - 9}" width="10" height="10" fill="${color}"/><text x="${20 + i * 92}" y="${ly}" font-size="11" fill="#37474f">${name}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="rollout timeline" font-family="sans-serif">${parts.join("")}</svg>`;
}
