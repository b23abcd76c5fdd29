import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import { isPatchrollError } from "../errors/patchroll-error.js";
import type { Queues } from "../queue/queues.js";
import { ControlAction } from "../rollout/controls.js";
import { controlRollout } from "../status/control-rollout.js";
import { type Actor, bearerActor, formActor } from "./auth.js";
import { html } from "./html.js";
import { page } from "./layout.js";
import { renderLogin } from "./pages/login.js";
import { SESSION_TTL_MS, sessionCookie, type SessionStore } from "./sessions.js";
import { tokenMatches } from "./token-file.js";

export interface ActionDeps {
  config: Config;
  redis: Redis;
  queues: Queues;
  sessions: SessionStore;
  token: string;
  tokenFile: string;
}

type Body = Record<string, unknown>;
/** Routes that authenticate themselves (the global guard lets their POSTs through to them). */
const SELF_AUTH = { selfAuth: true };

/** Only a path on this site: never `//evil.example` or a full URL. */
function localPath(next: unknown): string {
  return typeof next === "string" && next.startsWith("/") && !next.startsWith("//") && !next.includes("\\") ? next : "/";
}

function controlInput(body: Body, actor: Actor, action: string, rolloutId: string) {
  const parsed = ControlAction.safeParse(action);
  if (!parsed.success) return { error: `unknown action ${action}: pause, resume, abort, approve or retry` };
  const why = typeof body["why"] === "string" ? body["why"].trim() : "";
  if (why === "") return { error: "say why: it is journaled with your name" };
  const batch = body["batch"] === undefined || body["batch"] === "" ? undefined : Number(body["batch"]);
  if (batch !== undefined && !(Number.isInteger(batch) && batch > 0)) return { error: `batch ${String(body["batch"])}: expected a batch number from 1` };
  const rollBack = body["rollBackCompleted"] === true || body["rollBackCompleted"] === "1";
  return { req: { action: parsed.data, rolloutId, who: actor.who, why, ...(parsed.data === "abort" && rollBack ? { rollBackCompleted: true } : {}), ...(parsed.data === "approve" && batch !== undefined ? { batch } : {}) } };
}

function statusOf(err: unknown): number {
  return isPatchrollError(err, "NOT_FOUND") ? 404 : isPatchrollError(err, "USAGE") ? 400 : isPatchrollError(err, "REDIS_UNAVAILABLE") ? 503 : 500;
}

/** Sign-in, sign-out and the rollout controls: forms (session + nonce) and the token API. */
export function registerActions(app: FastifyInstance, deps: ActionDeps): void {
  const { config, sessions } = deps;
  const htmlPage = (reply: FastifyReply, code: number, title: string, body: ReturnType<typeof html>, path: string) =>
    reply.code(code).type("text/html; charset=utf-8").send(page(title, body, { host: config.hostId, path }));

  app.get<{ Querystring: { next?: string } }>("/login", async (req, reply) => htmlPage(reply, 200, "Sign in", renderLogin({ next: localPath(req.query.next), tokenFile: deps.tokenFile }), "/login"));
  app.post<{ Body: Body }>("/login", { config: SELF_AUTH }, async (req, reply) => {
    const body = req.body ?? {};
    const who = typeof body["who"] === "string" ? body["who"].trim().slice(0, 64) : "";
    const next = localPath(body["next"]);
    if (!tokenMatches(typeof body["token"] === "string" ? body["token"] : undefined, deps.token) || who === "") {
      return htmlPage(reply, 401, "Sign in", renderLogin({ next, tokenFile: deps.tokenFile, error: who === "" ? "Give your name." : "Wrong token." }), "/login");
    }
    const session = sessions.create(who);
    return reply.code(303).header("set-cookie", sessionCookie(session.id, Math.floor(SESSION_TTL_MS / 1000))).header("location", next).send();
  });
  app.post<{ Body: Body }>("/logout", { config: SELF_AUTH }, async (req, reply) => {
    const actor = formActor(req, req.body?.["nonce"], sessions);
    if ("refused" in actor) return htmlPage(reply, 403, "Refused", html`<p>${actor.refused}</p>`, "/logout");
    const id = /patchroll_session=([^;]+)/.exec(req.headers.cookie ?? "")?.[1];
    if (id !== undefined) sessions.delete(id);
    return reply.code(303).header("set-cookie", sessionCookie("", 0)).header("location", "/").send();
  });

  app.post<{ Params: { id: string }; Body: Body }>("/rollouts/:id/control", { config: SELF_AUTH }, async (req, reply) => {
    const path = `/rollouts/${encodeURIComponent(req.params.id)}`;
    const body = req.body ?? {};
    const actor = formActor(req, body["nonce"], sessions);
    if ("refused" in actor) return htmlPage(reply, 403, "Refused", html`<p>${actor.refused}</p><p><a href="${path}">Back to the rollout</a></p>`, path);
    const input = controlInput(body, actor, String(body["action"] ?? ""), req.params.id);
    if ("error" in input) return htmlPage(reply, 400, "Not done", html`<p>${input.error}</p><p><a href="${path}">Back to the rollout</a></p>`, path);
    try {
      await controlRollout(deps.redis, deps.queues, config, input.req!);
    } catch (err) {
      return htmlPage(reply, statusOf(err), "Not done", html`<p>${(err as Error).message}</p><p><a href="${path}">Back to the rollout</a></p>`, path);
    }
    return reply.code(303).header("location", `${path}?done=${input.req!.action}`).send();
  });

  app.post<{ Params: { id: string; action: string }; Body: Body }>("/api/rollouts/:id/:action", { config: SELF_AUTH }, async (req, reply) => {
    const body = req.body ?? {};
    const actor = bearerActor(req, deps.token, typeof body["who"] === "string" && body["who"] !== "" ? `api:${body["who"]}` : "api");
    if (actor === undefined) return reply.code(401).header("www-authenticate", "Bearer").send({ error: "actions need Authorization: Bearer TOKEN (the dashboard token file)" });
    const input = controlInput(body, actor, req.params.action, req.params.id);
    if ("error" in input) return reply.code(400).send({ error: input.error });
    try {
      return await controlRollout(deps.redis, deps.queues, config, input.req!);
    } catch (err) {
      return reply.code(statusOf(err)).send({ error: (err as Error).message });
    }
  });
}

/** True when a route authenticates its own non-GET requests. */
export function selfAuthenticating(req: FastifyRequest): boolean {
  return (req.routeOptions.config as { selfAuth?: boolean } | undefined)?.selfAuth === true;
}
