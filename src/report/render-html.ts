import { escapeHtml as esc } from "./html-escape.js";
import { type Block, OUTCOME_WORDS, reportSections, reportTitle, type Section } from "./report-document.js";
import type { RolloutReport } from "./report-model.js";
import { timelineSvg } from "./timeline-svg.js";

/** The page's own style: no external resources, so the file reads the same offline and in a mail archive. */
export const REPORT_CSS = `
body { font: 14px/1.45 system-ui, sans-serif; color: #0f172a; margin: 0; background: #f8fafc; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 64px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 12px; }
h1 .outcome { padding: 2px 8px; border-radius: 4px; font-size: 16px; }
.outcome-completed { background: #dcfce7; color: #166534; }
.outcome-halted, .outcome-aborted, .outcome-completed-with-failures { background: #fee2e2; color: #991b1b; }
.outcome-unfinished { background: #fef9c3; color: #854d0e; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #e2e8f0; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
p.summary { font-size: 15px; }
table { border-collapse: collapse; margin: 8px 0 12px; width: 100%; font-size: 13px; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border: 1px solid #e2e8f0; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f1f5f9; font-weight: 600; }
td.bad { color: #b91c1c; font-weight: 600; }
td.short { white-space: nowrap; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
.chart { overflow-x: auto; margin: 8px 0 16px; }
`.trim();

/** Words that mark a table cell as bad news. */
const BAD = /^(UNHEALTHY|FAIL|open|HALTED|ABORTED|rolled-back|rollback-failed|still open)$|FAILED/;

function cell(v: string | number | null): string {
  const text = v === null || v === "" ? "-" : String(v);
  const classes = [BAD.test(text) ? "bad" : "", text.length <= 24 ? "short" : ""].filter(Boolean).join(" ");
  return `<td${classes !== "" ? ` class="${classes}"` : ""}>${esc(text)}</td>`;
}

function block(b: Block, chart: () => string, first: boolean): string {
  switch (b.kind) {
    case "p":
      return `<p${first ? ' class="summary"' : ""}>${esc(b.text)}</p>`;
    case "facts":
      return `<dl class="facts">${b.items.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("")}</dl>`;
    case "table":
      if (b.rows.length === 0) return `${b.caption !== undefined ? `<p><strong>${esc(b.caption)}:</strong> none</p>` : "<p>None.</p>"}`;
      return [
        "<table>",
        b.caption !== undefined ? `<caption>${esc(b.caption)}</caption>` : "",
        `<thead><tr>${b.header.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead>`,
        `<tbody>${b.rows.map((row) => `<tr>${row.map(cell).join("")}</tr>`).join("\n")}</tbody>`,
        "</table>",
      ].join("");
    case "list":
      return `<ul>${b.items.map((i) => `<li>${esc(i)}</li>`).join("\n")}</ul>`;
    case "h3":
      return `<h3>${esc(b.text)}</h3>`;
    case "chart":
      return `<figure class="chart">${chart()}</figure>`;
  }
}

/**
 * A self-contained HTML page (inline CSS and SVG, no script, no external resource) of titled sections.
 * `headingHtml` is the page's h1 content, already escaped; `chart` draws the `chart` block.
 */
export function htmlDocument(o: { title: string; headingHtml: string; sections: readonly Section[]; chart?: () => string; footer: string }): string {
  const body: string[] = [`<h1>${o.headingHtml}</h1>`];
  for (const s of o.sections) {
    body.push(`<section id="${esc(s.id)}">`);
    if (s.id !== "summary") body.push(`<h2>${esc(s.title)}</h2>`);
    s.blocks.forEach((b, i) => body.push(block(b, o.chart ?? (() => ""), s.id === "summary" && i === 0)));
    body.push("</section>");
  }
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(o.title)}</title>`,
    `<style>\n${REPORT_CSS}\n</style>`,
    "</head>",
    "<body><main>",
    ...body,
    `<footer><p>${esc(o.footer)}</p></footer>`,
    "</main></body>",
    "</html>",
    "",
  ].join("\n");
}

/** The report as one HTML page; deterministic like the Markdown. */
export function renderHtml(r: RolloutReport): string {
  return htmlDocument({
    title: reportTitle(r),
    headingHtml: `Rollout ${esc(r.rollout)} on ${esc(r.host)}: <span class="outcome outcome-${esc(r.outcome)}">${esc(OUTCOME_WORDS[r.outcome])}</span>`,
    sections: reportSections(r),
    chart: () => timelineSvg(r),
    footer: `patchroll report, format ${r.v}, built from the journal of rollout ${r.rollout} alone.`,
  });
}
