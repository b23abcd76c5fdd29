import { escapeHtml as esc } from "./html-escape.js";
import type { RolloutReport } from "./report-model.js";
import { formatDuration, msBetween } from "./time-format.js";

const W = 960;
const LABEL_W = 170;
const PLOT_W = W - LABEL_W - 24;
const TOP = 40;
const ROW = 26;
const BAR = 14;

/** Step colours; every rollback step is a shade of red so a rollback stands out at a glance. */
const STEP_FILL: Record<string, string> = {
  precopy: "#cbd5e1",
  snapshot: "#94a3b8",
  stop: "#475569",
  start: "#2563eb",
  health: "#16a34a",
  verify: "#0d9488",
  "rollback.stop": "#b91c1c",
  "rollback.restore": "#dc2626",
  "rollback.pin": "#ea580c",
  "rollback.start": "#b91c1c",
  "rollback.health": "#f97316",
};
/** A step the chart has no colour of its own for (a step type newer than this chart). */
const OTHER_STEP_FILL = "#a855f7";
const FAILED_STEP_FILL = "#ef4444";

/** What each colour a step bar can have means, in legend order: every colour the bars use is here. */
const LEGEND: readonly (readonly [label: string, color: string])[] = [
  ["snapshot", STEP_FILL["snapshot"]!],
  ["stop", STEP_FILL["stop"]!],
  ["start", STEP_FILL["start"]!],
  ["health", STEP_FILL["health"]!],
  ["verify", STEP_FILL["verify"]!],
  ["rollback stop/start", STEP_FILL["rollback.stop"]!],
  ["restore delta", STEP_FILL["rollback.restore"]!],
  ["pin old files", STEP_FILL["rollback.pin"]!],
  ["rollback health", STEP_FILL["rollback.health"]!],
  ["failed step", FAILED_STEP_FILL],
  ["other step", OTHER_STEP_FILL],
];
/** The colour of a step's bar. */
function stepFill(s: Pick<RolloutReport["containers"][number]["steps"][number], "step" | "failed">): string {
  return s.failed ? FAILED_STEP_FILL : (STEP_FILL[s.step] ?? OTHER_STEP_FILL);
}
const LEGEND_PER_ROW = 6;
const LEGEND_ENTRY_W = 125;
const LEGEND_ROW_H = 18;

const OUTCOME_FILL: Record<string, string> = { patched: "#16a34a", unverified: "#ca8a04", "rolled-back": "#ea580c", "rollback-failed": "#b91c1c", skipped: "#64748b" };

const n = (v: number) => String(Math.round(v * 10) / 10);

/** A tick interval of 1, 2 or 5 times a power of ten, giving at most 8 ticks over `span` ms. */
function tickStep(span: number): number {
  for (let p = 1; ; p *= 10) for (const m of [1, 2, 5]) if (span / (m * p) <= 8) return m * p;
}

/**
 * The rollout as an inline SVG chart (pure, deterministic): one row per container with a bar per step
 * (rollback steps in red), its outcome as a dot, batches and bake times as bands, and the halt, human
 * actions and resumptions as vertical lines. Hovering any mark shows its details (SVG `<title>`).
 */
