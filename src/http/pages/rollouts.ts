import type { RolloutState } from "../../rollout/rollout-store.js";
import { rolloutProgress } from "../../status/format.js";
import { type Html, html } from "../html.js";
import { badge, when } from "./badges.js";

/** Every rollout, newest first (pure). */
export function renderRollouts(list: readonly RolloutState[]): Html {
  if (list.length === 0) return html`<p class="muted">No rollouts yet.</p>`;
  return html`<table><tr><th>Rollout</th><th>Status</th><th>Packages</th><th>Progress</th><th>Created</th><th>Updated</th></tr>
${list.map((r) => html`<tr><td><a href="/rollouts/${encodeURIComponent(r.id)}">${r.id}</a></td><td>${badge(r.status)}</td><td>${r.packages.join(", ")}</td><td>${rolloutProgress(r)}</td><td>${when(r.createdAt)}</td><td>${when(r.updatedAt)}</td></tr>`)}</table>`;
}
