import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fleetActionsJournal, recordFleetAction } from "../../src/fleet/fleet-actions.js";
import { tryLockJournal } from "../../src/journal/writer-lock.js";
import { connectRedis } from "../../src/queue/connection.js";
import { testEnv, type TestEnv, testRedisUrl } from "../helpers/redis.js";

/** The fleet actions journal has one writer at a time, as a rollout's: two `fleet` commands never write one seq twice. */
describe("fleet actions journal (real Redis)", () => {
  let env: TestEnv;
  let redis: Redis;

  beforeAll(async () => {
    env = testEnv("factions", { redis: { url: testRedisUrl(), prefix: `pa-${randomBytes(3).toString("hex")}` }, fleet: { enabled: true } });
    redis = await connectRedis(env.config, "client");
  });
  afterAll(() => {
    redis?.disconnect();
    env?.cleanup();
  });

  it("waits for the journal's writer lock, then appends under the next seq", async () => {
    await recordFleetAction(redis, env.config, { action: "hold", who: "alice", why: "first", subject: "liba=1" });
    // Another `fleet` command journals now (it holds the writer lock).
    const other = tryLockJournal(fleetActionsJournal(env.config).file, "fleet hold (another command)")!;
    expect(other).toBeDefined();
    let done = false;
    const second = recordFleetAction(redis, env.config, { action: "release", who: "bob", why: "second", subject: "liba=1" }).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 150));
    expect(done).toBe(false);
    // It wrote its line meanwhile, under the lock.
    fleetActionsJournal(env.config).append("fleet.hold", { who: "carol", why: "other", subject: "libb=2" });
    other.release();
    await second;
    const entries = fleetActionsJournal(env.config).entries();
    expect(entries.map((e) => [e.seq, e.type])).toEqual([[1, "fleet.hold"], [2, "fleet.hold"], [3, "fleet.release"]]);
  });
});
