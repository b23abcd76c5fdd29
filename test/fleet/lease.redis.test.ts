import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FleetLease, leaseLimit } from "../../src/fleet/fleet-lease.js";
import { FleetRollouts } from "../../src/fleet/fleet-rollout.js";
import { LeaseStore } from "../../src/fleet/lease-store.js";
import { FleetRegistry } from "../../src/fleet/registry.js";
import { RolloutJournal } from "../../src/journal/journal.js";
import { silentLogger } from "../../src/log/logger.js";
import { connectRedis } from "../../src/queue/connection.js";
import { OPEN_GATE, type Wait } from "../../src/rollout/gates.js";
import { testEnv, type TestEnv, testRedisUrl } from "../helpers/redis.js";

describe("fleet slots", () => {
  it.each([
    [1, 10, 1],
    ["10%", 30, 3],
    ["10%", 5, 1],
    ["100%", 0, 1],
    [4, 2, 2],
  ] as const)("maxHostsInFlight %j over %i hosts: %i slot(s)", (spec, hosts, want) => {
    expect(leaseLimit(spec, hosts)).toBe(want);
  });
});

/** The owned counting semaphore and its fencing tokens on the real Redis. */
describe("fleet lease (real Redis)", () => {
  let env: TestEnv;
  let redis: Redis;
  let store: LeaseStore;

  beforeAll(async () => {
    env = testEnv("flease", { redis: { url: testRedisUrl(), prefix: `pl-${randomBytes(3).toString("hex")}` }, fleet: { enabled: true, pollMs: 50, leaseMs: 1000, maxHostsInFlight: 1 } });
    redis = await connectRedis(env.config, "client");
    store = new LeaseStore(redis, env.config);
  });
  afterAll(() => {
    redis?.disconnect();
    env?.cleanup();
  });

  it("gives one slot to one owner at a time, frees a dead owner's slot after its lease, and fences the old token", async () => {
    const a = await store.acquire("host-a", 1, 1000, "r-a");
    expect(a).toEqual({ ok: true, token: expect.any(Number) });
    expect(await store.acquire("host-b", 1, 1000, "r-b")).toEqual({ ok: false, holders: ["host-a"] });
    // Owned: asking again renews the same slot, same token.
    expect(await store.acquire("host-a", 1, 1000, "r-a")).toEqual(a);
    // host-a dies: after its lease, host-b gets the slot, with a higher token; host-a's token is dead.
    await new Promise((r) => setTimeout(r, 1100));
    const b = await store.acquire("host-b", 1, 1000, "r-b");
    expect(b.ok && a.ok && b.token > a.token).toBe(true);
    expect(await store.renew("host-a", a.ok ? a.token : 0, 1000)).toBe(false);
    // A daemon starting again gives back whatever its host held; host-a held nothing any more.
    expect(await store.release("host-a")).toBe(false);
    expect(await store.release("host-b")).toBe(true);
    expect(await store.holders()).toEqual([]);
  });

  it("a rollout waits for a slot saying who holds it, journals its token, and stops at a boundary once its lease is lost", async () => {
    const registry = new FleetRegistry(redis, env.config);
    const journal = new RolloutJournal(env.config.journalDir, env.config.hostId, "r-lease");
    const lease = new FleetLease(store, registry, env.config, "r-lease", journal, silentLogger());
    const other = await store.acquire("host-other", 1, 60_000, "r-other");
    const waits: Wait[] = [];
    const holding = lease.ensure(async (w) => void waits.push(w));
    await new Promise((r) => setTimeout(r, 200));
    expect(waits).toEqual([{ status: "waiting", reason: "waiting for a fleet slot: 1 of 1 host(s) restart containers now (host-other; fleet.maxHostsInFlight 1)" }]);
    await store.release("host-other", other.ok ? other.token : 0);
    await holding;
    const first = journal.entries().filter((e) => e.type === "fleet.lease").at(-1)!.data;
    expect(first).toMatchObject({ state: "acquired", limit: 1 });
    // Renewed while held: it outlives its lease.
    await new Promise((r) => setTimeout(r, 1300));
    await lease.ensure(async () => {});
    expect(journal.entries().filter((e) => e.type === "fleet.lease")).toHaveLength(1);
    // The slot is taken from it (a failover lost the key, say): the next boundary journals the loss and holds a new one.
    await store.release(env.config.hostId);
    await lease.ensure(async () => {});
    const states = journal.entries().filter((e) => e.type === "fleet.lease").map((e) => e.data);
    expect(states.map((d) => d["state"])).toEqual(["acquired", "lost", "acquired"]);
    expect(Number(states[2]!["token"])).toBeGreaterThan(Number(states[0]!["token"]));
    await lease.release();
    expect(await store.holders()).toEqual([]);
  });
  it("a lease lost during a pre-copy is seen right before the stop: the stop waits for a new slot; a rollback waits for one too", async () => {
    const journal = new RolloutJournal(env.config.journalDir, env.config.hostId, "r-fence");
    const gate = new FleetRollouts(redis, env.config, silentLogger()).rollout("r-fence", [], journal).gate(OPEN_GATE);
    const onWait = async () => {};
    await gate.beforeStop!(onWait);
    // The pre-copy of the next container outlasts the lease: another host holds the only slot now.
    await store.release(env.config.hostId);
    const other = await store.acquire("host-other", 1, 60_000, "r-other");
    let stopped = false;
    const stop = gate.beforeStop!(onWait).then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(stopped).toBe(false);
    await store.release("host-other", other.ok ? other.token : 0);
    await stop;
    const states = () => journal.entries().filter((e) => e.type === "fleet.lease").map((e) => e.data["state"]);
    expect(states()).toEqual(["acquired", "lost", "acquired"]);
    // Given back at a hold, then an abort that rolls back: the slot is held again before any container is touched.
    await store.release(env.config.hostId);
    const taken = await store.acquire("host-other", 1, 60_000, "r-other");
    let reverting = false;
    const rollback = gate.beforeRollback!(onWait).then(() => (reverting = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(reverting).toBe(false);
    await store.release("host-other", taken.ok ? taken.token : 0);
    await rollback;
    expect(states()).toEqual(["acquired", "lost", "acquired", "lost", "acquired"]);
    await store.release(env.config.hostId);
    expect(await store.holders()).toEqual([]);
  });
});
