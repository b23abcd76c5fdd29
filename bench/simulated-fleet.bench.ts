/**
 * SIMULATION (no real containers): how many container restarts per second the orchestration itself
 * decides and journals, through BullMQ, for 10,000 containers. The driver and the snapshot, pin and verify
 * steps are simulated (they return at once); the queue, the rollout runner, the write-ahead journal (every
 * line fsync'd) and the Redis state are real. Run: npm run build && node dist/bench/simulated-fleet.bench.js
 * [--containers 10000] [--parallel 50]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Job, Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { loadConfig } from "../src/config/load.js";
import type { ContainerDriver, ContainerState } from "../src/containers/driver.js";
import { RolloutJournal } from "../src/journal/journal.js";
import { silentLogger } from "../src/log/logger.js";
import { queuePrefix } from "../src/queue/names.js";
import type { RestartTarget } from "../src/rollout/container-restart.js";
import { planRollout } from "../src/rollout/plan.js";
import { runRollout } from "../src/rollout/run-rollout.js";
import { spawnBenchRedis } from "./redis.js";
import { benchRow } from "./report.js";

const { values } = parseArgs({ options: { containers: { type: "string", default: "10000" }, parallel: { type: "string", default: "50" } } });
const N = Number(values.containers);

/** A container runtime that only remembers states: the simulation's stand-in for LXC. */
class SimulatedDriver implements ContainerDriver {
  readonly runtime = "simulation";
  private readonly states = new Map<string, ContainerState>();
  async start(name: string): Promise<void> {
    this.states.set(name, "RUNNING");
  }
  async stop(name: string): Promise<void> {
    this.states.set(name, "STOPPED");
  }
  async state(name: string): Promise<ContainerState> {
    return this.states.get(name) ?? "RUNNING";
  }
  async initPid(): Promise<number | undefined> {
    return 1;
  }
  async pids(): Promise<number[]> {
    return [1];
  }
  async attach(): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    return { exitCode: 0, stdout: "", stderr: "" };
  }
}

const redis = await spawnBenchRedis();
const root = mkdtempSync(join("/var/tmp", "patchroll-bench-sim-"));
try {
  const { config } = loadConfig({
    env: {},
    flags: { hostId: "sim", journalDir: join(root, "journal"), stateDir: join(root, "state"), redis: { url: redis.url }, rollout: { select: "all", batches: [1, "10%", "100%"], maxParallel: Number(values.parallel) } },
  });
  const names = Array.from({ length: N }, (_, i) => `sim-${i}`);
  const plan = planRollout(names.map((name, i) => ({ name, group: `g${i % 20}`, canary: i === 0, verdict: "stale" as const, mapsPackages: true })), config.rollout);
  const targets = new Map<string, RestartTarget>(names.map((name, i) => [name, { name, group: `g${i % 20}`, deltaDir: `/nonexistent/${name}`, health: [] }]));
  const driver = new SimulatedDriver();
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const prefix = queuePrefix(config);
  const queue = new Queue("rollouts", { connection, prefix });
  let result: { ms: number; restarts: number; entries: number } | undefined;
  const worker = new Worker(
    "rollouts",
    async (job: Job) => {
      const journal = new RolloutJournal(config.journalDir, config.hostId, String(job.data.id));
      const t0 = performance.now();
      const p = await runRollout({
        plan,
        targets,
        policy: config.rollout,
        journal,
        deps: {
          driver,
          stopTimeoutSec: 1,
          logger: silentLogger(),
          snapshot: async () => "sim",
          restore: async () => {},
          pin: async () => ({ pinned: false, detail: "simulation" }),
          verify: async () => ({ ok: true, detail: "simulation" }),
        },
        onProgress: async (pr) => {
          if (pr.done % 500 === 0) await job.updateProgress({ done: pr.done, total: pr.total });
        },
      });
      result = { ms: performance.now() - t0, restarts: p.done, entries: journal.entries().length };
    },
    { connection, prefix, concurrency: 1 },
  );
  await queue.add("rollout", { id: "sim-rollout" });
  while (result === undefined) await new Promise((r) => setTimeout(r, 100));
  await worker.close();
  await queue.close();
  connection.disconnect();
  const perSec = result.restarts / (result.ms / 1000);
  console.log(`SIMULATION: ${result.restarts} container restarts decided and journaled in ${(result.ms / 1000).toFixed(1)} s through BullMQ (${result.entries} fsync'd journal lines): ${perSec.toFixed(0)} per second`);
  console.log(benchRow("simulated-fleet", `SIMULATION ${N} containers: restarts decided and journaled per second`, perSec, "1/s"));
  console.log(benchRow("simulated-fleet", `SIMULATION ${N} containers: journal lines fsync'd per second`, result.entries / (result.ms / 1000), "1/s"));
} finally {
  rmSync(root, { recursive: true, force: true });
  await redis.stop();
}
