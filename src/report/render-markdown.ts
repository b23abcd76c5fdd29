import { type Block, reportSections, reportTitle, type Section } from "./report-document.js";
import type { RolloutReport } from "./report-model.js";

/**
 * Text from the journal as Markdown text: `<` escaped, so a health check's body excerpt or an error message
 * holding HTML is shown, never rendered, by a Markdown viewer.
 */
export function mdText(text: string): string {
  return text.replace(/</g, "\\<");
}

/** A Markdown table cell: one line, pipes and `<` escaped, `-` when empty. */
export function cell(text: string | number | null | undefined): string {
  if (text === null || text === undefined || text === "") return "-";
  return mdText(String(text).replace(/\r?\n/g, " ").replace(/\|/g, "\\|").trim());
}

/** A Markdown table, or `_none_`. */
export function mdTable(header: readonly string[], rows: readonly (readonly (string | number | null)[])[]): string {
  if (rows.length === 0) return "_none_";
  const line = (cells: readonly (string | number | null)[]) => `| ${cells.map(cell).join(" | ")} |`;
  return [line(header), `|${header.map(() => "---").join("|")}|`, ...rows.map(line)].join("\n");
}

function block(b: Block): string {
  switch (b.kind) {
    case "p":
      return mdText(b.text);
    case "facts":
      return b.items.map(([k, v]) => `- **${k}:** ${v}`).join("\n");
    case "table":
      return `${b.caption !== undefined ? `${b.caption}:\n\n` : ""}${mdTable(b.header, b.rows)}`;
    case "list":
      return b.items.map((i) => `- ${mdText(i.replace(/\r?\n/g, " "))}`).join("\n");
    case "h3":
      return `### ${b.text}`;
    case "chart":
      return "";
  }
}

/** A titled document of sections as Markdown; the `summary` section goes under the title without a heading. */
export function markdownDocument(title: string, sections: readonly Section[]): string {
  const parts = [`# ${title}`];
  for (const s of sections) {
    if (s.id !== "summary") parts.push(`## ${s.title}`);
    parts.push(...s.blocks.map(block).filter((x) => x !== ""));
  }
  return `${parts.join("\n\n")}\n`;
}

/** The report as Markdown (deterministic: times in UTC, no clock read). */
export function renderMarkdown(r: RolloutReport): string {
  return markdownDocument(reportTitle(r), reportSections(r));
}
