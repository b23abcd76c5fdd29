import { markdownToHtml } from "../http/markdown.js";
import { escapeHtml } from "../report/html-escape.js";
import { formatDuration } from "../status/format.js";
import type { FleetReport } from "./fleet-report.js";

/** The fleet report of one version as Markdown (pure). */
export function fleetReportMarkdown(r: FleetReport): string {
  const lines = [
    `# ${r.package} ${r.version} across the fleet`,
    "",
    `**Status:** ${r.status}. First seen ${r.firstSeen}; report made ${r.at}.`,
  ];
  if (r.trimmed) lines.push("", "**The fleet stream was trimmed** past this version's first sighting: early milestones may be missing here; each host's journal keeps them (`patchroll rollouts show ROLLOUT` on that host).");
  if (r.verdict !== null) lines.push("", `**Held by a ${r.verdict.state} rollout:** ${r.verdict.host}, rollout \`${r.verdict.rollout}\`${r.verdict.container !== undefined ? `, container \`${r.verdict.container}\`` : ""}, at ${r.verdict.at}: ${r.verdict.reason}`);
  if (r.hold !== null) lines.push("", `**Held by ${r.hold.who}** at ${r.hold.at}: ${r.hold.why}`);
  if (r.release !== null) lines.push("", `**Last released by ${r.release.who}** at ${r.release.at}: ${r.release.why}`);
  for (const [i, w] of r.waves.entries()) {
    lines.push("", `## Wave ${i + 1}`, "");
    for (const h of w) {
      const times = [h.reportedAt && `reported ${h.reportedAt}`, h.startedAt && `restarting from ${h.startedAt}`, h.endedAt && `through ${h.endedAt}`].filter(Boolean).join(", ");
      const exposed = h.exposureSec !== undefined ? `; ran the old version ${formatDuration(h.exposureSec)} after it reported this one${h.endedAt === undefined ? " (and still does)" : ""}` : "";
      lines.push(`- **${h.host}**: ${h.state}${h.rollout !== undefined && h.rollout !== "none" ? ` (rollout \`${h.rollout}\`${h.restarted !== undefined ? `, ${h.restarted} container(s) patched` : ""})` : ""}${times !== "" ? `; ${times}` : ""}${exposed}`);
    }
  }
  lines.push("", "## Human actions", "");
  if (r.actions.length === 0) lines.push("None.");
  for (const a of r.actions) lines.push(`- ${a.at}: **${a.action}** by ${a.who} (on ${a.host}): ${a.why}`);
  return `${lines.join("\n")}\n`;
}

/** The fleet report as md, html (the Markdown as a page of its own) or json. */
export function renderFleetReport(r: FleetReport, format: "md" | "html" | "json"): string {
  if (format === "json") return `${JSON.stringify(r, null, 2)}\n`;
  const md = fleetReportMarkdown(r);
  if (format === "md") return md;
  const title = escapeHtml(`${r.package} ${r.version} across the fleet`);
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title><style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5}code{background:#f3f3f3;padding:0 .2em}</style></head><body>\n${markdownToHtml(md)}\n</body></html>\n`;
}
