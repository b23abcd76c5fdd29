import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { clusterOptions, redisOptions } from "../../src/queue/connection.js";

/**
 * The ioredis options behind `redis.sentinel`, `redis.cluster` and `redis.tls` (the real TLS sentinels and
 * cluster are in failover-*-tls.lxc.test.ts): TLS reaches the sentinels and every node, the CLI gives up
 * on sentinels that do not answer, and a TLS cluster is reached by the names configured.
 */
describe("connection options for a shared Redis", () => {
  const dir = mkdtempSync(join(tmpdir(), "patchroll-test-options-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const pem = (name: string) => {
    const file = join(dir, name);
    writeFileSync(file, `-----BEGIN ${name}-----\n`);
    chmodSync(file, 0o600);
    return file;
  };
  const tls = { caFile: pem("ca"), certFile: pem("cert"), keyFile: pem("key") };
  const config = (redis: Record<string, unknown>) => loadConfig({ env: {}, flags: { hostId: "h", stateDir: dir, redis } }).config;

  it("Sentinel with redis.tls: TLS to the sentinels and to the data nodes, with the same files", () => {
    const o = redisOptions(config({ sentinel: { name: "m", sentinels: ["s1:26379", "s2:26380"] }, tls }), "worker");
    expect(o.sentinels).toEqual([{ host: "s1", port: 26379 }, { host: "s2", port: 26380 }]);
    expect(o).toMatchObject({ enableTLSForSentinelMode: true, name: "m" });
    expect(String((o.sentinelTLS as { ca: Buffer }).ca)).toContain("BEGIN ca");
    expect(o.tls).toEqual(o.sentinelTLS);
  });

  it("Sentinel: the CLI gives up after a few rounds of sentinels; the daemon asks them for ever", () => {
    const sentinel = { sentinel: { name: "m", sentinels: ["s1:26379"] } };
    const client = redisOptions(config(sentinel), "client").sentinelRetryStrategy!;
    expect([1, 2, 3].map((n) => client(n))).toEqual([100, 200, null]);
    expect(redisOptions(config(sentinel), "worker").sentinelRetryStrategy).toBeUndefined();
    expect(redisOptions(config(sentinel), "producer").sentinelRetryStrategy).toBeUndefined();
  });

  it("Cluster with redis.tls: every node over TLS, reached by the names given (not resolved to addresses the certificates lack)", () => {
    const o = clusterOptions(config({ cluster: { nodes: ["redis-1.example:6379"] }, tls, username: "patchroll", password: "pw" }), "worker");
    expect(String((o.redisOptions.tls as { ca: Buffer }).ca)).toContain("BEGIN ca");
    expect(o.redisOptions).toMatchObject({ username: "patchroll", password: "pw" });
    const resolved: string[] = [];
    o.dnsLookup!("redis-1.example", (_err, address) => resolved.push(address));
    expect(resolved).toEqual(["redis-1.example"]);
    expect(clusterOptions(config({ cluster: { nodes: ["redis-1.example:6379"] } }), "worker").dnsLookup).toBeUndefined();
  });
});
