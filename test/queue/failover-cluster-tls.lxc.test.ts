import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";
import { LxcDriver } from "../../src/containers/lxc-driver.js";
import { redisCheck } from "../../src/doctor/redis.js";
import { connectRedis } from "../../src/queue/connection.js";
import { queuePrefix } from "../../src/queue/names.js";
import { RolloutStore } from "../../src/rollout/rollout-store.js";
import { freePort } from "../helpers/redis-server.js";
import { rolloutHarness, type RolloutHarness } from "../helpers/rollout-harness.js";
import { adminTls, redisCommand, startCluster, type TestCluster, until } from "../helpers/redis-topology.js";
import { makeTestCa, type TestCa } from "../helpers/test-ca.js";
import { expectCleanRollout, expectTlsProblems, OTHER_CA_WORDS } from "./rollout-assertions.js";

const ADMIN = "cluster-admin-tls-test";
const USER = { name: "patchroll", password: "acl-user-tls-test" };

/**
 * Redis Cluster over TLS for real: three masters and three replicas made with `redis-cli --tls --cluster
 * create`, speaking only TLS (to clients, to their replicas, on the cluster bus), asking clients for a
 * certificate, and announcing themselves by name (`cluster-announce-hostname localhost`) with certificates
 * that hold that name and no address, as certificates of real hosts do. patchroll connects as an ACL user
 * by those names: over TLS it must keep them (ioredis would resolve them to addresses the certificates do
 * not hold). A rollout of real overlay containers runs while the master of the host's slot is killed with
 * SIGKILL; its replica takes over and the rollout completes once.
 */
describe("Redis Cluster over TLS, failover in the middle of a rollout (real LXC, real TLS cluster)", { timeout: 120_000 }, () => {
  let ca: TestCa;
  let cluster: TestCluster;
  let h: RolloutHarness;
  let tls: NonNullable<Config["redis"]["tls"]>;
  let topologyTls: Parameters<typeof adminTls>[0];

  beforeAll(async () => {
    ca = await makeTestCa();
    tls = { caFile: ca.ca, certFile: ca.clientCert, keyFile: ca.clientKey };
    topologyTls = { cert: ca.namedCert, key: ca.namedKey, ca: ca.ca, authClients: true, client: { cert: ca.clientCert, key: ca.clientKey } };
    cluster = await startCluster({ adminPassword: ADMIN, user: USER, tls: topologyTls, announceHostname: "localhost" });
    h = await rolloutHarness("cluster-tls", [{}, {}, {}], {
      redis: { cluster: { nodes: cluster.nodes }, username: USER.name, password: USER.password, tls },
      rollout: { batches: [1, "100%"], maxParallel: 1 },
      queue: { lockDurationMs: 5000, stalledIntervalMs: 2000, watchdogIdleMs: 5000 },
    });
  });
  afterAll(async () => {
    await h?.cleanup();
    await cluster?.stop();
    ca?.cleanup();
  });

  // The first node listed is one that is down (as a killed master is), so the explanation cannot rely on it.
  const withTls = (t: Record<string, unknown>, deadPort: number): Config =>
    loadConfig({ env: {}, flags: { ...h.env.config, redis: { ...h.env.config.redis, tls: t, cluster: { nodes: [`localhost:${deadPort}`, ...h.env.config.redis.cluster!.nodes] } } } }).config;
  const doctor = async (config: Config) => {
    const r = await redisCheck.run({ config, tokenFile: "/nonexistent", driver: new LxcDriver(config.lxc.path), now: () => new Date() });
    return Array.isArray(r) ? r : [];
  };
  const admin = () => ({ port: cluster.procs[0]!.port, password: ADMIN, ...adminTls(topologyTls) });

  it("the master of the host's slot dies with SIGKILL mid-rollout: its replica takes over, reached over TLS by name; the rollout completes once", async () => {
    expect(cluster.nodes.every((n) => n.startsWith("localhost:"))).toBe(true);
    const slot = Number(await redisCommand(admin(), "CLUSTER", "KEYSLOT", queuePrefix(h.env.config)));
    const before = await cluster.masterOf(slot);
    let stops = 0;
    await h.startDaemon({
      checkpoint: (_container, step) => {
        if (step === "stop" && ++stops === 2) before.proc.kill("SIGKILL");
      },
    });
    const id = await h.trigger();
    const after = await until("a new master for the slot", async () => {
      const m = stops >= 2 ? await cluster.masterOf(slot) : undefined;
      return m !== undefined && m.port !== before.port ? m : undefined;
    }, 30_000);
    // As in failover-cluster.lxc.test.ts: the journal first, then Redis through a fresh connection.
    await until("the rollout's end in its journal", async () => (h.journal(id).some((e) => e.type === "rollout.completed") ? true : undefined), 60_000);
    const cli = await connectRedis(h.env.config, "client");
    try {
      await until("the rollout completed in Redis", async () => ((await new RolloutStore(cli, h.env.config).get(id))?.status === "completed" ? true : undefined));
      await expectCleanRollout(h, id, cli);
      // Every key of the host in the slot of its hash tag, on the new master.
      const keys = (await redisCommand({ ...admin(), port: after.port }, "CLUSTER", "GETKEYSINSLOT", slot, 1000)) as string[];
      expect(keys.length).toBeGreaterThan(5);
      expect(keys.every((k) => k.startsWith(`${queuePrefix(h.env.config)}:`))).toBe(true);
    } finally {
      cli.disconnect();
    }
    await h.stopDaemon();
  });

  it("doctor is content with the right CA and client certificate, and explains a bad one in plain words", async () => {
    expect(await doctor(h.env.config)).toEqual([]);
    const deadPort = await freePort();
    await expectTlsProblems((t) => doctor(withTls(t, deadPort)), [
      [{ ...tls, caFile: ca.otherCa }, OTHER_CA_WORDS],
      [{ ...tls, servername: "redis.example" }, /certificate is for other names than the host patchroll connects to/],
      [{ caFile: ca.ca }, /asks for a client certificate and patchroll has none/],
    ], /^Redis at cluster \(localhost:.*\) over TLS refused the TLS connection/);
  });
});
