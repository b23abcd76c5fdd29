/**
 * Rollout of 50 real containers (busybox httpd, bake 0), run as root:
 *   npm run build && node dist/bench/rollout.bench.js [--containers 50] [--runs 5]
 * Each rollout is a manual one for the package busybox, which every container's service maps: the
 * verification after each start does its real work (every process's maps against the host's files).
 * Orchestration overhead per container = (rollout wall time - lower bound) / containers, where the lower
 * bound is, per batch, the raw time to stop, start and see healthy all of the batch's containers at once
 * (measured right before each rollout); with the planning included, the wall time starts when the rollout
 * is asked for. Per container (p50, p99 over every container of every run): its own span in the rollout
 * (first step begun -> done, the pre-copy included) minus its own raw restart, plus 1/N of the planning;
 * and its downtime (stop begun -> health passed) minus its own raw restart. Also, in the same run: the seed's restart-everything-at-once, and
 * a sequential shell loop with the same health checks.
 */
import { parseArgs } from "node:util";
import { execa } from "execa";
import { runTool } from "../src/proc/run-tool.js";
import { Daemon } from "../src/daemon/daemon.js";
import { readJournal } from "../src/journal/journal.js";
import { journalFile } from "../src/journal/paths.js";
import { silentLogger } from "../src/log/logger.js";
import { connectRedis } from "../src/queue/connection.js";
import { closeQueues, openQueues } from "../src/queue/queues.js";
import { startManualRollout } from "../src/rollout/manual-rollout.js";
import { RolloutStore } from "../src/rollout/rollout-store.js";
import { benchConfig, type Fleet, startFleet, untilHealthy } from "./lxc-fleet.js";
import { spawnBenchRedis } from "./redis.js";
import { benchRow, percentile } from "./report.js";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const { values } = parseArgs({ options: { containers: { type: "string", default: "50" }, runs: { type: "string", default: "5" } } });
const N = Number(values.containers);
const RUNS = Number(values.runs);

const timed = async (fn: () => Promise<unknown>): Promise<number> => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};

/**
 * Stops, starts and waits healthy for these containers all at once, with the LXC tools alone, started the
 * way patchroll starts them (prspawn where built), so the difference is the orchestration alone.
 */
function rawRestart(fleet: Fleet, names: readonly string[], each?: Map<string, number>): Promise<number> {
  const byName = new Map(fleet.containers.map((c) => [c.name, c.url]));
  return timed(() =>
    Promise.all(
      names.map(async (n) => {
        const t0 = performance.now();
        await runTool("lxc-stop", ["-P", fleet.lxcPath, "-n", n, "-t", "10"]).result;
        await runTool("lxc-start", ["-P", fleet.lxcPath, "-n", n]).result;
        await untilHealthy(byName.get(n)!, 10_000);
        each?.set(n, performance.now() - t0);
      }),
    ),
  );
}

/** CPU time the whole host has spent (all cores, idle and I/O wait excluded), from /proc/stat, in ms. */
function hostCpuMs(): number {
  const [, user, nice, system, , , irq, softirq, steal] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).map(Number) as number[];
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * (1000 / TICKS_PER_SECOND);
}
/** USER_HZ: 100 on Linux for every architecture patchroll runs on. */
const TICKS_PER_SECOND = 100;

/** The operator's loop: one container after the other, waiting for its health URL. */
function shellLoop(fleet: Fleet): Promise<number> {
  const script = 'p=$1; shift; while [ $# -gt 0 ]; do lxc-stop -P "$p" -n "$1" -t 10; lxc-start -P "$p" -n "$1"; until curl -sf -o /dev/null "$2"; do sleep 0.002; done; shift 2; done';
  return timed(() => execa("bash", ["-c", script, "loop", fleet.lxcPath, ...fleet.containers.flatMap((c) => [c.name, c.url])]));
}