export function timelineSvg(r: RolloutReport): string {
  const t0 = r.startedAt;
  // An unfinished rollout is drawn up to its own last entry (asOf may be a later rollout's).
  const end = r.endedAt ?? r.timeline.at(-1)?.at ?? t0;
  const span = Math.max(msBetween(t0, end) ?? 0, 1);
  const x = (t: string | null) => LABEL_W + (Math.min(Math.max(msBetween(t0, t) ?? 0, 0), span) / span) * PLOT_W;
  const rows = r.containers;
  const plotH = Math.max(rows.length, 1) * ROW;
  // The legend shows the colours this chart draws: a row per LEGEND_PER_ROW of them.
  const drawn = new Set<string>();
  for (const c of rows) for (const s of c.steps) drawn.add(stepFill(s));
  const legend = LEGEND.filter(([, color]) => drawn.has(color));
  const H = TOP + plotH + 64 + Math.max(Math.ceil(legend.length / LEGEND_PER_ROW) - 1, 0) * LEGEND_ROW_H;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-labelledby="chart-title chart-desc" font-family="system-ui, sans-serif" font-size="12">`);
  out.push(`<title id="chart-title">Rollout ${esc(r.rollout)}: batches and container restarts over time</title>`);
  out.push(`<desc id="chart-desc">${rows.length} containers, ${r.batches.length} batches, outcome ${esc(r.outcome)}, over ${esc(formatDuration(span))}.</desc>`);
  out.push(`<defs><pattern id="bake" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="3" height="6" fill="#e2e8f0"/></pattern></defs>`);
  for (const b of r.batches) {
    if (b.startedAt === null) continue;
    const x1 = x(b.startedAt);
    const x2 = Math.max(x(b.finishedAt ?? end), x1 + 2);
    out.push(`<g class="batch"><rect x="${n(x1)}" y="${TOP - 6}" width="${n(x2 - x1)}" height="${plotH + 6}" fill="${b.batch % 2 === 1 ? "#eef2ff" : "#f5f3ff"}" stroke="#c7d2fe"><title>batch ${b.batch}: ${esc(b.containers.join(", "))}; ${b.failures ?? "?"} failure(s) so far</title></rect>`);
    out.push(`<text x="${n(x1 + 3)}" y="${TOP - 10}" fill="#3730a3">batch ${b.batch}</text></g>`);
    if (b.bakeMs !== null && b.finishedAt !== null) {
      const bakeEnd = new Date(Date.parse(b.finishedAt) + b.bakeMs).toISOString();
      const bx = x(b.finishedAt);
      const bw = Math.max(x(bakeEnd) - bx, 1);
      out.push(`<g class="bake"><rect x="${n(bx)}" y="${TOP - 6}" width="${n(bw)}" height="${plotH + 6}" fill="url(#bake)"/><title>bake after batch ${b.batch}: ${esc(formatDuration(b.bakeMs))}</title>`);
      out.push(`${bw > 60 ? `<text x="${n(bx + 3)}" y="${TOP - 10}" fill="#475569">bake ${esc(formatDuration(b.bakeMs))}</text>` : ""}</g>`);
    }
  }
  rows.forEach((c, i) => {
    const y = TOP + i * ROW;
    const mid = y + ROW / 2;
    out.push(`<g class="container" data-container="${esc(c.name)}">`);
    out.push(`<text x="${LABEL_W - 8}" y="${n(mid + 4)}" text-anchor="end" fill="#0f172a">${esc(c.name)}</text>`);
    out.push(`<line x1="${LABEL_W}" x2="${LABEL_W + PLOT_W}" y1="${n(mid)}" y2="${n(mid)}" stroke="#e2e8f0"/>`);
    if (c.steps.length === 0) out.push(`<text x="${LABEL_W + 4}" y="${n(mid + 4)}" fill="#64748b" font-style="italic">${r.outcome === "unfinished" ? "waiting" : "untouched"}</text>`);
    for (const s of c.steps) {
      const x1 = x(s.beganAt);
      const w = Math.max(x(s.endedAt ?? end) - x1, 2);
      const failed = s.failed;
      const stroke = failed ? ` stroke="#450a0a" stroke-width="1.5"` : s.endedAt === null ? ` stroke="#0f172a" stroke-dasharray="3 2"` : "";
      const verdict = s.ok === false ? ` FAILED: ${s.error ?? ""}` : failed ? (s.step.endsWith("health") ? " UNHEALTHY" : " NOT verified") : s.endedAt === null ? ": no end recorded" : "";
      const what = `${s.step}${verdict} (${formatDuration(s.ms ?? msBetween(s.beganAt, s.endedAt))})`;
      out.push(`<rect class="step${s.step.startsWith("rollback") ? " rollback" : ""}${failed ? " failed" : ""}" x="${n(x1)}" y="${n(mid - BAR / 2)}" width="${n(w)}" height="${BAR}" fill="${stepFill(s)}"${stroke}><title>${esc(c.name)}: ${esc(what)}</title></rect>`);
    }
    if (c.doneAt !== null && c.outcome !== null) {
      out.push(`<circle class="outcome" cx="${n(x(c.doneAt))}" cy="${n(mid)}" r="5" fill="${OUTCOME_FILL[c.outcome] ?? "#64748b"}" stroke="#fff"><title>${esc(c.name)}: ${esc(c.outcome)}</title></circle>`);
    }
    out.push("</g>");
  });
  const marks: { at: string; label: string; color: string; title: string }[] = [
    ...r.controls.map((c) => ({ at: c.at, label: `${c.action} (${c.who})`, color: "#7c3aed", title: `${c.who} asked to ${c.action}: ${c.why}` })),
    ...r.timeline.filter((t) => t.type === "rollout.resumed" || t.type === "rollout.released").map((t) => ({ at: t.at, label: t.type.slice("rollout.".length), color: "#0369a1", title: t.text })),
    ...r.timeline.filter((t) => t.type === "rollout.waiting").map((t) => ({ at: t.at, label: t.text.startsWith("paused") ? "paused" : "waiting", color: "#ca8a04", title: t.text })),
    ...(r.halt !== null ? [{ at: r.halt.at, label: r.halt.kind, color: "#b91c1c", title: r.halt.reason }] : []),
  ];
  for (const m of marks) {
    const mx = x(m.at);
    // Labels near the right edge go to the left of their line, so they stay inside the chart.
    const right = mx > LABEL_W + PLOT_W * 0.8;
    const label = `<text x="${n(right ? mx - 3 : mx + 3)}" y="${TOP + plotH + 12}" fill="${m.color}"${right ? ' text-anchor="end"' : ""}>${esc(m.label)}</text>`;
    out.push(`<g class="mark"><line x1="${n(mx)}" x2="${n(mx)}" y1="${TOP - 6}" y2="${TOP + plotH}" stroke="${m.color}" stroke-width="2" stroke-dasharray="5 3"/>${label}<title>${esc(m.title)}</title></g>`);
  }
  const step = tickStep(span);
  const axisY = TOP + plotH + 26;
  out.push(`<g class="axis" fill="#334155"><line x1="${LABEL_W}" x2="${LABEL_W + PLOT_W}" y1="${axisY - 10}" y2="${axisY - 10}" stroke="#94a3b8"/>`);
  for (let t = 0; t <= span; t += step) {
    const tx = LABEL_W + (t / span) * PLOT_W;
    out.push(`<line x1="${n(tx)}" x2="${n(tx)}" y1="${axisY - 14}" y2="${axisY - 6}" stroke="#94a3b8"/><text x="${n(tx)}" y="${axisY + 4}" text-anchor="middle">+${esc(formatDuration(t))}</text>`);
  }
  out.push("</g>");
  out.push(`<g class="legend" transform="translate(${LABEL_W} ${axisY + 18})">`);
  legend.forEach(([label, color], i) => {
    const lx = (i % LEGEND_PER_ROW) * LEGEND_ENTRY_W;
    const ly = Math.floor(i / LEGEND_PER_ROW) * LEGEND_ROW_H;
    out.push(`<rect x="${lx}" y="${ly - 9}" width="12" height="12" fill="${color}"/><text x="${lx + 16}" y="${ly + 1}">${label}</text>`);
  });
  out.push("</g></svg>");
  return out.join("\n");
}
