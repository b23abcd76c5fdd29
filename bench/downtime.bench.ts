/**
 * What a user of a service feels of a rollout: the downtime of each container, from its stop requested
 * (the journal's `stop` step begins) to its first healthy answer (the `health` step ends, one passing
 * check needed), for deltas of 1 MiB, 100 MiB and 1 GiB, with 1 MiB written into each container during
 * the rollout (after its pre-copy, before its stop: the catch-up has that to copy). Beside it, the raw
 * restart of the same container: lxc-stop, lxc-start and its first healthy answer (polled every 2 ms;
 * the rollout's health checks poll every 10 ms, the smallest interval the configuration allows).
 * Run as root: `npm run bench -- downtime` (or `node dist/bench/downtime.bench.js [--runs 3]`).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { deltaDirOf } from "../src/containers/provision.js";
import { Daemon } from "../src/daemon/daemon.js";
import { readJournal } from "../src/journal/journal.js";
import { journalFile } from "../src/journal/paths.js";
import { silentLogger } from "../src/log/logger.js";
import { runTool } from "../src/proc/run-tool.js";
import { connectRedis } from "../src/queue/connection.js";
import { closeQueues, openQueues } from "../src/queue/queues.js";
import { startManualRollout } from "../src/rollout/manual-rollout.js";
import { RolloutStore } from "../src/rollout/rollout-store.js";
import { buildDelta, MiB, shapeOf } from "./delta-shape.js";
import { benchConfig, startFleet, untilHealthy } from "./lxc-fleet.js";
import { spawnBenchRedis } from "./redis.js";
import { benchRow, percentile } from "./report.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "3" } } });
const RUNS = Number(values.runs);
const SIZES = [["1 MiB", MiB], ["100 MiB", 100 * MiB], ["1 GiB", 1024 * MiB]] as const;

const redis = await spawnBenchRedis();
const fleet = await startFleet("down", SIZES.length);
const root = mkdtempSync(join("/var/tmp", "patchroll-bench-downtime-"));
const labelOf = new Map(fleet.containers.map((c, i) => [c.name, SIZES[i]![0]]));
try {
  for (const [i, c] of fleet.containers.entries()) {
    await fleet.driver.stop(c.name, 10);
    await buildDelta(join(deltaDirOf(fleet.lxcPath, c.name), "var/cache/bench"), shapeOf(SIZES[i]![0], SIZES[i]![1]));
    await fleet.driver.start(c.name);
    await untilHealthy(c.url, 10_000);
  }
  console.log(`${SIZES.map(([l]) => l).join(", ")} deltas built (8 KiB files and a few big ones); ${RUNS} runs`);

  let run = 0;
  const config = benchConfig(root, redis.url, fleet, { batches: [1], maxParallel: 1 });
  // The container writes 1 MiB between its pre-copy and its stop (through its own root, so into its delta).
  const checkpoint = async (container: string, step: string): Promise<void> => {
    if (step !== "stop") return;
    const [pid] = await fleet.driver.pids(container);
    if (pid !== undefined) await writeFile(`/proc/${pid}/root/var/tmp/written-during-rollout-${run}`, Buffer.alloc(MiB, run + 1));
  };
  const daemon = new Daemon(config, silentLogger(), { driver: fleet.driver, checkpoint });
  await daemon.start();
  const client = await connectRedis(config, "worker");
  const queues = openQueues(client, config);
  const store = new RolloutStore(client, config);
  const raw = new Map<string, number[]>();
  const down = new Map<string, number[]>();
  const steps = new Map<string, number[]>();
  const push = (m: Map<string, number[]>, k: string, v: number) => m.set(k, [...(m.get(k) ?? []), v]);
  for (run = 0; run < RUNS; run += 1) {
    for (const c of fleet.containers) {
      const t0 = performance.now();
      await runTool("lxc-stop", ["-P", fleet.lxcPath, "-n", c.name, "-t", "10"]).result;
      await runTool("lxc-start", ["-P", fleet.lxcPath, "-n", c.name]).result;
      await untilHealthy(c.url, 10_000);
      push(raw, c.name, performance.now() - t0);
    }
    const { rolloutId } = await startManualRollout(client, queues, config, ["busybox"]);
    while (!["completed", "halted", "aborted"].includes((await store.get(rolloutId))?.status ?? "")) await new Promise((res) => setTimeout(res, 20));
    const state = await store.get(rolloutId);
    if (state?.status !== "completed") throw new Error(`rollout ${rolloutId} ${state?.status}: ${state?.haltReason}`);
    const entries = readJournal(journalFile(config, rolloutId)).entries;
    for (const c of fleet.containers) {
      const mine = entries.filter((e) => e.container === c.name);
      const stop = mine.find((e) => e.type === "step.begin" && e.data["step"] === "stop");
      const healthy = mine.find((e) => e.type === "step.end" && e.data["step"] === "health");
      if (stop === undefined || healthy === undefined) throw new Error(`${c.name}: no stop or health step in ${rolloutId}`);
      push(down, c.name, Date.parse(healthy.ts) - Date.parse(stop.ts));
      for (const e of mine) if (e.type === "step.end") push(steps, `${c.name} ${String(e.data["step"])}`, Number(e.data["ms"]));
    }
    console.log(`run ${run + 1}: ${fleet.containers.map((c) => `${labelOf.get(c.name)}: downtime ${down.get(c.name)!.at(-1)} ms, raw restart ${raw.get(c.name)!.at(-1)!.toFixed(0)} ms`).join("; ")}`);
  }
  await closeQueues(queues);
  client.disconnect();
  await daemon.stop(5000);
  for (const c of fleet.containers) {
    const label = labelOf.get(c.name)!;
    const stepMedians = ["precopy", "stop", "snapshot", "start", "health"].map((s) => `${s} ${percentile(steps.get(`${c.name} ${s}`) ?? [], 50).toFixed(0)} ms`).join(", ");
    console.log(`${label} delta, step medians in the rollout: ${stepMedians}`);
    const d = percentile(down.get(c.name)!, 50);
    const r = percentile(raw.get(c.name)!, 50);
    console.log(benchRow("downtime", `${label} delta, 1 MiB written: downtime in a rollout (median of ${RUNS})`, d, "ms"));
    console.log(benchRow("downtime", `${label} delta: raw lxc-stop + lxc-start + first healthy answer (median)`, r, "ms"));
    console.log(benchRow("downtime", `${label} delta: downtime above the raw restart`, d - r, "ms", "<= 100"));
  }
} finally {
  await fleet.destroy();
  rmSync(root, { recursive: true, force: true });
  await redis.stop();
}
