import { randomBytes } from "node:crypto";

/** A signed-in dashboard user: the session id travels in a cookie, the nonce in every action form. */
export interface Session {
  id: string;
  /** Per-session anti-CSRF value: a form action needs it as well as the cookie. */
  nonce: string;
  /** The name the user gave at sign-in; journaled as `dashboard:NAME`. */
  who: string;
  expiresAt: number;
}

export const SESSION_COOKIE = "patchroll_session";
/** Default session lifetime: one on-call shift. */
export const SESSION_TTL_MS = 8 * 3600 * 1000;

/** In-memory sessions of the daemon's dashboard (a daemon restart signs everyone out). */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly ttlMs = SESSION_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  create(who: string): Session {
    const s: Session = { id: randomBytes(32).toString("base64url"), nonce: randomBytes(32).toString("base64url"), who, expiresAt: this.now() + this.ttlMs };
    this.sessions.set(s.id, s);
    return s;
  }

  get(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const s = this.sessions.get(id);
    if (s !== undefined && s.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return s;
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }
}

/** `a=1; b=2` -> { a: "1", b: "2" }. */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) out[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return out;
}

/** The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site sends it). */
export function sessionCookie(id: string, maxAgeSec: number): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSec}`;
}
