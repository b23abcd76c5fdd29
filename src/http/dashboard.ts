import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import type { ContainerDriver } from "../containers/driver.js";
import type { Logger } from "../log/logger.js";
import { createMetrics } from "../metrics/registry.js";
import type { Queues } from "../queue/queues.js";
import { bearerActor } from "./auth.js";
import { BULL_BOARD_PATH, mountBullBoard } from "./bull-board.js";
import { registerActions, selfAuthenticating } from "./routes-actions.js";
import { registerApi } from "./routes-api.js";
import { registerPages } from "./routes-pages.js";
import { SessionStore } from "./sessions.js";
import type { WorkerRecreation } from "../queue/worker-watchdog.js";
import { loadOrCreateToken, tokenFilePath } from "./token-file.js";

export interface DashboardDeps {
  config: Config;
  /** A fail-fast connection (the daemon's producer): pages answer quickly while Redis is away. */
  redis: Redis;
  /** Queues opened on `redis`. */
  queues: Queues;
  logger: Logger;
  driver?: ContainerDriver;
  /** See MetricsOptions.hookLog. */
  hookLog?: string;
  /** See MetricsOptions.snapshotMaxAgeMs. */
  snapshotMaxAgeMs?: number;
  /** See MetricsOptions.recreations. */
  recreations?: () => WorkerRecreation[];
}

/** Our pages allow our own stylesheet and inline SVG only: no script, no frame, forms to this origin. */
const CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Builds the dashboard app without listening (tests use `inject`, the daemon {@link startDashboard}). */
export async function buildDashboard(deps: DashboardDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const tokenFile = tokenFilePath(config);
  const token = loadOrCreateToken(tokenFile);
  const sessions = new SessionStore();
  const app = Fastify({ loggerInstance: deps.logger.child({ part: "http" }) as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), bodyLimit: 64 * 1024 });
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });
  // Reading is open; changing anything needs the token. Routes that check a session and nonce themselves
  // are marked; every other non-GET request (bull-board's API included) needs `Authorization: Bearer`.
  app.addHook("onRequest", async (req, reply) => {
    if (req.method === "GET" || req.method === "HEAD" || selfAuthenticating(req)) return;
    if (bearerActor(req, token) === undefined) return reply.code(401).header("www-authenticate", "Bearer").send({ error: "changes need the dashboard token (Authorization: Bearer TOKEN)" });
  });
  app.addHook("onSend", async (req, reply) => {
    reply.header("x-content-type-options", "nosniff").header("referrer-policy", "same-origin").header("x-frame-options", "DENY");
    if (!req.url.startsWith(BULL_BOARD_PATH)) reply.header("content-security-policy", CSP);
    if (String(reply.getHeader("content-type") ?? "").startsWith("text/html")) reply.header("cache-control", "no-store");
  });
  const driver = deps.driver !== undefined ? { driver: deps.driver } : {};
  const metrics = createMetrics({ config, redis: deps.redis, queues: deps.queues, ...driver, ...(deps.hookLog !== undefined ? { hookLog: deps.hookLog } : {}), ...(deps.snapshotMaxAgeMs !== undefined ? { snapshotMaxAgeMs: deps.snapshotMaxAgeMs } : {}), ...(deps.recreations !== undefined ? { recreations: deps.recreations } : {}) });
  registerApi(app, { config, redis: deps.redis, queues: deps.queues, metrics, ...driver });
  registerPages(app, { config, redis: deps.redis, queues: deps.queues, sessions, ...driver });
  registerActions(app, { config, redis: deps.redis, queues: deps.queues, sessions, token, tokenFile });
  await mountBullBoard(app, deps.queues, config.hostId);
  return app;
}

/** A running dashboard. */
export interface Dashboard {
  /** e.g. http://127.0.0.1:9470 (the real port when `http.port` is 0). */
  url: string;
  close(): Promise<void>;
}

/** Builds the dashboard and listens on `http.listen`:`http.port`. */
export async function startDashboard(deps: DashboardDeps): Promise<Dashboard> {
  const app = await buildDashboard(deps);
  try {
    await app.listen({ host: deps.config.http.listen, port: deps.config.http.port });
  } catch (err) {
    await app.close();
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : deps.config.http.port;
  const host = deps.config.http.listen.includes(":") ? `[${deps.config.http.listen}]` : deps.config.http.listen;
  return { url: `http://${host}:${port}`, close: () => app.close() };
}
