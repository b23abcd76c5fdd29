import { type Html, html } from "../html.js";

/** The sign-in form: the dashboard token (from the token file) and a name to journal actions under (pure). */
export function renderLogin(o: { next: string; tokenFile: string; error?: string }): Html {
  return html`${o.error !== undefined ? html`<div class="banner critical">${o.error}</div>` : ""}
<p>Reading needs no sign-in. Actions (pause, resume, approve, abort, retry) need the dashboard token, which is in
<code>${o.tokenFile}</code> on the host (root only): <code>sudo cat ${o.tokenFile}</code>.</p>
<form class="controls" method="post" action="/login">
<input type="hidden" name="next" value="${o.next}">
<label>Your name (journaled with every action): <input type="text" name="who" required autocomplete="username"></label><br>
<label>Token: <input type="password" name="token" required autocomplete="current-password"></label><br>
<button type="submit">Sign in</button></form>`;
}
