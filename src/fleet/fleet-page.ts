import { type Html, html } from "../http/html.js";
import { runbookLink } from "../http/layout.js";
import { badge, when } from "../http/pages/badges.js";
import type { FleetStatus } from "./fleet-status.js";

/** Seconds between two reloads of the fleet page: it follows the fleet live. */
export const FLEET_PAGE_REFRESH_SEC = 5;

function attention(s: FleetStatus): Html {
  if (s.attention.length === 0) return html`<div class="banner ok">Nothing in the fleet needs a human.</div>`;
  return html`${s.attention.map((a) => html`<div class="banner ${a.severity}"><strong>${a.severity === "critical" ? "Critical" : "Warning"}:</strong> ${a.what}<br>next: <code>${a.next}</code>${runbookLink(a.runbook)}</div>`)}`;
}

/** The dashboard's `/fleet` page: what `patchroll fleet status` prints (pure). */
export function renderFleetPage(s: FleetStatus): Html {
  const c = s.hosts.counts;
  return html`${attention(s)}
<h2>Hosts</h2>
<p>${s.hosts.list.length} registered: ${c.up} up, ${c.stopped} stopped, ${c.lost} lost</p>
<table class="fleet-hosts"><tr><th>Host</th><th>Status</th><th>Version</th><th>Managed / stale / shadowed / pinned</th><th>Rollout</th><th>Last heartbeat</th></tr>
${s.hosts.list.map((h) => {
  const r = h.record;
  const k = r?.containers;
  const rollout = r?.rollout == null ? "idle" : `${r.rollout.id} ${r.rollout.status}${r.rollout.waitReason !== undefined ? `: ${r.rollout.waitReason}` : ""}`;
  return html`<tr data-host="${h.host}"><td>${h.host}</td><td>${badge(h.status)}</td><td>${r?.version ?? "?"}</td><td>${k == null ? "?" : `${k.managed} / ${k.stale} / ${k.shadowed} / ${k.pinned}`}</td><td>${h.status === "up" ? "" : "last word: "}${rollout}</td><td>${when(h.lastSeen)}</td></tr>`;
})}</table>
<h2>Versions in flight</h2>
${s.versions.length === 0 ? html`<p class="muted">None: every version the fleet saw has passed.</p>` : html`<table class="fleet-versions"><tr><th>Version</th><th>Status</th><th>Waves (hosts through / hosts)</th><th>Why</th></tr>
${s.versions.map((v) => html`<tr data-version="${v.package}=${v.version}"><td>${v.package}=${v.version}</td><td>${badge(v.status)}</td><td>${v.waves.map((w, i) => `${i + 1}: ${w.filter((x) => x.state === "passed" || x.state === "absent").length}/${w.length}`).join(", ")}</td><td>${v.hold !== null ? `held by ${v.hold.who}: ${v.hold.why}` : v.verdict !== null ? `${v.verdict.state} on ${v.verdict.host} (rollout ${v.verdict.rollout}): ${v.verdict.reason}` : ""}</td></tr>`)}</table>`}
<h2>Fleet slots</h2>
<p>${s.slots.length === 0 ? "None held." : s.slots.map((x) => `${x.host} (rollout ${x.rollout}, token ${x.token}, lease to ${when(x.expiresAt)})`).join(", ")}</p>
<dl class="facts">
<dt>Oldest exposure</dt><dd>${s.exposure === null ? "none reported" : `${s.exposure.host}/${s.exposure.container} since ${when(s.exposure.since)}`}</dd>
<dt>As of</dt><dd>${s.at} (this page reloads every ${FLEET_PAGE_REFRESH_SEC} s)</dd>
</dl>`;
}
