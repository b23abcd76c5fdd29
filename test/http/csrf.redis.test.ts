import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../../src/daemon/daemon.js";
import { tokenFilePath } from "../../src/http/token-file.js";
import { silentLogger } from "../../src/log/logger.js";
import { freePort } from "../helpers/redis-server.js";
import { testEnv, type TestEnv } from "../helpers/redis.js";

/**
 * The dashboard's form actions need a session AND the session's nonce AND a same-origin request. Each
 * defence is tested on its own: a request that fails only one of them is refused (the daemon's real
 * dashboard over HTTP, real Redis). Sign-out is the action: it needs no rollout, and it shows whether it
 * was done (the session is gone).
 */
describe("dashboard CSRF defences, one at a time", () => {
  let env: TestEnv;
  let daemon: Daemon;
  let base: string;
  let lxc: string;

  beforeAll(async () => {
    lxc = mkdtempSync("/var/tmp/patchroll-test-nolxc-");
    const port = await freePort();
    env = testEnv("csrf", { lxc: { path: lxc, hostRoot: join(lxc, "host", "rootfs") }, http: { port } });
    daemon = new Daemon(env.config, silentLogger());
    await daemon.start();
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await daemon?.stop(2000);
    env?.cleanup();
    if (lxc !== undefined) rmSync(lxc, { recursive: true, force: true });
  });

  /** Signs in with the token; returns the session cookie and the nonce its pages carry. */
  async function signIn(): Promise<{ cookie: string; nonce: string }> {
    const token = readFileSync(tokenFilePath(env.config), "utf8").trim();
    const res = await fetch(`${base}/login`, { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", "sec-fetch-site": "same-origin" }, body: new URLSearchParams({ token, who: "tester", next: "/" }) });
    expect(res.status).toBe(303);
    const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
    const page = await (await fetch(`${base}/`, { headers: { cookie } })).text();
    const nonce = /name="nonce" value="([^"]+)"/.exec(page)?.[1];
    expect(nonce).toBeDefined();
    return { cookie, nonce: nonce! };
  }

  async function signOut(cookie: string, nonce: string | undefined, headers: Record<string, string>): Promise<{ status: number; text: string }> {
    const form = new URLSearchParams(nonce === undefined ? {} : { nonce });
    const res = await fetch(`${base}/logout`, { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", cookie, ...headers }, body: form });
    return { status: res.status, text: await res.text() };
  }

  const SAME_SITE = { "sec-fetch-site": "same-origin" };

  it("refuses a same-origin request with the session but without its nonce, or with another one", async () => {
    const { cookie, nonce } = await signIn();
    const other = await signIn();
    for (const wrong of [undefined, "", other.nonce, `${nonce}x`]) {
      const r = await signOut(cookie, wrong, SAME_SITE);
      expect(r.status).toBe(403);
      expect(r.text).toMatch(/nonce does not match your session/);
    }
    expect((await signOut(cookie, nonce, SAME_SITE)).status).toBe(303); // still signed in: nothing was done
  });

  it("refuses a request with the session and its nonce that is not same-origin", async () => {
    const { cookie, nonce } = await signIn();
    const origin = { origin: base };
    for (const headers of [{ "sec-fetch-site": "cross-site" }, { "sec-fetch-site": "same-site", ...origin }, { origin: "http://evil.example" }, { origin: "null" }]) {
      const r = await signOut(cookie, nonce, headers);
      expect(r.status, JSON.stringify(headers)).toBe(403);
      expect(r.text).toMatch(/cross-origin request refused/);
    }
    expect((await signOut(cookie, nonce, origin)).status).toBe(303);
  });

  it("does the action when both hold, once: the session is then gone", async () => {
    const { cookie, nonce } = await signIn();
    expect((await signOut(cookie, nonce, SAME_SITE)).status).toBe(303);
    const again = await signOut(cookie, nonce, SAME_SITE);
    expect(again.status).toBe(403);
    expect(again.text).toMatch(/not signed in/);
  });
});
