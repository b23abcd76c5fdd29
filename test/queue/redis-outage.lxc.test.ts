import { existsSync, readdirSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RolloutStore } from "../../src/rollout/rollout-store.js";
import { redisAwayFile } from "../../src/queue/redis-away.js";
import { collectStatus } from "../../src/status/collect-status.js";
import { renderStatus } from "../../src/status/render-status.js";
import { rolloutHarness, type RolloutHarness } from "../helpers/rollout-harness.js";
import { startStandalone, until, type StandaloneRedis } from "../helpers/redis-topology.js";
import { takenRecordIds, writeSpoolRecord } from "../helpers/spool.js";
import { expectCleanRollout } from "./rollout-assertions.js";

/** How long Redis stays frozen: longer than the job lock (3 s) and several heartbeats; "minutes" in production. */
const FROZEN_MS = 8000;

/**
 * Redis away in the middle of a rollout of three real overlay containers: frozen with SIGSTOP (the socket
 * stays open, nothing answers), and killed and started again empty. The container being restarted is
 * finished from local disk, none stays stopped, apt records wait in the spool, `status` says since when
 * Redis is away and what is held, and the rollout completes once Redis is back (rebuilt from the journal
 * when Redis came back empty).
 */
describe("Redis away mid-rollout (real LXC, real redis-server)", { timeout: 120_000 }, () => {
  let redis: StandaloneRedis;
  let h: RolloutHarness;
  let firstId = "";
  afterEach(async () => {
    redis.proc.kill("SIGCONT");
    await h.stopDaemon();
  });

  beforeAll(async () => {
    redis = await startStandalone();
    h = await rolloutHarness("outage", [{}, {}, {}], {
      redis: { url: redis.url },
      rollout: { batches: [1, "100%"], maxParallel: 1 },
      queue: { lockDurationMs: 3000, stalledIntervalMs: 1000, watchdogIdleMs: 3000 },
    });
  });
  afterAll(async () => {
    redis?.proc.kill("SIGCONT");
    await h?.cleanup();
    await redis?.stop();
  });

  /** A checkpoint that calls `act` once, before the second container of the rollout is stopped. */
  const atSecondStop = (act: (container: string) => void | Promise<void>) => {
    let stops = 0;
    return async (container: string, step: string) => {
      if (step === "stop" && ++stops === 2) await act(container);
    };
  };
  const doneWith = (id: string, name: string) => h.journal(id).some((e) => e.type === "container.done" && e.container === name);

  it("frozen with SIGSTOP: the restart in progress finishes from disk, status says Redis is away and what is held, the rollout completes after", async () => {
    let frozenAt = 0;
    let second = "";
    await h.startDaemon({ checkpoint: atSecondStop((name) => {
      second = name;
      frozenAt = Date.now();
      redis.proc.kill("SIGSTOP");
    }) });
    const id = await h.trigger();
    firstId = id;
    await until("the second container finished while Redis is frozen", async () => (second !== "" && doneWith(id, second) ? true : undefined), 30_000);
    for (const c of h.containers) expect((await c.info()).state, `${c.name} while Redis is away`).toBe("RUNNING");
    await new Promise((r) => setTimeout(r, 500));
    expect(h.containers.filter((c) => doneWith(id, c.name))).toHaveLength(2);

    const record = writeSpoolRecord(h.env.config.spoolDir);
    await until("the daemon's record of the outage", async () => (existsSync(redisAwayFile(h.env.config)) ? true : undefined));
    const status = renderStatus(await collectStatus(h.env.config));
    expect(status).toMatch(/^redis +Redis away since \d{4}-\d\d-\d\dT/m);
    expect(status).toContain(`${id} held while Redis is away: 2 of 3 containers done; no container stopped; resumes when Redis is back`);
    expect(readdirSync(h.env.config.spoolDir)).toContain(record.name);

    await new Promise((r) => setTimeout(r, Math.max(0, frozenAt + FROZEN_MS - Date.now())));
    redis.proc.kill("SIGCONT");
    await h.waitFor(id, ["completed", "halted", "aborted"], 60_000);
    await expectCleanRollout(h, id);
    // The record waited in the spool and went to Redis once it was back.
    const taken = await takenRecordIds(h, record);
    expect(taken.held).toEqual([taken.expected]);
    await until("the outage record cleared", async () => (existsSync(redisAwayFile(h.env.config)) ? undefined : true));
  });

  it("killed and started again empty: the rollout is rebuilt from the journal and completes, no container restarted twice", async () => {
    let killed = false;
    await h.startDaemon({ checkpoint: atSecondStop(async () => {
      killed = true;
      await redis.restartEmpty();
    }) });
    const id = await h.trigger();
    const done = await h.waitFor(id, ["completed", "halted", "aborted"], 60_000);
    expect(killed).toBe(true);
    expect(done.status).toBe("completed");
    await expectCleanRollout(h, id);
    // Rebuilt from the journal: the rollout's job is back and done, the earlier rollout's state is back.
    await until("the rollout's job back and completed", async () => ((await (await h.queues.rollouts.getJob(id))?.getState()) === "completed" ? true : undefined));
    expect((await new RolloutStore(h.redis, h.env.config).get(firstId))?.status).toBe("completed");
  });
});
