import type { Pin } from "../../containers/pins.js";
import type { Verdict } from "../../detect/verdict.js";
import type { ContainerPatchState } from "../../status/container-states.js";
import { formatDuration } from "../../status/format.js";
import type { RunbookSlug } from "../../status/runbooks.js";
import { type Html, html } from "../html.js";
import { runbookLink } from "../layout.js";
import { badge, when } from "./badges.js";

const VERDICT_RUNBOOK: Partial<Record<Verdict, RunbookSlug>> = { stale: "stale-containers", shadowed: "shadowed-containers", pinned: "container-pinned", "own-dpkg": "own-dpkg-containers" };

/** Every container with its patch state and the runbook for the states that need one (pure). */
export function renderContainers(list: readonly ContainerPatchState[], packages: readonly string[]): Html {
  if (list.length === 0) return html`<p class="muted">No containers.</p>`;
  const scope = packages.length > 0 ? html`<p class="muted">Judged on the packages of recent rollouts: ${packages.join(", ")}.</p>` : html`<p class="muted">Judged on every mapped file (no recent rollout).</p>`;
  return html`${scope}<table><tr><th>Container</th><th>State</th><th>Group</th><th>Patch state</th><th>Exposure</th><th>Notes</th></tr>
${list.map((c) => {
    const rb = c.verdict !== undefined ? VERDICT_RUNBOOK[c.verdict] : undefined;
    return html`<tr><td>${c.name}</td><td>${c.state}</td><td>${c.group}${c.canary ? " (canary)" : ""}</td>
<td>${c.verdict !== undefined ? badge(c.verdict) : html`<span class="muted">unmanaged: ${c.unmanagedReason ?? ""}</span>`}${c.stale > 0 ? ` ${c.stale} outdated file(s) in use` : ""}${c.shadowed > 0 ? ` ${c.shadowed} shadowed file(s)` : ""}${rb !== undefined ? runbookLink(rb) : ""}</td>
<td>${c.exposure !== undefined ? html`${formatDuration(c.exposure.ageSec)} <span class="muted">(${c.exposure.path})</span>` : "-"}</td>
<td>${c.pin !== undefined ? `pinned to ${c.pin.packages.map((p) => `${p.name} ${p.version}`).join(", ")}; ` : ""}${c.notes.join(" ")}</td></tr>`;
  })}</table>`;
}

/** Containers deliberately running old package files (pure). */
export function renderPins(pins: readonly Pin[]): Html {
  if (pins.length === 0) return html`<p class="muted">No pins: every container runs the host's current package files.</p>`;
  return html`<p>These containers were rolled back and run old package files on purpose. Release a pin with <code>patchroll unpin CONTAINER</code> once a fixed package is installed.${runbookLink("container-pinned")}</p>
<table><tr><th>Container</th><th>Packages</th><th>Since</th><th>Rollout</th><th>Files</th></tr>
${pins.map((p) => html`<tr><td>${p.container}</td><td>${p.packages.map((x) => `${x.name} ${x.version} (${x.arch})`).join(", ")}</td><td>${when(p.createdAt)}</td><td><a href="/rollouts/${encodeURIComponent(p.rollout)}">${p.rollout}</a></td><td>${p.paths.length}</td></tr>`)}</table>`;
}