const redis = await spawnBenchRedis();
const fleet = await startFleet("roll", N);
const root = mkdtempSync(join("/var/tmp", "patchroll-bench-state-"));
try {
  const names = fleet.containers.map((c) => c.name);
  const seed = await rawRestart(fleet, names);
  const loop = await shellLoop(fleet);
  console.log(`${N} containers: restart all at once (the seed's "service lxc restart") ${seed.toFixed(0)} ms; sequential shell loop with health checks ${loop.toFixed(0)} ms`);

  const config = benchConfig(root, redis.url, fleet, { batches: [1, "100%"], maxParallel: N });
  const daemon = new Daemon(config, silentLogger(), { driver: fleet.driver });
  await daemon.start();
  const client = await connectRedis(config, "worker");
  const queues = openQueues(client, config);
  const overheads: number[] = [];
  const walls: number[] = [];
  const plans: number[] = [];
  const overheadsPlanned: number[] = [];
  const perContainer: number[] = [];
  const downtimeOver: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const rawCpu = hostCpuMs();
    const rawEach = new Map<string, number>();
    const lower = (await rawRestart(fleet, names.slice(0, 1), rawEach)) + (await rawRestart(fleet, names.slice(1), rawEach));
    const rawCpuMs = hostCpuMs() - rawCpu;
    const rolloutCpu = hostCpuMs();
    const t0 = Date.now();
    const { rolloutId } = await startManualRollout(client, queues, config, ["busybox"]);
    const store = new RolloutStore(client, config);
    while (!["completed", "halted", "aborted"].includes((await store.get(rolloutId))?.status ?? "")) await new Promise((res) => setTimeout(res, 20));
    const entries = readJournal(journalFile(config, rolloutId)).entries;
    const planned = Date.parse(entries.find((e) => e.type === "rollout.planned")!.ts);
    const ended = Date.parse(entries.at(-1)!.ts);
    const rolloutCpuMs = hostCpuMs() - rolloutCpu;
    const state = await store.get(rolloutId);
    if (state?.status !== "completed") throw new Error(`rollout ${rolloutId} ${state?.status}: ${state?.haltReason}`);
    const wall = ended - planned;
    walls.push(wall);
    plans.push(planned - t0);
    overheads.push((wall - lower) / N);
    overheadsPlanned.push((wall + (planned - t0) - lower) / N);
    // Per container: its own span in the rollout (first step begun -> done) minus its own raw restart in
    // the same batch shape, plus its share of the planning.
    for (const n of names) {
      const mine = entries.filter((e) => e.container === n);
      const begun = mine.find((e) => e.type === "step.begin");
      const done = mine.find((e) => e.type === "container.done");
      if (begun !== undefined && done !== undefined) perContainer.push(Date.parse(done.ts) - Date.parse(begun.ts) - (rawEach.get(n) ?? 0) + (planned - t0) / N);
      // What its users feel: stop requested -> healthy again, minus its raw stop + start + healthy.
      const stop = mine.find((e) => e.type === "step.begin" && e.data["step"] === "stop");
      const healthy = mine.find((e) => e.type === "step.end" && e.data["step"] === "health");
      if (stop !== undefined && healthy !== undefined) downtimeOver.push(Date.parse(healthy.ts) - Date.parse(stop.ts) - (rawEach.get(n) ?? 0));
    }
    const bySteps = new Map<string, number[]>();
    for (const e of entries) if (e.type === "step.end") bySteps.set(String(e.data["step"]), [...(bySteps.get(String(e.data["step"])) ?? []), Number(e.data["ms"])]);
    console.log(`  step medians: ${[...bySteps].map(([k, v]) => `${k} ${percentile(v, 50).toFixed(0)} ms`).join(", ")}`);
    console.log(`run ${r + 1}: rollout ${wall} ms (plan ${planned - t0} ms before it), lower bound ${lower.toFixed(0)} ms, overhead ${((wall - lower) / N).toFixed(1)} ms per container`);
    console.log(`  host CPU per container: raw restart ${(rawCpuMs / N).toFixed(1)} ms, patchroll (plan included) ${(rolloutCpuMs / N).toFixed(1)} ms`);
  }
  await closeQueues(queues);
  client.disconnect();
  await daemon.stop(5000);
  console.log(benchRow("rollout", `${N} containers: orchestration overhead per container, after the plan (median of ${RUNS})`, percentile(overheads, 50), "ms"));
  console.log(benchRow("rollout", `${N} containers: orchestration overhead per container, planning included (median of ${RUNS})`, percentile(overheadsPlanned, 50), "ms", "<= 10"));
  console.log(benchRow("rollout", `${N} containers: one container's time in the rollout above its raw restart, pre-copy and planning share included (p50 of ${perContainer.length})`, percentile(perContainer, 50), "ms"));
  console.log(benchRow("rollout", `${N} containers: one container's time in the rollout above its raw restart (p99 of ${perContainer.length})`, percentile(perContainer, 99), "ms"));
  console.log(benchRow("rollout", `${N} containers: one container's downtime above its raw restart (p50 of ${downtimeOver.length})`, percentile(downtimeOver, 50), "ms"));
  console.log(benchRow("rollout", `${N} containers: one container's downtime above its raw restart (p99 of ${downtimeOver.length})`, percentile(downtimeOver, 99), "ms"));
  console.log(benchRow("rollout", `${N} containers: patchroll rollout [1, rest] (median)`, percentile(walls, 50), "ms"));
  console.log(benchRow("rollout", `${N} containers: planning (scan of every container)`, percentile(plans, 50), "ms"));
  console.log(benchRow("rollout", `${N} containers: all at once, no checks (seed)`, seed, "ms"));
  console.log(benchRow("rollout", `${N} containers: sequential shell loop with health checks`, loop, "ms"));
} finally {
  await fleet.destroy();
  rmSync(root, { recursive: true, force: true });
  await redis.stop();
}
