import type { Digest } from "./digest.js";
import { digestSections, digestTitle } from "./digest-document.js";
import { escapeHtml } from "./html-escape.js";
import type { RolloutReport } from "./report-model.js";
import { htmlDocument, renderHtml } from "./render-html.js";
import { markdownDocument, renderMarkdown } from "./render-markdown.js";

/** The formats of `patchroll report`. */
export const REPORT_FORMATS = ["md", "html", "json"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** A rollout report in `format`; JSON is `{ "report": RolloutReport }` (docs/cli.md). */
export function renderRolloutReport(r: RolloutReport, format: ReportFormat): string {
  if (format === "json") return json({ report: r });
  return format === "html" ? renderHtml(r) : renderMarkdown(r);
}

/** A digest in `format`; JSON is `{ "digest": Digest }` (docs/cli.md). */
export function renderDigest(d: Digest, format: ReportFormat): string {
  if (format === "json") return json({ digest: d });
  const sections = digestSections(d);
  if (format === "md") return markdownDocument(digestTitle(d), sections);
  return htmlDocument({ title: digestTitle(d), headingHtml: escapeHtml(digestTitle(d)), sections, footer: `patchroll digest, format ${d.v}, built from the journals alone.` });
}
