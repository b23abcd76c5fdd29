import { describe, expect, it } from "vitest";
import { parseCookies, sessionCookie, SessionStore } from "../../src/http/sessions.js";
import { tokenMatches } from "../../src/http/token-file.js";

describe("dashboard sessions", () => {
  it("forgets a session at its expiry, and gives each its own id and nonce", () => {
    let now = 1000;
    const store = new SessionStore(60_000, () => now);
    const a = store.create("alice");
    const b = store.create("bob");
    expect(new Set([a.id, a.nonce, b.id, b.nonce]).size).toBe(4);
    expect(store.get(a.id)?.who).toBe("alice");
    now += 60_000;
    expect(store.get(a.id)).toBeUndefined();
    expect(store.get(undefined)).toBeUndefined();
  });

  it("sets an HttpOnly, SameSite=Strict cookie and reads cookies back", () => {
    expect(sessionCookie("abc", 60)).toBe("patchroll_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=60");
    expect(parseCookies("a=1; patchroll_session=x%3Dy;b")).toEqual({ a: "1", patchroll_session: "x=y" });
  });

  it("matches the token exactly (trailing newline of a pasted file aside)", () => {
    expect(tokenMatches("secret-token-123456\n", "secret-token-123456")).toBe(true);
    expect(tokenMatches("secret-token-12345", "secret-token-123456")).toBe(false);
    expect(tokenMatches(undefined, "secret-token-123456")).toBe(false);
  });
});
