import { readFile } from "node:fs/promises";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import type { ContainerDriver } from "../containers/driver.js";
import { listPins } from "../containers/pins.js";
import { readJournal } from "../journal/journal.js";
import { journalFile } from "../journal/paths.js";
import type { Queues } from "../queue/queues.js";
import { readControls } from "../rollout/controls.js";
import { RolloutStore } from "../rollout/rollout-store.js";
import { collectStatus } from "../status/collect-status.js";
import { containerStates } from "../status/container-states.js";
import { packagesOf } from "../status/open-halted.js";
import { isRunbookSlug, RUNBOOKS, runbookFile } from "../status/runbooks.js";
import { html } from "./html.js";
import { page } from "./layout.js";
import { renderContainers, renderPins } from "./pages/containers.js";
import { renderOverview } from "./pages/overview.js";
import { renderRolloutDetail } from "./pages/rollout-detail.js";
import { renderRollouts } from "./pages/rollouts.js";
import { renderRunbook, renderRunbookIndex } from "./pages/runbooks.js";
import { sessionOf } from "./auth.js";
import type { SessionStore } from "./sessions.js";

export interface PageDeps {
  config: Config;
  redis: Redis;
  queues: Queues;
  sessions: SessionStore;
  driver?: ContainerDriver;
}

/** Rollout ids are journal file names: nothing but these characters may reach a path. */
const ROLLOUT_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** The dashboard's read-only pages. Every one works without signing in. */
export function registerPages(app: FastifyInstance, deps: PageDeps): void {
  const { config, redis } = deps;
  const store = new RolloutStore(redis, config);
  const ctx = (req: FastifyRequest) => {
    const session = sessionOf(req, deps.sessions);
    return { host: config.hostId, path: req.url.split("?")[0]!, ...(session !== undefined ? { session } : {}), ...(config.fleet.enabled ? { fleet: true } : {}) };
  };
  const driver = deps.driver !== undefined ? { driver: deps.driver } : {};
  const send = (reply: { type: (t: string) => { send: (b: string) => unknown } }, text: string) => reply.type("text/html; charset=utf-8").send(text);

  app.get("/", async (req, reply) => {
    const report = await collectStatus(config, { redis, queues: deps.queues, self: true, ...driver });
    return send(reply, page("Overview", renderOverview(report), ctx(req)));
  });
  if (config.fleet.enabled) {
    app.get("/fleet", async (req, reply) => {
      const [{ collectFleetStatus }, { renderFleetPage, FLEET_PAGE_REFRESH_SEC }] = await Promise.all([import("../fleet/fleet-status.js"), import("../fleet/fleet-page.js")]);
      return send(reply, page("Fleet", renderFleetPage(await collectFleetStatus(redis, config)), { ...ctx(req), refreshSec: FLEET_PAGE_REFRESH_SEC }));
    });
  }
  app.get("/rollouts", async (req, reply) => send(reply, page("Rollouts", renderRollouts(await store.list(200)), ctx(req))));
  app.get<{ Params: { id: string }; Querystring: { done?: string } }>("/rollouts/:id", async (req, reply) => {
    const { id } = req.params;
    if (!ROLLOUT_ID.test(id)) return reply.code(404).type("text/html; charset=utf-8").send(page("Not found", html`<p>No rollout ${id}.</p>`, ctx(req)));
    const [state, controls] = await Promise.all([store.get(id).catch(() => undefined), readControls(redis, config, id).catch(() => undefined)]);
    const { entries } = readJournal(journalFile(config, id));
    if (state === undefined && entries.length === 0) return reply.code(404).type("text/html; charset=utf-8").send(page("Not found", html`<p>No rollout ${id} on ${config.hostId}. <a href="/rollouts">All rollouts</a></p>`, ctx(req)));
    const c = ctx(req);
    const done = req.query.done;
    const detail = renderRolloutDetail({ id, host: config.hostId, entries, ...(state !== undefined ? { state } : {}), ...(controls !== undefined ? { controls } : {}), ...(c.session !== undefined ? { session: c.session } : {}), ...(done !== undefined ? { flash: `${done} recorded` } : {}) });
    return send(reply, page(`Rollout ${id}`, detail, c));
  });
  app.get("/containers", async (req, reply) => {
    const packages = packagesOf(await store.list(50).catch(() => []));
    const states = await containerStates(config, { packages, ...driver });
    return send(reply, page("Containers", renderContainers(states, packages), ctx(req)));
  });
  app.get("/pins", async (req, reply) => send(reply, page("Pins", renderPins(listPins(config.stateDir)), ctx(req))));
  app.get("/runbooks", async (req, reply) => send(reply, page("Runbooks", renderRunbookIndex(), ctx(req))));
  app.get<{ Params: { slug: string } }>("/runbooks/:slug", async (req, reply) => {
    const slug = req.params.slug.replace(/\.md$/, "");
    if (!isRunbookSlug(slug)) return reply.code(404).type("text/html; charset=utf-8").send(page("Not found", html`<p>No runbook ${slug}. <a href="/runbooks">All runbooks</a></p>`, ctx(req)));
    const text = await readFile(runbookFile(slug), "utf8").catch(() => `# ${RUNBOOKS[slug]}\n\n(the page ${runbookFile(slug)} is missing from this installation)`);
    return send(reply, page(RUNBOOKS[slug], renderRunbook(slug, text), ctx(req)));
  });
}
