import { RUNBOOKS, type RunbookSlug, runbookUrlPath } from "../status/runbooks.js";
import { type Html, html } from "./html.js";
import type { Session } from "./sessions.js";

/** What every page needs besides its body. */
export interface PageContext {
  host: string;
  session?: Session;
  /** The path being shown (marks the current tab, and is where sign-in returns to). */
  path: string;
  /** Fleet mode: the Fleet tab is shown. */
  fleet?: boolean;
  /** Reload the page every this many seconds (a page that follows something live). */
  refreshSec?: number;
}

const TABS: [string, string][] = [
  ["/", "Overview"],
  ["/rollouts", "Rollouts"],
  ["/containers", "Containers"],
  ["/pins", "Pins"],
  ["/queues", "Queues"],
  ["/runbooks", "Runbooks"],
  ["/metrics", "Metrics"],
];

/** A link to a runbook page, as every page shows it next to a problem. */
export function runbookLink(slug: RunbookSlug): Html {
  return html`<a class="runbook" href="${runbookUrlPath(slug)}">runbook: ${RUNBOOKS[slug]}</a>`;
}

function who(ctx: PageContext): Html {
  if (ctx.session === undefined) return html`<span class="readonly">read-only</span> <a href="/login?next=${encodeURIComponent(ctx.path)}">sign in to act</a>`;
  return html`signed in as <strong>${ctx.session.who}</strong>
    <form class="inline" method="post" action="/logout"><input type="hidden" name="nonce" value="${ctx.session.nonce}"><button type="submit">sign out</button></form>`;
}

/** The dashboard's page frame: title, tabs, who is signed in, the body. */
export function page(title: string, body: Html, ctx: PageContext): string {
  const current = (href: string) => (href === "/" ? ctx.path === "/" : ctx.path.startsWith(href));
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · patchroll ${ctx.host}</title><link rel="stylesheet" href="/static/patchroll.css">${ctx.refreshSec !== undefined ? html`<meta http-equiv="refresh" content="${ctx.refreshSec}">` : ""}</head>
<body><header><span class="brand">patchroll</span> <span class="host">${ctx.host}</span>
<nav>${(ctx.fleet === true ? [...TABS.slice(0, 1), ["/fleet", "Fleet"] as [string, string], ...TABS.slice(1)] : TABS).map(([href, name]) => html`<a href="${href}"${current(href) ? html` class="current"` : ""}>${name}</a>`)}</nav>
<span class="who">${who(ctx)}</span></header>
<main><h1>${title}</h1>${body}</main></body></html>`.text;
}
