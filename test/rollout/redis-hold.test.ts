import { ReplyError } from "ioredis";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../src/log/logger.js";
import { isRedisError } from "../../src/queue/redis-errors.js";
import { OPEN_GATE, RolloutReleased } from "../../src/rollout/gates.js";
import { RedisHold } from "../../src/rollout/redis-hold.js";

const oom = () => new (ReplyError as new (m: string) => Error)("OOM command not allowed when used memory > 'maxmemory'.");

describe("Redis errors in a rollout: held, never failing it", () => {
  it("tells Redis' refusals and lost connections from the rollout's own errors", () => {
    expect(isRedisError(oom())).toBe(true);
    expect(isRedisError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6379"), { code: "ECONNREFUSED" }))).toBe(true);
    expect(isRedisError(new Error("Too many Cluster redirections. Last error: Error: CLUSTERDOWN The cluster is down"))).toBe(true);
    expect(isRedisError(new Error("Missing key for job 42. updateProgress"))).toBe(true);
    expect(isRedisError(new Error("Connection is closed."))).toBe(true);
    expect(isRedisError(new TypeError("Cannot read properties of undefined (reading 'batches')"))).toBe(false);
    expect(isRedisError(new RolloutReleased("released"))).toBe(false);
    expect(isRedisError("OOM")).toBe(false);
  });

  it("tries a refused call again until Redis takes it, tells once, and the gate waits meanwhile", async () => {
    const holds: string[] = [];
    const hold = new RedisHold({ log: silentLogger(), onHold: (r) => holds.push(r), minDelayMs: 5, maxDelayMs: 20 });
    let refusals = 3;
    const events: string[] = [];
    const write = hold.run("the rollout's progress", async () => {
      if (refusals-- > 0) throw oom();
      events.push("written");
    });
    await new Promise((r) => setTimeout(r, 1));
    expect(hold.holding).toBe(true);
    const gate = hold.gate(OPEN_GATE);
    const next = gate.beforeContainer(async () => {}).then((d) => (events.push("next container"), d));
    await Promise.all([write, next]);
    expect(events).toEqual(["written", "next container"]);
    expect(holds).toEqual([expect.stringMatching(/^Redis did not take the rollout's progress \(OOM command not allowed.*\): no further container is restarted until it does/)]);
    expect(hold.holding).toBe(false);
  });

  it("passes the rollout's own errors at once, and ends a hold with RolloutReleased when the worker stops", async () => {
    const hold = new RedisHold({ log: silentLogger(), minDelayMs: 5, maxDelayMs: 20 });
    await expect(hold.run("x", async () => Promise.reject(new TypeError("a bug")))).rejects.toBeInstanceOf(TypeError);
    const stop = new AbortController();
    const held = new RedisHold({ log: silentLogger(), signal: stop.signal, minDelayMs: 5, maxDelayMs: 20 });
    const never = held.run("the rollout's state", async () => Promise.reject(oom()));
    setTimeout(() => stop.abort("the patchroll daemon is stopping"), 30);
    await expect(never).rejects.toThrow(/released while Redis did not answer: the patchroll daemon is stopping/);
    expect(held.holding).toBe(false);
  });
});
