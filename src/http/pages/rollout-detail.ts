import { entriesOf, type JournalEntry } from "../../journal/entry.js";
import { journalState } from "../../rollout/resume.js";
import type { ControlState } from "../../rollout/controls.js";
import type { RolloutState } from "../../rollout/rollout-store.js";
import { rolloutProgress } from "../../status/format.js";
import { type Html, html, raw } from "../html.js";
import { runbookLink } from "../layout.js";
import type { Session } from "../sessions.js";
import { buildReport } from "../../report/build-report.js";
import { timelineSvg } from "../../report/timeline-svg.js";
import { badge, when } from "./badges.js";

export interface RolloutDetail {
  id: string;
  host: string;
  /** Live state; absent when Redis is away or was flushed (the journal still tells the story). */
  state?: RolloutState;
  entries: JournalEntry[];
  controls?: ControlState;
  session?: Session;
  /** A note after an action ("pause recorded"). */
  flash?: string;
}

const SUMMARY_KEYS = ["step", "ok", "ms", "batch", "reason", "outcome", "snapshot", "detail", "error", "who", "why"];

function summary(data: Record<string, unknown>): string {
  return SUMMARY_KEYS.filter((k) => data[k] !== undefined).map((k) => `${k}=${typeof data[k] === "string" ? data[k] : JSON.stringify(data[k])}`).join(" ");
}

function controlsForm(d: RolloutDetail): Html {
  if (d.session === undefined) return html`<p class="muted">Read-only. <a href="/login?next=${encodeURIComponent(`/rollouts/${d.id}`)}">Sign in with the dashboard token</a> to pause, resume, approve, abort or retry.</p>`;
  return html`<form class="controls" method="post" action="/rollouts/${encodeURIComponent(d.id)}/control">
<input type="hidden" name="nonce" value="${d.session.nonce}">
<label>Why (journaled with your name): <input type="text" name="why" required placeholder="e.g. canary looks slow, investigating"></label><br>
<button type="submit" name="action" value="pause">Pause</button>
<button type="submit" name="action" value="resume">Resume</button>
<button type="submit" name="action" value="approve">Approve batch</button> <label>batch <input type="number" name="batch" min="1" placeholder="the one it waits at"></label>
<button type="submit" name="action" value="retry">Retry</button>
<button type="submit" name="action" value="abort">Abort</button> <label><input type="checkbox" name="rollBackCompleted" value="1"> also roll back patched containers</label>
</form>`;
}

function standing(c: ControlState | undefined): string {
  if (c === undefined) return "-";
  const parts = [c.paused ? `paused by ${c.paused.who}: ${c.paused.why}` : "not paused", ...(c.aborted ? [`aborted by ${c.aborted.who}: ${c.aborted.why}`] : []), ...(c.approved.length > 0 ? [`approved batches ${c.approved.join(", ")}`] : [])];
  return parts.join("; ");
}

/**
 * A rollout's page: facts, controls, the timeline picture (the same chart as the report's, built from the
 * journal), outcomes and the journal (pure).
 */
export function renderRolloutDetail(d: RolloutDetail): Html {
  const js = journalState(d.entries);
  const status = d.state?.status ?? js.ended ?? "unknown";
  const outcomes = d.state?.outcomes ?? [...js.finished.values()];
  const halted = d.state?.haltReason ?? entriesOf(d.entries, "rollout.halted")[0]?.data.reason;
  return html`${d.flash !== undefined ? html`<div class="banner flash">${d.flash}</div>` : ""}
${status === "halted" ? html`<div class="banner critical"><strong>Halted:</strong> ${halted ?? ""}${runbookLink("rollout-halted")}</div>` : ""}
${d.state === undefined ? html`<div class="banner warning">No live state in Redis (away or flushed): shown from the journal.</div>` : ""}
<dl class="facts">
<dt>Status</dt><dd>${badge(status)}</dd>
<dt>Packages</dt><dd>${d.state?.packages.join(", ") ?? "-"}</dd>
<dt>Progress</dt><dd>${d.state !== undefined ? rolloutProgress(d.state) : "-"}</dd>
<dt>Controls</dt><dd>${standing(d.controls)}</dd>
<dt>Created</dt><dd>${when(d.state?.createdAt ?? d.entries[0]?.ts)}</dd>
</dl>
${controlsForm(d)}
<h2>Timeline</h2>
${d.entries.length === 0 ? html`<p class="muted">No journal entries yet.</p>` : raw(timelineSvg(buildReport({ host: d.host, rollout: d.id, read: { entries: d.entries, problems: [] } })))}
<h2>Containers</h2>
${outcomes.length === 0 ? html`<p class="muted">No container finished yet.</p>` : html`<table><tr><th>Container</th><th>Outcome</th><th>Reason</th></tr>${outcomes.map((o) => html`<tr><td>${o.container}</td><td>${badge(o.outcome)}</td><td>${o.reason}${o.outcome === "rolled-back" || o.outcome === "rollback-failed" ? runbookLink("container-pinned") : ""}</td></tr>`)}</table>`}
<h2>Journal</h2>
<p class="muted">${d.entries.length} entries; how to read them: ${runbookLink("read-a-report")}</p>
<table><tr><th>#</th><th>Time</th><th>Type</th><th>Container</th><th>Details</th></tr>
${d.entries.map((e) => html`<tr><td>${e.seq}</td><td>${e.ts.slice(11, 23)}</td><td>${e.type}</td><td>${e.container ?? ""}</td><td>${summary(e.data)}</td></tr>`)}</table>`;
}
