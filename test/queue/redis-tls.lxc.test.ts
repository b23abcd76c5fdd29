import { chmodSync, copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";
import { LxcDriver } from "../../src/containers/lxc-driver.js";
import { redisCheck } from "../../src/doctor/redis.js";
import { connectRedis } from "../../src/queue/connection.js";
import { rolloutHarness, type RolloutHarness } from "../helpers/rollout-harness.js";
import { startStandalone, type StandaloneRedis } from "../helpers/redis-topology.js";
import { makeTestCa, type TestCa } from "../helpers/test-ca.js";
import { expectCleanRollout } from "./rollout-assertions.js";

/**
 * TLS for real: a CA made in the test with openssl, a redis-server that speaks only TLS and asks for client
 * certificates. A rollout of real overlay containers runs over it while the server is killed with SIGKILL
 * and started again from its AOF; `doctor` says in plain words what is wrong with a bad certificate.
 */
describe("Redis over TLS (real LXC, real redis-server, CA made with openssl)", { timeout: 120_000 }, () => {
  let ca: TestCa;
  let redis: StandaloneRedis;
  let h: RolloutHarness;
  let tls: NonNullable<Config["redis"]["tls"]>;

  beforeAll(async () => {
    ca = await makeTestCa();
    tls = { caFile: ca.ca, certFile: ca.clientCert, keyFile: ca.clientKey };
    redis = await startStandalone({
      tls: { cert: ca.serverCert, key: ca.serverKey, ca: ca.ca, authClients: true },
      ping: { tls: { ca: read(ca.ca), cert: read(ca.clientCert), key: read(ca.clientKey) } },
    });
    h = await rolloutHarness("tls", [{}, {}, {}], {
      redis: { url: redis.url, tls },
      rollout: { batches: [1, "100%"], maxParallel: 1 },
      queue: { lockDurationMs: 3000, stalledIntervalMs: 1000 },
    });
  });
  afterAll(async () => {
    await h?.cleanup();
    await redis?.stop();
    ca?.cleanup();
  });

  /** The harness' configuration with other `redis.tls` settings. */
  const withTls = (t: Record<string, unknown>): Config => loadConfig({ env: {}, flags: { ...h.env.config, redis: { ...h.env.config.redis, tls: t } } }).config;
  const doctor = async (config: Config) => {
    const r = await redisCheck.run({ config, tokenFile: "/nonexistent", driver: new LxcDriver(config.lxc.path), now: () => new Date() });
    return Array.isArray(r) ? r : [];
  };

  it("a rollout over TLS survives a kill -9 and restart of Redis mid-way: completes once, every container patched", async () => {
    let stops = 0;
    await h.startDaemon({
      checkpoint: async (_container, step) => {
        if (step === "stop" && ++stops === 2) await redis.restartKeepingData();
      },
    });
    const id = await h.trigger();
    const done = await h.waitFor(id, ["completed", "halted", "aborted"], 60_000);
    expect(stops).toBeGreaterThanOrEqual(3);
    expect(done.status).toBe("completed");
    await expectCleanRollout(h, id);
    await h.stopDaemon();
  });

  it("doctor is content with the right CA and client certificate", async () => {
    expect(await doctor(h.env.config)).toEqual([]);
  });

  it("doctor explains a bad certificate in plain words", async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...tls, caFile: ca.otherCa }, /not signed by the CA patchroll trusts \(redis\.tls\.caFile .*other-ca\.crt\)|signed by a CA patchroll does not have/],
      [{ caFile: ca.ca }, /asks for a client certificate and patchroll has none: set redis\.tls\.certFile and redis\.tls\.keyFile/],
      [{ ...tls, servername: "redis.example" }, /certificate is for other names than the host patchroll connects to/],
    ];
    for (const [t, words] of cases) {
      const findings = await doctor(withTls(t));
      expect(findings.map((f) => f.problem), JSON.stringify(t)).toEqual([expect.stringMatching(words)]);
      expect(findings[0]!.problem).toMatch(/refused the TLS connection/);
      expect(findings[0]!.fix).toMatch(/openssl s_client -connect/);
    }
  });

  it("the client certificate is optional: a server that asks for none is reached with the CA alone", async () => {
    const open = await startStandalone({ tls: { cert: ca.serverCert, key: ca.serverKey, ca: ca.ca, authClients: false }, ping: { tls: { ca: read(ca.ca) } } });
    try {
      const config = loadConfig({ env: {}, flags: { ...h.env.config, redis: { url: open.url, tls: { caFile: ca.ca } } } }).config;
      const client = await connectRedis(config, "client");
      try {
        expect(await client.ping()).toBe("PONG");
      } finally {
        client.disconnect();
      }
      expect(await doctor(config)).toEqual([]);
      // And it still checks the server: the wrong CA is refused in plain words.
      const wrong = loadConfig({ env: {}, flags: { ...config, redis: { ...config.redis, tls: { caFile: ca.otherCa } } } }).config;
      expect((await doctor(wrong)).map((f) => f.problem)).toEqual([expect.stringMatching(/not signed by the CA patchroll trusts|signed by a CA patchroll does not have/)]);
    } finally {
      await open.stop();
    }
  });

  it("a client key other users can read is refused before any connection: containers see the host root", async () => {
    const loose = join(ca.dir, "loose.key");
    copyFileSync(ca.clientKey, loose);
    chmodSync(loose, 0o644);
    await expect(connectRedis(withTls({ ...tls, keyFile: loose }), "client")).rejects.toThrow(/redis\.tls\.keyFile .*loose\.key is readable by other users \(mode 644\).*chmod 600/);
  });
});

const read = (file: string): string => readFileSync(file, "utf8");
