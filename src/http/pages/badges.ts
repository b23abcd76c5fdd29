import { type Html, html } from "../html.js";

/** A coloured word: an outcome, a verdict or a rollout status. */
export function badge(word: string): Html {
  return html`<span class="badge b-${word.replace(/[^a-z-]/g, "")}">${word}</span>`;
}

/** `2026-11-23 06:31:15Z` from an ISO time. */
export function when(iso: string | undefined): string {
  return iso === undefined ? "-" : iso.replace("T", " ").replace(/\.\d+Z$/, "Z");
}
