import { attentionLines } from "../status/render-status.js";
import type { FleetStatus } from "./fleet-status.js";

const label = (name: string) => name.padEnd(10);

/** `patchroll fleet status` as one screen of text (pure). */
export function renderFleetStatus(s: FleetStatus): string {
  const c = s.hosts.counts;
  const lines = [
    `patchroll fleet at ${s.at}`,
    `${label("hosts")}${s.hosts.list.length} registered: ${c.up} up, ${c.stopped} stopped, ${c.lost} lost${c.lost > 0 ? ` (${s.hosts.list.filter((h) => h.status === "lost").map((h) => h.host).join(", ")})` : ""}`,
  ];
  if (s.versions.length === 0) lines.push(`${label("versions")}none in flight`);
  for (const [i, v] of s.versions.entries()) {
    const waves = v.waves.map((w, n) => `${n + 1}:${w.filter((h) => h.state === "passed" || h.state === "absent").length}/${w.length}`).join(" ");
    lines.push(`${label(i === 0 ? "versions" : "")}${v.package}=${v.version} ${v.status.toUpperCase()}, waves done ${waves}`);
  }
  lines.push(`${label("slots")}${s.slots.length === 0 ? "none held" : s.slots.map((x) => `${x.host} (rollout ${x.rollout}, token ${x.token}, lease to ${x.expiresAt})`).join(", ")}`);
  lines.push(`${label("exposure")}${s.exposure === null ? "none reported" : `${s.exposure.host}/${s.exposure.container} runs outdated code since ${s.exposure.since}${s.exposure.package !== undefined ? ` (${s.exposure.package})` : ""}`}`);
  return [...lines, ...attentionLines(s.attention, "nothing in the fleet needs a human")].join("\n");
}
