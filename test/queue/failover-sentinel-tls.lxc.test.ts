import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";
import { LxcDriver } from "../../src/containers/lxc-driver.js";
import { redisCheck } from "../../src/doctor/redis.js";
import { connectRedis } from "../../src/queue/connection.js";
import { RolloutStore } from "../../src/rollout/rollout-store.js";
import { rolloutHarness, type RolloutHarness } from "../helpers/rollout-harness.js";
import { type SentinelGroup, startSentinelGroup } from "../helpers/redis-topology.js";
import { makeTestCa, type TestCa } from "../helpers/test-ca.js";
import { expectCleanRollout, expectTlsProblems, OTHER_CA_WORDS } from "./rollout-assertions.js";

const PASSWORD = "s3cret-tls-test";

/**
 * Sentinel over TLS for real: a CA made in the test with openssl; a master, a replica and three sentinels
 * that speak only TLS (no plain port; replication and the sentinels' own links in TLS too) and ask clients
 * for a certificate. patchroll reaches the sentinels and the data nodes with one CA and one client
 * certificate (`redis.tls` with `redis.sentinel`). The master is killed with SIGKILL mid-rollout: the
 * replica is promoted and found again over TLS, and the rollout of real overlay containers completes once.
 * `doctor` says what is wrong with a bad certificate, in plain words, for the sentinels too.
 */
describe("Sentinel over TLS, failover in the middle of a rollout (real LXC, real TLS sentinels)", { timeout: 120_000 }, () => {
  let ca: TestCa;
  let group: SentinelGroup;
  let h: RolloutHarness;
  let tls: NonNullable<Config["redis"]["tls"]>;

  beforeAll(async () => {
    ca = await makeTestCa();
    tls = { caFile: ca.ca, certFile: ca.clientCert, keyFile: ca.clientKey };
    group = await startSentinelGroup({
      password: PASSWORD,
      tls: { cert: ca.serverCert, key: ca.serverKey, ca: ca.ca, authClients: true, client: { cert: ca.clientCert, key: ca.clientKey } },
    });
    h = await rolloutHarness("sentinel-tls", [{}, {}, {}], {
      redis: { sentinel: { name: group.name, sentinels: group.sentinels }, password: PASSWORD, tls },
      rollout: { batches: [1, "100%"], maxParallel: 1 },
      queue: { lockDurationMs: 5000, stalledIntervalMs: 2000 },
    });
  });
  afterAll(async () => {
    await h?.cleanup();
    await group?.stop();
    ca?.cleanup();
  });

  const withTls = (t: Record<string, unknown>): Config => loadConfig({ env: {}, flags: { ...h.env.config, redis: { ...h.env.config.redis, tls: t } } }).config;
  const doctor = async (config: Config) => {
    const r = await redisCheck.run({ config, tokenFile: "/nonexistent", driver: new LxcDriver(config.lxc.path), now: () => new Date() });
    return Array.isArray(r) ? r : [];
  };

  it("the master dies with SIGKILL mid-rollout: the replica is promoted and reached over TLS, the rollout completes once", async () => {
    let killedAt = 0;
    const second = h.containers[1]!.name;
    await h.startDaemon({
      checkpoint: (container, step) => {
        if (container === second && step === "stop" && killedAt === 0) {
          killedAt = Date.now();
          group.master.kill("SIGKILL");
        }
      },
    });
    const id = await h.trigger();
    const done = await h.waitFor(id, ["completed", "halted", "aborted"], 90_000);
    expect(killedAt).toBeGreaterThan(0);
    expect(done.status).toBe("completed");
    expect(await group.masterPort()).toBe(group.replica.port);
    await expectCleanRollout(h, id);
    // A fresh CLI connection asks the sentinels over TLS and lands on the new master's TLS port.
    const cli = await connectRedis(h.env.config, "client");
    try {
      expect(await cli.config("GET", "tls-port")).toEqual(["tls-port", String(group.replica.port)]);
      expect((await new RolloutStore(cli, h.env.config).get(id))?.status).toBe("completed");
    } finally {
      cli.disconnect();
    }
    await h.stopDaemon();
  });

  it("doctor is content with the right CA and client certificate, and explains a bad one in plain words", async () => {
    expect(await doctor(h.env.config)).toEqual([]);
    const check = async (t: Record<string, unknown>) => {
      const started = Date.now();
      const findings = await doctor(withTls(t));
      // It gives up and says so: ioredis alone would ask the sentinels again for ever.
      expect(Date.now() - started).toBeLessThan(15_000);
      return findings;
    };
    await expectTlsProblems(check, [
      [{ ...tls, caFile: ca.otherCa }, OTHER_CA_WORDS],
      [{ caFile: ca.ca }, /asks for a client certificate and patchroll has none: set redis\.tls\.certFile and redis\.tls\.keyFile/],
    ], /^Redis at sentinel prmaster \(.*\) over TLS refused the TLS connection/);
  });
});
