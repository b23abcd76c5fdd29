import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { embeddedSocket } from "../../src/queue/connection.js";
import { embeddedRedisPaths, renderRedisConfig, restartDelayMs } from "../../src/queue/redis-config.js";
import { parseRedisInfo, redisHealthProblems, type RedisHealth } from "../../src/queue/redis-health.js";

function directives(config: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of config.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.indexOf(" ");
    out.set(line.slice(0, space), line.slice(space + 1));
  }
  return out;
}

describe("embedded Redis configuration", () => {
  it("puts every file under STATEDIR/redis, with the socket connection.ts connects to", () => {
    const paths = embeddedRedisPaths("/var/lib/patchroll");
    expect(paths).toEqual({
      dir: "/var/lib/patchroll/redis",
      configFile: "/var/lib/patchroll/redis/redis.conf",
      socketPath: "/var/lib/patchroll/redis/redis.sock",
      pidFile: "/var/lib/patchroll/redis/redis.pid",
    });
    expect(paths.socketPath).toBe(embeddedSocket({ stateDir: "/var/lib/patchroll" }));
  });

  it("opens no TCP port, only a 0700 socket, with AOF everysec and noeviction", () => {
    const d = directives(renderRedisConfig(embeddedRedisPaths("/var/lib/patchroll")));
    expect(d.get("port")).toBe("0");
    expect(d.get("unixsocket")).toBe('"/var/lib/patchroll/redis/redis.sock"');
    expect(d.get("unixsocketperm")).toBe("700");
    expect(d.get("appendonly")).toBe("yes");
    expect(d.get("appendfsync")).toBe("everysec");
    expect(d.get("maxmemory-policy")).toBe("noeviction");
    expect(d.get("dir")).toBe('"/var/lib/patchroll/redis"');
    expect(d.get("daemonize")).toBe("no");
    expect(d.get("protected-mode")).toBe("yes");
    expect(d.has("bind")).toBe(false);
  });

  it("quotes paths with spaces and quotes so Redis reads them whole", () => {
    const d = directives(renderRedisConfig(embeddedRedisPaths('/srv/my "state" dir')));
    expect(d.get("dir")).toBe('"/srv/my \\"state\\" dir/redis"');
  });

  it("backs off restarts exponentially up to the maximum", () => {
    expect([1, 2, 3, 4].map((a) => restartDelayMs(a, 200, 30_000))).toEqual([200, 400, 800, 1600]);
    expect(restartDelayMs(50, 200, 30_000)).toBe(30_000);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 600_000 }), (attempt, initial, max) => {
        const d = restartDelayMs(attempt, initial, max);
        return d <= max && d >= Math.min(initial, max) && restartDelayMs(attempt + 1, initial, max) >= d;
      }),
    );
  });
});

describe("Redis INFO and health policy", () => {
  it("parses INFO sections into one flat map", () => {
    const info = "# Server\r\nredis_version:7.0.15\r\nexecutable:/usr/bin/redis-server\r\n\r\n# Memory\r\nused_memory:939352\r\nmaxmemory_policy:noeviction\r\n";
    expect(parseRedisInfo(info)).toEqual({ redis_version: "7.0.15", executable: "/usr/bin/redis-server", used_memory: "939352", maxmemory_policy: "noeviction" });
  });

  it("keeps a key named __proto__ as a key", () => {
    expect(Object.keys(parseRedisInfo("__proto__:x\r\nrole:master"))).toEqual(["__proto__", "role"]);
  });

  it("round-trips any key:value lines", () => {
    const key = fc.stringMatching(/^[a-z_]{1,20}$/);
    const value = fc.stringMatching(/^[^\r\n]{0,30}$/);
    fc.assert(
      fc.property(fc.dictionary(key, value), (map) => {
        const text = ["# Section", ...Object.entries(map).map(([k, v]) => `${k}:${v}`)].join("\r\n");
        expect(parseRedisInfo(text)).toEqual(map);
      }),
    );
  });

  const healthy: RedisHealth = { persistence: { aof: true, appendfsync: "everysec", rdb: false }, maxmemoryPolicy: "noeviction", usedMemory: 1, version: "7.0.15" };

  it("finds nothing wrong with AOF everysec and noeviction, nor with unknowns from a managed Redis", () => {
    expect(redisHealthProblems(healthy)).toEqual([]);
    expect(redisHealthProblems({ ...healthy, persistence: { aof: true, appendfsync: "unknown", rdb: "unknown" } })).toEqual([]);
  });

  it("names each setting that can lose or evict jobs", () => {
    expect(redisHealthProblems({ ...healthy, persistence: { aof: false, appendfsync: "everysec", rdb: true } })).toEqual([expect.stringMatching(/only RDB/)]);
    expect(redisHealthProblems({ ...healthy, persistence: { aof: true, appendfsync: "no", rdb: false } })).toEqual([expect.stringMatching(/appendfsync is 'no'/)]);
    expect(redisHealthProblems({ ...healthy, maxmemoryPolicy: "volatile-lru" })).toEqual([expect.stringMatching(/volatile-lru/)]);
  });
});
