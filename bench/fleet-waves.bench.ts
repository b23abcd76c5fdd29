/**
 * SIMULATION (simulated hosts and restarts, the real Redis, the real fleet code): one package version
 * through the fleet's waves. N hosts register; each runs the fleet's side of a rollout (FleetRollout: wave
 * gate, fleet slot, verdict) around a simulated restart of its containers that takes `--restart-ms`; bake
 * 0. Prints, per wave, the coordination time: from the last host of the previous wave passing to the last
 * host of this wave starting, i.e. what the fleet adds beyond the restarts. Target (issue 16): the last
 * wave starts < 2 s after the previous one passed. Run: npm run build && node dist/bench/fleet-waves.bench.js
 * [--hosts 1000] [--poll-ms 1000] [--restart-ms 200]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { loadConfig } from "../src/config/load.js";
import { FleetRollouts } from "../src/fleet/fleet-rollout.js";
import { FleetRegistry, redisNowMs } from "../src/fleet/registry.js";
import { VersionStore } from "../src/fleet/version-store.js";
import { RolloutJournal } from "../src/journal/journal.js";
import { silentLogger } from "../src/log/logger.js";
import { OPEN_GATE } from "../src/rollout/gates.js";
import { parseRedisInfo } from "../src/queue/redis-health.js";
import { spawnBenchRedis } from "./redis.js";
import { benchRow } from "./report.js";

const { values } = parseArgs({ options: { hosts: { type: "string", default: "1000" }, "poll-ms": { type: "string", default: "1000" }, "restart-ms": { type: "string", default: "200" } } });
const N = Number(values.hosts);
const RESTART_MS = Number(values["restart-ms"]);
const NAME = "fleet-waves";
const WAVES = [1, "1%", "10%", "100%"] as const;

const redis = await spawnBenchRedis();
const dir = mkdtempSync(join("/var/tmp", "patchroll-bench-fleet-"));
const clients = Array.from({ length: 16 }, () => new Redis(redis.url, { maxRetriesPerRequest: null }));
try {
  const { config } = loadConfig({ env: {}, flags: { redis: { url: redis.url, prefix: "bench" }, journalDir: dir, fleet: { enabled: true, waves: [...WAVES], bakeMs: 0, pollMs: Number(values["poll-ms"]) } } });
  const hosts = Array.from({ length: N }, (_, i) => `web-${String(i).padStart(4, "0")}`);
  const record = (host: string) => ({ v: 1 as const, host, version: "bench", startedAt: "t", state: "up" as const, containers: null, rollout: null, exposure: null, lastAptEvent: null });
  await Promise.all(hosts.map((h, i) => new FleetRegistry(clients[i % clients.length]!, config).heartbeat(h, record(h))));
  // Keep them alive: one heartbeat each every 10 s, as their daemons would.
  const alive = setInterval(() => void Promise.all(hosts.map((h, i) => new FleetRegistry(clients[i % clients.length]!, config).heartbeat(h))), 10_000);
  const version = { pkg: "libssl3", version: "3.0.22-1" };
  const started = new Map<string, number>();
  const cpu = async () => {
    const info = parseRedisInfo(await clients[0]!.info("cpu"));
    return Number(info["used_cpu_user"]) + Number(info["used_cpu_sys"]);
  };
  const cpu0 = await cpu();
  const t0 = performance.now();
  await Promise.all(hosts.map(async (host, i) => {
    const c = { ...config, hostId: host };
    const r = new FleetRollouts(clients[i % clients.length]!, c, silentLogger()).rollout(`r-${host}`, [version], new RolloutJournal(dir, host, `r-${host}`));
    await r.gate(OPEN_GATE).beforeBatch(1, async () => {});
    started.set(host, await redisNowMs(clients[i % clients.length]!));
    await new Promise((res) => setTimeout(res, RESTART_MS)); // the simulated restarts
    await r.finished({ status: "completed", outcomes: Array.from({ length: 50 }, (_, k) => ({ container: `c${k}`, outcome: "patched" as const, reason: "simulated" })) });
  }));
  const total = (performance.now() - t0) / 1000;
  const share = ((await cpu()) - cpu0) / total * 100;
  clearInterval(alive);
  const view = await new VersionStore(clients[0]!, config).read(version);
  const waves = view.plan!.waves;
  process.stdout.write(`${N} hosts, waves ${JSON.stringify(WAVES)} = ${waves.map((w) => w.length).join(", ")} hosts, restarts ${RESTART_MS} ms per host, poll ${values["poll-ms"]} ms: ${total.toFixed(1)} s in all\n`);
  process.stdout.write(`${benchRow(NAME, `SIMULATION ${N} hosts: Redis CPU while the version went through (hosts waiting poll every ${values["poll-ms"]} ms)`, share, "% of one core", "-")}\n`);
  for (let w = 1; w < waves.length; w++) {
    const passed = Math.max(...waves[w - 1]!.map((h) => view.hosts[h]!.at));
    const lastStart = Math.max(...waves[w]!.map((h) => started.get(h)!));
    process.stdout.write(`${benchRow(NAME, `SIMULATION ${N} hosts: wave ${w + 1} (${waves[w]!.length} hosts) all started after wave ${w} passed`, lastStart - passed, "ms", w === waves.length - 1 ? "< 2000" : "-")}\n`);
  }
} finally {
  for (const c of clients) c.disconnect();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
