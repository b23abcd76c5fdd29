import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AptEvent, PackageChange } from "../../src/intake/apt-event.js";
import { EventStore } from "../../src/intake/event-store.js";
import { connectRedis } from "../../src/queue/connection.js";
import { ROLLOUT_JOB } from "../../src/queue/jobs/rollout.js";
import { closeQueues, openQueues, type Queues } from "../../src/queue/queues.js";
import { ensureRollout } from "../../src/rollout/ensure-rollout.js";
import { absorbWaitingRollouts } from "../../src/rollout/merge.js";
import { testEnv, type TestEnv } from "../helpers/redis.js";

const change = (name: string, action: PackageChange["action"]): PackageChange => ({ name, arch: "amd64", from: "1.0", to: action === "remove" ? null : "1.1", action });
const event = (id: string, packages: PackageChange[]): AptEvent => ({ v: 1, id, host: "h", time: "2026-11-23T05:43:13.000Z", packages, origin: "security", sources: ["hook"] });

/** The one way a rollout is queued, and the merge that reads the queued jobs back (real Redis, real BullMQ). */
describe("ensureRollout and waiting rollouts", () => {
  let env: TestEnv;
  let redis: Redis;
  let queues: Queues;
  let events: EventStore;

  beforeAll(async () => {
    env = testEnv("ensure-rollout");
    redis = await connectRedis(env.config, "client");
    queues = openQueues(redis, env.config);
    events = new EventStore(redis, env.config);
  });
  afterAll(async () => {
    if (queues !== undefined) await closeQueues(queues);
    redis?.disconnect();
    env?.cleanup();
  });

  it("queues one job per event however often it is called, and none for an event without changes to roll out", async () => {
    const deps = { events, queues, config: env.config };
    const e = event("apt-one", [change("libssl3", "upgrade")]);
    await events.saveEvent(e);
    const first = await ensureRollout(deps, e);
    const again = await ensureRollout(deps, e);
    expect(first?.claimed).toBe(true);
    expect(again).toEqual({ rolloutId: first!.rolloutId, claimed: false });
    const jobs = await queues.rollouts.getJobs(["waiting"]);
    expect(jobs.map((j) => [j.name, j.id, j.data])).toEqual([[ROLLOUT_JOB, first!.rolloutId, { v: 1, eventId: "apt-one", rolloutId: first!.rolloutId }]]);

    expect(await ensureRollout(deps, event("apt-removal", [change("libold", "remove")]))).toBeUndefined();
    const manual = event("manual-removal", [change("libold", "remove")]);
    await events.saveEvent(manual);
    const requested = await ensureRollout(deps, manual, { requested: true });
    expect(requested?.claimed).toBe(true);
    expect(await queues.rollouts.getJobCounts("waiting")).toEqual({ waiting: 2 });
  });

  it("folds only waiting jobs whose payload the schema takes", async () => {
    const e = event("apt-two", [change("curl", "upgrade")]);
    await events.saveEvent(e);
    await queues.rollouts.add(ROLLOUT_JOB, { v: 2, eventId: "apt-two", rolloutId: "r-future" }, { jobId: "r-future" });
    await queues.rollouts.add(ROLLOUT_JOB, { eventId: "apt-two" }, { jobId: "r-broken" });
    const absorbed = await absorbWaitingRollouts(redis, queues, events, env.config, "r-main");
    expect(absorbed.map((a) => a.event.id).sort()).toEqual(["apt-one", "manual-removal"]);
  });
});
