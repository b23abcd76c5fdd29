import { VERDICTS } from "../../detect/verdict.js";
import { formatBytes, formatDuration, rolloutProgress } from "../../status/format.js";
import { COUNTED_STATES } from "../../status/queue-counts.js";
import type { StatusReport } from "../../status/status-report.js";
import { type Html, html } from "../html.js";
import { runbookLink } from "../layout.js";
import { badge } from "./badges.js";

function attention(r: StatusReport): Html {
  if (r.attention.length === 0) return html`<div class="banner ok">Nothing needs a human.</div>`;
  return html`${r.attention.map((a) => html`<div class="banner ${a.severity}"><strong>${a.severity === "critical" ? "Critical" : "Warning"}:</strong> ${a.what}<br>next: <code>${a.next}</code>${runbookLink(a.runbook)}</div>`)}`;
}

/** The front page: what `patchroll status` prints, with links (pure). */
export function renderOverview(r: StatusReport): Html {
  const h = r.redis.health;
  return html`${attention(r)}
<h2>Rollouts</h2>
${(r.active ?? []).length === 0 ? html`<p class="muted">No rollout running.</p>` : html`<table><tr><th>Rollout</th><th>Status</th><th>Progress</th><th>Packages</th></tr>${(r.active ?? []).map((a) => html`<tr><td><a href="/rollouts/${encodeURIComponent(a.id)}">${a.id}</a></td><td>${badge(a.status)}</td><td>${rolloutProgress(a)}</td><td>${a.packages.join(", ")}</td></tr>`)}</table>`}
${(r.halted ?? []).length === 0 ? "" : html`<p>Halted: ${(r.halted ?? []).map((h2) => html`<a href="/rollouts/${encodeURIComponent(h2.id)}">${h2.id}</a> `)}</p>`}
<h2>Containers</h2>
<p>${r.containers.managed} managed${r.containers.total > r.containers.managed ? `, ${r.containers.total - r.containers.managed} unmanaged` : ""}:
${VERDICTS.filter((v) => r.containers.byVerdict[v] > 0).map((v) => html`${badge(v)} ${r.containers.byVerdict[v]} `)}
<a href="/containers">details</a>${r.containers.error !== undefined ? html` <span class="banner critical">scan failed: ${r.containers.error}</span>` : ""}</p>
<p>Oldest exposure: ${r.exposure === null ? "none" : html`<strong>${r.exposure.container}</strong> runs an old <code>${r.exposure.path}</code> for ${formatDuration(r.exposure.ageSec)} (since ${r.exposure.since})`}</p>
<p>Pinned: ${r.pins.length === 0 ? "none" : html`<a href="/pins">${r.pins.length} container(s)</a>`}</p>
<h2>Queues</h2>
${r.queues === null ? html`<p class="banner critical">Redis unreachable: ${r.redis.error ?? ""}${runbookLink("redis-down")}</p>` : html`<table><tr><th>Queue</th>${COUNTED_STATES.map((s) => html`<th>${s}</th>`)}<th>stalled</th><th>workers</th></tr>${r.queues.map((q) => html`<tr><td><a href="/queues/queue/${q.queue}">${q.queue}</a>${q.paused ? " (paused)" : ""}</td>${COUNTED_STATES.map((s) => html`<td>${q.counts[s]}</td>`)}<td>${q.stalled}</td><td>${q.workers}</td></tr>`)}</table>`}
<h2>Host</h2>
<dl class="facts">
<dt>Redis</dt><dd>${r.redis.where}${h !== undefined ? `: ${h.version}, ${formatBytes(h.usedMemory)}, AOF ${h.persistence.aof ? h.persistence.appendfsync : "off"}, ${h.maxmemoryPolicy}` : ""}</dd>
<dt>Spool</dt><dd>${r.spool.records} record(s) waiting${r.spool.oldestAgeSec !== undefined ? `, oldest ${formatDuration(r.spool.oldestAgeSec)}` : ""}${r.spool.corrupt > 0 ? `, ${r.spool.corrupt} corrupt` : ""}</dd>
<dt>As of</dt><dd>${r.at}</dd>
</dl>`;
}
