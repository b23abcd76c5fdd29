import { timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { parseCookies, SESSION_COOKIE, type Session, type SessionStore } from "./sessions.js";
import { tokenMatches } from "./token-file.js";

/** Who performs an action, as journaled. */
export interface Actor {
  who: string;
  via: "token" | "session";
}

/** `Authorization: Bearer TOKEN` (scripts, curl). Browsers never add this header on their own: no CSRF. */
export function bearerActor(req: FastifyRequest, token: string, who = "api"): Actor | undefined {
  const header = req.headers.authorization;
  if (header === undefined || !header.startsWith("Bearer ")) return undefined;
  return tokenMatches(header.slice("Bearer ".length), token) ? { who, via: "token" } : undefined;
}

export function sessionOf(req: FastifyRequest, sessions: SessionStore): Session | undefined {
  return sessions.get(parseCookies(req.headers.cookie)[SESSION_COOKIE]);
}

/**
 * The request comes from the dashboard's own pages. Browsers send `Sec-Fetch-Site` (which no page can
 * forge) on every request: it must say same-origin (or none: typed by the user). Without it, `Origin`
 * where present must name this host; `Origin: null` (a sandboxed or privacy-stripped page) is refused.
 * Requests without either (curl) pass this test but still need the session's nonce, which only a page of
 * this origin can read.
 */
export function sameOrigin(req: FastifyRequest): boolean {
  const site = req.headers["sec-fetch-site"];
  if (site !== undefined) return site === "same-origin" || site === "none";
  const origin = req.headers.origin;
  return origin === undefined || origin === `${req.protocol}://${req.headers.host ?? ""}`;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The actor behind a form action: a live session (cookie) AND the session's nonce in the form AND a
 * same-origin request. A cookie alone (what a cross-site form would carry) is never enough.
 */
export function formActor(req: FastifyRequest, nonce: unknown, sessions: SessionStore): Actor | { refused: string } {
  const session = sessionOf(req, sessions);
  if (session === undefined) return { refused: "not signed in (or the session expired): sign in with the dashboard token first" };
  if (!sameOrigin(req)) return { refused: "cross-origin request refused" };
  if (typeof nonce !== "string" || !sameText(nonce, session.nonce)) return { refused: "the form's nonce does not match your session: reload the page and try again" };
  return { who: `dashboard:${session.who}`, via: "session" };
}
