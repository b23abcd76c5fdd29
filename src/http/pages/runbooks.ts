import { RUNBOOKS, type RunbookSlug, runbookFile } from "../../status/runbooks.js";
import { type Html, html, raw } from "../html.js";
import { markdownToHtml } from "../markdown.js";

/** The list of runbook pages (pure). */
export function renderRunbookIndex(): Html {
  return html`<p>One page per situation, with the commands to diagnose and fix it. The same pages are files on the host: <code>${runbookFile("rollout-halted").replace(/rollout-halted\.md$/, "")}</code></p>
<ul>${Object.entries(RUNBOOKS).map(([slug, title]) => html`<li><a href="/runbooks/${slug}">${title}</a></li>`)}</ul>`;
}

/** One runbook page from its markdown (the markdown is ours, shipped with patchroll; it is still escaped). */
export function renderRunbook(slug: RunbookSlug, markdown: string): Html {
  return html`<p class="muted">${runbookFile(slug)}</p><article>${raw(markdownToHtml(markdown.replace(/^# .*\n/, "")))}</article>`;
}
