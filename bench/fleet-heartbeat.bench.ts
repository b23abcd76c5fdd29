/**
 * SIMULATION (simulated hosts, the real Redis): what idle fleet heartbeats cost the shared Redis. N hosts
 * each send a heartbeat every `--interval-ms` through FleetRegistry, as the daemon's Heartbeat does (the
 * whole record once, then "unchanged", after a look at the host's newest rollout ids); the figures are Redis' own: CPU (INFO cpu) per wall second,
 * commands per second, and the memory the registry's keys take per host (MEMORY USAGE). Connections are
 * not counted: each daemon has its own whatever the fleet does. Targets (issue 16): 1,000 idle hosts cost
 * < 5% of one Redis core and < 20 KiB each. Run: npm run build && node dist/bench/fleet-heartbeat.bench.js
 * [--hosts 1000] [--interval-ms 10000] [--seconds 30]
 */
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { loadConfig } from "../src/config/load.js";
import { fleetKey } from "../src/fleet/fleet-keys.js";
import type { HostRecord } from "../src/fleet/host-record.js";
import { FleetRegistry } from "../src/fleet/registry.js";
import { parseRedisInfo } from "../src/queue/redis-health.js";
import { spawnBenchRedis } from "./redis.js";
import { benchRow } from "./report.js";

const { values } = parseArgs({ options: { hosts: { type: "string", default: "1000" }, "interval-ms": { type: "string", default: "10000" }, seconds: { type: "string", default: "30" } } });
const N = Number(values.hosts);
const INTERVAL = Number(values["interval-ms"]);
const SECONDS = Number(values.seconds);
const NAME = "fleet-heartbeat";

const redis = await spawnBenchRedis();
const clients = Array.from({ length: 16 }, () => new Redis(redis.url));
try {
  const { config } = loadConfig({ env: {}, flags: { redis: { url: redis.url, prefix: "bench" } } });
  const registries = clients.map((c) => new FleetRegistry(c, config));
  const record = (host: string): HostRecord => ({
    v: 1, host, version: "0.1.0", startedAt: "2026-12-03T00:00:00.000Z", state: "up",
    containers: { managed: 50, stale: 0, shadowed: 0, pinned: 1 }, rollout: null,
    exposure: null, lastAptEvent: { id: "run-20261203T020000Z-1234", time: "2026-12-03T02:00:00.000Z", packages: ["libssl3=3.0.22-1~deb12u1", "openssl=3.0.22-1~deb12u1"] },
  });
  const hosts = Array.from({ length: N }, (_, i) => `web-${String(i).padStart(4, "0")}`);
  const before = parseRedisInfo(await clients[0]!.info("memory"));
  await Promise.all(hosts.map((h, i) => registries[i % registries.length]!.heartbeat(h, record(h))));
  const bytes = Number((await clients[0]!.memory("USAGE", fleetKey(config, "hosts"))) ?? 0) + Number((await clients[0]!.memory("USAGE", fleetKey(config, "seen"))) ?? 0);
  const after = parseRedisInfo(await clients[0]!.info("memory"));

  const cpu = async () => {
    const i = parseRedisInfo(await clients[0]!.info("cpu"));
    return Number(i["used_cpu_user"]) + Number(i["used_cpu_sys"]);
  };
  const commands = async () => Number(parseRedisInfo(await clients[0]!.info("stats"))["total_commands_processed"]);
  const [cpu0, cmd0, t0] = [await cpu(), await commands(), performance.now()];
  // Each host beats every INTERVAL, the hosts spread evenly over it (as daemons started at random times).
  const timers = hosts.map((h, i) => {
    // As the daemon's Heartbeat when idle: the newest rollout ids (nothing changed), then the script.
    const c = clients[i % clients.length]!;
    const beat = () => void c.zrevrange(`{bench:${h}}:rollouts`, 0, 9).then(() => registries[i % registries.length]!.heartbeat(h)).catch(() => undefined);
    const start = setTimeout(() => {
      beat();
      timers[i] = setInterval(beat, INTERVAL);
    }, (i * INTERVAL) / N);
    return start;
  });
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  for (const t of timers) clearInterval(t);
  const wall = (performance.now() - t0) / 1000;
  const [cpu1, cmd1] = [await cpu(), await commands()];
  const share = ((cpu1 - cpu0) / wall) * 100;
  process.stdout.write(`${N} idle hosts, one heartbeat each every ${INTERVAL} ms, for ${wall.toFixed(1)} s\n`);
  process.stdout.write(`${benchRow(NAME, `SIMULATION ${N} idle hosts: Redis CPU`, share, "% of one core", "< 5")}\n`);
  process.stdout.write(`${benchRow(NAME, `SIMULATION ${N} idle hosts: Redis commands per second`, (cmd1 - cmd0 - 4) / wall, "1/s", "-")}\n`);
  process.stdout.write(`${benchRow(NAME, "registry keys per host", bytes / N, "bytes", "< 20480")}\n`);
  process.stdout.write(`${benchRow(NAME, "used_memory growth per host", (Number(after["used_memory"]) - Number(before["used_memory"])) / N, "bytes", "< 20480")}\n`);
} finally {
  for (const c of clients) c.disconnect();
  await redis.stop();
}
