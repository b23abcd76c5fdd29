import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import type { ContainerDriver } from "../containers/driver.js";
import type { Queues } from "../queue/queues.js";
import { collectStatus } from "../status/collect-status.js";
import { STYLESHEET } from "./style.js";

export interface ApiDeps {
  config: Config;
  redis: Redis;
  queues: Queues;
  metrics: Registry;
  driver?: ContainerDriver;
}

/** Machine endpoints: liveness, `/metrics` for Prometheus, `/api/status` (the `patchroll status --json` document). */
export function registerApi(app: FastifyInstance, deps: ApiDeps): void {
  app.get("/healthz", async () => ({ ok: true, host: deps.config.hostId }));
  app.get("/metrics", async (_req, reply) => reply.type(deps.metrics.contentType).send(await deps.metrics.metrics()));
  app.get("/api/status", async () => collectStatus(deps.config, { redis: deps.redis, queues: deps.queues, self: true, ...(deps.driver !== undefined ? { driver: deps.driver } : {}) }));
  app.get("/static/patchroll.css", async (_req, reply) => reply.type("text/css; charset=utf-8").header("cache-control", "max-age=300").send(STYLESHEET));
}
