import { describe, expect, it } from "vitest";
import { redisLineLevel } from "../../src/queue/redis-log-line.js";

/** Lines redis-server 7.0.15 printed on a start and a SHUTDOWN. */
const STARTUP = `18134:C 03 Dec 2026 10:24:13.701 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo
18134:C 03 Dec 2026 10:24:13.701 # Redis version=7.0.15, bits=64, commit=00000000, modified=0, pid=18134, just started
18134:C 03 Dec 2026 10:24:13.701 # Configuration loaded
18134:M 03 Dec 2026 10:24:13.701 * monotonic clock: POSIX clock_gettime
18134:M 03 Dec 2026 10:24:13.702 * Running mode=standalone, port=0.
18134:M 03 Dec 2026 10:24:13.702 # Server initialized
18134:M 03 Dec 2026 10:24:13.707 * The server is now ready to accept connections at /var/lib/patchroll/redis/redis.sock
18134:M 03 Dec 2026 10:24:14.704 # User requested shutdown...
18134:M 03 Dec 2026 10:24:14.706 * DB saved on disk
18134:M 03 Dec 2026 10:24:14.706 # Redis is now ready to exit, bye bye...`;

describe("redis-server log lines", () => {
  it("logs the routine start-up and shutdown lines at info, though Redis marks some of them as warnings", () => {
    expect(STARTUP.split("\n").map(redisLineLevel)).toEqual(STARTUP.split("\n").map(() => "info"));
  });

  it("keeps real warnings as warnings", () => {
    expect(redisLineLevel("18134:M 03 Dec 2026 10:24:13.702 # WARNING Memory overcommit must be enabled! Without it, a background save may fail.")).toBe("warn");
    expect(redisLineLevel("7:M 03 Dec 2026 10:30:00.000 # Background AOF rewrite terminated with error")).toBe("warn");
  });
});
