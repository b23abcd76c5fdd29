import { afterEach, describe, expect, it } from "vitest";
import { LxcDriver } from "../../src/containers/lxc-driver.js";
import { redisCheck } from "../../src/doctor/redis.js";
import { runDoctor } from "../../src/doctor/run-doctor.js";
import { spawnRedis } from "../helpers/redis-server.js";
import { testEnv } from "../helpers/redis.js";

/** `patchroll doctor` against real redis-servers configured right and wrong. */
describe("doctor: Redis persistence and eviction", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function doctorOn(args: string[]) {
    const server = await spawnRedis(args);
    cleanups.push(server.stop);
    const env = testEnv("doctor-redis", { redis: { url: server.url } });
    cleanups.push(env.cleanup);
    const [r] = await runDoctor({ config: env.config, tokenFile: "/nonexistent", driver: new LxcDriver(env.config.lxc.path), now: () => new Date() }, [redisCheck]);
    return r!.findings;
  }

  it("is content with AOF and noeviction", async () => {
    expect(await doctorOn(["--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction"])).toEqual([]);
  });

  it("finds a Redis without AOF that evicts keys, and says how to fix it", async () => {
    const findings = await doctorOn(["--appendonly", "no", "--save", "", "--maxmemory-policy", "allkeys-lru"]);
    expect(findings.map((f) => f.problem)).toEqual([expect.stringMatching(/no persistence/), expect.stringMatching(/maxmemory-policy is 'allkeys-lru'/)]);
    expect(findings[0]!.fix).toMatch(/CONFIG SET appendonly yes/);
    expect(findings[0]!.runbook).toBe("redis-down");
  });

  it("finds a Redis nearly out of memory", async () => {
    const findings = await doctorOn(["--appendonly", "yes", "--maxmemory", "1100kb", "--maxmemory-policy", "noeviction"]);
    expect(findings.map((f) => f.problem)).toEqual([expect.stringMatching(/uses \d+% of maxmemory/)]);
  });

  it("finds Redis unreachable", async () => {
    const env = testEnv("doctor-redis", { redis: { url: "redis://127.0.0.1:1/0" } });
    cleanups.push(env.cleanup);
    const [r] = await runDoctor({ config: env.config, tokenFile: "/nonexistent", driver: new LxcDriver(env.config.lxc.path), now: () => new Date() }, [redisCheck]);
    expect(r!.findings.map((f) => f.problem)).toEqual([expect.stringMatching(/redis:\/\/127\.0\.0\.1:1\/0 is unreachable/)]);
  });
});
